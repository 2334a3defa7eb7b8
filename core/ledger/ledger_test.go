package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// memStore is a reference Store for tests.
type memStore struct{ recs []Record }

func (m *memStore) Update(_ context.Context, r Record) error {
	for i := range m.recs {
		if m.recs[i].ID == r.ID {
			m.recs[i] = r
			return nil
		}
	}
	return fmt.Errorf("no record %d", r.ID)
}

func (m *memStore) Append(_ context.Context, r Record) (int64, error) {
	r.ID = int64(len(m.recs) + 1)
	m.recs = append(m.recs, r)
	return r.ID, nil
}

func (m *memStore) Scan(_ context.Context, f Filter, fn func(Record) error) error {
	for _, r := range m.recs {
		if f.Match(r) {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

var t0 = time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)

func sample() []Record {
	return []Record{
		// A call that cost more than projected (longer answer than assumed).
		{Time: t0, Model: "gpt-4o-mini", Provider: "openai", CacheOutcome: "miss", ProjectedPromptTokens: 100, ProjectedCompletionTokens: 400,
			PromptTokens: 102, CompletionTokens: 600, ProjectedNanos: 1000, ActualNanos: 1500, BaselineNanos: 20000, Status: StatusOK, UsageKnown: true},
		// A call that cost less.
		{Time: t0.Add(time.Hour), Model: "gpt-4o-mini", Provider: "openai", CacheOutcome: "miss", ProjectedPromptTokens: 50, ProjectedCompletionTokens: 400,
			PromptTokens: 50, CompletionTokens: 200, ProjectedNanos: 1000, ActualNanos: 500, BaselineNanos: 20000, Status: StatusOK, Simulated: true},
		// A hit: no cost, full baseline saved.
		{Time: t0.Add(3 * time.Hour), Model: "gpt-4o-mini", CacheOutcome: "exact_hit", BaselineNanos: 20000, Status: StatusOK},
		// A failure and a refusal: counted, not charged, not in the projection error.
		{Time: t0.Add(3 * time.Hour), Model: "gpt-4o", Provider: "openai", CacheOutcome: "miss", ProjectedNanos: 9000, BaselineNanos: 20000,
			Status: StatusError, Error: "server error (500)"},
		{Time: t0.Add(4 * time.Hour), Model: "gpt-4o", CacheOutcome: "miss", ProjectedNanos: 9000, BaselineNanos: 20000,
			ReservedNanos: 0, Status: StatusRefused, Error: "budget exceeded"},
	}
}

func TestReport(t *testing.T) {
	b := NewBuilder(nil)
	for _, r := range sample() {
		b.Add(r)
	}
	rep := b.Report()
	tt := rep.Totals
	if tt.Requests != 5 || tt.Calls != 2 || tt.Hits != 1 || tt.Failures != 1 || tt.Refusals != 1 || tt.Simulated != 1 {
		t.Fatalf("counts %+v", tt)
	}
	if math.Abs(tt.HitRate-1.0/3) > 1e-12 {
		t.Errorf("hit rate %v, want 1/3 (hits over answered requests)", tt.HitRate)
	}
	// Baseline counts only answered requests: a failed send replaced nothing.
	if tt.Actual.Nanos != 2000 || tt.Projected.Nanos != 2000 || tt.Baseline.Nanos != 60000 || tt.Savings.Nanos != 58000 {
		t.Errorf("money %+v", tt)
	}
	if math.Abs(tt.SavingsPct-100*58000.0/60000) > 1e-9 || tt.Actual.USD != 2e-6 {
		t.Errorf("savings pct %v usd %v", tt.SavingsPct, tt.Actual.USD)
	}
	if len(rep.ByModel) != 3 || rep.ByModel[0].Model != "gpt-4o-mini" || rep.ByModel[0].Calls != 2 ||
		rep.ByModel[1].Model != "cache" || rep.ByModel[2].Model != "gpt-4o" {
		t.Errorf("by model %+v", rep.ByModel)
	}
	if len(rep.ByDay) != 2 || rep.ByDay[0].Day != "2026-11-26" || rep.ByDay[0].Requests != 2 || rep.ByDay[1].Requests != 3 {
		t.Errorf("by day (UTC) %+v", rep.ByDay)
	}
	p := rep.Projection
	// errors: +500 (+50%) and -500 (-50%).
	if p.Samples != 2 || p.MeanNanos != 0 || p.MeanAbsNanos != 500 || p.MeanPct != 0 || p.MeanAbsPct != 50 ||
		p.CompletionTokensMean != 0 || p.CompletionTokensMeanAbs != 200 || p.PromptTokensMeanAbs != 1 || p.Total.Nanos != 0 {
		t.Errorf("projection %+v", p)
	}
	// Days follow the report's zone: in UTC+3 everything is on Nov 27.
	b = NewBuilder(time.FixedZone("EEST", 3*3600))
	for _, r := range sample() {
		b.Add(r)
	}
	if r := b.Report(); len(r.ByDay) != 1 || r.ByDay[0].Day != "2026-11-27" || r.TimeZone != "EEST" {
		t.Errorf("by day (UTC+3) %+v", r.ByDay)
	}
}

// A summarizer call is money spent but not a request: it counts as a
// helper call, its cost and tokens count, its failure is not a failed
// request, and the hit rate is unchanged.
func TestReportSummarizerCalls(t *testing.T) {
	recs := append(sample(),
		Record{Time: t0, Tag: TagSummarize, Model: "gpt-4o-mini", CacheOutcome: "miss", PromptTokens: 700, CompletionTokens: 150,
			ProjectedNanos: 300, ActualNanos: 250, Status: StatusOK, Saved: Saved{Compression: -250}},
		Record{Time: t0, Tag: TagSummarize, Model: "gpt-4o-mini", CacheOutcome: "miss", Status: StatusError, Error: "server error (500)"})
	b := NewBuilder(nil)
	for _, r := range recs {
		b.Add(r)
	}
	rep := b.Report()
	tt := rep.Totals
	if tt.Requests != 5 || tt.HelperCalls != 2 || tt.Calls != 2 || tt.Failures != 1 || math.Abs(tt.HitRate-1.0/3) > 1e-12 {
		t.Fatalf("counts %+v", tt)
	}
	if tt.Actual.Nanos != 2250 || tt.Savings.Nanos != 57750 || tt.PromptTokens != 852 {
		t.Errorf("money and tokens %+v", tt)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "2 summarizer calls") {
		t.Errorf("text report (%v):\n%s", err, buf.String())
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := (Report{}).WriteText(&buf); err != nil || !strings.Contains(buf.String(), "ledger is empty") {
		t.Fatalf("empty: %q %v", buf.String(), err)
	}
	rep, err := Summarize(context.Background(), &memStore{recs: sample()}, Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"requests  5  (calls 2, cache hits 1, failed 1, refused by budget 1)",
		"hit rate  33.3%",
		"savings   $0.000058 (96.7% of baseline)",
		"projection error over 2 calls: mean +0.0%, mean |error| 50.0%",
		"gpt-4o-mini", "2026-11-27", "simulated 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report text lacks %q:\n%s", want, out)
		}
	}
}

func TestExportJSONL(t *testing.T) {
	var buf bytes.Buffer
	n, err := Export(context.Background(), &memStore{recs: sample()}, Filter{}, &buf, FormatJSONL)
	if err != nil || n != 5 {
		t.Fatalf("%d %v", n, err)
	}
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines", len(lines))
	}
	first := lines[0]
	checks := map[string]any{
		"gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
		"gen_ai.usage.input_tokens": 102.0, "gen_ai.usage.output_tokens": 600.0, "gen_ai.usage.cache_read.input_tokens": 0.0,
		"penny.cost.actual_usd": 1.5e-6, "penny.cost.projected_usd": 1e-6, "penny.cost.baseline_usd": 2e-5,
		"penny.cost.actual_nanos": 1500.0, "penny.cache.outcome": "miss", "time": "2026-11-26T22:00:00Z", "penny.usage.reported": true,
	}
	for k, v := range checks {
		if first[k] != v {
			t.Errorf("%s = %#v, want %#v", k, first[k], v)
		}
	}
	if lines[3]["error.type"] != "provider_error" || lines[4]["error.type"] != "budget_exceeded" || lines[0]["error.type"] != "" {
		t.Errorf("error.type: %v %v %v", lines[0]["error.type"], lines[3]["error.type"], lines[4]["error.type"])
	}
	if len(first) != len(Columns()) {
		t.Errorf("%d keys, %d columns", len(first), len(Columns()))
	}
}

func TestExportCSV(t *testing.T) {
	var buf bytes.Buffer
	recs := sample()
	recs[0].Error = "has, a comma and \"quotes\"\nand a newline"
	if _, err := Export(context.Background(), &memStore{recs: recs}, Filter{}, &buf, FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != strings.Join(Columns(), ",") {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	if got := rows[1][col["penny.cost.actual_usd"]]; got != "0.0000015" {
		t.Errorf("actual_usd formatted %q", got)
	}
	if got := rows[1][col["penny.error"]]; got != recs[0].Error {
		t.Errorf("error field did not survive quoting: %q", got)
	}
	if got := rows[3][col["penny.cache.outcome"]]; got != "exact_hit" {
		t.Errorf("cache outcome %q", got)
	}
	if _, err := NewExporter(&buf, "xml"); err == nil {
		t.Error("unknown format must fail")
	}
}
