package replay

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pennyllm/penny/core/money"
)

// Report is what a replay found. USD fields are for display and JSON; the
// *_nanos fields are the exact integer sums they were printed from.
type Report struct {
	Requests     int      `json:"requests"` // replayed successfully
	Failed       int      `json:"failed"`   // failed to plan or execute (see failures)
	Skipped      int      `json:"skipped"`  // malformed lines in the file
	SkippedLines []string `json:"skipped_lines,omitempty"`
	Format       string   `json:"format"`

	BaselineUSD  float64 `json:"baseline_usd"`  // every request on its baseline model, original prompt
	OptimizedUSD float64 `json:"optimized_usd"` // with penny: cache, routing, compression
	SavingsUSD   float64 `json:"savings_usd"`
	SavingsPct   float64 `json:"savings_pct"`
	// ActualUSD is what the executed requests cost as the provider's
	// reported usage prices them (simulated in a replay); it differs from
	// OptimizedUSD by the gap between assumed and reported answer lengths.
	ActualUSD      float64 `json:"actual_usd"`
	BaselineNanos  int64   `json:"baseline_nanos"`
	OptimizedNanos int64   `json:"optimized_nanos"`
	ActualNanos    int64   `json:"actual_nanos"`

	CacheHitRate float64 `json:"cache_hit_rate"` // 0..1 of successful requests
	CacheHits    int     `json:"cache_hits"`
	ExactHits    int     `json:"exact_hits"`
	SemanticHits int     `json:"semantic_hits"`

	Strategies []Strategy `json:"strategies"` // cache, routing, compression; they add up to savings_usd
	ByModel    []ModelRow `json:"by_model"`   // by the model that answered ("cache" for hits)
	PerMonth   Projection `json:"per_month"`

	RequestsPerSecond float64   `json:"requests_per_second"`
	ElapsedSeconds    float64   `json:"elapsed_seconds"`
	Failures          []Failure `json:"failures,omitempty"`
}

// Strategy is one strategy's share of the savings (see attribution in
// runner.go for how a request's savings are split).
type Strategy struct {
	Name         string  `json:"name"`
	SavingsUSD   float64 `json:"savings_usd"`
	SavingsNanos int64   `json:"savings_nanos"`
	SharePct     float64 `json:"share_pct"` // of the total savings
	Requests     int     `json:"requests"`  // requests where it changed the cost
}

// ModelRow is the traffic one model answered.
type ModelRow struct {
	Model          string  `json:"model"`
	Requests       int     `json:"requests"`
	BaselineUSD    float64 `json:"baseline_usd"` // what these requests cost on their baseline models
	OptimizedUSD   float64 `json:"optimized_usd"`
	BaselineNanos  int64   `json:"baseline_nanos"`
	OptimizedNanos int64   `json:"optimized_nanos"`
}

// Projection is the replayed traffic's average cost scaled to a month.
type Projection struct {
	RequestsPerDay int64   `json:"requests_per_day"`
	Days           int     `json:"days"`
	BaselineUSD    float64 `json:"baseline_usd"`
	OptimizedUSD   float64 `json:"optimized_usd"`
	SavingsUSD     float64 `json:"savings_usd"`
	BaselineNanos  int64   `json:"baseline_nanos"`
	OptimizedNanos int64   `json:"optimized_nanos"`
}

// Failure groups failed requests by stage and reason.
type Failure struct {
	Stage     string `json:"stage"` // plan, execute, attribute
	Reason    string `json:"reason"`
	Count     int    `json:"count"`
	FirstLine int    `json:"first_line"`
	Example   string `json:"example"` // the first error in full
}

// WriteText renders the report for a terminal or a log: plain text, no
// colour, columns aligned.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Replayed %s requests (%s", commas(int64(r.Requests)), r.Format)
	if r.Skipped > 0 {
		fmt.Fprintf(&b, ", %s malformed lines skipped", commas(int64(r.Skipped)))
	}
	if r.Failed > 0 {
		fmt.Fprintf(&b, ", %s failed", commas(int64(r.Failed)))
	}
	fmt.Fprintf(&b, ") in %.2fs · %s req/s\n\n", r.ElapsedSeconds, commas(int64(r.RequestsPerSecond+0.5)))

	base, opt := money.Nanos(r.BaselineNanos), money.Nanos(r.OptimizedNanos)
	rows := [][]string{
		{"Baseline", base.String(), ""},
		{"With penny", opt.String(), fmt.Sprintf("%.1f%% saved", r.SavingsPct)},
		{"Saved", (base - opt).String(), ""},
		{"Cache hit rate", fmt.Sprintf("%.1f%%", 100*r.CacheHitRate),
			fmt.Sprintf("%s exact, %s semantic", commas(int64(r.ExactHits)), commas(int64(r.SemanticHits)))},
	}
	table(&b, "", nil, rows, "lrl")

	rows = rows[:0]
	var sum money.Nanos
	for _, s := range r.Strategies {
		sum += money.Nanos(s.SavingsNanos)
		rows = append(rows, []string{s.Name, money.Nanos(s.SavingsNanos).String(),
			fmt.Sprintf("%.1f%%", s.SharePct), commas(int64(s.Requests))})
	}
	rows = append(rows, []string{"total", sum.String(), "", ""})
	table(&b, "\nSavings by strategy (cache, then routing, then compression)",
		[]string{"", "saved", "share", "requests"}, rows, "lrrr")

	rows = rows[:0]
	for _, m := range r.ByModel {
		rows = append(rows, []string{m.Model, commas(int64(m.Requests)),
			money.Nanos(m.BaselineNanos).String(), money.Nanos(m.OptimizedNanos).String()})
	}
	table(&b, "\nBy answering model", []string{"", "requests", "baseline", "with penny"}, rows, "lrrr")

	p := r.PerMonth
	fmt.Fprintf(&b, "\nPer month at %s requests/day (%d days): %s → %s, saving %s\n",
		commas(p.RequestsPerDay), p.Days, money.Nanos(p.BaselineNanos), money.Nanos(p.OptimizedNanos),
		money.Nanos(p.BaselineNanos-p.OptimizedNanos))
	if r.ActualNanos != r.OptimizedNanos && r.Requests > 0 {
		fmt.Fprintf(&b, "Simulated sends cost %s at the usage the provider reported.\n", money.Nanos(r.ActualNanos))
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "Failed at %s: %s × %s (first on line %d)\n", f.Stage, f.Reason, commas(int64(f.Count)), f.FirstLine)
	}
	for _, s := range r.SkippedLines {
		fmt.Fprintf(&b, "Skipped %s\n", s)
	}
	if len(r.SkippedLines) < r.Skipped {
		fmt.Fprintf(&b, "… and %s more malformed lines\n", commas(int64(r.Skipped-len(r.SkippedLines))))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes rows under an optional title and header; align has one
// letter per column, l or r.
func table(b *strings.Builder, title string, header []string, rows [][]string, align string) {
	if title != "" {
		b.WriteString(title + "\n")
	}
	all := rows
	if header != nil {
		all = append([][]string{header}, rows...)
	}
	widths := make([]int, len(align))
	for _, row := range all {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, row := range all {
		var line strings.Builder
		line.WriteString("  ")
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i > 0 {
				line.WriteString("  ")
			}
			if align[i] == 'r' {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// commas groups thousands: 12345 → "12,345".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
