// Package tui is penny's Bubble Tea v2 playground: a prompt editor with the
// plan (compression, route, cache, cost) updating as you type, sending with
// a streamed answer, and the history, rules, cache and savings views.
//
// One constructor, New, builds the root model for local runs, for each SSH
// session and for tests. See README.md in this directory for the UI rules.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/panes"
)

// Services are the core services the UI uses; see common.Services.
type Services = common.Services

// The service interfaces, re-exported so callers need import only tui.
type (
	Planner        = common.Planner
	Models         = common.Models
	Sender         = common.Sender
	History        = common.History
	Rules          = common.Rules
	CacheBrowser   = common.CacheBrowser
	CacheEvaluator = common.CacheEvaluator
	Savings        = common.Savings
	Demo           = common.Demo
)

// Options configure one program (one local run or one SSH session).
type Options struct {
	Baseline         string      // the model the user would call without penny; required
	CompletionTokens int         // assumed completion length for projections
	RequestsPerDay   int64       // traffic level for monthly figures (adjustable in the Cost pane)
	Scope            cache.Scope // cache scope (system prompt, temperature, tenant…); Model is set by the planner
	Prompt           string      // initial editor content, e.g. a draft restored for an SSH user

	NoColor  bool          // render without colour (NO_COLOR); the caller reads the environment
	Light    bool          // start with light styles until the terminal reports its background
	Debounce time.Duration // delay between the last keystroke and planning; 0 = 100ms

	DemoSession bool   // an SSH --demo session: shown in the header; rule and cache edits are not saved
	User        string // shown in the header when non-empty, and recorded with sends
	SendTag     string // ledger tag for sends; "" = "tui"

	Logger   *slog.Logger // errors' details; nil discards
	DebugLog io.Writer    // when set, every message is logged here (PENNY_DEBUG=1)
}

// Validate reports options New cannot work with. New itself accepts zero
// values (it applies defaults); Validate is for the caller's config check.
func (o Options) Validate() error {
	switch {
	case strings.TrimSpace(o.Baseline) == "":
		return errors.New("tui options: baseline model is required")
	case o.CompletionTokens < 0:
		return fmt.Errorf("tui options: completion tokens %d is negative", o.CompletionTokens)
	case o.RequestsPerDay < 0:
		return fmt.Errorf("tui options: requests per day %d is negative", o.RequestsPerDay)
	case o.Debounce < 0 || o.Debounce > 2*time.Second:
		return fmt.Errorf("tui options: debounce %s is outside 0..2s", o.Debounce)
	}
	return nil
}

func (o Options) sendTag() string {
	if o.SendTag == "" {
		return "tui"
	}
	return o.SendTag
}

// DefaultDebounce is how long typing must pause before the plan is computed.
const DefaultDebounce = 100 * time.Millisecond

// Screen identifies a top-level view.
type Screen int

const (
	ScreenPlayground Screen = iota
	ScreenHistory
	ScreenRules
	ScreenCache
	ScreenSavings
)

var screenNames = [...]string{"Playground", "History", "Rules", "Cache", "Savings"}

func (s Screen) String() string { return screenNames[s] }

// Focus targets inside the playground. Panes follow in their slice order.
const focusEditor = 0

// Messages the root model sends itself. Each carries the sequence number of
// the request it answers so stale results can be dropped.
type (
	planTickMsg struct{ seq uint64 }
	planMsg     struct {
		seq     uint64
		prompt  string
		plan    plan.Plan
		err     error
		elapsed time.Duration
	}
	clearStatusMsg struct{ seq int }
	// sendMsg carries streamed text and, once, the end of the send.
	sendMsg struct {
		id   uint64
		text string
		done bool
		res  send.Outcome
		err  error
	}
	answerRenderedMsg struct {
		id    uint64
		width int
		text  string
		err   error
	}
	demoStateMsg struct {
		empty bool
		err   error
	}
	demoLoadedMsg struct {
		n   int
		err error
	}
)

// sendEvent travels from a Sender's goroutine to the UI.
type sendEvent struct {
	delta string
	done  bool
	res   send.Outcome
	err   error
}

// sendState is a send in flight.
type sendState struct {
	id     uint64
	cancel context.CancelFunc
	events chan sendEvent
}

