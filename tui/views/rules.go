package views

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/money"
	"github.com/pennyllm/penny/core/route"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
	"github.com/pennyllm/penny/tui/styles"
)

type (
	rulesLoadedMsg struct {
		rules []route.RuleConfig
		err   error
	}
	rulesPreviewMsg struct {
		seq int
		p   common.RulesPreview
		err error
	}
	rulesSavedMsg struct{ err error }
)

var ruleFields = []string{"name", "match", "weight", "tier"}

// Rules is the routing rules as an editable table. Every edit re-scores the
// current prompt and the labelled sets through Rules.Preview; an invalid
// rule is shown inline while the last good rules stay in force.
type Rules struct {
	c        *common.Common
	readOnly bool
	loaded   bool
	good     []route.RuleConfig // last valid set: what previews and saves use
	draft    []route.RuleConfig // what the table shows, possibly invalid
	preview  *common.RulesPreview
	errs     []common.RuleError
	prompt   string
	seq      int
	err      string

	row, col int
	editing  bool
	buf      string
	dirty    bool // draft differs from what was loaded or last saved

	list                 cursor
	left, right          key.Binding
	edit, commit, cancel key.Binding
	add, del, undo, save key.Binding
}

// NewRules returns the rules view; c.Services.Rules must be set. A
// read-only view (an SSH demo) edits and previews but never saves.
func NewRules(c *common.Common, readOnly bool) *Rules {
	return &Rules{
		c: c, readOnly: readOnly,
		list:   cursor{keys: keys.NewList("edit cell")},
		left:   key.NewBinding(key.WithKeys("left", "h", "shift+tab"), key.WithHelp("←/→", "column")),
		right:  key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→", "next column")),
		edit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "edit cell")),
		commit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "discard edit")),
		add:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add rule")),
		del:    key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete rule")),
		undo:   key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "back to last good")),
		save:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "write penny.toml")),
	}
}

func (v *Rules) Title() string {
	t := fmt.Sprintf("Rules · %d", len(v.draft))
	if v.dirty {
		t += " · unsaved"
	}
	if len(v.errs) > 0 {
		t += " · invalid, last good rules in force"
	}
	return t
}

func (v *Rules) Show(cur common.Current) tea.Cmd {
	v.prompt = cur.Prompt
	if !v.loaded {
		r := v.c.Services.Rules
		return func() tea.Msg {
			rules, err := r.Rules(context.Background())
			return rulesLoadedMsg{rules, err}
		}
	}
	return v.previewCmd()
}

func (v *Rules) previewCmd() tea.Cmd {
	v.seq++
	seq, r, rules, prompt := v.seq, v.c.Services.Rules, slices.Clone(v.draft), v.prompt
	return func() tea.Msg {
		p, err := r.Preview(context.Background(), rules, prompt)
		return rulesPreviewMsg{seq, p, err}
	}
}

func (v *Rules) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case rulesLoadedMsg:
		if msg.err != nil {
			v.err = "could not load the rules"
			return common.ReportErr(v.err, msg.err)
		}
		v.loaded, v.err = true, ""
		v.good, v.draft = slices.Clone(msg.rules), slices.Clone(msg.rules)
		return v.previewCmd()
	case rulesPreviewMsg:
		if msg.seq != v.seq {
			return nil // a later edit superseded this preview
		}
		if msg.err != nil {
			return common.ReportErr("rules preview failed", msg.err)
		}
		if len(msg.p.Errors) > 0 {
			v.errs = msg.p.Errors
			return nil
		}
		v.errs = nil
		v.good = slices.Clone(v.draft)
		p := msg.p
		v.preview = &p
	case rulesSavedMsg:
		if msg.err != nil {
			return common.ReportErr("saving the rules failed", msg.err)
		}
		v.dirty = false
		return common.ReportInfo("rules written to penny.toml")
	case tea.PasteMsg:
		if v.editing {
			v.buf += common.OneLine(msg.Content)
		}
	case tea.KeyPressMsg:
		return v.key(msg)
	}
	return nil
}

