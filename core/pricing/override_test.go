package pricing

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const overridesTOML = `
[[prices]]
id = "gpt-4o"            # a negotiated discount on input only
input = 2                # integers are accepted as dollars too
cached_input = 0.075

[[prices]]
id = "my-finetune"
provider = "openai"
input = 3.75
output = 15
context_window = 128000
`

func decodeOverrides(t *testing.T, src string) []Override {
	t.Helper()
	var cfg struct {
		Prices []Override `toml:"prices"`
	}
	if _, err := toml.Decode(src, &cfg); err != nil {
		t.Fatalf("toml: %v", err)
	}
	return cfg.Prices
}

func TestOverridesFromTOML(t *testing.T) {
	os := decodeOverrides(t, overridesTOML)
	if len(os) != 2 {
		t.Fatalf("%d overrides", len(os))
	}
	c, err := embedded(t).WithOverrides(os, "2026-11-27")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.Lookup("gpt-4o-2024-08-06") // aliases survive an override
	if m.ID != "gpt-4o" || m.Input != 2_000_000 || m.CachedInput != 75_000 || m.Output != 10_000_000 ||
		m.Source != "config" || m.ContextWindow != 128_000 {
		t.Errorf("gpt-4o after override: %+v", m)
	}
	n, ok := c.Lookup("my-finetune")
	if !ok || n.Input != 3_750_000 || n.Output != 15_000_000 || n.Provider != "openai" || n.ContextWindow != 128_000 {
		t.Errorf("my-finetune: %+v %v", n, ok)
	}
	// The base catalog is unchanged.
	if b, _ := embedded(t).Lookup("gpt-4o"); b.Input != 2_500_000 {
		t.Errorf("embedded gpt-4o changed: %v", b.Input)
	}
}

func TestOverrideValidateNamesFields(t *testing.T) {
	neg, tiny, huge, zero := -1.0, 0.0000005, 30000.0, 0
	o := Override{ID: "x", Input: &neg, Output: &huge, CachedInput: &tiny, MaxOutput: &zero}
	err := o.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a FieldError", e)
		}
		fields = append(fields, fe.Field)
	}
	if got := strings.Join(fields, ","); got != "input,output,cached_input,max_output" {
		t.Errorf("fields %s; error: %v", got, err)
	}
	if err := (Override{}).Validate(); err == nil || !strings.Contains(err.Error(), "id: is required") {
		t.Errorf("empty id: %v", err)
	}
	if err := (Override{ID: "new"}).ValidateNew(); err == nil ||
		!strings.Contains(err.Error(), "provider:") || !strings.Contains(err.Error(), "input:") || !strings.Contains(err.Error(), "output:") {
		t.Errorf("new model without prices: %v", err)
	}
}

func TestWithOverridesReportsEntry(t *testing.T) {
	os := decodeOverrides(t, `
[[prices]]
id = "gpt-4o"
[[prices]]
id = "unknown-model"
input = 1
`)
	_, err := embedded(t).WithOverrides(os, "2026-11-27")
	if err == nil || !strings.Contains(err.Error(), "prices[1] (unknown-model)") || !strings.Contains(err.Error(), "provider") {
		t.Errorf("error %v", err)
	}
}

func TestLayerRoundTrip(t *testing.T) {
	im := importFile(t, "testdata/litellm_odd.json")
	var buf bytes.Buffer
	if err := WriteLayer(&buf, im.Date, im.Models); err != nil {
		t.Fatal(err)
	}
	back, err := LoadLayer(&buf)
	if err != nil {
		t.Fatalf("LoadLayer: %v\n%s", err, buf.String())
	}
	if len(back) != len(im.Models) {
		t.Fatalf("%d models back, wrote %d", len(back), len(im.Models))
	}
	for i := range back {
		if !equalModel(back[i], im.Models[i]) {
			t.Errorf("model %d:\n got  %+v\n want %+v", i, back[i], im.Models[i])
		}
	}
	// The embedded catalog file is itself a valid layer.
	if ms, err := LoadLayer(bytes.NewReader(embeddedCatalog)); err != nil || len(ms) < 40 {
		t.Errorf("embedded catalog as layer: %d models, %v", len(ms), err)
	}
}

func TestLoadLayerRejects(t *testing.T) {
	for _, in := range []string{
		`{"date": "x", "models": [{"id": "", "input": 1}]}`,
		`{"date": "x", "models": [{"id": "a", "input": -1}]}`,
		`{"date": "x", "models": [{"id": "a", "inptu": 1}]}`,
		`[]`,
	} {
		if _, err := LoadLayer(strings.NewReader(in)); err == nil {
			t.Errorf("LoadLayer(%s): no error", in)
		}
	}
}

func TestWithLayerResolution(t *testing.T) {
	c := embedded(t)
	layered, err := c.WithLayer([]Model{
		{ID: "gemini/gemini-2.5-pro", Provider: "gemini", Input: 1_000_000, Output: 9_000_000},
		{ID: "gemini-2.5-pro", Provider: "vertex_ai-language-models", Input: 7, Output: 7}, // a reseller: ignored, name taken
		{ID: "claude-3-haiku-20240307", Provider: "anthropic", Input: 260_000, Output: 1_300_000},
		{ID: "claude-3-haiku", Provider: "anthropic", Input: 250_000, Output: 1_250_000}, // exact id beats the alias
		{ID: "new-model", Provider: "x", Input: 1, Output: 2},
		{ID: "NEW-MODEL", Provider: "x", Input: 3, Output: 4}, // same name again: the later one wins
	})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := layered.Lookup("gemini-2.5-pro")
	if g.Input != 1_000_000 || g.Provider != "google" || !strings.Contains(g.Note, "200K") || g.ContextWindow != 1_048_576 {
		t.Errorf("gemini-2.5-pro: %+v", g)
	}
	if h, _ := layered.Lookup("claude-3-haiku-20240307"); h.ID != "claude-3-haiku" || h.Input != 250_000 {
		t.Errorf("claude-3-haiku: %+v", h)
	}
	if n, _ := layered.Lookup("new-model"); n.Input != 3 {
		t.Errorf("new-model: %+v", n)
	}
	if len(layered.Models()) != len(c.Models())+1 {
		t.Errorf("%d models, want %d", len(layered.Models()), len(c.Models())+1)
	}
}