// Model is the root model. Build it with New.
type Model struct {
	c    *common.Common
	opts Options

	screen  Screen
	editor  textarea.Model
	panes   []panes.Pane // compression, route, cache, cost
	cost    *panes.Cost
	answer  *panes.Answer
	focus   int // focusEditor, or 1+index into the visible panes
	showAns bool

	baseline string
	rpd      int64
	// lossy is the per-prompt choice of lossy compression passes; nil
	// until the user toggles it: the config decides.
	lossy *bool

	planSeq    uint64
	planCancel context.CancelFunc
	plan       *plan.Plan // latest plan for the editor's text, nil when empty
	planFor    string     // the prompt plan was computed for
	planTook   time.Duration

	send    *sendState
	sendSeq uint64

	status    common.StatusMsg
	statusSeq int

	dialog   *picker
	help     help.Model
	fullHelp bool
	empty    bool // the database is empty (first run): offer demo data

	screens map[Screen]screen
	debug   io.Writer

	// statusTick schedules a status line's auto-clear; tests replace it so
	// they need not wait StatusTTL.
	statusTick func(seq int) tea.Cmd
}

// screen is a top-level view other than the playground.
type screen interface {
	Title() string
	// Show is called when the screen becomes visible; it returns the
	// command loading its data.
	Show(cur common.Current) tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	Body(w, h int) string
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// New builds the root model for one program. It does no I/O: the first
// plan, the background colour query and the empty-database check run as
// commands from Init.
func New(svc Services, opts Options) *Model {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.RequestsPerDay <= 0 {
		opts.RequestsPerDay = 1000
	}
	c := common.New(svc, opts.NoColor, opts.Logger)
	if opts.Light {
		c.SetBackground(false)
	}
	m := &Model{c: c, opts: opts, baseline: opts.Baseline, rpd: opts.RequestsPerDay, debug: opts.DebugLog}
	m.editor = textarea.New()
	m.editor.Placeholder = "Type or paste a prompt. The plan updates as you type; ctrl+s sends."
	m.editor.ShowLineNumbers = false
	m.editor.Prompt = ""
	m.editor.CharLimit = plan.MaxPromptBytes
	m.editor.MaxHeight = 0 // no line limit: long prompts are the point
	m.editor.SetVirtualCursor(false)
	m.editor.SetValue(opts.Prompt)
	m.editor.Focus()
	m.applyEditorStyles()

	m.cost = panes.NewCost(c, m.rpd)
	m.panes = []panes.Pane{panes.NewCompression(c), panes.NewRoute(c), panes.NewCache(c), m.cost}
	m.answer = panes.NewAnswer(c)
	m.help = help.New()
	m.applyHelpStyles()
	m.screens = newScreens(c, opts.DemoSession)
	m.statusTick = func(seq int) tea.Cmd {
		return tea.Tick(common.StatusTTL, func(time.Time) tea.Msg { return clearStatusMsg{seq} })
	}
	m.applyEnabled()
	return m
}

// Init asks for the terminal background, checks for an empty database and
// plans the initial prompt.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if m.c.Services.Planner == nil {
		cmds = append(cmds, common.ReportInfo("planning is not available in this build"))
	}
	if d := m.c.Services.Demo; d != nil {
		cmds = append(cmds, func() tea.Msg {
			empty, err := d.Empty(context.Background())
			return demoStateMsg{empty, err}
		})
	}
	if strings.TrimSpace(m.editor.Value()) != "" {
		m.planSeq++
		cmds = append(cmds, m.startPlan(m.planSeq))
	}
	return tea.Batch(cmds...)
}

