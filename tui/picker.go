package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/pricing"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
)

// pickedMsg is the picker's intent: use this model as the baseline.
type pickedMsg struct{ model string }

// closeDialogMsg closes whatever dialog is open.
type closeDialogMsg struct{}

// picker is the baseline-model dialog: type to filter, ↑/↓, enter.
type picker struct {
	c      *common.Common
	models []pricing.Model
	filter string
	cursor int
	list   keys.List
	close  key.Binding
}

func newPicker(c *common.Common, models []pricing.Model, current string) *picker {
	p := &picker{c: c, models: models, list: keys.NewList("use as baseline"),
		close: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close"))}
	// j/k/g/G would be typed into the filter: the picker uses arrows only.
	p.list.Up.SetKeys("up")
	p.list.Down.SetKeys("down")
	p.list.Top.SetKeys("home")
	p.list.Bottom.SetKeys("end")
	for i, m := range p.visible() {
		if m.ID == current {
			p.cursor = i
		}
	}
	return p
}

func (p *picker) visible() []pricing.Model {
	if p.filter == "" {
		return p.models
	}
	f := strings.ToLower(p.filter)
	var out []pricing.Model
	for _, m := range p.models {
		if strings.Contains(strings.ToLower(m.ID+" "+m.Provider), f) {
			out = append(out, m)
		}
	}
	return out
}

func (p *picker) Update(msg tea.KeyPressMsg) tea.Cmd {
	vis := p.visible()
	switch {
	case key.Matches(msg, p.close):
		return func() tea.Msg { return closeDialogMsg{} }
	case key.Matches(msg, p.list.Select):
		if p.cursor < len(vis) {
			id := vis[p.cursor].ID
			return func() tea.Msg { return pickedMsg{id} }
		}
	case key.Matches(msg, p.list.Up):
		p.cursor = max(0, p.cursor-1)
	case key.Matches(msg, p.list.Down):
		p.cursor = min(len(vis)-1, p.cursor+1)
	case key.Matches(msg, p.list.Top):
		p.cursor = 0
	case key.Matches(msg, p.list.Bottom):
		p.cursor = len(vis) - 1
	case msg.Code == tea.KeyBackspace:
		if r := []rune(p.filter); len(r) > 0 {
			p.filter = string(r[:len(r)-1])
			p.cursor = 0
		}
	case msg.Text != "":
		p.filter += msg.Text
		p.cursor = 0
	}
	p.cursor = max(0, min(p.cursor, len(p.visible())-1))
	return nil
}

func (p *picker) View(w, h int) string {
	st := p.c.Styles
	vis := p.visible()
	var b strings.Builder
	b.WriteString(st.Muted.Render("filter: ") + p.filter + st.Accent.Render("▏") + "\n")
	rows := max(1, h-3)
	start := max(0, min(p.cursor-rows/2, len(vis)-rows))
	for i := start; i < len(vis) && i < start+rows; i++ {
		m := vis[i]
		line := fmt.Sprintf("%-28s %-10s in $%.3f  out $%.3f /1M", m.ID, m.Provider, m.Input.Dollars(), m.Output.Dollars())
		line = common.Fit(line, w-4, 1)[0]
		if i == p.cursor {
			line = st.Selected.Render(line)
		}
		b.WriteString(line + "\n")
	}
	if len(vis) == 0 {
		b.WriteString(st.Muted.Render("no model matches") + "\n")
	}
	return p.c.Frame("Baseline model", b.String(), w, h, true)
}

func (p *picker) ShortHelp() []key.Binding {
	return []key.Binding{p.list.Up, p.list.Down, p.list.Select, p.close}
}
func (p *picker) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
