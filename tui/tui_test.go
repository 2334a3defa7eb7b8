package tui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/tui/common"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const samplePrompt = "hello, please tell me the capital of France and please explain why it became the capital"

func newTestModel(svc Services) *Model {
	return noStatusClear(New(svc, Options{Baseline: "gpt-4-turbo", CompletionTokens: 500, RequestsPerDay: 100_000, Debounce: time.Millisecond}))
}

func fullServices() (Services, *fakePlanner, *fakeSender) {
	p := &fakePlanner{}
	s := &fakeSender{chunks: []string{"# Paris\n\n", "The capital is **Paris**.\n"}}
	return Services{Planner: p, Models: fakeModels{}, Sender: s}, p, s
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Baseline: "gpt-4o", CompletionTokens: 500, RequestsPerDay: 1000}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"no baseline": {CompletionTokens: 1},
		"negative":    {Baseline: "x", CompletionTokens: -1},
		"rpd":         {Baseline: "x", RequestsPerDay: -5},
		"debounce":    {Baseline: "x", Debounce: time.Minute},
	} {
		if o.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCtrlCQuitsFromAnywhere(t *testing.T) {
	cases := map[string]func(m *Model){
		"editor":  func(m *Model) {},
		"pane":    func(m *Model) { drive(t, m, tea.KeyPressMsg{Code: tea.KeyTab}, wait) },
		"dialog":  func(m *Model) { drive(t, m, ctrl('o'), wait) },
		"history": func(m *Model) { drive(t, m, tea.KeyPressMsg{Code: tea.KeyF3}, wait) },
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			svc, _, _ := fullServices()
			m := newTestModel(svc)
			start(t, m, 80, 24)
			setup(m)
			_, cmd := m.Update(ctrl('c'))
			if cmd == nil {
				t.Fatal("ctrl+c returned no command")
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Fatal("ctrl+c did not quit")
			}
		})
	}
}

func TestCtrlCCancelsSendInFlight(t *testing.T) {
	svc, _, s := fullServices()
	s.block = true
	m := newTestModel(svc)
	start(t, m, 80, 24)
	typeText(t, m, "hi", wait)
	drive(t, m, ctrl('s'), 100*time.Millisecond) // the sender blocks
	st := m.send
	if st == nil {
		t.Fatal("no send in flight")
	}
	m.Update(ctrl('c'))
	select {
	case _, ok := <-st.events:
		for ok { // drain until the sender's goroutine closes the channel
			_, ok = <-st.events
		}
	case <-time.After(2 * time.Second):
		t.Fatal("quitting left the send running")
	}
}

func TestPlanAppearsAfterTyping(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 160, 48)
	typeText(t, m, samplePrompt, wait)
	if m.Plan() == nil || m.Plan().Prompt != samplePrompt {
		t.Fatalf("plan not for the typed prompt: %+v", m.Plan())
	}
	v := plainView(m)
	for _, want := range []string{"Compression", "Route", "Cache", "Cost", "gpt-4o-mini", "below_threshold", "$/month", "assumed"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q", want)
		}
	}
}

// Typing a burst of keys without pausing plans once, for the last text.
func TestDebounceCoalescesKeystrokes(t *testing.T) {
	svc, p, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 80, 24)
	var ticks []tea.Cmd
	for _, r := range "capital of France" {
		_, cmd := m.Update(keyRune(r))
		ticks = append(ticks, cmd)
	}
	// The ticks fire in order, as they would after the burst; every one
	// but the last is stale.
	for _, c := range ticks {
		for _, msg := range runCmd(c, wait) {
			drive(t, m, msg, wait)
		}
	}
	if got := p.calls.Load(); got != 1 {
		t.Fatalf("planner called %d times for one burst, want 1", got)
	}
	if m.Plan() == nil || m.Plan().Prompt != "capital of France" {
		t.Fatal("the plan is not for the final text")
	}
}

// A slow plan for older text must not overwrite a newer one.
func TestStalePlanResultIsDropped(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 80, 24)
	m.editor.SetValue("old prompt")
	oldCmd := m.replanNow()
	m.editor.SetValue("new prompt")
	newCmd := m.replanNow()

	newMsg := newCmd().(planMsg)
	m.Update(newMsg)
	// The old plan finishes last (it was slower); it must be ignored.
	pl, _ := (&fakePlanner{}).Plan(context.Background(), "old prompt", m.planOptions())
	m.Update(planMsg{seq: oldCmd().(planMsg).seq, prompt: "old prompt", plan: pl})
	if got := m.Plan().Prompt; got != "new prompt" {
		t.Fatalf("stale plan shown: %q", got)
	}
}

