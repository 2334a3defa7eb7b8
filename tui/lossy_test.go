package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/compress"
	"github.com/pennyllm/penny/core/plan"
	"github.com/pennyllm/penny/core/send"
)

// lossyPlanner records the lossy choice of every plan and answers like a
// compressor would: lossless keeps the text; lossy drops "please" and
// projects a summary of the first sentence.
type lossyPlanner struct {
	fakePlanner
	mu   sync.Mutex
	seen []*bool
}

func (f *lossyPlanner) Plan(ctx context.Context, prompt string, o plan.Options) (plan.Plan, error) {
	f.mu.Lock()
	f.seen = append(f.seen, o.Lossy)
	f.mu.Unlock()
	pl, err := f.fakePlanner.Plan(ctx, prompt, o)
	if err != nil {
		return pl, err
	}
	c := &pl.Compression
	if o.Lossy == nil || !*o.Lossy {
		c.Text, c.Tokens = prompt, c.TokensBefore
		c.Passes = []compress.PassResult{{Name: "whitespace", Skipped: true}}
		return pl, nil
	}
	c.Lossy = true
	if end := strings.Index(c.Text, ".") + 1; end > 0 {
		c.Summary = &compress.PendingSummary{Start: 0, End: end, Region: c.Text[:end], RegionTokens: 120, EstimatedTokens: 30,
			Keep: []string{"42"}, Model: "gpt-4o-mini", CostNanos: 2500}
		c.Passes = append(c.Passes, compress.PassResult{Name: "summarize", Lossy: true, Pending: true, ProjectedSaved: 90, CostNanos: 2500})
	}
	return pl, nil
}

func (f *lossyPlanner) last() *bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func TestLossyToggleReplansAndShows(t *testing.T) {
	p := &lossyPlanner{}
	m := noStatusClear(New(Services{Planner: p}, Options{Baseline: "gpt-4o", NoColor: true, Debounce: time.Millisecond}))
	start(t, m, 240, 50)
	typeText(t, m, "The migration moved 42 services to eu-west-1 over several weeks.\nPlease answer.", wait)
	if p.last() != nil || m.Lossy() {
		t.Fatalf("before the toggle the config decides: lossy %v", p.last())
	}
	v := plainView(m)
	if strings.Contains(v, "lossy on") && !strings.Contains(v, "ctrl+y lossy on") {
		t.Fatalf("lossless plan shown as lossy:\n%s", v)
	}
	if !strings.Contains(v, "ctrl+y lossy on") {
		t.Fatalf("footer lacks the toggle:\n%s", v)
	}

	// ctrl+y: lossy on, re-planned at once with the choice in the options.
	drive(t, m, tea.KeyPressMsg{Code: 'y', Mod: tea.ModCtrl}, wait)
	if l := p.last(); l == nil || !*l || !m.Lossy() {
		t.Fatalf("after ctrl+y the plan was asked with lossy %v", l)
	}
	if m.Plan() == nil || m.Plan().Compression.Summary == nil {
		t.Fatal("the lossy plan is not the one shown")
	}
	v = plainView(m)
	for _, want := range []string{"Compression · lossy on", "lossy passes on for this prompt", "ctrl+y lossy off",
		"summary at send by gpt-4o-mini: the marked 120-token run", "costing $0.000003; kept verbatim: 42", "≈−90 at send", "[~The migration moved 42"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// The choice travels with a send that must re-plan.
	if o := m.planOptions(); o.Lossy == nil || !*o.Lossy {
		t.Fatalf("plan options %+v", o)
	}

	// f7 switches back: lossless, said in the status line and the pane.
	drive(t, m, tea.KeyPressMsg{Code: tea.KeyF7}, wait)
	if l := p.last(); l == nil || *l || m.Lossy() {
		t.Fatalf("after f7 the plan was asked with lossy %v", l)
	}
	v = plainView(m)
	if strings.Contains(v, "Compression · lossy on") || !strings.Contains(v, "lossless compression only") {
		t.Fatalf("lossy off not shown:\n%s", v)
	}

	// Not on other screens: the key is disabled there and typed text is
	// not affected.
	drive(t, m, tea.KeyPressMsg{Code: tea.KeyF3}, wait)
	if m.c.Keys.Lossy.Enabled() {
		t.Fatal("lossy toggle enabled outside the playground")
	}
}

// summarySender answers like a sender that made the planned summary.
type summarySender struct {
	mu  sync.Mutex
	got []plan.Plan
}

func (s *summarySender) Send(_ context.Context, pl plan.Plan, _ send.Options, onDelta func(string)) (send.Outcome, error) {
	s.mu.Lock()
	s.got = append(s.got, pl)
	s.mu.Unlock()
	onDelta("eu-west-1")
	return send.Outcome{
		Response: send.Response{Text: "eu-west-1", Model: "gpt-4o-mini", Provider: "sim"},
		Cost:     send.Cost{ActualNanos: 5_000, ProjectedNanos: 6_000, BaselineNanos: 90_000},
		Route:    send.RouteInfo{Model: pl.Route.Model},
		Summary:  &send.SummaryInfo{Model: "gpt-4o-mini", Applied: true, TokensSaved: 88, ActualNanos: 2_000},
	}, nil
}

func TestLossySendUsesTheShownPlan(t *testing.T) {
	p, s := &lossyPlanner{}, &summarySender{}
	m := noStatusClear(New(Services{Planner: p, Sender: s}, Options{Baseline: "gpt-4o", NoColor: true, Debounce: time.Millisecond}))
	start(t, m, 240, 50)
	typeText(t, m, "The migration moved 42 services. Which region?", wait)
	drive(t, m, tea.KeyPressMsg{Code: 'y', Mod: tea.ModCtrl}, wait)
	drive(t, m, ctrl('s'), wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) != 1 || s.got[0].Compression.Summary == nil || !s.got[0].Compression.Lossy {
		t.Fatalf("sent plans %+v", s.got)
	}
	if v := plainView(m); !strings.Contains(v, "summary by gpt-4o-mini −88 tokens for $0.000002") {
		t.Fatalf("status lacks the summary:\n%s", v)
	}
}
