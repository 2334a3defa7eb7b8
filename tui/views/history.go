package views

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/history"
	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
)

// HistoryLimit bounds how many rows the history view loads; filtering is
// done on the loaded rows so typing in the filter does no I/O.
const HistoryLimit = 10_000

type (
	historyLoadedMsg struct {
		seq   int
		items []history.Entry
		err   error
	}
	historyLabelMsg struct {
		id    int64
		label history.Label
		err   error
	}
)

// History is the filterable list of past prompts.
type History struct {
	c        *common.Common
	items    []history.Entry
	shown    []int // indexes into items matching the filter
	filter   string
	editing  bool // typing into the filter
	loading  bool
	loadSeq  int
	err      string
	cur      cursor
	cheap    key.Binding
	middle   string      // the tier b labels (middleTier); "" = none
	balanced key.Binding // b: the middle tier is right
	strong   key.Binding
	clear    key.Binding
	refresh  key.Binding
	doneEdit key.Binding
}

// NewHistory returns the history view; c.Services.History must be set.
func NewHistory(c *common.Common) *History {
	middle, ok := middleTier(c.Services.History.Tiers())
	balanced := key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "label: the "+common.OneLine(middle)+" tier is right"))
	balanced.SetEnabled(ok)
	return &History{
		c:        c,
		cur:      cursor{keys: keys.NewList("load into playground")},
		cheap:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "label: cheap model was enough")),
		middle:   middle,
		balanced: balanced,
		strong:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "label: needed strong model")),
		clear:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "clear label")),
		refresh:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		doneEdit: key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter", "done filtering")),
	}
}

// middleTier is the tier the b key labels: the middle of the configured
// tiers (cheapest first), the lower of the two middle ones for an even
// count — the cheaper choice, as routing leans to savings ("balanced" in
// the default cheap, balanced, strong). Below three tiers there is none:
// c and s already stand for the cheapest and the strongest.
func middleTier(tiers []string) (string, bool) {
	if len(tiers) < 3 {
		return "", false
	}
	return tiers[(len(tiers)-1)/2], true
}

func (v *History) Title() string {
	t := fmt.Sprintf("History · %d items", len(v.shown))
	if v.filter != "" {
		t += fmt.Sprintf(" matching %q", v.filter)
	}
	return t
}

func (v *History) Show(common.Current) tea.Cmd {
	v.loadSeq++
	v.loading = true
	seq, h := v.loadSeq, v.c.Services.History
	return func() tea.Msg {
		items, err := h.ListHistory(context.Background(), history.Query{Limit: HistoryLimit})
		return historyLoadedMsg{seq, items, err}
	}
}

func (v *History) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case historyLoadedMsg:
		if msg.seq != v.loadSeq {
			return nil
		}
		v.loading = false
		if msg.err != nil {
			v.err = "could not load history"
			return common.ReportErr("could not load history", msg.err)
		}
		v.err = ""
		v.items = msg.items
		v.applyFilter()
	case historyLabelMsg:
		if msg.err != nil {
			return common.ReportErr("could not save the label", msg.err)
		}
		for i := range v.items {
			if v.items[i].ID == msg.id {
				v.items[i].Label = msg.label
			}
		}
	case tea.PasteMsg:
		if v.editing {
			v.filter += common.OneLine(msg.Content)
			v.applyFilter()
		}
	case tea.KeyPressMsg:
		return v.key(msg)
	}
	return nil
}

func (v *History) key(msg tea.KeyPressMsg) tea.Cmd {
	if v.editing {
		switch {
		case key.Matches(msg, v.doneEdit):
			v.editing = false
		case msg.Code == tea.KeyBackspace:
			if r := []rune(v.filter); len(r) > 0 {
				v.filter = string(r[:len(r)-1])
			}
		case msg.Text != "":
			v.filter += msg.Text
		}
		v.applyFilter()
		return nil
	}
	if v.cur.move(msg, len(v.shown), 10) {
		return nil
	}
	it, ok := v.selected()
	switch {
	case key.Matches(msg, v.cur.keys.Filter):
		v.editing = true
	case key.Matches(msg, v.refresh):
		return v.Show(common.Current{})
	case key.Matches(msg, v.cur.keys.Select) && ok:
		p := it.Prompt
		return func() tea.Msg { return common.LoadPromptMsg{Prompt: p} }
	case key.Matches(msg, v.cheap) && ok:
		return v.setLabel(it.ID, history.WeakOK)
	case key.Matches(msg, v.balanced) && ok:
		// The middle configured tier (the binding is disabled when there is
		// none). A label that outlives a renamed tier is left out of the
		// learned signal with a warning.
		return v.setLabel(it.ID, history.TierLabel(v.middle))
	case key.Matches(msg, v.strong) && ok:
		return v.setLabel(it.ID, history.StrongNeeded)
	case key.Matches(msg, v.clear) && ok:
		return v.setLabel(it.ID, history.Unlabelled)
	}
	return nil
}