func TestPlanErrorShowsInStatusAndClears(t *testing.T) {
	svc, p, _ := fullServices()
	p.err = fmt.Errorf("route: %w: router chose %q", plan.ErrUnknownModel, "x")
	m := New(svc, Options{Baseline: "gpt-4-turbo", Debounce: time.Millisecond})
	start(t, m, 80, 24)
	m.editor.SetValue("anything")
	msg := m.replanNow()()
	_, cmd := m.Update(msg)
	st := cmd().(common.StatusMsg)
	_, clear := m.Update(st)
	if !strings.Contains(plainView(m), "unknown model") {
		t.Fatal("status line lacks the plan error")
	}
	// The clear tick fires after StatusTTL; deliver its message directly.
	m.Update(clearStatusMsg{seq: m.statusSeq})
	if strings.Contains(plainView(m), "unknown model") {
		t.Fatal("status did not clear")
	}
	if clear == nil {
		t.Fatal("status message scheduled no auto-clear")
	}
}

func TestSendStreamsThenShowsActual(t *testing.T) {
	svc, _, s := fullServices()
	m := newTestModel(svc)
	start(t, m, 160, 48)
	typeText(t, m, "capital of France?", wait)
	drive(t, m, ctrl('s'), wait)
	v := plainView(m)
	for _, want := range []string{"Answer", "Paris", "actual", "$0.000032"} {
		if !strings.Contains(v, want) {
			t.Errorf("after send, view lacks %q:\n%s", want, v)
		}
	}
	if len(s.got) != 1 || s.got[0].Prompt != "capital of France?" {
		t.Fatalf("sender got %+v, want the current plan", s.got)
	}
	// esc closes the answer; the plan panes return.
	drive(t, m, tea.KeyPressMsg{Code: tea.KeyEscape}, wait)
	if v := plainView(m); !strings.Contains(v, "Compression") || strings.Contains(v, "Answer") {
		t.Fatal("esc did not return to the plan panes")
	}
}

// Sending before the debounced plan arrived plans the current text first:
// the sender never gets a plan for older text.
func TestSendBeforePlanPlansFirst(t *testing.T) {
	svc, _, s := fullServices()
	m := newTestModel(svc)
	start(t, m, 80, 24)
	typeText(t, m, "first", wait)
	for _, r := range " and more" {
		m.Update(keyRune(r)) // typed, debounce ticks not run
	}
	drive(t, m, ctrl('s'), wait)
	if len(s.got) != 1 || s.got[0].Prompt != "first and more" {
		t.Fatalf("sender got %d plans, first for %q", len(s.got), s.got[0].Prompt)
	}
}

func TestEscCancelsSendAndKeepsPrompt(t *testing.T) {
	svc, _, s := fullServices()
	s.block = true
	m := newTestModel(svc)
	start(t, m, 80, 24)
	typeText(t, m, "long question", wait)
	drive(t, m, ctrl('s'), 100*time.Millisecond) // the sender blocks
	if m.send == nil {
		t.Fatal("send not in flight")
	}
	id, events := m.send.id, m.send.events
	drive(t, m, tea.KeyPressMsg{Code: tea.KeyEscape}, time.Second)
	// The harness abandoned the stream's wait command when the sender
	// blocked; a program would still be waiting, so wait again here.
	drive(t, m, waitSend(id, events)(), time.Second)
	if m.send != nil {
		t.Fatal("send still in flight after esc")
	}
	if m.Prompt() != "long question" {
		t.Fatalf("prompt lost: %q", m.Prompt())
	}
	if !strings.Contains(plainView(m), "cancelled") {
		t.Fatal("no cancel notice")
	}
}

func TestFailedSendKeepsPrompt(t *testing.T) {
	svc, _, s := fullServices()
	s.err = errors.New("provider: 429 too many requests")
	m := newTestModel(svc)
	start(t, m, 80, 24)
	typeText(t, m, "question", wait)
	drive(t, m, ctrl('s'), wait)
	v := plainView(m)
	if !strings.Contains(v, "send failed") || m.Prompt() != "question" {
		t.Fatalf("failure not reported or prompt lost:\n%s", v)
	}
}

