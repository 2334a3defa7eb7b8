package panes

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/tui/common"
)

// Compression shows what the compressor did: tokens before → after, the
// savings per pass, and the prompt with the text the passes removed marked.
type Compression struct {
	c      *common.Common
	plan   *plan.Plan
	marked []segment // the diff of prompt → compressed text, computed once per plan
	scroll scroller
}

// NewCompression returns the compression pane.
func NewCompression(c *common.Common) *Compression {
	return &Compression{c: c, scroll: newScroller()}
}

// Title says when lossy passes are on (ctrl+y switches them), so the state
// is in view whatever the pane's size or scroll.
func (p *Compression) Title() string {
	if p.plan != nil && Lossy(p.plan) {
		return "Compression · lossy on"
	}
	return "Compression"
}

// Lossy reports whether a plan ran lossy passes.
func Lossy(pl *plan.Plan) bool {
	if pl.Compression.Lossy {
		return true
	}
	for _, ps := range pl.Compression.Passes {
		if ps.Lossy {
			return true
		}
	}
	return false
}

func (p *Compression) SetPlan(pl *plan.Plan) {
	p.plan = pl
	p.marked = nil
	if pl != nil {
		// The passes' spans each refer to their own pass's input; a diff of
		// the original against the final text marks every removal on the
		// prompt the user typed, however many passes ran.
		text := pl.Compression.Text
		if s := pl.Compression.Summary; s != nil && s.Start >= 0 && s.Start <= s.End && s.End <= len(text) {
			pre, region, post := common.Sanitize(text[:s.Start]), common.Sanitize(text[s.Start:s.End]), common.Sanitize(text[s.End:])
			p.marked = markPending(diffWords(common.Sanitize(pl.Prompt), pre+region+post), len(pre), len(pre)+len(region))
		} else {
			p.marked = diffWords(common.Sanitize(pl.Prompt), common.Sanitize(text))
		}
	}
}

// markPending marks the kept text in [a, b) of the compressed text — the
// run a summary will replace at send — as 'S'. Positions count the bytes
// of '=' and '+' segments, which spell the compressed text in order.
func markPending(segs []segment, a, b int) []segment {
	var out []segment
	pos := 0
	for _, sg := range segs {
		if sg.op == '-' {
			out = append(out, sg)
			continue
		}
		end := pos + len(sg.text)
		cuts := []int{pos}
		for _, c := range []int{a, b} {
			if c > pos && c < end {
				cuts = append(cuts, c)
			}
		}
		cuts = append(cuts, end)
		for i := 0; i+1 < len(cuts); i++ {
			piece := segment{sg.text[cuts[i]-pos : cuts[i+1]-pos], sg.op}
			if piece.op == '=' && cuts[i] >= a && cuts[i+1] <= b {
				piece.op = 'S'
			}
			out = append(out, piece)
		}
		pos = end
	}
	return out
}

func (p *Compression) Update(msg tea.KeyPressMsg) tea.Cmd {
	p.scroll.handle(msg)
	return nil
}

func (p *Compression) Body(w, h int) string {
	st := p.c.Styles
	if p.plan == nil {
		return placeholder(p.c, w)
	}
	r := p.plan.Compression
	var b strings.Builder
	saved := r.TokensBefore - r.Tokens
	line := fmt.Sprintf("%s → %s tokens", commas(int64(r.TokensBefore)), st.Bold.Render(commas(int64(r.Tokens))))
	if r.TokensBefore > 0 && saved != 0 {
		line += st.Good.Render(fmt.Sprintf("  −%s (%s)", commas(int64(saved)), pct(100*float64(saved)/float64(r.TokensBefore))))
	}
	b.WriteString(line + "\n")
	for _, ps := range r.Passes {
		name := ps.Name
		var v string
		switch {
		case ps.Pending:
			v = st.Pending.Render(fmt.Sprintf("≈−%s at send", commas(int64(ps.ProjectedSaved))))
		case ps.Skipped:
			v = st.Subtle.Render("no gain, skipped")
		case ps.TokensSaved == 0:
			v = st.Subtle.Render("0")
		default:
			v = st.Good.Render("−" + commas(int64(ps.TokensSaved)))
		}
		if ps.Lossy {
			v += " " + st.Warn.Render("lossy")
		}
		b.WriteString(p.c.KV("  "+name, 16, v) + "\n")
	}
	if len(r.Passes) == 0 {
		b.WriteString(st.Muted.Render("  no passes configured") + "\n")
	}
	if sm := r.Summary; sm != nil {
		// The preview cannot show a summary that does not exist yet: it
		// says what will happen at send and marks the run it replaces.
		by := ""
		if sm.Model != "" {
			by = " by " + common.OneLine(sm.Model)
		}
		note := fmt.Sprintf("summary at send%s: the marked %s-token run → ≈%s tokens, costing %s",
			by, commas(int64(sm.RegionTokens)), commas(int64(sm.EstimatedTokens)), sm.CostNanos)
		if len(sm.Keep) > 0 {
			note += "; kept verbatim: " + common.Sanitize(strings.Join(sm.Keep, "; "))
		}
		b.WriteString(common.Wrap(st.Pending.Render(note), w) + "\n")
	}
	b.WriteString(st.Subtle.Render(strings.Repeat("─", w)) + "\n")
	b.WriteString(common.Wrap(renderSegments(p.c, p.marked), w))
	return p.scroll.window(p.c, b.String(), h)
}