func (v *History) setLabel(id int64, l history.Label) tea.Cmd {
	h := v.c.Services.History
	return func() tea.Msg {
		return historyLabelMsg{id, l, h.SetLabel(context.Background(), id, l)}
	}
}

func (v *History) selected() (history.Entry, bool) {
	if v.cur.pos < len(v.shown) && len(v.shown) > 0 {
		return v.items[v.shown[v.cur.pos]], true
	}
	return history.Entry{}, false
}

func (v *History) applyFilter() {
	v.shown = v.shown[:0]
	f := strings.ToLower(v.filter)
	for i, it := range v.items {
		if f == "" || strings.Contains(strings.ToLower(it.Prompt), f) || strings.Contains(strings.ToLower(it.Model), f) ||
			strings.Contains(strings.ToLower(it.Routed), f) || strings.Contains(it.Cache, f) {
			v.shown = append(v.shown, i)
		}
	}
	v.cur.clamp(len(v.shown))
}

func labelText(l history.Label) string {
	switch l {
	case history.WeakOK:
		return "cheap"
	case history.StrongNeeded:
		return "strong"
	}
	if t, ok := l.Tier(); ok {
		return trunc(common.OneLine(t), labelWidth)
	}
	return ""
}

// labelWidth fits "balanced", the longest default tier name.
const labelWidth = 8

func (v *History) Body(w, h int) string {
	st := v.c.Styles
	var b strings.Builder
	filter := st.Muted.Render("/ to filter")
	if v.editing || v.filter != "" {
		filter = st.Muted.Render("filter: ") + common.OneLine(v.filter)
		if v.editing {
			filter += st.Accent.Render("▏")
		}
	}
	b.WriteString(filter + "\n")
	switch {
	case v.loading && len(v.items) == 0:
		b.WriteString(st.Muted.Render("loading…"))
		return b.String()
	case v.err != "":
		b.WriteString(st.Bad.Render(v.err) + st.Muted.Render(" (r retries)"))
		return b.String()
	case len(v.items) == 0:
		b.WriteString(st.Muted.Render("No history yet: prompts you send appear here."))
		return b.String()
	}
	// Narrow screens drop the baseline column (usually the same model on
	// every row) so the prompt stays readable.
	bw := 12
	if w < 110 {
		bw = 0
	}
	row := func(t, base, routed, cache, proj, act, label, prompt string) string {
		s := fmt.Sprintf("%-11s ", t)
		if bw > 0 {
			s += fmt.Sprintf("%-*s ", bw, trunc(base, bw))
		}
		return s + fmt.Sprintf("%-12s %-8s %10s %10s %-*s %s", trunc(routed, 12), cache, proj, act, labelWidth, label, prompt)
	}
	head := row("time", "baseline", "routed", "cache", "projected", "actual", "label", "prompt")
	b.WriteString(st.Muted.Render(common.Fit(head, w, 1)[0]) + "\n")
	from, to := v.cur.window(len(v.shown), max(1, h-2))
	for i := from; i < to; i++ {
		it := v.items[v.shown[i]]
		actual := "—"
		if it.ActualNanos != nil {
			actual = money.Nanos(*it.ActualNanos).String()
		}
		line := row(it.Time.Format("01-02 15:04"), common.OneLine(it.Model), common.OneLine(it.Routed),
			outcomeShort(it.Cache), money.Nanos(it.ProjectedNanos).String(), actual, labelText(it.Label), common.OneLine(it.Prompt))
		line = common.Fit(line, w, 1)[0]
		if i == v.cur.pos {
			line = st.Selected.Render(line)
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func outcomeShort(o string) string {
	switch cache.Outcome(o) {
	case cache.ExactHit:
		return "exact"
	case cache.SemanticHit:
		return "semantic"
	}
	return common.OneLine(o)
}

func trunc(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (v *History) ShortHelp() []key.Binding {
	if v.editing {
		return []key.Binding{v.doneEdit}
	}
	_, ok := v.selected()
	sel, cheap, balanced, strong := v.cur.keys.Select, v.cheap, v.balanced, v.strong
	sel.SetEnabled(ok)
	cheap.SetEnabled(ok)
	balanced.SetEnabled(ok && v.middle != "")
	strong.SetEnabled(ok)
	cheap.SetHelp("c", "cheap was enough")
	balanced.SetHelp("b", trunc(common.OneLine(v.middle), labelWidth))
	strong.SetHelp("s", "needed strong")
	return []key.Binding{sel, v.cur.keys.Filter, cheap, balanced, strong}
}

func (v *History) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{v.cur.keys.Up, v.cur.keys.Down, v.cur.keys.Top, v.cur.keys.Bottom},
		{v.cur.keys.Select, v.cur.keys.Filter, v.refresh},
		{v.cheap, v.balanced, v.strong, v.clear},
	}
}
