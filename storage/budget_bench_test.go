package storage

import (
	"context"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/budget"
	"github.com/pennyllm/penny/core/money"
)

// BenchmarkBudgetReserveSettle is the bookkeeping every budgeted send pays:
// one immediate transaction to hold, one to settle, on a WAL file in a temp
// dir (fsync behaviour of the disk included).
func BenchmarkBudgetReserveSettle(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir()+"/penny.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, err := budget.New(budget.Config{DailyUSD: 1e6, ReservationTTL: time.Minute}, NewBudgetStore(db), budget.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		h, err := svc.Reserve(ctx, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Settle(ctx, h, money.Nanos(900)); err != nil {
			b.Fatal(err)
		}
	}
}
