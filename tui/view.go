package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/panes"
)

// Minimum sizes the layout is designed for; smaller terminals get the same
// layout clipped rather than a different one.
const (
	minWidth  = 80
	minHeight = 24
	// wideWidth is where the four panes fit side by side.
	wideWidth = 120
)

// box is a rectangle on screen.
type box struct{ x, y, w, h int }

// layoutState is computed from the size on every resize and render.
type layoutState struct {
	width, height int
	header        int // lines
	notice        int // first-run line
	editor        box
	panes         []box // parallel to visiblePanes()
	body          box   // the area below the header for non-playground screens
	footer        int   // status + help lines
}

func (m *Model) size() (int, int) {
	w, h := m.c.Width, m.c.Height
	if w <= 0 {
		w = minWidth
	}
	if h <= 0 {
		h = minHeight
	}
	return max(w, 20), max(h, 10)
}

func (m *Model) helpView(w int) string {
	m.help.SetWidth(w)
	km := m.keyMap()
	if m.fullHelp {
		full := m.help.FullHelpView(km.FullHelp())
		return strings.Join(common.Fit(full, w, lipgloss.Height(full)), "\n")
	}
	return m.shortHelp(km.ShortHelp(), w)
}

// shortHelp renders one line of enabled bindings that fits w cells. The
// last binding (quit) is always shown; bindings that do not fit before it
// are replaced by "…" (f1 shows them all).
func (m *Model) shortHelp(bs []key.Binding, w int) string {
	st := m.help.Styles
	sep := st.ShortSeparator.Render(m.help.ShortSeparator)
	item := func(b key.Binding) string {
		return st.ShortKey.Render(b.Help().Key) + " " + st.ShortDesc.Render(b.Help().Desc)
	}
	var on []key.Binding
	for _, b := range bs {
		if b.Enabled() {
			on = append(on, b)
		}
	}
	if len(on) == 0 {
		return ""
	}
	last := item(on[len(on)-1])
	budget := w - lipgloss.Width(last)
	var parts []string
	used := 0
	for i, b := range on[:len(on)-1] {
		s := item(b) + sep
		sw := lipgloss.Width(s)
		rest := len(on) - 2 - i // bindings after this one, before the last
		ell := 0
		if rest > 0 {
			ell = lipgloss.Width("… ") // room to say something was left out
		}
		if used+sw+ell > budget {
			parts = append(parts, st.Ellipsis.Render("…")+" ")
			break
		}
		parts = append(parts, s)
		used += sw
	}
	return common.Fit(strings.Join(parts, "")+last, w, 1)[0]
}

// computeLayout places every box for the current size and state.
func (m *Model) computeLayout() layoutState {
	w, h := m.size()
	l := layoutState{width: w, height: h, header: 1}
	if m.empty && m.c.Services.Demo != nil {
		l.notice = 1
	}
	l.footer = 1 + lipgloss.Height(m.helpView(w))
	top := l.header + l.notice
	bh := max(4, h-top-l.footer)
	l.body = box{0, top, w, bh}
	eh := min(12, max(4, bh/4))
	l.editor = box{0, top, w, eh}
	py, ph := top+eh, max(2, bh-eh)
	n := len(m.visiblePanes())
	switch {
	case m.showAns:
		cw := max(36, w/3)
		l.panes = []box{{0, py, w - cw, ph}, {w - cw, py, cw, ph}}
	case w >= wideWidth || n < 4:
		// The last pane (Cost) has two columns of figures: it gets up to
		// 30% of the width, the others share the rest.
		last := max(w/n, min(42, w*3/10))
		pw := (w - last) / max(1, n-1)
		x := 0
		for i := 0; i < n; i++ {
			bw := pw
			if i == n-1 {
				bw = w - x
			}
			l.panes = append(l.panes, box{x, py, bw, ph})
			x += bw
		}
	default: // 2×2
		cw, rh := w/2, ph/2
		l.panes = []box{
			{0, py, cw, rh}, {cw, py, w - cw, rh},
			{0, py + rh, cw, ph - rh}, {cw, py + rh, w - cw, ph - rh},
		}
	}
	return l
}

// layout pushes sizes into the components that keep them.
func (m *Model) layout() {
	l := m.computeLayout()
	m.editor.SetWidth(max(1, l.editor.w-2))
	m.editor.SetHeight(max(1, l.editor.h-2))
}

// answerWidth is the inner width of the answer pane, or 0 when hidden.
func (m *Model) answerWidth() int {
	if !m.showAns {
		return 0
	}
	l := m.computeLayout()
	return max(0, l.panes[0].w-2)
}

// visiblePanes are the panes the playground shows now, in focus order.
func (m *Model) visiblePanes() []panes.Pane {
	if m.showAns {
		return []panes.Pane{m.answer, m.cost}
	}
	return m.panes
}

