package panes

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
)

// RequestsPerDayMsg asks the root model to re-plan at a new traffic level.
type RequestsPerDayMsg struct{ N int64 }

// Cost compares baseline and optimized: tokens, $ per request, $ per month
// at an adjustable requests/day, savings, assumptions labelled as such, and
// after a send the actual figures next to the projection.
type Cost struct {
	c      *common.Common
	plan   *plan.Plan
	actual *send.Outcome
	rpd    int64
	adjust keys.Adjust
	scroll scroller
}

// NewCost returns the cost pane at rpd requests per day.
func NewCost(c *common.Common, rpd int64) *Cost {
	return &Cost{c: c, rpd: rpd, adjust: keys.NewAdjust("req/day"), scroll: newScroller()}
}

func (p *Cost) Title() string         { return "Cost" }
func (p *Cost) SetPlan(pl *plan.Plan) { p.plan = pl }

// SetActual shows (or with nil clears) what a send really cost.
func (p *Cost) SetActual(o *send.Outcome) { p.actual = o }

// SetRequestsPerDay sets the traffic level shown.
func (p *Cost) SetRequestsPerDay(n int64) { p.rpd = n }

func (p *Cost) Update(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.adjust.More):
		n := StepRequests(p.rpd, +1)
		return func() tea.Msg { return RequestsPerDayMsg{n} }
	case key.Matches(msg, p.adjust.Less):
		n := StepRequests(p.rpd, -1)
		return func() tea.Msg { return RequestsPerDayMsg{n} }
	}
	p.scroll.handle(msg)
	return nil
}

// StepRequests moves n one step along 1-2-5 (1, 2, 5, 10, 20, 50, …),
// between 1 and 100 million requests a day.
func StepRequests(n int64, dir int) int64 {
	steps := []int64{}
	for dec := int64(1); dec <= 100_000_000; dec *= 10 {
		steps = append(steps, dec, 2*dec, 5*dec)
	}
	steps = steps[:len(steps)-2] // stop at 100M
	if dir > 0 {
		for _, s := range steps {
			if s > n {
				return s
			}
		}
		return steps[len(steps)-1]
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i] < n {
			return steps[i]
		}
	}
	return steps[0]
}

func (p *Cost) Body(w, h int) string {
	if p.plan == nil {
		return placeholder(p.c, w)
	}
	st := p.c.Styles
	c := p.plan.Cost
	var b strings.Builder
	// Two columns of figures after a label column; narrow panes drop the
	// label width first.
	const lw = 9 // labels are at most 8 cells, plus a space
	cw := max(8, (w-lw)/2)
	row := func(label, base, opt string) {
		b.WriteString(common.Fit(p.c.KV(label, lw, padTo(base, cw)+opt), w, 1)[0] + "\n")
	}
	row("", st.Muted.Render("baseline"), st.Muted.Render("optimized"))
	row("model", common.OneLine(c.BaselineModel), st.Accent.Render(common.OneLine(c.OptimizedModel)))
	row("prompt", commas(int64(p.plan.Input.Tokens))+" tok", commas(int64(c.OptimizedPromptTokens))+" tok")
	row("output", commas(int64(c.CompletionTokensAssumed))+" tok", st.Label.Render("assumed"))
	base, opt := money.Nanos(c.BaselineNanos), money.Nanos(c.OptimizedNanos)
	row("$/req", base.String(), st.Bold.Render(opt.String()))
	row("$/month", money.FromUSD(c.BaselinePerMonthUSD).String(), st.Bold.Render(money.FromUSD(c.OptimizedPerMonthUSD).String()))
	b.WriteString(st.Muted.Render(fmt.Sprintf("  at %s req/day (+/-)", commas(p.rpd))) + "\n")
	sv := fmt.Sprintf("%s/req (%s)", money.Nanos(c.BaselineNanos-c.OptimizedNanos), pct(c.SavingsPct))
	save := st.Good
	if c.SavingsPct < 0 {
		save = st.Bad
	}
	b.WriteString(p.c.KV("savings", lw, save.Render(sv)) + "\n")
	if a := p.actual; a != nil {
		b.WriteString(st.Subtle.Render(strings.Repeat("─", w)) + "\n")
		who := common.OneLine(a.Response.Model)
		if who == "" {
			who = common.OneLine(a.Route.Model)
		}
		hit := a.Cache.Outcome == cache.ExactHit || a.Cache.Outcome == cache.SemanticHit
		if hit {
			who = "cache"
		}
		tag := " actual"
		if !a.Usage.Reported && !hit {
			tag = " actual (tokens counted locally)"
		}
		if a.Simulated {
			tag += ", simulated"
		}
		b.WriteString(p.c.KV("actual", lw, st.Accent.Render(a.Cost.ActualNanos.String())+st.Label.Render(tag)) + "\n")
		b.WriteString(p.c.KV("", lw, fmt.Sprintf("%s · %s in / %s out", who, commas(a.Usage.PromptTokens), commas(a.Usage.CompletionTokens))) + "\n")
		diff := a.Cost.ActualNanos - a.Cost.ProjectedNanos
		sign := ""
		if diff > 0 {
			sign = "+"
		}
		b.WriteString(p.c.KV("", lw, st.Muted.Render(fmt.Sprintf("projected %s, %s%s vs projection", a.Cost.ProjectedNanos, sign, diff))) + "\n")
		if a.Cost.BaselineNanos > 0 {
			saved := a.Cost.BaselineNanos - a.Cost.ActualNanos
			b.WriteString(p.c.KV("", lw, st.Good.Render(fmt.Sprintf("saved %s vs baseline (%s)", saved, pct(100*float64(saved)/float64(a.Cost.BaselineNanos))))) + "\n")
		}
	}
	if len(c.Assumptions) > 0 {
		b.WriteString(st.Label.Render("assumptions") + "\n")
		for _, as := range c.Assumptions {
			b.WriteString(st.Muted.Render(common.Wrap("· "+common.OneLine(as), w)) + "\n")
		}
	}
	return p.scroll.window(p.c, b.String(), h)
}

// padTo pads s with spaces to w cells (s may hold ANSI styles).
func padTo(s string, w int) string {
	l := common.Fit(s, w, 1)[0]
	return l
}

func (p *Cost) ShortHelp() []key.Binding {
	return append([]key.Binding{p.adjust.More, p.adjust.Less}, p.scroll.bindings()...)
}
func (p *Cost) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// Actual is the send outcome shown, or nil.
func (p *Cost) Actual() *send.Outcome { return p.actual }
