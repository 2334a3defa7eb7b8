// Package panes holds the playground's plan panes (compression, route,
// cache, cost) and the answer pane. Panes render data pushed into them by
// the root model and turn keys into state changes or intent messages; they
// never call services themselves.
package panes

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
)

// Pane is one box of the playground. The root model frames it, routes keys
// to it while it has focus, and shows its bindings in the help footer.
type Pane interface {
	Title() string
	SetPlan(p *plan.Plan)
	Update(msg tea.KeyPressMsg) tea.Cmd
	// Body renders the pane's content for an inner area of w×h cells.
	Body(w, h int) string
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// scroller is the vertical scroll state every pane shares: the pane renders
// all its lines and the scroller picks the visible window.
type scroller struct {
	keys   keys.Scroll
	offset int
	height int // visible lines at the last render
	total  int // content lines at the last render
}

func newScroller() scroller { return scroller{keys: keys.NewScroll()} }

// handle applies a scroll key and reports whether it was one.
func (s *scroller) handle(msg tea.KeyPressMsg) bool {
	page := max(1, s.height-1)
	switch {
	case key.Matches(msg, s.keys.Up):
		s.offset--
	case key.Matches(msg, s.keys.Down):
		s.offset++
	case key.Matches(msg, s.keys.PageUp):
		s.offset -= page
	case key.Matches(msg, s.keys.PageDown):
		s.offset += page
	default:
		return false
	}
	s.clamp()
	return true
}

func (s *scroller) clamp() {
	s.offset = min(s.offset, max(0, s.total-s.height))
	s.offset = max(0, s.offset)
}

func (s *scroller) reset() { s.offset = 0 }

// window returns the visible part of content for h inner lines, with a
// hint in the last line when content continues below.
func (s *scroller) window(c *common.Common, content string, h int) string {
	lines := strings.Split(strings.TrimRight(content, "\n"), "\n")
	s.height, s.total = h, len(lines)
	s.clamp()
	end := min(len(lines), s.offset+h)
	vis := lines[s.offset:end]
	if end < len(lines) && h > 1 {
		vis = append(vis[:len(vis)-1:len(vis)-1],
			c.Styles.Subtle.Render(fmt.Sprintf("↓ %d more", len(lines)-end+1)))
	}
	return strings.Join(vis, "\n")
}

// bindings are the scroll keys, disabled when everything fits.
func (s *scroller) bindings() []key.Binding {
	up, down := s.keys.Up, s.keys.Down
	scrollable := s.total > s.height
	up.SetEnabled(scrollable)
	down.SetEnabled(scrollable)
	return []key.Binding{up, down}
}

// placeholder is what a pane shows before the first plan.
func placeholder(c *common.Common, w int) string {
	return c.Styles.Muted.Render(common.Wrap("Type a prompt above; the plan appears here as you type.", w))
}

// commas formats an integer with thousands separators.
func commas(n int64) string {
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
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

// pct formats a 0..100 percentage.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", f) }