func (m *Model) setFocus(i int) {
	m.focus = i
	if i == focusEditor {
		m.focusEditor()
	} else {
		m.editor.Blur()
	}
}

func (m *Model) focusEditor() { _ = m.editor.Focus() }

func (m *Model) switchScreen(s Screen) tea.Cmd {
	if m.screen == s {
		return nil
	}
	m.screen = s
	m.layout()
	if s == ScreenPlayground {
		m.setFocus(m.focus)
		return nil
	}
	m.editor.Blur()
	if sc := m.screens[s]; sc != nil {
		return sc.Show(m.current())
	}
	return nil
}

// applyEnabled enables exactly the global keys that can act now, so the
// help footer never offers an impossible action.
func (m *Model) applyEnabled() {
	g, svc := &m.c.Keys, m.c.Services
	play := m.screen == ScreenPlayground && m.dialog == nil
	g.Send.SetEnabled(play && svc.Sender != nil && m.send == nil)
	g.Cancel.SetEnabled(play && (m.send != nil || m.showAns))
	if m.send != nil {
		g.Cancel.SetHelp("esc", "cancel send")
	} else {
		g.Cancel.SetHelp("esc", "close answer")
	}
	g.NextFocus.SetEnabled(play)
	g.PrevFocus.SetEnabled(play)
	g.Baseline.SetEnabled(svc.Models != nil && m.dialog == nil)
	g.Demo.SetEnabled(m.empty && svc.Demo != nil && m.dialog == nil)
	g.Lossy.SetEnabled(play && svc.Planner != nil)
	if m.Lossy() {
		g.Lossy.SetHelp("ctrl+y", "lossy off")
	} else {
		g.Lossy.SetHelp("ctrl+y", "lossy on")
	}
}

// helpKeys adapts binding lists to help.KeyMap.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// keyMap is the footer: the focused component's keys first (they change
// with focus and matter most), then the global keys.
func (m *Model) keyMap() help.KeyMap {
	g := m.c.Keys
	views := key.NewBinding(key.WithKeys("alt+1"), key.WithHelp("alt+1…5", "views"))
	var local []key.Binding
	var localFull [][]key.Binding
	switch {
	case m.dialog != nil:
		local, localFull = m.dialog.ShortHelp(), m.dialog.FullHelp()
	case m.screen != ScreenPlayground:
		if s := m.screens[m.screen]; s != nil {
			local, localFull = s.ShortHelp(), s.FullHelp()
		}
	case m.focus == focusEditor:
		localFull = [][]key.Binding{editorKeys()}
	default:
		if ps := m.visiblePanes(); m.focus-1 < len(ps) {
			p := ps[m.focus-1]
			local, localFull = p.ShortHelp(), p.FullHelp()
		}
	}
	short := append([]key.Binding{}, local...)
	short = append(short, g.Send, g.Cancel, g.NextFocus, g.Lossy, g.Help, g.Demo, g.Baseline, views, g.Quit)
	full := append([][]key.Binding{}, localFull...)
	full = append(full,
		[]key.Binding{g.Send, g.Cancel, g.NextFocus, g.PrevFocus, g.Lossy},
		[]key.Binding{g.Baseline, g.Demo, g.Help, g.Quit},
		g.Views())
	return helpKeys{short, full}
}

// editorKeys documents the editor's most useful keys for the footer.
func editorKeys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "newline")),
		key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "delete to line start")),
		key.NewBinding(key.WithKeys("ctrl+v"), key.WithHelp("ctrl+v", "paste")),
	}
}

func (m *Model) applyEditorStyles() {
	st := m.c.Styles
	ts := textarea.DefaultStyles(st.Dark)
	for _, s := range []*textarea.StyleState{&ts.Focused, &ts.Blurred} {
		s.Base = lipgloss.NewStyle()
		s.Text = st.Text
		s.Placeholder = st.Subtle
		s.CursorLine = lipgloss.NewStyle()
		s.EndOfBuffer = st.Subtle
		s.Prompt = st.Muted
	}
	ts.Cursor.Color = st.Palette.Accent
	ts.Cursor.Blink = false
	m.editor.SetStyles(ts)
}

func (m *Model) applyHelpStyles() {
	st := m.c.Styles
	m.help.Styles = help.Styles{
		Ellipsis:       st.Subtle,
		ShortKey:       st.Accent2,
		ShortDesc:      st.Muted,
		ShortSeparator: st.Subtle,
		FullKey:        st.Accent2,
		FullDesc:       st.Muted,
		FullSeparator:  st.Subtle,
	}
	m.help.ShortSeparator = " · "
}

