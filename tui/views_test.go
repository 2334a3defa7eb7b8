package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/pennyllm/penny/core/history"
)

func press(code rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: code} }

func TestHistoryFilterLabelReload(t *testing.T) {
	svc := allServices()
	h := svc.History.(*fakeHistory)
	m := newTestModel(svc)
	start(t, m, 120, 40)
	drive(t, m, press(tea.KeyF3), wait)
	v := plainView(m)
	if !strings.Contains(v, "History · 40 items") || strings.Contains(m.View().Content, "\x1b[2J") {
		t.Fatalf("history not listed or not sanitized:\n%s", v)
	}
	typeText(t, m, "/question 17", wait)
	drive(t, m, press(tea.KeyEnter), wait)
	if !strings.Contains(plainView(m), "History · 1 items") {
		t.Fatalf("filter did not narrow the list:\n%s", plainView(m))
	}
	drive(t, m, keyRune('c'), wait)
	if h.labels[18] != history.WeakOK {
		t.Fatalf("label not saved: %v", h.labels)
	}
	if !strings.Contains(plainView(m), "cheap ") {
		t.Fatal("label not shown")
	}
	drive(t, m, press(tea.KeyEnter), wait)
	if m.screen != ScreenPlayground || !strings.HasPrefix(m.Prompt(), "question 17 about invoices") {
		t.Fatalf("enter did not reload the prompt: screen %v, prompt %q", m.screen, m.Prompt())
	}
}

func TestRulesInvalidPatternKeepsLastGood(t *testing.T) {
	svc := allServices()
	r := svc.Rules.(*fakeRules)
	m := newTestModel(svc)
	start(t, m, 120, 40)
	typeText(t, m, "hello there", wait)
	drive(t, m, press(tea.KeyF4), wait)
	if !strings.Contains(plainView(m), "0.700→0.720") {
		t.Fatalf("no preview:\n%s", plainView(m))
	}
	// Edit the first rule's pattern to an invalid regex.
	drive(t, m, keyRune('l'), wait)
	drive(t, m, press(tea.KeyEnter), wait)
	typeText(t, m, "(", wait)
	drive(t, m, press(tea.KeyEnter), wait)
	v := plainView(m)
	if !strings.Contains(v, "missing closing )") || !strings.Contains(v, "last good rules in force") {
		t.Fatalf("invalid rule not shown inline:\n%s", v)
	}
	drive(t, m, keyRune('w'), wait)
	if len(r.saved) != 0 {
		t.Fatal("saved an invalid rule set")
	}
	// Back to the last good rules, add one, save.
	drive(t, m, keyRune('u'), wait)
	drive(t, m, keyRune('a'), wait)
	if !strings.Contains(plainView(m), "1 history items would change route") {
		t.Fatalf("changed items not listed:\n%s", plainView(m))
	}
	drive(t, m, keyRune('w'), wait)
	if len(r.saved) != 1 || len(r.saved[0]) != 3 {
		t.Fatalf("saved %v", r.saved)
	}
}

func TestRulesReadOnlyInDemo(t *testing.T) {
	svc := allServices()
	r := svc.Rules.(*fakeRules)
	m := noStatusClear(New(svc, Options{Baseline: "gpt-4o", DemoSession: true, Debounce: time.Millisecond}))
	start(t, m, 120, 40)
	drive(t, m, press(tea.KeyF4), wait)
	drive(t, m, keyRune('a'), wait)
	drive(t, m, keyRune('w'), wait)
	if len(r.saved) != 0 || !strings.Contains(plainView(m), "not saved") {
		t.Fatal("a demo session saved rules")
	}
}

func TestCacheBrowserEvictPinSlider(t *testing.T) {
	svc := allServices()
	c := svc.Cache.(*fakeCache)
	m := newTestModel(svc)
	start(t, m, 160, 48)
	typeText(t, m, "what is cached", wait)
	drive(t, m, press(tea.KeyF5), wait)
	v := m.View().Content
	if strings.Contains(v, "\x1b]52") || !strings.Contains(ansi.Strip(v), "answer 1 with OSC") {
		t.Fatal("a cached response's OSC 52 reached the screen")
	}
	if !strings.Contains(plainView(m), "Cache · 30 entries by hits") {
		t.Fatalf("entries not listed:\n%s", plainView(m))
	}
	drive(t, m, keyRune('j'), wait)
	drive(t, m, keyRune('d'), wait)
	if fmt.Sprint(c.evicted) != "[2]" || !strings.Contains(plainView(m), "29 entries") {
		t.Fatalf("evict: %v\n%s", c.evicted, plainView(m))
	}
	drive(t, m, keyRune('p'), wait)
	if !c.entries[1].Pinned {
		t.Fatal("pin not applied")
	}
	// At the configured 0.90 nothing hits; at 0.86 the first neighbour
	// does, and the guarded one never does.
	if !strings.Contains(plainView(m), "current prompt: miss at 0.90") {
		t.Fatalf("slider does not start at the configured threshold:\n%s", plainView(m))
	}
	for i := 0; i < 4; i++ {
		drive(t, m, keyRune('['), wait)
	}
	v = plainView(m)
	if !strings.Contains(v, "1 would hit at 0.86") || !strings.Contains(v, "precision 0.85 recall") {
		t.Fatalf("slider at 0.86:\n%s", v)
	}
	for i := 0; i < 30; i++ {
		drive(t, m, keyRune('['), wait)
	}
	if !strings.Contains(plainView(m), "2 would hit at 0.56") {
		t.Fatalf("a guarded neighbour must never hit:\n%s", plainView(m))
	}
}

