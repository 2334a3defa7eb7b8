package panes

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/tui/common"
)

// Route shows where the prompt would go and why: model, tier, the score on
// a gauge, every signal's and rule's contribution, and the alternatives
// with their cost.
type Route struct {
	c      *common.Common
	plan   *plan.Plan
	scroll scroller
}

// NewRoute returns the route pane.
func NewRoute(c *common.Common) *Route { return &Route{c: c, scroll: newScroller()} }

func (p *Route) Title() string         { return "Route" }
func (p *Route) SetPlan(pl *plan.Plan) { p.plan = pl }
func (p *Route) Update(msg tea.KeyPressMsg) tea.Cmd {
	p.scroll.handle(msg)
	return nil
}

func (p *Route) Body(w, h int) string {
	if p.plan == nil {
		return placeholder(p.c, w)
	}
	st := p.c.Styles
	d := p.plan.Route
	var b strings.Builder
	b.WriteString(p.c.KV("model", 7, st.Accent.Render(common.OneLine(d.Model))) + "\n")
	if d.Tier != "" {
		b.WriteString(p.c.KV("tier", 7, st.Bold.Render(common.OneLine(d.Tier))) + "\n")
	}
	gw := max(3, min(24, w-14))
	b.WriteString(p.c.KV("score", 7, fmt.Sprintf("%.2f ", d.Score)+p.c.Gauge(d.Score, -1, gw)) + "\n")

	if len(d.Contributions) > 0 {
		b.WriteString(st.Muted.Render("signals and rules") + "\n")
		for _, ct := range d.Contributions {
			sign := st.Good.Render(fmt.Sprintf("%+.2f", ct.Delta))
			if ct.Delta > 0 {
				sign = st.Warn.Render(fmt.Sprintf("%+.2f", ct.Delta))
			}
			line := fmt.Sprintf(" %s %s", sign, common.OneLine(ct.Name))
			if ct.Detail != "" {
				line += st.Muted.Render(" " + common.OneLine(ct.Detail))
			} else if ct.Weight != 0 {
				line += st.Muted.Render(fmt.Sprintf(" (%.2f×%.2f)", ct.Value, ct.Weight))
			}
			b.WriteString(common.Wrap(line, w) + "\n")
		}
	}
	if len(d.Reasons) > 0 && len(d.Contributions) == 0 {
		b.WriteString(st.Muted.Render("why") + "\n")
		for _, r := range d.Reasons {
			b.WriteString(common.Wrap(" · "+common.OneLine(r), w) + "\n")
		}
	}
	if len(d.Alternatives) > 0 {
		b.WriteString(st.Muted.Render("alternatives") + "\n")
		for _, a := range d.Alternatives {
			b.WriteString(alternative(p.c, a, w) + "\n")
		}
	}
	return p.scroll.window(p.c, b.String(), h)
}

func alternative(c *common.Common, a route.Alternative, w int) string {
	st := c.Styles
	name := common.OneLine(a.Model)
	if !a.Fits {
		return common.Fit(st.Subtle.Render(" "+name+" does not fit")+" "+st.Muted.Render(common.OneLine(a.Note)), w, 1)[0]
	}
	// Fixed columns so the costs line up; Fit cuts what a narrow pane lacks.
	line := fmt.Sprintf(" %-16s %s %s", trunc(name, 16), st.Muted.Render(fmt.Sprintf("%-8s", trunc(common.OneLine(a.Tier), 8))), fmt.Sprintf("$%.6f", a.CostUSD))
	if a.Note != "" {
		line += st.Muted.Render(" " + common.OneLine(a.Note))
	}
	return common.Fit(line, w, 1)[0]
}

func trunc(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:max(0, n-1)]) + "…"
	}
	return s
}

func (p *Route) ShortHelp() []key.Binding  { return p.scroll.bindings() }
func (p *Route) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