// Update routes a message: keys go quit → dialog → global → focused pane;
// other messages go to their owner.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.debug != nil {
		m.logMsg(msg)
	}
	cmd := m.update(msg)
	m.applyEnabled()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case tea.PasteMsg:
		if m.dialog != nil {
			return nil
		}
		if m.screen == ScreenPlayground && m.focus == focusEditor {
			return m.updateEditor(msg)
		}
		if s := m.screens[m.screen]; s != nil && m.screen != ScreenPlayground {
			return s.Update(msg)
		}
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.layout()
		return m.renderAnswerIfNeeded()
	case tea.BackgroundColorMsg:
		m.c.SetBackground(msg.IsDark())
		m.applyEditorStyles()
		m.applyHelpStyles()
		if m.answer.Text() != "" && !m.answer.Streaming() {
			m.answer.SetRendered("", 0)
			return m.renderAnswerIfNeeded()
		}
	case common.StatusMsg:
		m.statusSeq++
		m.status = msg
		if msg.Kind == common.StatusError && msg.Detail != "" {
			m.c.Logger.Error(msg.Text, "detail", msg.Detail)
		}
		return m.statusTick(m.statusSeq)
	case clearStatusMsg:
		if msg.seq == m.statusSeq {
			m.status = common.StatusMsg{}
		}
	case planTickMsg:
		if msg.seq != m.planSeq {
			return nil // typing continued; a later tick will plan
		}
		return m.startPlan(msg.seq)
	case planMsg:
		return m.handlePlan(msg)
	case panes.RequestsPerDayMsg:
		m.rpd = msg.N
		m.cost.SetRequestsPerDay(msg.N)
		return m.replanNow()
	case pickedMsg:
		m.dialog = nil
		if msg.model != m.baseline {
			m.baseline = msg.model
			return tea.Batch(m.replanNow(), common.ReportInfo("baseline: "+msg.model))
		}
	case closeDialogMsg:
		m.dialog = nil
	case sendMsg:
		if m.send == nil || msg.id != m.send.id {
			return nil
		}
		m.answer.Append(msg.text)
		if !msg.done {
			return waitSend(m.send.id, m.send.events)
		}
		return m.handleSendDone(msg)
	case answerRenderedMsg:
		if msg.id != m.sendSeq || m.answer.Streaming() || msg.width != m.answerWidth() {
			return nil // an older answer, or a width a resize has replaced
		}
		if msg.err != nil {
			m.c.Logger.Warn("render answer", "err", msg.err)
			return nil // the raw text stays on screen
		}
		m.answer.SetRendered(msg.text, msg.width)
	case demoStateMsg:
		if msg.err != nil {
			return common.ReportErr("could not check the database", msg.err)
		}
		m.empty = msg.empty
	case demoLoadedMsg:
		if msg.err != nil {
			return common.ReportErr("loading demo data failed", msg.err)
		}
		m.empty = false
		cmds := []tea.Cmd{common.ReportInfo(fmt.Sprintf("demo data loaded: %d requests", msg.n)), m.replanNow()}
		if s := m.screens[m.screen]; s != nil && m.screen != ScreenPlayground {
			cmds = append(cmds, s.Show(m.current()))
		}
		return tea.Batch(cmds...)
	case common.LoadPromptMsg:
		m.switchScreen(ScreenPlayground)
		m.editor.SetValue(msg.Prompt)
		m.focus = focusEditor
		m.focusEditor()
		return m.replanNow()
	default:
		// Everything else is a screen's own result message (each screen
		// ignores the others') or the editor's (clipboard, cursor).
		var cmds []tea.Cmd
		for _, s := range m.screens {
			cmds = append(cmds, s.Update(msg))
		}
		var cmd tea.Cmd
		m.editor, cmd = m.editor.Update(msg)
		return tea.Batch(append(cmds, cmd)...)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	g := m.c.Keys
	// 1. quit, from anywhere.
	if key.Matches(msg, g.Quit) {
		m.shutdown()
		return tea.Quit
	}
	// 2. an open dialog takes every other key.
	if m.dialog != nil {
		return m.dialog.Update(msg)
	}
	// 3. global keys.
	switch {
	case key.Matches(msg, g.Help):
		m.fullHelp = !m.fullHelp
		m.layout()
		return nil
	case key.Matches(msg, g.Playground):
		return m.switchScreen(ScreenPlayground)
	case key.Matches(msg, g.History):
		return m.switchScreen(ScreenHistory)
	case key.Matches(msg, g.Rules):
		return m.switchScreen(ScreenRules)
	case key.Matches(msg, g.Cache):
		return m.switchScreen(ScreenCache)
	case key.Matches(msg, g.Savings):
		return m.switchScreen(ScreenSavings)
	case key.Matches(msg, g.Demo) && g.Demo.Enabled():
		d := m.c.Services.Demo
		return func() tea.Msg {
			n, err := d.Load(context.Background())
			return demoLoadedMsg{n, err}
		}
	case pressed(msg, g.Baseline):
		if m.c.Services.Models == nil {
			return common.ReportInfo("the model list is not available yet")
		}
		m.dialog = newPicker(m.c, m.c.Services.Models.Models(), m.baseline)
		return nil
	}
	if m.screen != ScreenPlayground {
		if s := m.screens[m.screen]; s != nil {
			return s.Update(msg)
		}
		return nil
	}
	switch {
	case pressed(msg, g.Send):
		// Matched even when disabled, to say why nothing happens.
		return m.startSend()
	case key.Matches(msg, g.Lossy):
		return m.toggleLossy()
	case key.Matches(msg, g.Cancel):
		if m.send != nil {
			m.send.cancel()
			return nil
		}
		if m.showAns {
			m.showAns = false
			m.setFocus(focusEditor)
			m.layout()
		}
		return nil
	case key.Matches(msg, g.NextFocus):
		m.setFocus((m.focus + 1) % (len(m.visiblePanes()) + 1))
		return nil
	case key.Matches(msg, g.PrevFocus):
		n := len(m.visiblePanes()) + 1
		m.setFocus((m.focus + n - 1) % n)
		return nil
	}
	// 4. the focused pane.
	if m.focus == focusEditor {
		return m.updateEditor(msg)
	}
	return m.visiblePanes()[m.focus-1].Update(msg)
}