func (v *Rules) key(msg tea.KeyPressMsg) tea.Cmd {
	if v.editing {
		switch {
		case key.Matches(msg, v.commit):
			v.editing = false
			return v.apply()
		case key.Matches(msg, v.cancel):
			v.editing = false
		case msg.Code == tea.KeyBackspace:
			if r := []rune(v.buf); len(r) > 0 {
				v.buf = string(r[:len(r)-1])
			}
		case msg.Text != "":
			v.buf += msg.Text
		}
		return nil
	}
	if !v.loaded {
		return nil
	}
	if v.list.move(msg, len(v.draft), 10) {
		v.row = v.list.pos
		return nil
	}
	switch {
	case key.Matches(msg, v.left):
		v.col = max(0, v.col-1)
	case key.Matches(msg, v.right):
		v.col = min(len(ruleFields)-1, v.col+1)
	case key.Matches(msg, v.edit) && len(v.draft) > 0:
		v.editing, v.buf = true, cell(v.draft[v.row], v.col)
	case key.Matches(msg, v.add):
		v.draft = append(v.draft, route.RuleConfig{Name: fmt.Sprintf("rule-%d", len(v.draft)+1), Keywords: []string{"example"}, Weight: 0.1})
		v.row, v.list.pos, v.col = len(v.draft)-1, len(v.draft)-1, 1
		v.dirty = true
		return v.previewCmd()
	case key.Matches(msg, v.del) && len(v.draft) > 0:
		v.draft = slices.Delete(v.draft, v.row, v.row+1)
		v.list.clamp(len(v.draft))
		v.row = v.list.pos
		v.dirty = true
		return v.previewCmd()
	case key.Matches(msg, v.undo):
		v.draft, v.errs = slices.Clone(v.good), nil
		return v.previewCmd()
	case key.Matches(msg, v.save):
		switch {
		case v.readOnly:
			return common.ReportInfo("demo session: rules are previewed but not saved")
		case len(v.errs) > 0:
			return common.ReportInfo("fix the invalid rule first (u goes back to the last good rules)")
		}
		r, rules := v.c.Services.Rules, slices.Clone(v.good)
		return func() tea.Msg { return rulesSavedMsg{r.Save(context.Background(), rules)} }
	}
	return nil
}

// apply writes the edit buffer into the draft and previews it. A weight that
// is not a number is an inline error without asking the service.
func (v *Rules) apply() tea.Cmd {
	r := &v.draft[v.row]
	switch ruleFields[v.col] {
	case "name":
		r.Name = v.buf
	case "match":
		// "words: a, b" edits a keyword rule; anything else is a regex.
		if rest, ok := strings.CutPrefix(strings.TrimSpace(v.buf), wordsPrefix); ok {
			r.Pattern, r.Keywords = "", splitWords(rest)
		} else {
			r.Pattern, r.Keywords = v.buf, nil
		}
	case "weight":
		f, err := strconv.ParseFloat(strings.TrimSpace(v.buf), 64)
		if err != nil {
			v.errs = []common.RuleError{{Index: v.row, Field: "weight", Msg: "not a number: " + v.buf}}
			return nil
		}
		r.Weight = f
	case "tier":
		r.Tier = strings.TrimSpace(v.buf)
	}
	v.dirty = true
	return v.previewCmd()
}

// wordsPrefix marks a keyword rule in the match column.
const wordsPrefix = "words:"