func TestMissingServicesDegrade(t *testing.T) {
	m := newTestModel(Services{Planner: &fakePlanner{}})
	start(t, m, 80, 24)
	typeText(t, m, "hi", wait)
	if strings.Contains(plainView(m), "ctrl+s send") {
		t.Error("help offers send without a Sender")
	}
	drive(t, m, ctrl('s'), wait)
	if !strings.Contains(plainView(m), "sending is not available yet") {
		t.Error("ctrl+s without a Sender says nothing")
	}
	drive(t, m, ctrl('o'), wait)
	if m.dialog != nil {
		t.Error("picker opened without a model list")
	}
	for _, k := range []rune{tea.KeyF3, tea.KeyF4, tea.KeyF5, tea.KeyF6} {
		drive(t, m, tea.KeyPressMsg{Code: k}, wait)
		if !strings.Contains(plainView(m), "not available yet") {
			t.Errorf("screen %v without its service does not say so", m.screen)
		}
	}
}

// Sending while the Cost pane (the fourth) has focus must not leave focus
// pointing past the two panes the answer layout shows.
func TestSendFromFocusedPane(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 80, 24)
	typeText(t, m, "hi", wait)
	for i := 0; i < 4; i++ {
		drive(t, m, tea.KeyPressMsg{Code: tea.KeyTab}, wait)
	}
	drive(t, m, ctrl('s'), wait)
	drive(t, m, keyRune('j'), wait) // must not panic
	if m.focus != 1 {
		t.Fatalf("focus %d after send, want the answer (1)", m.focus)
	}
}

func TestFocusCycles(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 160, 48)
	seen := []int{m.focus}
	for i := 0; i < 5; i++ {
		drive(t, m, tea.KeyPressMsg{Code: tea.KeyTab}, wait)
		seen = append(seen, m.focus)
	}
	if fmt.Sprint(seen) != "[0 1 2 3 4 0]" {
		t.Fatalf("tab order %v", seen)
	}
	drive(t, m, tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}, wait)
	if m.focus != 4 {
		t.Fatalf("shift+tab went to %d, want 4", m.focus)
	}
	// Focus is drawn: exactly one thick border corner on screen.
	if n := strings.Count(plainView(m), "┏"); n != 1 {
		t.Fatalf("%d focused frames, want 1", n)
	}
	// Typing while a pane has focus does not edit the prompt.
	drive(t, m, keyRune('x'), wait)
	if m.Prompt() != "" {
		t.Fatal("keys leaked to the editor while a pane had focus")
	}
}

func TestBaselinePicker(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 80, 24)
	typeText(t, m, "hi", wait)
	drive(t, m, ctrl('o'), wait)
	if m.dialog == nil {
		t.Fatal("ctrl+o did not open the picker")
	}
	typeText(t, m, "4o-m", wait)
	if m.Prompt() != "hi" {
		t.Fatal("picker keys reached the editor")
	}
	drive(t, m, tea.KeyPressMsg{Code: tea.KeyEnter}, wait)
	if m.dialog != nil || m.baseline != "gpt-4o-mini" {
		t.Fatalf("baseline %q, dialog open %v", m.baseline, m.dialog != nil)
	}
	if m.Plan() == nil || m.Plan().Cost.BaselineModel != "gpt-4o-mini" {
		t.Fatal("no re-plan with the new baseline")
	}
}

func TestRequestsPerDayAdjusts(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 160, 48)
	typeText(t, m, "hi there", wait)
	for i := 0; i < 4; i++ {
		drive(t, m, tea.KeyPressMsg{Code: tea.KeyTab}, wait)
	}
	drive(t, m, keyRune('+'), wait)
	if m.rpd != 200_000 || m.Plan().Cost.RequestsPerDay != 200_000 {
		t.Fatalf("rpd %d, plan at %d", m.rpd, m.Plan().Cost.RequestsPerDay)
	}
	if !strings.Contains(plainView(m), "200,000 req/day") {
		t.Fatal("cost pane does not show the new traffic level")
	}
}

