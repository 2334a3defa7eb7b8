package pricing

import (
	"regexp"
	"strings"
	"testing"
)

func embedded(t testing.TB) *Catalog {
	t.Helper()
	c, err := Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	return c
}

// usd converts a dollars-per-1M literal written in the test for readability.
func usd(t testing.TB, d float64) PerMillion {
	t.Helper()
	p, err := FromDollarsPerMillion(d)
	if err != nil {
		t.Fatalf("FromDollarsPerMillion(%v): %v", d, err)
	}
	return p
}

// The seven models of the cost-optimization article, under the article's
// names and at the article's prices: the scenario test in core/cost builds
// on exactly these numbers.
func TestArticleModels(t *testing.T) {
	c := embedded(t)
	for _, tc := range []struct {
		id      string
		in, out PerMillion
	}{
		{"gpt-4-turbo", 10_000_000, 30_000_000},
		{"gpt-3.5-turbo", 500_000, 1_500_000},
		{"claude-3-opus", 15_000_000, 75_000_000},
		{"claude-3-sonnet", 3_000_000, 15_000_000},
		{"claude-3-haiku", 250_000, 1_250_000},
		{"gemini-1.5-pro", 3_500_000, 10_500_000},
		{"llama-3-70b", 700_000, 900_000},
	} {
		m, ok := c.Lookup(tc.id)
		if !ok {
			t.Errorf("%s: not in catalog", tc.id)
			continue
		}
		if m.ID != tc.id || m.Input != tc.in || m.Output != tc.out {
			t.Errorf("%s: got id %s %d/%d, want %d/%d", tc.id, m.ID, m.Input, m.Output, tc.in, tc.out)
		}
	}
}

func TestCurrentModels(t *testing.T) {
	c := embedded(t)
	for _, tc := range []struct {
		id                  string
		in, cached, out, cw float64 // dollars per 1M; cw 0 = not checked
		provider            string
	}{
		{"gpt-4o", 2.50, 1.25, 10, 0, "openai"},
		{"gpt-4o-mini", 0.15, 0.075, 0.60, 0, "openai"},
		{"gpt-4.1", 2, 0.50, 8, 0, "openai"},
		{"gpt-4.1-mini", 0.40, 0.10, 1.60, 0, "openai"},
		{"gpt-4.1-nano", 0.10, 0.025, 0.40, 0, "openai"},
		{"o3", 2, 0.50, 8, 0, "openai"},
		{"o4-mini", 1.10, 0.275, 4.40, 0, "openai"},
		{"claude-sonnet-4", 3, 0.30, 15, 3.75, "anthropic"},
		{"claude-sonnet-4-5", 3, 0.30, 15, 3.75, "anthropic"},
		{"claude-3-5-haiku", 0.80, 0.08, 4, 1.00, "anthropic"},
		{"claude-opus-4-5", 5, 0.50, 25, 6.25, "anthropic"},
		{"gemini-2.5-pro", 1.25, 0.125, 10, 0, "google"},
		{"gemini-2.5-flash", 0.30, 0.03, 2.50, 0, "google"},
		{"gemini-2.0-flash", 0.10, 0.025, 0.40, 0, "google"},
		{"llama-3.3-70b-versatile", 0.59, 0, 0.79, 0, "groq"},
	} {
		m, ok := c.Lookup(tc.id)
		if !ok {
			t.Errorf("%s: not in catalog", tc.id)
			continue
		}
		if m.Input != usd(t, tc.in) || m.CachedInput != usd(t, tc.cached) || m.Output != usd(t, tc.out) {
			t.Errorf("%s: got %v/%v/%v, want $%v/$%v/$%v", tc.id, m.Input, m.CachedInput, m.Output, tc.in, tc.cached, tc.out)
		}
		if tc.cw != 0 && m.CacheWrite != usd(t, tc.cw) {
			t.Errorf("%s: cache write %v, want $%v", tc.id, m.CacheWrite, tc.cw)
		}
		if m.Provider != tc.provider {
			t.Errorf("%s: provider %q, want %q", tc.id, m.Provider, tc.provider)
		}
	}
	if m, _ := c.Lookup("gemini-2.5-pro"); !strings.Contains(m.Note, "200K") {
		t.Errorf("gemini-2.5-pro note %q does not state the ≤200K tier", m.Note)
	}
}

