package common

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Frame draws a bordered box of exactly w×h cells with title set into the
// top border. The focused box gets a thick border in the focus colour, so
// focus stays visible without colour (NO_COLOR). body is cut or padded to
// the inner (w-2)×(h-2) area; callers wrap it first.
func (c *Common) Frame(title, body string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	st := c.Styles
	b, bs := lipgloss.RoundedBorder(), st.PaneBorder
	if focused {
		b, bs = lipgloss.ThickBorder(), st.PaneFocus
	}
	inner := w - 2
	var sb strings.Builder
	// Top border: "╭─ Title ─────╮"
	t := ansi.Truncate(title, max(0, inner-3), "…")
	tw := ansi.StringWidth(t)
	sb.WriteString(bs.Render(b.TopLeft + b.Top))
	if tw > 0 {
		ts := st.PaneTitle
		if focused {
			ts = st.Accent
		}
		sb.WriteString(" " + ts.Render(t) + " ")
		sb.WriteString(bs.Render(strings.Repeat(b.Top, max(0, inner-tw-3)) + b.TopRight))
	} else {
		sb.WriteString(bs.Render(strings.Repeat(b.Top, inner-1) + b.TopRight))
	}
	sb.WriteByte('\n')
	lines := Fit(body, inner, h-2)
	left, right := bs.Render(b.Left), bs.Render(b.Right)
	for _, l := range lines {
		sb.WriteString(left + l + right + "\n")
	}
	sb.WriteString(bs.Render(b.BottomLeft + strings.Repeat(b.Bottom, inner) + b.BottomRight))
	return sb.String()
}

// Fit cuts or pads s to exactly h lines of exactly w cells.
func Fit(s string, w, h int) []string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	out := make([]string, h)
	for i := range out {
		var l string
		if i < len(lines) {
			l = lines[i]
		}
		if ansi.StringWidth(l) > w {
			l = ansi.Truncate(l, w, "…")
		}
		if pad := w - ansi.StringWidth(l); pad > 0 {
			l += strings.Repeat(" ", pad)
		}
		out[i] = l
	}
	return out
}

// Wrap word-wraps s to w cells, breaking long words.
func Wrap(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Wrap(s, w, " ")
}

// Gauge draws value on a 0..1 bar of width cells, with mark (the threshold,
// or <0 for none) shown as a distinct cell. Values outside 0..1 are clamped.
func (c *Common) Gauge(value, mark float64, width int) string {
	if width < 3 {
		return ""
	}
	clamp := func(f float64) float64 { return min(1, max(0, f)) }
	fill := int(clamp(value)*float64(width) + 0.5)
	m := -1
	if mark >= 0 {
		m = min(width-1, int(clamp(mark)*float64(width)))
	}
	st := c.Styles
	// Render runs of cells, not cells: one style call per run.
	var sb strings.Builder
	run := func(from, to int, ch string, s lipgloss.Style) {
		if to > from {
			sb.WriteString(s.Render(strings.Repeat(ch, to-from)))
		}
	}
	if m < 0 {
		run(0, fill, "█", st.GaugeFill)
		run(fill, width, "░", st.GaugeEmpty)
		return sb.String()
	}
	// Cells before the mark, the mark, cells after it.
	run(0, min(fill, m), "█", st.GaugeFill)
	run(min(fill, m), m, "░", st.GaugeEmpty)
	sb.WriteString(st.GaugeMark.Render("│"))
	run(m+1, max(m+1, fill), "█", st.GaugeFill)
	run(max(m+1, fill), width, "░", st.GaugeEmpty)
	return sb.String()
}

// Bar draws a horizontal bar of frac (0..1) of width cells, for charts.
func (c *Common) Bar(frac float64, width int, s lipgloss.Style) string {
	n := int(min(1, max(0, frac))*float64(width) + 0.5)
	return s.Render(strings.Repeat("█", n)) + strings.Repeat(" ", max(0, width-n))
}

// KV renders "key  value" with the key muted and padded to kw cells.
func (c *Common) KV(k string, kw int, v string) string {
	pad := max(0, kw-ansi.StringWidth(k))
	return c.Styles.Muted.Render(k) + strings.Repeat(" ", pad) + v
}