func TestDemoOffer(t *testing.T) {
	svc, _, _ := fullServices()
	d := &fakeDemo{empty: true}
	svc.Demo = d
	m := newTestModel(svc)
	start(t, m, 80, 24)
	if !strings.Contains(plainView(m), "Empty database") {
		t.Fatal("first run does not explain itself")
	}
	typeText(t, m, "x", wait)
	if m.Prompt() != "x" {
		t.Fatal("the first-run notice blocks the editor")
	}
	drive(t, m, ctrl('l'), wait)
	if d.loaded.Load() != 1 || strings.Contains(plainView(m), "Empty database") {
		t.Fatal("demo data not loaded or notice still shown")
	}
	drive(t, m, ctrl('l'), wait)
	if d.loaded.Load() != 1 {
		t.Fatal("demo loaded twice")
	}
}

func TestDebugLogRecordsMessages(t *testing.T) {
	var buf bytes.Buffer
	m := noStatusClear(New(Services{Planner: &fakePlanner{}}, Options{Baseline: "gpt-4o", DebugLog: &buf, Debounce: time.Millisecond}))
	start(t, m, 80, 24)
	typeText(t, m, "a", wait)
	for _, want := range []string{"tea.WindowSizeMsg", "tea.KeyPressMsg", "tui.planMsg"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("debug log lacks %s", want)
		}
	}
}

// Every frame fills the terminal exactly: no line wider than the window,
// no line missing, at every size from 80×24 up.
func TestLayoutHoldsAtAllSizes(t *testing.T) {
	svc := allServices()
	for _, sz := range [][2]int{{80, 24}, {81, 25}, {100, 30}, {119, 40}, {120, 40}, {160, 48}, {230, 70}} {
		for _, answer := range []bool{false, true} {
			m := newTestModel(svc)
			start(t, m, sz[0], sz[1])
			typeText(t, m, samplePrompt, wait)
			if answer {
				drive(t, m, ctrl('s'), wait)
			}
			checkFrame(t, m, sz[0], sz[1])
			drive(t, m, tea.KeyPressMsg{Code: tea.KeyF1}, wait) // full help
			checkFrame(t, m, sz[0], sz[1])
			drive(t, m, ctrl('o'), wait) // picker dialog
			checkFrame(t, m, sz[0], sz[1])
			drive(t, m, tea.KeyPressMsg{Code: tea.KeyEscape}, wait)
			drive(t, m, tea.KeyPressMsg{Code: tea.KeyF1}, wait)
			for _, k := range []rune{tea.KeyF3, tea.KeyF4, tea.KeyF5, tea.KeyF6} {
				drive(t, m, tea.KeyPressMsg{Code: k}, 100*time.Millisecond)
				checkFrame(t, m, sz[0], sz[1])
			}
		}
	}
}

func checkFrame(t *testing.T, m *Model, w, h int) {
	t.Helper()
	lines := strings.Split(m.View().Content, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d %v: %d lines", w, h, m.screen, len(lines))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw != w {
			t.Errorf("%dx%d %v: line %d is %d wide: %q", w, h, m.screen, i, lw, ansi.Strip(l))
			return
		}
	}
}

// Golden renders at two sizes in both themes, as plain text (an ASCII,
// no-colour profile). Run with -update to rewrite them after a deliberate
// change, and read the diff.
func TestGoldenPlayground(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		for _, theme := range []string{"dark", "light"} {
			name := fmt.Sprintf("playground_%dx%d_%s", sz[0], sz[1], theme)
			t.Run(name, func(t *testing.T) {
				svc, _, _ := fullServices()
				m := newTestModel(svc)
				start(t, m, sz[0], sz[1])
				drive(t, m, tea.BackgroundColorMsg{Color: themeColor(theme)}, wait)
				typeText(t, m, samplePrompt, wait)
				m.planTook = 1500 * time.Microsecond // the measured latency varies
				golden(t, name, plainView(m))
			})
		}
	}
}

// The colourless render marks removed text in brackets, since strikethrough
// alone is easy to miss without colour.
func TestGoldenNoColor(t *testing.T) {
	svc, _, _ := fullServices()
	m := noStatusClear(New(svc, Options{Baseline: "gpt-4-turbo", CompletionTokens: 500, RequestsPerDay: 100_000, NoColor: true, Debounce: time.Millisecond}))
	start(t, m, 120, 30)
	typeText(t, m, samplePrompt, wait)
	m.planTook = 1500 * time.Microsecond
	got := plainView(m)
	if !strings.Contains(got, "[-please-]") {
		t.Error("removed words not bracketed without colour")
	}
	golden(t, "playground_120x30_nocolor", got)
}