// pressed reports whether msg is one of b's keys, enabled or not.
func pressed(msg tea.KeyPressMsg, b key.Binding) bool {
	return slices.Contains(b.Keys(), msg.String())
}

// updateEditor passes msg to the editor and schedules a plan when the text
// changed. The plan waits for typing to pause (debounce) and carries a
// sequence number so an older, slower plan never overwrites a newer one.
func (m *Model) updateEditor(msg tea.Msg) tea.Cmd {
	before := m.editor.Value()
	var cmd tea.Cmd
	m.editor, cmd = m.editor.Update(msg)
	if m.editor.Value() == before {
		return cmd
	}
	m.planSeq++
	seq := m.planSeq
	tick := tea.Tick(m.opts.Debounce, func(time.Time) tea.Msg { return planTickMsg{seq} })
	return tea.Batch(cmd, tick)
}

// replanNow plans immediately (settings changed, not the text).
func (m *Model) replanNow() tea.Cmd {
	m.planSeq++
	return m.startPlan(m.planSeq)
}

// planOptions are the plan settings in force.
func (m *Model) planOptions() plan.Options {
	o := plan.Options{
		Baseline: m.baseline, CompletionTokens: m.opts.CompletionTokens,
		RequestsPerDay: m.rpd, Scope: m.opts.Scope,
	}
	if m.lossy != nil {
		on := *m.lossy // a copy: the command must not share model state
		o.Lossy = &on
	}
	return o
}

// Lossy reports whether the lossy compression passes are on for the
// prompt: the user's toggle, else what the latest plan ran with.
func (m *Model) Lossy() bool {
	if m.lossy != nil {
		return *m.lossy
	}
	return m.plan != nil && panes.Lossy(m.plan)
}

// toggleLossy flips the lossy passes for the current prompt and re-plans,
// so the panes show what they would remove (and cost) before anything is
// sent; a send uses the plan it shows.
func (m *Model) toggleLossy() tea.Cmd {
	on := !m.Lossy()
	m.lossy = &on
	msg := "lossy passes off: lossless compression only"
	if on {
		msg = "lossy passes on for this prompt (filler, stopwords; budget and summary as configured)"
	}
	return tea.Batch(m.replanNow(), common.ReportInfo(msg))
}

// startPlan returns the command computing plan number seq. An empty editor
// clears the panes without asking the planner.
func (m *Model) startPlan(seq uint64) tea.Cmd {
	if m.planCancel != nil {
		m.planCancel() // the previous plan's result would be dropped anyway
		m.planCancel = nil
	}
	prompt := m.editor.Value()
	if strings.TrimSpace(prompt) == "" {
		m.setPlan(nil, "")
		return nil
	}
	p := m.c.Services.Planner
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.planCancel = cancel
	opts := m.planOptions()
	return func() tea.Msg {
		defer cancel()
		start := time.Now()
		pl, err := p.Plan(ctx, prompt, opts)
		return planMsg{seq: seq, prompt: prompt, plan: pl, err: err, elapsed: time.Since(start)}
	}
}

func (m *Model) handlePlan(msg planMsg) tea.Cmd {
	if msg.seq != m.planSeq {
		return nil // stale: the prompt or settings changed since
	}
	m.planCancel = nil
	if msg.err != nil {
		if errors.Is(msg.err, context.Canceled) || errors.Is(msg.err, plan.ErrEmpty) {
			return nil
		}
		return common.ReportErr(planErrReason(msg.err), msg.err)
	}
	pl := msg.plan
	m.planTook = msg.elapsed
	m.setPlan(&pl, msg.prompt)
	return nil
}