func splitWords(s string) []string {
	var out []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func cell(r route.RuleConfig, col int) string {
	switch col {
	case 0:
		return r.Name
	case 1:
		if len(r.Keywords) > 0 {
			return wordsPrefix + " " + strings.Join(r.Keywords, ", ")
		}
		return r.Pattern
	case 2:
		return strconv.FormatFloat(r.Weight, 'f', -1, 64)
	}
	return r.Tier
}

func (v *Rules) Body(w, h int) string {
	st := v.c.Styles
	switch {
	case v.err != "":
		return st.Bad.Render(v.err)
	case !v.loaded:
		return st.Muted.Render("loading…")
	}
	var b strings.Builder
	pw := max(10, w-16-8-10-6)
	widths := []int{16, pw, 8, 10}
	head := fmt.Sprintf("%-16s %-*s %-8s %-10s", "name", pw, "match (regex, or words: a, b)", "weight", "tier")
	b.WriteString(st.Muted.Render(common.Fit(head, w, 1)[0]) + "\n")
	tableRows := max(1, min(len(v.draft), h/2))
	from, to := v.list.window(len(v.draft), tableRows)
	for i := from; i < to; i++ {
		var cells []string
		for c := range ruleFields {
			text := common.OneLine(cell(v.draft[i], c))
			if v.editing && i == v.row && c == v.col {
				text = v.buf + "▏"
			}
			s := common.Fit(text, widths[c], 1)[0]
			switch {
			case v.fieldErr(i, ruleFields[c]) != "" || (c == 1 && v.fieldErr(i, "") != ""):
				s = st.Bad.Render(s)
			case i == v.row && c == v.col:
				s = st.Selected.Render(s)
			}
			cells = append(cells, s)
		}
		b.WriteString(strings.Join(cells, " ") + "\n")
		for _, e := range v.errs {
			if e.Index == i {
				b.WriteString(st.Bad.Render(common.Fit("  ✗ "+e.Field+": "+common.OneLine(e.Msg), w, 1)[0]) + "\n")
			}
		}
	}
	if len(v.draft) == 0 {
		b.WriteString(st.Muted.Render("No rules: a adds one.") + "\n")
	}
	b.WriteString(st.Subtle.Render(strings.Repeat("─", w)) + "\n")
	b.WriteString(v.previewView(w))
	return b.String()
}

func (v *Rules) fieldErr(row int, field string) string {
	for _, e := range v.errs {
		if e.Index == row && e.Field == field {
			return e.Msg
		}
	}
	return ""
}

func (v *Rules) previewView(w int) string {
	st := v.c.Styles
	p := v.preview
	if p == nil {
		return st.Muted.Render("previewing…")
	}
	var b strings.Builder
	if strings.TrimSpace(v.prompt) != "" {
		b.WriteString(fmt.Sprintf("%s %s %s score %.2f\n", st.Muted.Render("current prompt →"),
			st.Accent.Render(common.OneLine(p.Decision.Model)), common.OneLine(p.Decision.Tier), p.Decision.Score))
	} else {
		b.WriteString(st.Muted.Render("(type a prompt in the playground to see its route here)") + "\n")
	}
	b.WriteString(rulesSetsView(st, p.Sets, w))
	if len(p.Changed) == 0 {
		b.WriteString(st.Muted.Render("no history item changes route") + "\n")
		return b.String()
	}
	b.WriteString(st.Bold.Render(fmt.Sprintf("%d history items would change route", len(p.Changed))) + "\n")
	for i, it := range p.Changed {
		if i == 8 {
			b.WriteString(st.Muted.Render(fmt.Sprintf("  … and %d more", len(p.Changed)-i)) + "\n")
			break
		}
		b.WriteString(common.Fit(fmt.Sprintf("  %-16s %s", trunc(common.OneLine(it.Routed), 16), common.OneLine(it.Prompt)), w, 1)[0] + "\n")
	}
	return b.String()
}

// rulesSetsView is a table of the labelled sets' figures under the edited
// rules; a figure the edit changed shows as before→after.
func rulesSetsView(st styles.Styles, sets []route.SetMetrics, w int) string {
	var b strings.Builder
	row := func(name, prompts, rest string) {
		b.WriteString(common.Fit(fmt.Sprintf("%-24s %7s  %s", trunc(common.OneLine(name), 24), prompts, rest), w, 1)[0] + "\n")
	}
	b.WriteString(st.Muted.Render(strings.TrimRight(common.Fit(fmt.Sprintf("%-24s %7s  %-11s  %-12s  %s", "labelled set", "prompts", "APGR", "strong calls", "cost"), w, 1)[0], " ")) + "\n")
	for i, m := range sets {
		r, bf := m.Report, m.Before
		if r == nil {
			note := m.Note
			if i == 0 && m.Prompts == 0 { // the labelled history comes first (common.RulesPreview)
				note += ": label prompts in History"
			}
			row(m.Name, strconv.Itoa(m.Prompts), st.Muted.Render(note))
			continue
		}
		if bf == nil {
			bf = r
		}
		change := func(before, after string) string {
			if before == after {
				return after
			}
			return before + "→" + after
		}
		pct := func(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }
		apgr := change(strconv.FormatFloat(bf.APGR, 'f', 3, 64), strconv.FormatFloat(r.APGR, 'f', 3, 64))
		strong := change(pct(bf.StrongShare), pct(r.StrongShare))
		cost := change(money.FromUSD(bf.CostUSD).String(), money.FromUSD(r.CostUSD).String())
		row(m.Name, strconv.Itoa(m.Prompts), fmt.Sprintf("%-11s  %-12s  %s", apgr, strong, cost))
	}
	return b.String()
}

func (v *Rules) ShortHelp() []key.Binding {
	if v.editing {
		return []key.Binding{v.commit, v.cancel}
	}
	save := v.save
	save.SetEnabled(!v.readOnly && len(v.errs) == 0 && v.dirty)
	return []key.Binding{v.edit, v.left, v.add, v.del, save}
}

func (v *Rules) FullHelp() [][]key.Binding {
	return [][]key.Binding{{v.list.keys.Up, v.list.keys.Down, v.left, v.right}, {v.edit, v.add, v.del, v.undo, v.save}}
}
