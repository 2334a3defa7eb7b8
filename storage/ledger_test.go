package storage

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pennyllm/penny/core/ledger"
)

// tempDB opens a fresh database file in a temp dir (never :memory:: the
// pool would hand each connection its own empty database).
func tempDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "penny.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLedgerRoundTripAndFilter(t *testing.T) {
	ctx := context.Background()
	s := NewLedgerStore(tempDB(t))
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	want := []ledger.Record{
		{Time: t0, User: "ann", Tag: "cli", BaselineModel: "gpt-4o", Model: "gpt-4o-mini", ResponseModel: "gpt-4o-mini-2024-07-18",
			Provider: "openai", Tier: "weak", CacheOutcome: "miss", Scope: "abcd", ProjectedPromptTokens: 100,
			ProjectedCompletionTokens: 400, PromptTokens: 101, CompletionTokens: 250, CachedPromptTokens: 64, UsageKnown: true,
			ProjectedNanos: 255000, ActualNanos: 165150, BaselineNanos: 4250000, ReservedNanos: 999, LatencyMS: 812,
			Status: ledger.StatusOK},
		{Time: t0.Add(time.Hour), User: "bob", Tag: "replay", BaselineModel: "gpt-4o", Model: "gpt-4o-mini", CacheOutcome: "exact_hit",
			CacheEntryID: 7, BaselineNanos: 4250000, Simulated: true, Status: ledger.StatusOK},
		{Time: t0.Add(25 * time.Hour), User: "ann", Model: "gpt-4o", CacheOutcome: "miss", Status: ledger.StatusError,
			Error: "rate limited by openai (429)"},
	}
	for i := range want {
		id, err := s.Append(ctx, want[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i].ID = id
	}
	collect := func(f ledger.Filter) []ledger.Record {
		var got []ledger.Record
		if err := s.Scan(ctx, f, func(r ledger.Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := collect(ledger.Filter{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	filters := []ledger.Filter{
		{User: "ann"}, {Tag: "replay"}, {Since: t0.Add(time.Minute)}, {Until: t0.Add(time.Hour)},
		{Model: "gpt-4o"}, {Since: t0, Until: t0.Add(2 * time.Hour), User: "bob"},
	}
	for _, f := range filters {
		var exp []ledger.Record
		for _, r := range want {
			if f.Match(r) {
				exp = append(exp, r)
			}
		}
		if got := collect(f); !reflect.DeepEqual(got, exp) {
			t.Errorf("filter %+v: got %d records, want %d", f, len(got), len(exp))
		}
	}
	if got := collect(ledger.Filter{Limit: 2}); len(got) != 2 || got[0].ID != want[1].ID || got[1].ID != want[2].ID {
		t.Errorf("limit 2 should give the two most recent, oldest first; got %+v", got)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Scan(ctx, ledger.Filter{}, func(ledger.Record) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error must stop the scan and come back: err=%v after %d records", err, n)
	}
	if _, err := s.Append(ctx, ledger.Record{}); err == nil {
		t.Error("a record without a time must be refused")
	}
}

func TestLedgerReportFromStore(t *testing.T) {
	ctx := context.Background()
	s := NewLedgerStore(tempDB(t))
	t0 := time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC)
	recs := []ledger.Record{
		{Time: t0, Model: "gpt-4o-mini", CacheOutcome: "miss", ProjectedNanos: 100, ActualNanos: 150, BaselineNanos: 1000, Status: ledger.StatusOK},
		{Time: t0.Add(time.Hour), Model: "gpt-4o-mini", CacheOutcome: "exact_hit", BaselineNanos: 1000, Status: ledger.StatusOK},
	}
	for _, r := range recs {
		if _, err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ledger.Summarize(ctx, s, ledger.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Actual.Nanos != 150 || rep.Totals.Savings.Nanos != 1850 || rep.Totals.HitRate != 0.5 || len(rep.ByDay) != 2 {
		t.Fatalf("report from store: %+v", rep.Totals)
	}
}

// AppendBatch writes the records in order, as Append would, and all or
// none: a bad record leaves nothing behind.
func TestLedgerAppendBatch(t *testing.T) {
	ctx := context.Background()
	s := NewLedgerStore(tempDB(t))
	var _ ledger.BatchStore = s
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var want []ledger.Record
	for i := 0; i < 300; i++ {
		want = append(want, ledger.Record{Time: t0.Add(time.Duration(i) * time.Millisecond), User: "replay-user", Tag: "replay",
			Model: "gpt-4o-mini", CacheOutcome: "miss", PromptTokens: int64(i), ActualNanos: 10, Simulated: true,
			Status: ledger.StatusOK, Saved: ledger.Saved{Routing: 3}})
	}
	if err := s.AppendBatch(ctx, want); err != nil {
		t.Fatal(err)
	}
	var got []ledger.Record
	if err := s.Scan(ctx, ledger.Filter{}, func(r ledger.Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		want[i].ID = got[i].ID
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	bad := []ledger.Record{{Time: t0.Add(time.Hour), Tag: "x"}, {Tag: "no time"}}
	if err := s.AppendBatch(ctx, bad); err == nil {
		t.Fatal("a batch with a record without time was accepted")
	}
	n := 0
	if err := s.Scan(ctx, ledger.Filter{Tag: "x"}, func(ledger.Record) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("a failed batch left %d rows (err %v)", n, err)
	}
}
