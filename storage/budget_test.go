package storage

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/money"
)

// fakeClock is a settable clock safe for concurrent readers.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func (c *fakeClock) Now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration)  { c.ns.Add(int64(d)) }

func newService(t *testing.T, cfg budget.Config, st budget.Store, clock func() time.Time) *budget.Service {
	t.Helper()
	if cfg.ReservationTTL == 0 {
		cfg.ReservationTTL = time.Minute
	}
	if cfg.AlertsPct == nil {
		cfg.AlertsPct = []int{50, 80, 100}
	}
	s, err := budget.New(cfg, st, budget.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hammer runs n concurrent reserve→settle cycles spread over services and
// checks, while they run and after, that settled spend plus live holds
// never passes the cap.
func hammer(t *testing.T, services []*budget.Service, stores []*BudgetStore, capNanos money.Nanos, n int) {
	t.Helper()
	ctx := context.Background()
	const maxCost = 30_000_000 // $0.03 reserved per call
	var admitted, refused atomic.Int64
	var spentSum atomic.Int64
	stop := make(chan struct{})
	var monitorErr atomic.Value
	var monitor sync.WaitGroup
	monitor.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			sp, err := stores[0].Spend(ctx, services[0].Window(time.Now()))
			if err != nil {
				monitorErr.Store(err)
				return
			}
			if sp.Day+sp.Reserved > capNanos {
				monitorErr.Store(errors.New("spent+reserved passed the cap: " + (sp.Day + sp.Reserved).String()))
				return
			}
		}
	})
	var wg sync.WaitGroup
	for i := range n {
		svc := services[i%len(services)]
		wg.Go(func() {
			h, err := svc.Reserve(ctx, maxCost)
			if errors.Is(err, budget.ErrBudgetExceeded) {
				refused.Add(1)
				return
			}
			if err != nil {
				t.Errorf("reserve %d: %v", i, err)
				return
			}
			admitted.Add(1)
			// Actual cost is below the hold, as it is when the reservation
			// uses the maximum completion length; the difference returns to
			// the budget and lets later calls in.
			actual := money.Nanos(10_000_000 + (i%3)*10_000_000)
			time.Sleep(time.Millisecond)
			if _, err := svc.Settle(ctx, h, actual); err != nil {
				t.Errorf("settle %d: %v", i, err)
				return
			}
			spentSum.Add(int64(actual))
		})
	}
	wg.Wait()
	close(stop)
	monitor.Wait()
	if err, _ := monitorErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	sp, err := stores[0].Spend(ctx, services[0].Window(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d admitted, %d refused, spent %s of %s", admitted.Load(), refused.Load(), sp.Day, capNanos)
	if sp.Day > capNanos {
		t.Fatalf("spent %s, over the cap %s", sp.Day, capNanos)
	}
	if sp.Reserved != 0 {
		t.Errorf("holds left after every call settled: %s", sp.Reserved)
	}
	if int64(sp.Day) != spentSum.Load() {
		t.Errorf("recorded spend %d != sum of settled actual costs %d", sp.Day, spentSum.Load())
	}
	if admitted.Load()+refused.Load() != int64(n) || refused.Load() == 0 || admitted.Load() < 33 {
		// 100 × $0.03 = $3 against a $1 cap: at least 33 holds fit, and
		// some calls must be refused or the test proves nothing.
		t.Errorf("admitted %d refused %d of %d", admitted.Load(), refused.Load(), n)
	}
	// The cap is exact to the nano-dollar: what is left can be reserved,
	// one nano-dollar more cannot.
	left := capNanos - sp.Day
	if _, err := services[0].Reserve(ctx, left+1); !errors.Is(err, budget.ErrBudgetExceeded) {
		t.Errorf("reserving %s with %s left: %v", left+1, left, err)
	}
	if _, err := services[0].Reserve(ctx, left); err != nil {
		t.Errorf("reserving exactly what is left (%s): %v", left, err)
	}
}

func TestBudget100ConcurrentNeverExceedCap(t *testing.T) {
	db := tempDB(t)
	st := NewBudgetStore(db)
	svc := newService(t, budget.Config{DailyUSD: 1}, st, nil)
	hammer(t, []*budget.Service{svc}, []*BudgetStore{st}, money.PerDollar, 100)
}

func TestBudgetTwoProcessesNeverExceedCap(t *testing.T) {
	// Two *sql.DB handles on one file behave like two penny processes: the
	// in-process mutexes are separate, so only SQLite's write lock (BEGIN
	// IMMEDIATE) keeps their reservations apart.
	path := filepath.Join(t.TempDir(), "penny.db")
	var stores []*BudgetStore
	var services []*budget.Service
	for range 2 {
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st := NewBudgetStore(db)
		stores = append(stores, st)
		services = append(services, newService(t, budget.Config{DailyUSD: 1, MonthlyUSD: 5}, st, nil))
	}
	if stores[0].db.SQL() == stores[1].db.SQL() {
		t.Fatal("handles must differ")
	}
	hammer(t, services, stores, money.PerDollar, 100)
}

func TestBudgetRefusalSaysWhichCap(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	st := NewBudgetStore(tempDB(t))
	svc := newService(t, budget.Config{DailyUSD: 1, MonthlyUSD: 1.5, RequestUSD: 0.6}, st, clock.Now)

	_, err := svc.Reserve(ctx, money.FromUSD(0.7))
	var ex *budget.ExceededError
	if !errors.As(err, &ex) || ex.Cap != budget.CapRequest || !errors.Is(err, budget.ErrBudgetExceeded) {
		t.Fatalf("per-request cap: %v", err)
	}
	h, err := svc.Reserve(ctx, money.FromUSD(0.5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, money.FromUSD(0.55)); !errors.As(err, &ex) || ex.Cap != budget.CapDaily ||
		ex.Reserved != money.FromUSD(0.5) || ex.Period != "2026-11-27" {
		t.Fatalf("daily cap with a hold in flight: %v", err)
	}
	if _, err := svc.Settle(ctx, h, money.FromUSD(0.9)); err != nil {
		t.Fatal(err)
	}
	// Next day: the daily cap resets, the monthly one does not.
	clock.Add(24 * time.Hour)
	if _, err := svc.Reserve(ctx, money.FromUSD(0.55)); err != nil {
		t.Fatalf("new day should have room: %v", err)
	}
	_, err = svc.Reserve(ctx, money.FromUSD(0.1))
	if !errors.As(err, &ex) || ex.Cap != budget.CapMonthly || ex.Spent != money.FromUSD(0.9) || ex.Period != "2026-11" {
		t.Fatalf("monthly cap: %v", err)
	}
	want := "budget exceeded: monthly cap $1.50 for 2026-11 would be passed (spent $0.9, reserved by calls in flight $0.55, this request up to $0.1); nothing was sent"
	if msg := err.Error(); msg != want {
		t.Fatalf("message:\n got %q\nwant %q", msg, want)
	}
}

func TestBudgetExpiredHoldsAreSweptAndLateSettleCounts(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	st := NewBudgetStore(tempDB(t))
	svc := newService(t, budget.Config{DailyUSD: 1, ReservationTTL: 10 * time.Second}, st, clock.Now)

	crashed, err := svc.Reserve(ctx, money.FromUSD(0.9)) // its process dies and never settles
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, money.FromUSD(0.2)); !errors.Is(err, budget.ErrBudgetExceeded) {
		t.Fatalf("the live hold must block: %v", err)
	}
	clock.Add(11 * time.Second)
	h, err := svc.Reserve(ctx, money.FromUSD(0.2))
	if err != nil {
		t.Fatalf("the expired hold must not block forever: %v", err)
	}
	var n int
	if err := st.db.SQL().QueryRow(`SELECT COUNT(*) FROM budget_reservations`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("expired hold not swept: %d rows, %v", n, err)
	}
	// A call that outlived its hold still spent money: settling records it.
	if _, err := svc.Settle(ctx, crashed, money.FromUSD(0.3)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Release(ctx, h); err != nil {
		t.Fatal(err)
	}
	lines, err := svc.Status(ctx)
	if err != nil || len(lines) != 1 || lines[0].Spent != money.FromUSD(0.3) || lines[0].Reserved != 0 {
		t.Fatalf("status: %+v %v", lines, err)
	}
}

type recordingNotifier struct {
	mu     sync.Mutex
	alerts []budget.Alert
}

func (n *recordingNotifier) Notify(_ context.Context, a budget.Alert) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.alerts = append(n.alerts, a)
}

func TestBudgetAlertsFireOncePerThreshold(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	rec := &recordingNotifier{}
	svc, err := budget.New(budget.Config{DailyUSD: 1, AlertsPct: []int{80, 50, 100, 50}, ReservationTTL: time.Minute},
		NewBudgetStore(tempDB(t)), budget.Options{Clock: clock.Now, Notifier: rec})
	if err != nil {
		t.Fatal(err)
	}
	spend := func(usd float64) []int {
		h, err := svc.Reserve(ctx, money.FromUSD(usd))
		if err != nil {
			t.Fatal(err)
		}
		as, err := svc.Settle(ctx, h, money.FromUSD(usd))
		if err != nil {
			t.Fatal(err)
		}
		var pcts []int
		for _, a := range as {
			pcts = append(pcts, a.Pct)
		}
		return pcts
	}
	steps := []struct {
		usd  float64
		want []int
	}{{0.49, nil}, {0.01, []int{50}}, {0.1, nil}, {0.4, []int{80, 100}}}
	for i, s := range steps {
		if got := spend(s.usd); !equalInts(got, s.want) {
			t.Errorf("step %d: alerts %v, want %v", i, got, s.want)
		}
	}
	if len(rec.alerts) != 3 || rec.alerts[2].Message == "" {
		t.Errorf("notifier got %+v", rec.alerts)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
