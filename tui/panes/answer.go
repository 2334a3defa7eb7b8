package panes

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/glamour/v2"

	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/tui/common"
)

// Answer shows a send's response: raw (sanitized) text while it streams,
// then the glamour rendering once it is complete.
type Answer struct {
	c         *common.Common
	raw       strings.Builder
	rendered  string // glamour output for renderedW; empty until rendered
	renderedW int
	streaming bool
	failed    string
	scroll    scroller
}

// NewAnswer returns an empty answer pane.
func NewAnswer(c *common.Common) *Answer { return &Answer{c: c, scroll: newScroller()} }

func (p *Answer) Title() string {
	switch {
	case p.streaming:
		return "Answer · streaming (esc cancels)"
	case p.failed != "":
		return "Answer · failed"
	}
	return "Answer"
}

// SetPlan is a no-op: the answer does not depend on the live plan.
func (p *Answer) SetPlan(*plan.Plan) {}

// Start clears the pane for a new send.
func (p *Answer) Start() {
	p.raw.Reset()
	p.rendered, p.renderedW, p.failed = "", 0, ""
	p.streaming = true
	p.scroll.reset()
}

// Append adds streamed text. Text is sanitized as it arrives: model output
// is untrusted.
func (p *Answer) Append(delta string) { p.raw.WriteString(common.Sanitize(delta)) }

// Finish ends the stream; text, when non-empty, replaces what streamed (the
// provider's final text is authoritative). failed is a short reason or "".
func (p *Answer) Finish(text, failed string) {
	p.streaming = false
	p.failed = failed
	if text != "" {
		p.raw.Reset()
		p.raw.WriteString(common.Sanitize(text))
	}
}

// Text is the sanitized answer so far.
func (p *Answer) Text() string { return p.raw.String() }

// Streaming reports whether a send is in flight.
func (p *Answer) Streaming() bool { return p.streaming }

// SetRendered installs a glamour rendering made for width w.
func (p *Answer) SetRendered(s string, w int) { p.rendered, p.renderedW = s, w }

// NeedsRender reports whether the complete answer lacks a rendering for w.
func (p *Answer) NeedsRender(w int) bool {
	return !p.streaming && p.raw.Len() > 0 && p.renderedW != w
}

func (p *Answer) Update(msg tea.KeyPressMsg) tea.Cmd {
	p.scroll.handle(msg)
	return nil
}

func (p *Answer) Body(w, h int) string {
	st := p.c.Styles
	var body string
	switch {
	case p.rendered != "" && p.renderedW == w:
		body = strings.Trim(p.rendered, "\n")
	case p.raw.Len() == 0 && p.streaming:
		body = st.Muted.Render("waiting for the first token…")
	default:
		body = common.Wrap(p.raw.String(), w)
	}
	if p.failed != "" {
		body += "\n" + st.Bad.Render(common.Wrap(p.failed, w))
	}
	if p.streaming {
		// Follow the stream: keep the newest text in view.
		p.scroll.offset = 1 << 30
	}
	return p.scroll.window(p.c, body, h)
}

func (p *Answer) ShortHelp() []key.Binding  { return p.scroll.bindings() }
func (p *Answer) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// RenderMarkdown renders sanitized markdown with glamour at width w in the
// named standard style ("dark", "light", "notty"). It is CPU work only and
// runs in a command, never in Update.
func RenderMarkdown(text, style string, w int) (string, error) {
	r, err := glamour.NewTermRenderer(glamour.WithStandardStyle(style), glamour.WithWordWrap(max(10, w)))
	if err != nil {
		return "", err
	}
	out, err := r.Render(text)
	if err != nil {
		return "", err
	}
	return out, nil
}