// View renders the whole screen.
func (m *Model) View() tea.View {
	l := m.computeLayout()
	var rows []string
	rows = append(rows, m.headerView(l.width))
	if l.notice > 0 {
		rows = append(rows, common.Fit(m.c.Styles.Accent2.Render(
			"Empty database: ctrl+l loads a demo day of traffic so every view has data."), l.width, 1)[0])
	}
	var cursor *tea.Cursor
	switch {
	case m.dialog != nil:
		dw, dh := min(l.width-4, 76), min(l.body.h, 18)
		rows = append(rows, lipgloss.Place(l.width, l.body.h, lipgloss.Center, lipgloss.Center, m.dialog.View(dw, dh)))
	case m.screen == ScreenPlayground:
		rows = append(rows, m.playgroundView(l))
		if c := m.editor.Cursor(); c != nil {
			c.Position.X += l.editor.x + 1
			c.Position.Y += l.editor.y + 1
			if c.Position.Y < l.editor.y+l.editor.h-1 {
				cursor = c
			}
		}
	default:
		body := m.c.Styles.Muted.Render(m.screen.String() + " is not available yet: this build has no service wired for it.")
		title := m.screen.String()
		if s := m.screens[m.screen]; s != nil {
			title = s.Title()
			body = s.Body(l.body.w-2, l.body.h-2)
		}
		rows = append(rows, m.c.Frame(title, body, l.body.w, l.body.h, true))
	}
	rows = append(rows, m.statusView(l.width), m.helpView(l.width))
	v := tea.NewView(strings.Join(rows, "\n"))
	v.AltScreen = true
	v.Cursor = cursor
	v.WindowTitle = "penny"
	return v
}

func (m *Model) playgroundView(l layoutState) string {
	ed := m.editor.View()
	title := "Prompt"
	if m.plan != nil {
		title = fmt.Sprintf("Prompt · %s tokens (%s)", commas(m.plan.Input.Tokens), m.plan.Input.Tokenizer)
		if !m.plan.Input.Exact {
			title += " estimated"
		}
	}
	out := m.c.Frame(title, ed, l.editor.w, l.editor.h, m.focus == focusEditor)
	ps := m.visiblePanes()
	rendered := make([]string, len(ps))
	for i, p := range ps {
		b := l.panes[i]
		rendered[i] = m.c.Frame(p.Title(), p.Body(b.w-2, b.h-2), b.w, b.h, m.focus == i+1)
	}
	// Panes sharing a top edge form a row.
	var rowsOut []string
	var row []string
	for i := range ps {
		if i > 0 && l.panes[i].y != l.panes[i-1].y {
			rowsOut = append(rowsOut, lipgloss.JoinHorizontal(lipgloss.Top, row...))
			row = nil
		}
		row = append(row, rendered[i])
	}
	rowsOut = append(rowsOut, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	return out + "\n" + strings.Join(rowsOut, "\n")
}

func (m *Model) headerView(w int) string {
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("penny") + "  ")
	for i, name := range screenNames {
		s := st.Tab
		if Screen(i) == m.screen {
			s = st.TabActive
		}
		b.WriteString(s.Render(name) + " ")
	}
	right := "baseline " + st.Bold.Render(common.OneLine(m.baseline))
	if m.opts.User != "" {
		right = common.OneLine(m.opts.User) + " · " + right
	}
	if m.opts.DemoSession {
		right = st.Warn.Render("DEMO") + " · " + right
	}
	left := b.String()
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return common.Fit(left+" "+right, w, 1)[0]
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m *Model) statusView(w int) string {
	st := m.c.Styles
	var left string
	switch {
	case m.status.Text != "" && m.status.Kind == common.StatusError:
		left = st.StatusErr.Render("✗ " + m.status.Text)
	case m.status.Text != "":
		left = st.StatusInfo.Render("✓ " + m.status.Text)
	}
	var right []string
	if m.send != nil {
		right = append(right, st.Accent.Render("sending…"))
	}
	if m.plan != nil && m.screen == ScreenPlayground {
		right = append(right, st.Subtle.Render("plan "+m.planTook.Round(10*time.Microsecond).String()))
	}
	r := strings.Join(right, st.Subtle.Render(" · "))
	gap := w - lipgloss.Width(left) - lipgloss.Width(r)
	if gap < 1 {
		return common.Fit(left, w, 1)[0]
	}
	return left + strings.Repeat(" ", gap) + r
}

func commas(n int) string {
	s := fmt.Sprintf("%d", n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && r != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// logMsg writes one line per message to the debug log (PENNY_DEBUG=1).
// It is the one write Update does, and only when debugging is on.
func (m *Model) logMsg(msg tea.Msg) {
	s := fmt.Sprintf("%+v", msg)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	fmt.Fprintf(m.debug, "%s %T %s\n", time.Now().Format("15:04:05.000"), msg, common.OneLine(s))
}
