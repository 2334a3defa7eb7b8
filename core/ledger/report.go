package ledger

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/pennyllm/penny/core/money"
)

// Amount is money as exact nanos and as dollars for JSON readers.
type Amount struct {
	Nanos money.Nanos `json:"nanos"`
	USD   float64     `json:"usd"`
}

func amount(n money.Nanos) Amount { return Amount{Nanos: n, USD: n.USD()} }

// Totals aggregates a set of records.
type Totals struct {
	Requests int64 `json:"requests"` // every request record: hits, calls, failures, refusals
	// HelperCalls are model calls made to prepare a request (summaries,
	// TagSummarize): their cost and tokens count, but they are not
	// requests, calls or failures and do not dilute the hit rate.
	HelperCalls      int64   `json:"helper_calls"`
	Calls            int64   `json:"calls"`     // successful model calls
	Hits             int64   `json:"hits"`      // answered from the cache
	Failures         int64   `json:"failures"`  // model calls that failed
	Refusals         int64   `json:"refusals"`  // refused by the budget before any call
	Pending          int64   `json:"pending"`   // calls whose outcome was never recorded (the process died mid-call)
	Simulated        int64   `json:"simulated"` // successful answers from the simulated provider
	HitRate          float64 `json:"hit_rate"`  // hits / (hits + calls)
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CachedTokens     int64   `json:"cached_prompt_tokens"`
	Actual           Amount  `json:"actual"`
	Projected        Amount  `json:"projected"`
	Baseline         Amount  `json:"baseline"` // what the baseline model would have cost for the same completed requests
	Savings          Amount  `json:"savings"`  // baseline - actual
	SavingsPct       float64 `json:"savings_pct"`
	// ByStrategy splits Savings: cache, routing, compression, provider
	// discounts. The parts add up to Savings.
	ByStrategy []StrategyAmount `json:"by_strategy"`
	saved      Saved
}

// StrategyAmount is one strategy's part of the savings.
type StrategyAmount struct {
	Strategy string `json:"strategy"`
	Amount
}

// ModelRow is the totals of one routed model ("cache" for hits).
type ModelRow struct {
	Model string `json:"model"`
	Totals
}

// DayRow is the totals of one calendar day.
type DayRow struct {
	Day string `json:"day"` // YYYY-MM-DD in the report's time zone
	Totals
}

// ProjectionError compares each successful model call's projection with what
// it really cost. Cache hits are excluded (both sides are zero by
// construction) and so are failures and refusals (nothing to compare).
type ProjectionError struct {
	Samples int64 `json:"samples"`
	// Mean of actual - projected: positive means penny projected too little.
	MeanNanos    float64 `json:"mean_nanos"`
	MeanAbsNanos float64 `json:"mean_abs_nanos"`
	// Relative error |actual - projected| / projected, over samples with a
	// non-zero projection, in percent.
	MeanPct    float64 `json:"mean_pct"`
	MeanAbsPct float64 `json:"mean_abs_pct"`
	// Token errors separate the tokenizer (prompt) from the completion-length
	// assumption (completion), which is usually the larger part.
	PromptTokensMeanAbs     float64 `json:"prompt_tokens_mean_abs"`
	CompletionTokensMean    float64 `json:"completion_tokens_mean"`
	CompletionTokensMeanAbs float64 `json:"completion_tokens_mean_abs"`
	// Total actual - total projected over the samples.
	Total Amount `json:"total"`
}

// Report is what `penny ledger report` shows.
type Report struct {
	From       time.Time       `json:"from,omitzero"` // first record's time
	To         time.Time       `json:"to,omitzero"`   // last record's time
	TimeZone   string          `json:"time_zone"`
	Totals     Totals          `json:"totals"`
	ByModel    []ModelRow      `json:"by_model"`
	ByDay      []DayRow        `json:"by_day"`
	Projection ProjectionError `json:"projection_error"`

	loc *time.Location // for rendering From/To; nil means UTC
}

// Builder accumulates a Report one record at a time, so a report over a
// large ledger streams instead of loading every record.
type Builder struct {
	loc     *time.Location
	rep     Report
	byModel map[string]*Totals
	byDay   map[string]*Totals

	// projection error accumulators
	n, nPct                          int64
	sumErr, sumAbs                   float64
	sumPct, sumAbsPct                float64
	sumPromptAbs, sumCompl, sumCmpAb float64
	totalErr                         money.Nanos
}

// NewBuilder starts a report whose days are calendar days in loc (UTC when
// nil).
func NewBuilder(loc *time.Location) *Builder {
	if loc == nil {
		loc = time.UTC
	}
	return &Builder{loc: loc, byModel: map[string]*Totals{}, byDay: map[string]*Totals{}}
}

