package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// drive feeds msg to the model and then runs the resulting commands the
// way the program would, feeding their messages back, until nothing is
// left. Commands that do not answer within wait (status auto-clear ticks,
// a stream waiting on a blocked sender) are abandoned, as a test cannot
// wait for them.
func drive(t testing.TB, m *Model, msg tea.Msg, wait time.Duration) {
	t.Helper()
	queue := []tea.Msg{msg}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			t.Fatal("drive: message loop did not settle")
		}
		next := queue[0]
		queue = queue[1:]
		if b, ok := next.(tea.BatchMsg); ok {
			for _, c := range b {
				queue = append(queue, runCmd(c, wait)...)
			}
			continue
		}
		_, cmd := m.Update(next)
		queue = append(queue, runCmd(cmd, wait)...)
	}
}

// runCmd runs cmd with a deadline and returns its message, if any.
func runCmd(cmd tea.Cmd, wait time.Duration) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		if msg == nil {
			return nil
		}
		if _, quit := msg.(tea.QuitMsg); quit {
			return nil
		}
		return []tea.Msg{msg}
	case <-time.After(wait):
		return nil
	}
}

// wait is how long the harness gives a command to answer. Commands that
// never answer in tests (status auto-clear) are stubbed out by testModel,
// so this can be generous for a loaded machine; tests that start a send
// which blocks pass a short wait explicitly.
const wait = 3 * time.Second

// noStatusClear stubs the status auto-clear so the harness never waits for
// it; TestPlanErrorShowsInStatusAndClears checks the real one.
func noStatusClear(m *Model) *Model {
	m.statusTick = func(int) tea.Cmd { return nil }
	return m
}

// start runs Init's commands and sizes the model like a program would.
func start(t testing.TB, m *Model, w, h int) {
	t.Helper()
	for _, msg := range runCmd(m.Init(), time.Second) {
		drive(t, m, msg, wait)
	}
	drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, wait)
}

func typeText(t testing.TB, m *Model, s string, wait time.Duration) {
	t.Helper()
	for _, r := range s {
		drive(t, m, keyRune(r), wait)
	}
}

func keyRune(r rune) tea.KeyPressMsg {
	if r == '\n' {
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	}
	return tea.KeyPressMsg{Code: r, Text: string(r)}
}

func ctrl(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Mod: tea.ModCtrl} }

// screen renders the model as plain text, colours and attributes removed.
func plainView(m *Model) string { return ansi.Strip(m.View().Content) }
