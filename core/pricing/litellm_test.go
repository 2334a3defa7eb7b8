package pricing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshotPath is the shared LiteLLM snapshot (../shared/data relative to
// the repository root); tests skip when it is absent.
func snapshotPath(t testing.TB) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "prices", "litellm_model_prices_2026-07-24.json")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("LiteLLM snapshot not available: %v", err)
	}
	return p
}

func importFile(t testing.TB, path string) Import {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := ImportLiteLLM(f, "litellm:"+filepath.Base(path))
	if err != nil {
		t.Fatalf("ImportLiteLLM(%s): %v", path, err)
	}
	return im
}

func byID(models []Model) map[string]Model {
	m := map[string]Model{}
	for _, x := range models {
		m[x.ID] = x
	}
	return m
}

func TestImportOddEntries(t *testing.T) {
	im := importFile(t, filepath.Join("testdata", "litellm_odd.json"))
	wantSkipped := map[string]int{
		SkipSampleSpec: 1, SkipDuplicate: 1, SkipNoPrices: 2, SkipInvalidPrice: 3,
		SkipZeroPrices: 1, "mode=embedding": 1, "mode=image_generation": 1,
		SkipNoMode: 1, SkipBadMode: 1, SkipNotObject: 3, SkipOddID: 1,
	}
	for k, v := range wantSkipped {
		if im.Skipped[k] != v {
			t.Errorf("Skipped[%s] = %d, want %d", k, im.Skipped[k], v)
		}
	}
	if len(im.Skipped) != len(wantSkipped) {
		t.Errorf("Skipped = %v, want %v", im.Skipped, wantSkipped)
	}
	if im.Entries != 23 || len(im.Models)+im.SkippedTotal() != im.Entries {
		t.Errorf("entries %d, models %d, skipped %d", im.Entries, len(im.Models), im.SkippedTotal())
	}
	if im.Date != "2026-07-24" || im.Rounded != 1 {
		t.Errorf("date %q rounded %d", im.Date, im.Rounded)
	}
	for field, n := range map[string]int{"max_input_tokens": 1, "max_output_tokens": 1, "max_tokens": 1, "supports_vision": 1} {
		if im.Ignored[field] != n {
			t.Errorf("Ignored[%s] = %d, want %d (all: %v)", field, im.Ignored[field], n, im.Ignored)
		}
	}

	got := byID(im.Models)
	want := map[string]Model{
		// The later duplicate wins.
		"good-chat":         {ID: "good-chat", Provider: "openai", Input: 200_000, Output: 800_000},
		"string-prices":     {ID: "string-prices", Provider: "openai", Input: 2_500_000, Output: 10_000_000, ContextWindow: 128_000, MaxInput: 128_000},
		"odd-limits":        {ID: "odd-limits", Provider: "x", Input: 1_000_000, Output: 2_000_000},
		"legacy-limit":      {ID: "legacy-limit", Provider: "x", Input: 1_000_000, Output: 2_000_000, ContextWindow: 8192, MaxInput: 8192},
		"tiered":            {ID: "tiered", Provider: "gemini", Input: 1_250_000, Output: 10_000_000, ContextWindow: 1_048_576, MaxInput: 1_048_576, Note: "prompts ≤200K tokens; higher prices above"},
		"drift":             {ID: "drift", Provider: "databricks", Input: 9_999_990, Output: 1_000_020},
		"a-responses-model": {ID: "a-responses-model", Provider: "openai", Input: 150_000_000, Output: 600_000_000, Mode: "responses"},
	}
	if len(got) != len(want) {
		t.Errorf("imported %d models, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s not imported", id)
			continue
		}
		if g.Checked != "2026-07-24" || g.Source != "litellm:litellm_odd.json" {
			t.Errorf("%s: checked %q source %q", id, g.Checked, g.Source)
		}
		g.Checked, g.Source = "", ""
		if !equalModel(g, w) {
			t.Errorf("%s:\n got  %+v\n want %+v", id, g, w)
		}
	}
}

func equalModel(a, b Model) bool {
	return a.ID == b.ID && a.Provider == b.Provider && a.Input == b.Input && a.Output == b.Output &&
		a.CachedInput == b.CachedInput && a.CacheWrite == b.CacheWrite && a.BatchInput == b.BatchInput &&
		a.BatchOutput == b.BatchOutput && a.ContextWindow == b.ContextWindow && a.MaxInput == b.MaxInput &&
		a.MaxOutput == b.MaxOutput && a.Vision == b.Vision && a.Tools == b.Tools && a.JSONMode == b.JSONMode &&
		a.Mode == b.Mode && a.Note == b.Note && a.Checked == b.Checked && a.Source == b.Source
}

func TestWriteSummary(t *testing.T) {
	im := importFile(t, filepath.Join("testdata", "litellm_odd.json"))
	var b strings.Builder
	if err := im.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := "imported 7 chat models from litellm:litellm_odd.json (2026-07-24); skipped 16 of 23 entries\n" +
		"       3  invalid_price\n       3  not_an_object\n       2  no_prices\n       1  bad_mode\n"
	if !strings.HasPrefix(b.String(), want) || !strings.HasSuffix(b.String(), "1 prices finer than $0.000001 per 1M tokens were rounded\n") {
		t.Errorf("summary:\n%s", b.String())
	}
}