// Add folds one record into the report.
func (b *Builder) Add(r Record) {
	if b.rep.From.IsZero() || r.Time.Before(b.rep.From) {
		b.rep.From = r.Time
	}
	if r.Time.After(b.rep.To) {
		b.rep.To = r.Time
	}
	model := r.Model
	if r.Hit() {
		model = "cache"
	}
	day := r.Time.In(b.loc).Format(time.DateOnly)
	for _, t := range []*Totals{&b.rep.Totals, get(b.byModel, model), get(b.byDay, day)} {
		t.add(r)
	}
	if r.Sent() {
		b.addProjection(r)
	}
}

func get(m map[string]*Totals, k string) *Totals {
	t := m[k]
	if t == nil {
		t = &Totals{}
		m[k] = t
	}
	return t
}

func (t *Totals) add(r Record) {
	switch {
	case r.Tag == TagSummarize:
		t.HelperCalls++
		if r.Status != StatusOK {
			return
		}
	default:
		t.Requests++
	}
	switch {
	case r.Tag == TagSummarize: // counted above; its money below
	case r.Status == StatusRefused:
		t.Refusals++
		return
	case r.Status == StatusError:
		t.Failures++
		return
	case r.Status == StatusPending:
		t.Pending++
		return
	case r.Hit():
		t.Hits++
	default:
		t.Calls++
	}
	if r.Simulated {
		t.Simulated++
	}
	t.PromptTokens += r.PromptTokens
	t.CompletionTokens += r.CompletionTokens
	t.CachedTokens += r.CachedPromptTokens
	t.Actual.Nanos += r.ActualNanos
	t.Projected.Nanos += r.ProjectedNanos
	t.Baseline.Nanos += r.BaselineNanos
	t.saved.Cache += r.Saved.Cache
	t.saved.Routing += r.Saved.Routing
	t.saved.Compression += r.Saved.Compression
	t.saved.Discount += r.Saved.Discount
}

func (t *Totals) finish() {
	if d := t.Hits + t.Calls; d > 0 {
		t.HitRate = float64(t.Hits) / float64(d)
	}
	t.Savings.Nanos = t.Baseline.Nanos - t.Actual.Nanos
	for _, a := range []*Amount{&t.Actual, &t.Projected, &t.Baseline, &t.Savings} {
		a.USD = a.Nanos.USD()
	}
	if t.Baseline.Nanos > 0 {
		t.SavingsPct = 100 * float64(t.Savings.Nanos) / float64(t.Baseline.Nanos)
	}
	t.ByStrategy = []StrategyAmount{
		{"cache", amount(t.saved.Cache)}, {"routing", amount(t.saved.Routing)},
		{"compression", amount(t.saved.Compression)}, {"provider discounts", amount(t.saved.Discount)},
	}
}

func (b *Builder) addProjection(r Record) {
	diff := r.ActualNanos - r.ProjectedNanos
	b.n++
	b.totalErr += diff
	b.sumErr += float64(diff)
	b.sumAbs += math.Abs(float64(diff))
	if r.ProjectedNanos > 0 {
		b.nPct++
		p := 100 * float64(diff) / float64(r.ProjectedNanos)
		b.sumPct += p
		b.sumAbsPct += math.Abs(p)
	}
	b.sumPromptAbs += math.Abs(float64(r.PromptTokens - r.ProjectedPromptTokens))
	c := float64(r.CompletionTokens - r.ProjectedCompletionTokens)
	b.sumCompl += c
	b.sumCmpAb += math.Abs(c)
}

// Report returns the finished report. The Builder may keep accumulating;
// Report can be called again.
func (b *Builder) Report() Report {
	rep := b.rep
	rep.TimeZone = b.loc.String()
	rep.loc = b.loc
	rep.Totals.finish()
	rep.ByModel = make([]ModelRow, 0, len(b.byModel))
	for m, t := range b.byModel {
		row := ModelRow{Model: m, Totals: *t}
		row.finish()
		rep.ByModel = append(rep.ByModel, row)
	}
	// Most expensive first: that is the row a user acts on.
	sort.Slice(rep.ByModel, func(i, j int) bool {
		a, c := rep.ByModel[i], rep.ByModel[j]
		if a.Actual.Nanos != c.Actual.Nanos {
			return a.Actual.Nanos > c.Actual.Nanos
		}
		return a.Model < c.Model
	})
	rep.ByDay = make([]DayRow, 0, len(b.byDay))
	for d, t := range b.byDay {
		row := DayRow{Day: d, Totals: *t}
		row.finish()
		rep.ByDay = append(rep.ByDay, row)
	}
	sort.Slice(rep.ByDay, func(i, j int) bool { return rep.ByDay[i].Day < rep.ByDay[j].Day })
	if b.n > 0 {
		n := float64(b.n)
		rep.Projection = ProjectionError{
			Samples: b.n, MeanNanos: b.sumErr / n, MeanAbsNanos: b.sumAbs / n,
			PromptTokensMeanAbs: b.sumPromptAbs / n, CompletionTokensMean: b.sumCompl / n,
			CompletionTokensMeanAbs: b.sumCmpAb / n, Total: amount(b.totalErr),
		}
		if b.nPct > 0 {
			rep.Projection.MeanPct = b.sumPct / float64(b.nPct)
			rep.Projection.MeanAbsPct = b.sumAbsPct / float64(b.nPct)
		}
	}
	return rep
}