func TestAliasesResolve(t *testing.T) {
	c := embedded(t)
	for alias, id := range map[string]string{
		"claude-3-haiku-20240307":      "claude-3-haiku",
		"CLAUDE-3-HAIKU-20240307":      "claude-3-haiku",
		"gpt-4o-2024-08-06":            "gpt-4o",
		"openai/gpt-4o":                "gpt-4o",
		"gpt-4-turbo-2024-04-09":       "gpt-4-turbo",
		"claude-sonnet-4-5-20250929":   "claude-sonnet-4-5",
		"claude-3-5-haiku-20241022":    "claude-3-5-haiku",
		"groq/llama-3.3-70b-versatile": "llama-3.3-70b-versatile",
		"gemini/gemini-2.5-pro":        "gemini-2.5-pro",
		" o4-mini-2025-04-16 ":         "o4-mini",
	} {
		m, ok := c.Lookup(alias)
		if !ok || m.ID != id {
			t.Errorf("Lookup(%q) = %q, %v; want %q", alias, m.ID, ok, id)
		}
	}
	if _, ok := c.Lookup("no-such-model"); ok {
		t.Error("Lookup(no-such-model) succeeded")
	}
}

var dateRE = regexp.MustCompile(`^20\d\d-[01]\d-[0-3]\d$`)

// Every entry must be usable for a projection: the invariants below are
// what core/cost and the router rely on.
func TestCatalogInvariants(t *testing.T) {
	c := embedded(t)
	if !dateRE.MatchString(c.Date()) {
		t.Errorf("catalog date %q", c.Date())
	}
	if n := len(c.Models()); n < 40 {
		t.Errorf("catalog has %d models, want at least 40", n)
	}
	for _, m := range c.Models() {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", m.ID, err)
		}
		if m.Provider == "" || m.Source != "embedded" || !dateRE.MatchString(m.Checked) {
			t.Errorf("%s: provider %q source %q checked %q", m.ID, m.Provider, m.Source, m.Checked)
		}
		if m.Input <= 0 || (m.Output <= 0 && m.Mode != "embedding") {
			t.Errorf("%s: prices %v/%v", m.ID, m.Input, m.Output)
		}
		if m.ContextWindow <= 0 || m.MaxOutput > m.ContextWindow || m.MaxInput > m.ContextWindow {
			t.Errorf("%s: limits context %d input %d output %d", m.ID, m.ContextWindow, m.MaxInput, m.MaxOutput)
		}
		if m.CachedInput > m.Input {
			t.Errorf("%s: cached input %v dearer than input %v", m.ID, m.CachedInput, m.Input)
		}
		// OpenAI's and Anthropic's batch APIs cost half of the list price.
		if m.Provider == "openai" || m.Provider == "anthropic" {
			if m.BatchInput*2 != m.Input || m.BatchOutput*2 != m.Output {
				t.Errorf("%s: batch %v/%v is not half of %v/%v", m.ID, m.BatchInput, m.BatchOutput, m.Input, m.Output)
			}
		}
		// Anthropic's 5-minute cache write is 1.25× input, except Claude 3
		// Haiku's, which Anthropic lists at $0.30 (1.2×).
		if m.Provider == "anthropic" && m.ID != "claude-3-haiku" && m.CacheWrite != 0 && m.CacheWrite*4 != m.Input*5 {
			t.Errorf("%s: cache write %v is not 1.25× input %v", m.ID, m.CacheWrite, m.Input)
		}
	}
}

func TestChatModels(t *testing.T) {
	c := embedded(t)
	chat := c.ChatModels()
	if len(chat) != len(c.Models())-3 {
		t.Errorf("%d chat models of %d; want all but the 3 embedding models", len(chat), len(c.Models()))
	}
	for _, m := range chat {
		if strings.HasPrefix(m.ID, "text-embedding") {
			t.Errorf("%s listed as a chat model", m.ID)
		}
	}
}

func TestPerMillionString(t *testing.T) {
	for p, want := range map[PerMillion]string{
		0: "$0.00", 2_500_000: "$2.50", 75_000: "$0.075", 1: "$0.000001",
		10_000_000: "$10.00", 123_456_789: "$123.456789", -1_500_000: "-$1.50",
	} {
		if got := p.String(); got != want {
			t.Errorf("PerMillion(%d).String() = %q, want %q", int64(p), got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := embedded(t).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != len(embedded(t).Models())+1 {
		t.Fatalf("%d lines for %d models", len(lines), len(embedded(t).Models()))
	}
	if !strings.HasPrefix(lines[0], "MODEL ") || !strings.Contains(lines[0], "$CACHED/1M") {
		t.Errorf("header %q", lines[0])
	}
	var row string
	for _, l := range lines {
		if strings.HasPrefix(l, "gpt-4o ") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) != 7 || f[2] != "$2.50" || f[3] != "$1.25" || f[4] != "$10.00" || f[5] != "128K" {
		t.Errorf("gpt-4o row %q", row)
	}
	for _, l := range lines[1:] {
		// Columns are padded to equal width and the last is a fixed-width
		// date, so every data line has the same length.
		if len(l) != len(lines[1]) {
			t.Errorf("ragged line %q (%d vs %d)", l, len(l), len(lines[1]))
			break
		}
	}
}
