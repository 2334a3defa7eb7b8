package tui

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// syncBuffer is an io.Writer safe to read while the program writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgramEndToEnd runs the model in a real Bubble Tea program with an
// ASCII colour profile, the way main runs it: type, see the plan, send,
// resize, quit with ctrl+c and a nil error.
func TestProgramEndToEnd(t *testing.T) {
	svc, _, _ := fullServices()
	m := New(svc, Options{Baseline: "gpt-4-turbo", CompletionTokens: 500, RequestsPerDay: 1000})
	in, inW := io.Pipe()
	defer inW.Close()
	out := &syncBuffer{}
	// The filter runs on the program's goroutine: it reports the messages
	// the test waits for without reading the model concurrently.
	planned, answered := make(chan struct{}, 100), make(chan struct{}, 1)
	filter := func(_ tea.Model, msg tea.Msg) tea.Msg {
		switch msg := msg.(type) {
		case planMsg:
			if msg.prompt == "capital of France?" {
				planned <- struct{}{}
			}
		case sendMsg:
			if msg.done {
				answered <- struct{}{}
			}
		}
		return msg
	}
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithWindowSize(80, 24),
		tea.WithoutSignals(), tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(filter))
	type result struct {
		m   tea.Model
		err error
	}
	done := make(chan result, 1)
	go func() {
		fm, err := p.Run()
		done <- result{fm, err}
	}()
	for _, r := range "capital of France?" {
		p.Send(keyRune(r))
	}
	waitChan(t, planned)
	p.Send(ctrl('s'))
	waitChan(t, answered)
	// Frames are flushed on the renderer's tick: wait for the answer to be
	// drawn before resizing and quitting.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Paris") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	p.Send(ctrl('c'))
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("program ended with %v, want nil (exit status 0)", r.err)
		}
		fm := r.m.(*Model)
		if fm.Plan() == nil || fm.cost.Actual() == nil || fm.c.Width != 120 {
			t.Fatal("final model lacks the plan, the actual cost or the resize")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("program did not quit on ctrl+c")
	}
	if s := out.String(); !strings.Contains(s, "Compression") || !strings.Contains(s, "Paris") {
		t.Errorf("program output lacks the panes or the answer (%d bytes)", len(s))
	}
	if strings.Contains(out.String(), "\x1b[38;2") {
		t.Error("ASCII profile output contains true colour")
	}
}

func waitChan(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the program")
	}
}