// Summarize builds the report of every record the filter selects.
func Summarize(ctx context.Context, s Store, f Filter, loc *time.Location) (Report, error) {
	b := NewBuilder(loc)
	err := s.Scan(ctx, f, func(r Record) error {
		b.Add(r)
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("ledger report: %w", err)
	}
	return b.Report(), nil
}

// WriteText renders the report for a terminal: plain text, aligned columns,
// no colour (the CLI may be piped).
func (r Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	t := r.Totals
	if t.Requests == 0 && t.HelperCalls == 0 {
		ew.printf("ledger is empty: nothing has been sent yet (try `penny send`)\n")
		return ew.err
	}
	zone := r.loc
	if zone == nil {
		zone = time.UTC
	}
	ew.printf("Ledger %s → %s (%s)\n", r.From.In(zone).Format(time.DateTime), r.To.In(zone).Format(time.DateTime), zone)
	ew.printf("  requests  %d  (calls %d, cache hits %d, failed %d, refused by budget %d)\n",
		t.Requests, t.Calls, t.Hits, t.Failures, t.Refusals)
	if t.HelperCalls > 0 {
		ew.printf("  helpers   %d summarizer calls (their cost is in the totals below)\n", t.HelperCalls)
	}
	if t.Simulated > 0 {
		ew.printf("  simulated %d of the answers came from the simulated provider (no real spend)\n", t.Simulated)
	}
	ew.printf("  hit rate  %.1f%%\n", 100*t.HitRate)
	ew.printf("  tokens    %d prompt (%d cached), %d completion\n", t.PromptTokens, t.CachedTokens, t.CompletionTokens)
	ew.printf("  cost      actual %s, projected %s, baseline %s\n", t.Actual.Nanos, t.Projected.Nanos, t.Baseline.Nanos)
	ew.printf("  savings   %s (%.1f%% of baseline)\n", t.Savings.Nanos, t.SavingsPct)
	for _, st := range t.ByStrategy {
		ew.printf("            %-18s %s\n", st.Strategy, st.Nanos)
	}
	if p := r.Projection; p.Samples > 0 {
		ew.printf("  projection error over %d calls: mean %+.1f%%, mean |error| %.1f%% (%s total); completion tokens off by %.0f on average, prompt tokens by %.1f\n",
			p.Samples, p.MeanPct, p.MeanAbsPct, signed(p.Total.Nanos), p.CompletionTokensMeanAbs, p.PromptTokensMeanAbs)
	}
	ew.printf("\nBy model\n")
	tw := tabwriter.NewWriter(ew, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\trequests\tprompt tok\tcompl tok\tactual\tprojected\tbaseline\tsavings\t\n")
	for _, m := range r.ByModel {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", m.Model, m.Requests, m.PromptTokens, m.CompletionTokens,
			m.Actual.Nanos, m.Projected.Nanos, m.Baseline.Nanos, m.Savings.Nanos)
	}
	ew.flush(tw)
	ew.printf("\nBy day\n")
	tw = tabwriter.NewWriter(ew, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "day\trequests\thits\thit rate\tactual\tbaseline\tsavings\t\n")
	for _, d := range r.ByDay {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%s\t%s\t%s\t\n", d.Day, d.Requests, d.Hits, 100*d.HitRate,
			d.Actual.Nanos, d.Baseline.Nanos, d.Savings.Nanos)
	}
	ew.flush(tw)
	return ew.err
}

func signed(n money.Nanos) string {
	if n > 0 {
		return "+" + n.String()
	}
	return n.String()
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func (e *errWriter) flush(tw *tabwriter.Writer) {
	if err := tw.Flush(); err != nil && e.err == nil {
		e.err = err
	}
}