func TestImportFullEntry(t *testing.T) {
	const in = `{"m": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
		"cache_read_input_token_cost": 7.5e-08, "cache_creation_input_token_cost": 1.875e-07,
		"input_cost_per_token_batches": 7.5e-08, "output_cost_per_token_batches": 3e-07,
		"litellm_provider": "openai", "max_input_tokens": 128000, "max_output_tokens": 16384,
		"max_tokens": 4096, "mode": "chat", "supports_vision": true,
		"supports_function_calling": true, "supports_response_schema": true}}`
	im, err := ImportLiteLLM(strings.NewReader(in), "t")
	if err != nil || len(im.Models) != 1 {
		t.Fatalf("import: %v, %d models", err, len(im.Models))
	}
	want := Model{ID: "m", Provider: "openai", Input: 150_000, Output: 600_000, CachedInput: 75_000,
		CacheWrite: 187_500, BatchInput: 75_000, BatchOutput: 300_000, ContextWindow: 128_000,
		MaxInput: 128_000, MaxOutput: 16_384, Vision: true, Tools: true, JSONMode: true, Source: "t"}
	if !equalModel(im.Models[0], want) {
		t.Errorf("\n got  %+v\n want %+v", im.Models[0], want)
	}
}

func TestImportRejectsNonObjects(t *testing.T) {
	for _, in := range []string{"", "[]", `"x"`, "{", `{"a": {"mode": "chat"}`, `{"a" 1}`, "null"} {
		if _, err := ImportLiteLLM(strings.NewReader(in), "t"); err == nil {
			t.Errorf("ImportLiteLLM(%q): no error", in)
		}
	}
	if im, err := ImportLiteLLM(strings.NewReader("{}"), "t"); err != nil || im.Entries != 0 {
		t.Errorf("empty object: %v, %+v", err, im)
	}
}

func TestImportSnapshot(t *testing.T) {
	im := importFile(t, snapshotPath(t))
	t.Logf("entries %d, imported %d, skipped %v, ignored %v, rounded %d",
		im.Entries, len(im.Models), im.Skipped, im.Ignored, im.Rounded)
	if im.Entries != 2985 || len(im.Models)+im.SkippedTotal() != im.Entries {
		t.Errorf("entries %d, models %d, skipped %d", im.Entries, len(im.Models), im.SkippedTotal())
	}
	if im.Date != "2026-07-24" {
		t.Errorf("date %q", im.Date)
	}
	// 2,285 chat + 85 responses entries in the snapshot, less those
	// without usable prices.
	if n := len(im.Models); n < 2000 || n > 2370 {
		t.Errorf("imported %d models", n)
	}
	if im.Skipped["mode=embedding"] != 124 || im.Skipped[SkipSampleSpec] != 1 {
		t.Errorf("skipped %v", im.Skipped)
	}
	got := byID(im.Models)
	gpt4o := got["gpt-4o"]
	if gpt4o.Input != 2_500_000 || gpt4o.CachedInput != 1_250_000 || gpt4o.Output != 10_000_000 ||
		gpt4o.BatchInput != 1_250_000 || gpt4o.ContextWindow != 128_000 || gpt4o.MaxOutput != 16_384 || !gpt4o.Vision {
		t.Errorf("gpt-4o: %+v", gpt4o)
	}
	if h := got["claude-3-haiku-20240307"]; h.CacheWrite != 300_000 || h.CachedInput != 30_000 || h.Provider != "anthropic" {
		t.Errorf("claude-3-haiku-20240307: %+v", h)
	}
	if g := got["groq/llama-3.3-70b-versatile"]; g.Input != 590_000 || g.Output != 790_000 {
		t.Errorf("groq/llama-3.3-70b-versatile: %+v", g)
	}
	for _, m := range im.Models {
		if err := m.Validate(); err != nil {
			t.Errorf("%v", err)
		}
	}
	// The import layers over the embedded catalog without conflicts.
	c, err := embedded(t).WithLayer(im.Models)
	if err != nil {
		t.Fatalf("WithLayer: %v", err)
	}
	if m, _ := c.Lookup("gpt-4o"); m.ID != "gpt-4o" || m.Source != im.Source || len(m.Aliases) == 0 {
		t.Errorf("layered gpt-4o: %+v", m)
	}
	if m, ok := c.Lookup("azure/gpt-5"); !ok || m.Provider != "azure" {
		t.Errorf("layered azure/gpt-5: %+v %v", m, ok)
	}
}

func FuzzImportLiteLLM(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "litellm_odd.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"a": {"mode": "chat", "input_cost_per_token": "1e999", "output_cost_per_token": 1e-400}}`))
	f.Add([]byte(`{"a": {"mode": "chat", "input_cost_per_token": 1, "output_cost_per_token": "0x1p-30", "max_tokens": 1e30}}`))
	f.Add([]byte(`{"a": {"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}, "A": {"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}`))
	base := embedded(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := ImportLiteLLM(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		if len(im.Models)+im.SkippedTotal() != im.Entries {
			t.Fatalf("models %d + skipped %d != entries %d", len(im.Models), im.SkippedTotal(), im.Entries)
		}
		for _, m := range im.Models {
			if err := m.Validate(); err != nil {
				t.Fatalf("imported invalid model: %v", err)
			}
			if m.Input == 0 && m.Output == 0 {
				t.Fatalf("%q imported with zero prices", m.ID)
			}
		}
		// Whatever was imported can be layered: ids that differ only in
		// case collapse instead of failing the catalog build.
		if _, err := base.WithLayer(im.Models); err != nil {
			t.Fatalf("WithLayer: %v", err)
		}
	})
}