func themeColor(theme string) lipgloss.RGBColor {
	if theme == "light" {
		return lipgloss.RGBColor{R: 255, G: 255, B: 255}
	}
	return lipgloss.RGBColor{R: 0, G: 0, B: 0}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// The themes really differ in colour, and NoColor emits no colour at all.
func TestThemesAndNoColor(t *testing.T) {
	render := func(opts Options, bg lipgloss.RGBColor) string {
		svc, _, _ := fullServices()
		m := noStatusClear(New(svc, opts))
		start(t, m, 80, 24)
		drive(t, m, tea.BackgroundColorMsg{Color: bg}, wait)
		typeText(t, m, "hello", wait)
		m.planTook = time.Millisecond // measured latency varies between renders
		return m.View().Content
	}
	o := Options{Baseline: "gpt-4o", Debounce: time.Millisecond}
	dark, light := render(o, themeColor("dark")), render(o, themeColor("light"))
	if dark == light {
		t.Error("dark and light renders are identical")
	}
	if ansi.Strip(dark) != ansi.Strip(light) {
		t.Error("themes change the text, not just colours")
	}
	o.NoColor = true
	nc := render(o, themeColor("dark"))
	if strings.Contains(nc, "\x1b[38") || strings.Contains(nc, "\x1b[48") || strings.Contains(nc, ";38;") || strings.Contains(nc, ";48;") {
		t.Errorf("NoColor render contains colour sequences: %q", firstColour(nc))
	}
}

func firstColour(s string) string {
	i := strings.Index(s, "38;")
	if i < 0 {
		i = strings.Index(s, "48;")
	}
	return s[max(0, i-10):min(len(s), i+20)]
}

// Untrusted text in a plan (a neighbour's prompt) reaches the screen without
// its escape sequences.
func TestUntrustedTextIsSanitized(t *testing.T) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(t, m, 160, 48)
	typeText(t, m, "capital?", wait)
	v := m.View().Content
	if strings.Contains(v, "\x1b[31mSpain") {
		t.Fatal("a neighbour's escape sequence reached the screen")
	}
	if !strings.Contains(ansi.Strip(v), "capital of Spain?") {
		t.Fatal("the neighbour's text is missing")
	}
}

// benchPrompt is about 2,000 tokens of prose in paragraphs, the size the
// plan latency target is stated for.
func benchPrompt() string {
	para := strings.Repeat("Please summarise the quarterly report and list every risk it names. ", 6)
	return strings.Repeat(para+"\n\n", 18)
}

// BenchmarkKeystroke is one keystroke's Update plus the View the program
// renders after it, at 160×48 with a ~2,000-token prompt and a plan shown.
func BenchmarkKeystroke(b *testing.B) {
	benchKeystroke(b, benchPrompt())
}

// BenchmarkKeystrokeOneLine is the worst case for the editor: the same
// prompt pasted as one 8 KB line, which the textarea re-wraps per key.
func BenchmarkKeystrokeOneLine(b *testing.B) {
	benchKeystroke(b, strings.ReplaceAll(benchPrompt(), "\n", " "))
}

func benchKeystroke(b *testing.B, prompt string) {
	svc, _, _ := fullServices()
	m := newTestModel(svc)
	start(b, m, 160, 48)
	m.editor.SetValue(prompt)
	for _, msg := range runCmd(m.replanNow(), time.Second) {
		m.Update(msg)
	}
	if m.Plan() == nil {
		b.Fatal("no plan")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Update(keyRune(rune('a' + i%26)))
		_ = m.View()
	}
}

// BenchmarkHistoryFilterKeystroke types into the history filter over
// 10,000 rows: the filter runs on loaded rows, in Update, per key.
func BenchmarkHistoryFilterKeystroke(b *testing.B) {
	svc := allServices()
	svc.History = newFakeHistory(10_000)
	svc.Cache = newFakeCache(100_000)
	m := newTestModel(svc)
	start(b, m, 160, 48)
	drive(b, m, tea.KeyPressMsg{Code: tea.KeyF3}, time.Second)
	drive(b, m, keyRune('/'), time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			m.Update(keyRune('9'))
		} else {
			m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
		}
		_ = m.View()
	}
}

// BenchmarkFirstFrame is New plus the first View at 160×48: what the user
// waits for before the screen appears (Init's commands run after it).
func BenchmarkFirstFrame(b *testing.B) {
	svc := allServices()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m := New(svc, Options{Baseline: "gpt-4o", Prompt: benchPrompt()})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		_ = m.View()
	}
}
