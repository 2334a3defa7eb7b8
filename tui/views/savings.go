package views

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/ledger"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
	"github.com/pennyllm/penny/tui/panes"
)

type savingsLoadedMsg struct {
	seq int
	sum common.SavingsSummary
	err error
}

// Savings is the dashboard for stakeholders: spent vs baseline, savings by
// strategy and by model, spend over time, and a monthly projection at an
// adjustable traffic level.
type Savings struct {
	c       *common.Common
	sum     *common.SavingsSummary
	seq     int
	err     string
	rpd     int64
	adjust  keys.Adjust
	refresh key.Binding
}

// NewSavings returns the savings view; c.Services.Savings must be set.
func NewSavings(c *common.Common) *Savings {
	return &Savings{c: c, rpd: 1000, adjust: keys.NewAdjust("req/day"),
		refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh"))}
}

func (v *Savings) Title() string { return "Savings" }

func (v *Savings) Show(cur common.Current) tea.Cmd {
	if cur.RequestsPerDay > 0 {
		v.rpd = cur.RequestsPerDay
	}
	v.seq++
	seq, s := v.seq, v.c.Services.Savings
	return func() tea.Msg {
		sum, err := s.Summary(context.Background())
		return savingsLoadedMsg{seq, sum, err}
	}
}

func (v *Savings) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case savingsLoadedMsg:
		if msg.seq != v.seq {
			return nil
		}
		if msg.err != nil {
			v.err = "could not load the ledger"
			return common.ReportErr(v.err, msg.err)
		}
		v.err = ""
		v.sum = &msg.sum
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, v.adjust.More):
			v.rpd = panes.StepRequests(v.rpd, +1)
		case key.Matches(msg, v.adjust.Less):
			v.rpd = panes.StepRequests(v.rpd, -1)
		case key.Matches(msg, v.refresh):
			return v.Show(common.Current{})
		}
	}
	return nil
}

func (v *Savings) Body(w, h int) string {
	st := v.c.Styles
	switch {
	case v.err != "":
		return st.Bad.Render(v.err) + st.Muted.Render(" (r retries)")
	case v.sum == nil:
		return st.Muted.Render("loading…")
	case v.sum.Report.Totals.Requests == 0:
		return st.Muted.Render(common.Wrap("No sends recorded yet: the ledger fills as you send prompts (or load the demo data).", w))
	}
	r, t := v.sum.Report, v.sum.Report.Totals
	var b strings.Builder
	b.WriteString(fmt.Sprintf("%s %s   %s %s   %s %s   %s\n",
		st.Muted.Render("spent"), st.Accent.Render(t.Actual.Nanos.String()),
		st.Muted.Render("baseline"), st.Bold.Render(t.Baseline.Nanos.String()),
		st.Muted.Render("saved"), st.Good.Render(fmt.Sprintf("%s (%.1f%%)", t.Savings.Nanos, t.SavingsPct)),
		st.Muted.Render(fmt.Sprintf("%s requests · cache hit rate %.0f%%", commas(t.Requests), 100*t.HitRate))))
	// Monthly projection from the per-request averages of answered requests.
	if answered := t.Calls + t.Hits; answered > 0 {
		month := func(n money.Nanos) money.Nanos { return n * money.Nanos(v.rpd) * 30 / money.Nanos(answered) }
		b.WriteString(fmt.Sprintf("%s %s vs %s baseline  %s\n",
			st.Muted.Render(fmt.Sprintf("per month at %s req/day:", commas(v.rpd))),
			st.Accent.Render(month(t.Actual.Nanos).String()), month(t.Baseline.Nanos).String(),
			st.Muted.Render("(+/- to change)")))
	}
	if p := r.Projection; p.Samples > 0 {
		b.WriteString(st.Muted.Render(fmt.Sprintf("projection error: mean |actual − projected| %.1f%% over %d calls", p.MeanAbsPct, p.Samples)) + "\n")
	}
	b.WriteString("\n")

	bw := max(10, min(40, w/3))
	b.WriteString(st.Bold.Render("Savings by strategy") + "\n")
	if len(v.sum.ByStrategy) == 0 {
		b.WriteString(st.Muted.Render("  not attributed in this build") + "\n")
	}
	var top money.Nanos
	for _, a := range v.sum.ByStrategy {
		top = max(top, a.Nanos)
	}
	for _, a := range v.sum.ByStrategy {
		frac := 0.0
		if top > 0 {
			frac = float64(a.Nanos) / float64(top)
		}
		b.WriteString(fmt.Sprintf("  %-20s %s %s\n", trunc(common.OneLine(a.Name), 20), v.c.Bar(frac, bw, st.Good), a.Nanos))
	}
	b.WriteString("\n" + st.Bold.Render("By model") + "\n")
	b.WriteString(st.Muted.Render(fmt.Sprintf("  %-24s %9s %12s %12s %8s", "model", "requests", "spent", "baseline", "saved")) + "\n")
	for _, m := range r.ByModel {
		b.WriteString(fmt.Sprintf("  %-24s %9s %12s %12s %7.1f%%\n", trunc(common.OneLine(m.Model), 24), commas(m.Requests),
			m.Actual.Nanos, m.Baseline.Nanos, m.SavingsPct))
	}
	if len(r.ByDay) > 0 {
		b.WriteString("\n" + st.Bold.Render("Over time") + st.Muted.Render("  spent per day; bar height relative to the highest day's baseline") + "\n")
		b.WriteString(v.sparkline(r.ByDay, w-2) + "\n")
	}
	return common.Wrap(b.String(), w)
}

// sparkline draws one column per day (the latest days that fit), scaled to
// the highest baseline so savings show as the gap to the top.
func (v *Savings) sparkline(days []ledger.DayRow, w int) string {
	if len(days) > w-30 {
		days = days[len(days)-max(1, w-30):]
	}
	var top money.Nanos
	for _, d := range days {
		top = max(top, d.Baseline.Nanos, d.Actual.Nanos)
	}
	ticks := []rune(" ▁▂▃▄▅▆▇█")
	var sb strings.Builder
	for _, d := range days {
		i := 0
		if top > 0 {
			i = int(float64(d.Actual.Nanos) / float64(top) * float64(len(ticks)-1))
		}
		sb.WriteRune(ticks[max(0, min(i, len(ticks)-1))])
	}
	return "  " + v.c.Styles.Accent2.Render(sb.String()) +
		v.c.Styles.Muted.Render(fmt.Sprintf("  %s … %s, top %s/day", days[0].Day, days[len(days)-1].Day, top))
}

func (v *Savings) ShortHelp() []key.Binding {
	return []key.Binding{v.adjust.More, v.adjust.Less, v.refresh}
}
func (v *Savings) FullHelp() [][]key.Binding { return [][]key.Binding{v.ShortHelp()} }

// commas formats n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprintf("%d", n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