func (p *Compression) ShortHelp() []key.Binding  { return p.scroll.bindings() }
func (p *Compression) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// segment is a run of text that was kept, removed or inserted, or kept
// for now and summarized at send.
type segment struct {
	text string
	op   byte // '=', '-', '+', 'S'
}

// maxDiffCells bounds the LCS table; larger prompts fall back to showing
// the compressed text unmarked rather than stalling a keystroke.
const maxDiffCells = 4 << 20

// diffWords diffs a and b on word and whitespace runs (an LCS, good enough
// for the deletions and short rewrites compression makes).
func diffWords(a, b string) []segment {
	if a == b {
		return []segment{{a, '='}}
	}
	x, y := splitRuns(a), splitRuns(b)
	n, m := len(x), len(y)
	if (n+1)*(m+1) > maxDiffCells {
		return []segment{{b, '='}}
	}
	// lcs[i][j] = LCS length of x[i:], y[j:], in one flat slice.
	w := m + 1
	lcs := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	var out []segment
	add := func(s string, op byte) {
		if k := len(out) - 1; k >= 0 && out[k].op == op {
			out[k].text += s
			return
		}
		out = append(out, segment{s, op})
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case x[i] == y[j]:
			add(x[i], '=')
			i++
			j++
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			add(x[i], '-')
			i++
		default:
			add(y[j], '+')
			j++
		}
	}
	for ; i < n; i++ {
		add(x[i], '-')
	}
	for ; j < m; j++ {
		add(y[j], '+')
	}
	return out
}

// splitRuns splits s into alternating runs of whitespace and non-whitespace.
func splitRuns(s string) []string {
	var out []string
	start := 0
	space := func(r byte) bool { return r == ' ' || r == '\n' || r == '\t' }
	for i := 1; i <= len(s); i++ {
		if i == len(s) || space(s[i]) != space(s[start]) {
			out = append(out, s[start:i])
			start = i
		}
	}
	return out
}

// renderSegments marks removed text struck through and inserted text
// underlined. Removed whitespace is shown as a visible "·" run so that
// whitespace-only passes are not invisible.
func renderSegments(c *common.Common, segs []segment) string {
	st := c.Styles
	var b strings.Builder
	for _, s := range segs {
		switch s.op {
		case '=':
			b.WriteString(s.text)
		case '-':
			t := s.text
			if strings.TrimSpace(t) == "" {
				t = strings.Repeat("·", min(3, len([]rune(strings.ReplaceAll(t, "\n", " ")))))
			} else {
				t = strings.ReplaceAll(t, "\n", "⏎")
			}
			trail := ""
			if c.Styles.NoColor {
				// Strikethrough alone is easy to miss without colour.
				body := strings.TrimRight(t, " ")
				trail = t[len(body):]
				t = "[-" + body + "-]"
			}
			b.WriteString(st.Removed.Render(t) + trail)
		case '+':
			b.WriteString(st.Replaced.Render(s.text))
		case 'S':
			t := s.text
			if c.Styles.NoColor {
				// Italics alone are easy to miss without colour.
				t = "[~" + t + "~]"
			}
			b.WriteString(st.Pending.Render(t))
		}
	}
	return b.String()
}