// planErrReason turns a planner error into a short status line.
func planErrReason(err error) string {
	switch {
	case errors.Is(err, plan.ErrTooLarge):
		return "prompt too large to plan"
	case errors.Is(err, plan.ErrBinary):
		return "prompt is not text"
	case errors.Is(err, plan.ErrUnknownModel):
		return "unknown model — pick a baseline with ctrl+o"
	}
	return "plan failed: " + firstLine(err.Error())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func (m *Model) setPlan(p *plan.Plan, prompt string) {
	m.plan, m.planFor = p, prompt
	for _, pn := range m.panes {
		pn.SetPlan(p)
	}
}

// current is what a view needs to know about the playground.
func (m *Model) current() common.Current {
	cur := common.Current{Prompt: m.editor.Value(), Scope: m.opts.Scope, RequestsPerDay: m.rpd}
	if m.plan != nil && m.planFor == cur.Prompt {
		cur.Scope.Model = m.plan.Route.Model
	}
	return cur
}

// Plan returns the latest plan shown, or nil.
func (m *Model) Plan() *plan.Plan { return m.plan }

// Prompt returns the editor's text (e.g. to save an SSH user's draft).
func (m *Model) Prompt() string { return m.editor.Value() }

func (m *Model) startSend() tea.Cmd {
	s := m.c.Services.Sender
	switch {
	case s == nil:
		return common.ReportInfo("sending is not available yet")
	case m.send != nil:
		return common.ReportInfo("a send is already in flight (esc cancels)")
	}
	prompt := m.editor.Value()
	if strings.TrimSpace(prompt) == "" {
		return common.ReportInfo("nothing to send: the prompt is empty")
	}
	job := sendJob{
		sender: s, planner: m.c.Services.Planner, prompt: prompt, planOpts: m.planOptions(),
		sendOpts: send.Options{Scope: m.opts.Scope, User: m.opts.User, Tag: m.opts.sendTag()},
	}
	if m.plan != nil && m.planFor == prompt {
		job.plan = m.plan // what the user saw when pressing send
	}
	m.sendSeq++
	ctx, cancel := context.WithCancel(context.Background())
	st := &sendState{id: m.sendSeq, cancel: cancel, events: make(chan sendEvent, 64)}
	m.send = st
	m.answer.Start()
	m.cost.SetActual(nil)
	m.showAns = true
	if m.focus != focusEditor {
		m.setFocus(1) // the answer: pane indexes change with the layout
	}
	m.layout()
	return func() tea.Msg {
		go job.run(ctx, st.events)
		return waitSend(st.id, st.events)()
	}
}

// sendJob is everything one send needs, copied out of the model so the
// goroutine never touches model state.
type sendJob struct {
	sender   common.Sender
	planner  common.Planner
	prompt   string
	plan     *plan.Plan // nil: plan first (the prompt changed since the last plan)
	planOpts plan.Options
	sendOpts send.Options
}

// run runs on its own goroutine: it feeds the sender's deltas into events
// and closes it when the send is over. Every channel write also watches ctx
// so a program that quit never leaves this goroutine blocked.
func (j sendJob) run(ctx context.Context, events chan<- sendEvent) {
	defer close(events)
	emit := func(ev sendEvent) {
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	}
	var pl plan.Plan
	if j.plan != nil {
		pl = *j.plan
	} else {
		if j.planner == nil {
			emit(sendEvent{done: true, err: errors.New("no planner to plan the prompt")})
			return
		}
		var err error
		if pl, err = j.planner.Plan(ctx, j.prompt, j.planOpts); err != nil {
			emit(sendEvent{done: true, err: fmt.Errorf("plan before send: %w", err)})
			return
		}
	}
	out, err := j.sender.Send(ctx, pl, j.sendOpts, func(d string) { emit(sendEvent{delta: d}) })
	emit(sendEvent{done: true, res: out, err: err})
}

// waitSend waits for the next events of send id, merging deltas that are
// already queued into one message so a fast stream costs one frame per
// batch, not per token. The UI re-arms it after every message until done.
func waitSend(id uint64, events <-chan sendEvent) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-events
		if !ok {
			return sendMsg{id: id, done: true, err: context.Canceled}
		}
		msg := sendMsg{id: id}
		var b strings.Builder
		for {
			b.WriteString(ev.delta)
			if ev.done {
				msg.done, msg.res, msg.err = true, ev.res, ev.err
				break
			}
			select {
			case ev, ok = <-events:
				if !ok {
					msg.done, msg.err = true, context.Canceled
				}
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		msg.text = b.String()
		return msg
	}
}