func TestSavingsDashboard(t *testing.T) {
	m := newTestModel(allServices())
	start(t, m, 120, 40)
	drive(t, m, press(tea.KeyF6), wait)
	v := plainView(m)
	for _, want := range []string{"spent $4.20", "baseline $42.00", "90.0%", "routing", "gpt-4o-mini", "per month at 100,000 req/day: $10,500.00", "7.5%"} {
		if !strings.Contains(v, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	drive(t, m, keyRune('+'), wait)
	if !strings.Contains(plainView(m), "200,000 req/day: $21,000.00") {
		t.Errorf("projection did not follow requests/day:\n%s", plainView(m))
	}
}

func TestGoldenViews(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		for i, k := range []rune{tea.KeyF3, tea.KeyF4, tea.KeyF5, tea.KeyF6} {
			name := fmt.Sprintf("%s_%dx%d", strings.ToLower(Screen(i+1).String()), sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				m := newTestModel(allServices())
				start(t, m, sz[0], sz[1])
				typeText(t, m, "hello invoices", wait)
				drive(t, m, press(k), wait)
				golden(t, name, ageless(plainView(m)))
			})
		}
	}
}

// ageless hides the cache entries' relative ages, which depend on the clock.
func ageless(s string) string { return strings.ReplaceAll(s, " 3h ", " ?h ") }

// TestHistoryTierLabel: b labels the middle configured tier — the lower
// middle one for an even count — and names it in the help footer; with
// fewer than three tiers there is no middle one and b is not offered. The
// fake refuses tier labels naming no configured tier, as main does.
func TestHistoryTierLabel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tiers []string // nil = the default cheap, balanced, strong
		want  string   // "" = b is not offered
	}{
		{"default", nil, "balanced"},
		{"renamed four", []string{"small", "medium", "large", "xl"}, "medium"},
		{"renamed five", []string{"t1", "t2", "t3", "t4", "t5"}, "t3"},
		{"two", []string{"lite", "max"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := allServices()
			h := svc.History.(*fakeHistory)
			h.tiers = tc.tiers
			m := newTestModel(svc)
			start(t, m, 120, 40)
			drive(t, m, press(tea.KeyF3), wait)
			typeText(t, m, "/question 17", wait)
			drive(t, m, press(tea.KeyEnter), wait)
			v := plainView(m)
			if tc.want == "" {
				if !strings.Contains(v, "s needed strong") || strings.Contains(v, "b ") {
					t.Fatalf("the help footer offers b without a middle tier:\n%s", v)
				}
				drive(t, m, keyRune('b'), wait)
				if l := h.labels[18]; l != history.Unlabelled {
					t.Fatalf("b without a middle tier labelled %q", l)
				}
				return
			}
			if !strings.Contains(v, "b "+tc.want) {
				t.Fatalf("the help footer does not offer the %s-tier label:\n%s", tc.want, v)
			}
			drive(t, m, keyRune('b'), wait)
			if tier, ok := h.labels[18].Tier(); !ok || tier != tc.want {
				t.Fatalf("label saved as %q, want tier:%s\n%s", h.labels[18], tc.want, plainView(m))
			}
			if v := plainView(m); !strings.Contains(v, fmt.Sprintf("%-8s question 17", tc.want)) {
				t.Fatalf("tier label not shown in its column:\n%s", v)
			}
			// The outcome keys still replace it, and x clears it.
			drive(t, m, keyRune('s'), wait)
			if h.labels[18] != history.StrongNeeded {
				t.Fatalf("s after b: label %q", h.labels[18])
			}
			drive(t, m, keyRune('x'), wait)
			if h.labels[18] != history.Unlabelled {
				t.Fatalf("x: label %q", h.labels[18])
			}
		})
	}
}
