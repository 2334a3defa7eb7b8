package budget

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/money"
)

func TestValidateNamesFields(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := Config{DailyUSD: -1, MonthlyUSD: math.NaN(), RequestUSD: 2e6, AlertsPct: []int{0, 50, 101}, ReservationTTL: time.Millisecond}
	var fe FieldErrors
	if err := c.Validate(); !errors.As(err, &fe) {
		t.Fatalf("got %v", err)
	}
	want := []string{"budget.daily_usd", "budget.monthly_usd", "budget.request_usd", "budget.alerts_pct", "budget.alerts_pct", "budget.reservation_ttl"}
	if len(fe) != len(want) {
		t.Fatalf("got %v", fe)
	}
	for i, f := range fe {
		if f.Field != want[i] {
			t.Errorf("error %d names %s, want %s", i, f.Field, want[i])
		}
	}
}

func TestNewNeedsStoreOnlyForPeriodicCaps(t *testing.T) {
	if _, err := New(Config{DailyUSD: 1}, nil, Options{}); err == nil {
		t.Error("a daily cap without a store must be refused")
	}
	s, err := New(Config{RequestUSD: 0.01}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Enabled() {
		t.Error("request cap set: Enabled must be true")
	}
	if _, err := s.Reserve(context.Background(), money.FromUSD(0.02)); !errors.Is(err, ErrBudgetExceeded) {
		t.Errorf("request cap: %v", err)
	}
	h, err := s.Reserve(context.Background(), money.FromUSD(0.01))
	if err != nil || h.ID != 0 {
		t.Fatalf("at the cap exactly: %+v %v", h, err)
	}
	if a, err := s.Settle(context.Background(), h, 5); err != nil || a != nil {
		t.Errorf("settle without periodic caps: %v %v", a, err)
	}
}

func TestWindowFollowsLocation(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	s, err := New(Config{DailyUSD: 1}, NewMemStore(), Options{Location: tokyo})
	if err != nil {
		t.Fatal(err)
	}
	// 20:00 UTC on Nov 30 is already Dec 1 in Tokyo.
	w := s.Window(time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC))
	if !w.DayStart.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, tokyo)) || !w.MonthStart.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, tokyo)) {
		t.Fatalf("window %+v", w)
	}
}

func TestMemStoreConcurrentReservationsNeverExceed(t *testing.T) {
	ctx := context.Background()
	s, err := New(Config{DailyUSD: 0.5, ReservationTTL: time.Minute}, NewMemStore(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	holds := make(chan Hold, 100)
	for range 100 {
		wg.Go(func() {
			h, err := s.Reserve(ctx, money.FromUSD(0.01))
			if err == nil {
				admitted.Add(1)
				holds <- h
			} else if !errors.Is(err, ErrBudgetExceeded) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(holds)
	if admitted.Load() != 50 {
		t.Fatalf("admitted %d holds of $0.01 under a $0.50 cap, want exactly 50", admitted.Load())
	}
	for h := range holds {
		if _, err := s.Settle(ctx, h, money.FromUSD(0.01)); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := s.Status(ctx)
	if err != nil || len(lines) != 1 || lines[0].Spent != money.FromUSD(0.5) || lines[0].Pct != 100 {
		t.Fatalf("status %+v %v", lines, err)
	}
}
