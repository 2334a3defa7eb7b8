package cache

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  hello   world \r\n", "hello world"},
		{"caf\u0065\u0301", "caf\u00e9"}, // NFD -> NFC
		{"a\r\n\r\n\r\n\r\nb", "a\n\nb"},
		{"list:\n  - one\n  - two  ", "list:\n  - one\n  - two"},
		{"Keep Case", "Keep Case"},
		{"tab\t\tsep", "tab sep"},
		{"```\nx  =  1\n\n\n\ny\n```", "```\nx  =  1\n\n\n\ny\n```"},
		// a fence opens only at the start of a line (as in Markdown)
		{"before ```\n  a   b\n``` after", "before ```\n  a b\n``` after"},
		{"\n\n  \t\n", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzNormalizeIdempotent(f *testing.F) {
	for _, s := range []string{"a  b", "```\n a \n```", "x\r\n\r\ny", "e\u0301", "\t\t", "a\n\n\n``` b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
		if ExactKey(Request{Prompt: s}) != ExactKey(Request{Prompt: n}) {
			t.Fatalf("key of %q differs from key of its normal form", s)
		}
	})
}

func TestExactKeyCoversScope(t *testing.T) {
	base := Request{Prompt: "p", Scope: Scope{Model: "m", System: "s", Temperature: 0, MaxTokens: 10, Tools: "[]", Format: "json", Tenant: "t"}}
	k := ExactKey(base)
	if len(k) != 64 {
		t.Fatalf("key %q", k)
	}
	mut := []func(*Request){
		func(r *Request) { r.Prompt = "P" },
		func(r *Request) { r.Scope.Model = "m2" },
		func(r *Request) { r.Scope.System = "s2" },
		func(r *Request) { r.Scope.Temperature = 0.1 },
		func(r *Request) { r.Scope.MaxTokens = 11 },
		func(r *Request) { r.Scope.Tools = `[{"name":"x"}]` },
		func(r *Request) { r.Scope.Format = "" },
		func(r *Request) { r.Scope.Tenant = "u" },
		func(r *Request) { r.Scope.Source = "simulated" },
		// field boundaries cannot be shifted: "m"+"s" vs "ms"+""
		func(r *Request) { r.Scope.Model, r.Scope.System = "ms", "" },
	}
	for i, m := range mut {
		r := base
		m(&r)
		if ExactKey(r) == k {
			t.Errorf("mutation %d did not change the key", i)
		}
		if i > 0 && Fingerprint(r.Scope) == Fingerprint(base.Scope) {
			t.Errorf("mutation %d did not change the fingerprint", i)
		}
	}
	same := base
	same.Scope.System = "  s \r\n"
	if ExactKey(same) != k {
		t.Error("system prompt whitespace changed the key")
	}
}

func TestDiffScope(t *testing.T) {
	a := Scope{Model: "gpt-4o", System: "x", Temperature: 0, MaxTokens: 100}
	b := Scope{Model: "gpt-4o-mini", System: "y", Temperature: 0.5, MaxTokens: 100, Tenant: "z", Source: "simulated"}
	d := DiffScope(a, b)
	for _, want := range []string{"model differs: gpt-4o vs gpt-4o-mini", "system prompt differs", "temperature differs: 0 vs 0.5", "tenant differs",
		"answer source differs: a real model vs simulated"} {
		if !strings.Contains(d, want) {
			t.Errorf("DiffScope = %q, missing %q", d, want)
		}
	}
	if strings.Contains(d, "max_tokens") || DiffScope(a, a) != "" {
		t.Errorf("spurious difference: %q", d)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	bad := Config{TTL: Duration(-time.Second), Threshold: 2, TopK: 0, IndexSwitchOver: 1,
		Overrides: []ThresholdOverride{{Threshold: 0.9}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, field := range []string{"cache.ttl", "cache.max_entries", "cache.threshold:", "cache.threshold_override[0]", "cache.top_k", "cache.index_switch_over", "cache.max_prompt_bytes"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Threshold = 0.9
	cfg.Overrides = []ThresholdOverride{{Model: "gpt-4o", Threshold: 0.95}, {Tenant: "ops", Threshold: 0.8}}
	if cfg.ThresholdFor(Scope{Model: "gpt-4o", Tenant: "ops"}) != 0.95 || cfg.ThresholdFor(Scope{Model: "x", Tenant: "ops"}) != 0.8 || cfg.ThresholdFor(Scope{Model: "x"}) != 0.9 {
		t.Fatal("threshold overrides")
	}
	var d Duration
	if err := d.UnmarshalText([]byte("90m")); err != nil || time.Duration(d) != 90*time.Minute {
		t.Fatalf("duration: %v %v", d, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestConfigTOML(t *testing.T) {
	var f struct {
		Cache Config `toml:"cache"`
	}
	f.Cache = Config{} // every default must come from the text
	md, err := toml.Decode(ConfigTOML(), &f)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("unknown keys %v", u)
	}
	if !reflect.DeepEqual(f.Cache, DefaultConfig()) {
		t.Fatalf("ConfigTOML decodes to\n%+v\nDefaultConfig is\n%+v", f.Cache, DefaultConfig())
	}
	var o struct {
		Cache Config `toml:"cache"`
	}
	if _, err := toml.Decode("[cache]\nttl = \"90m\"\n[[cache.threshold_override]]\nmodel = \"m\"\nthreshold = 0.9\n", &o); err != nil {
		t.Fatal(err)
	}
	if time.Duration(o.Cache.TTL) != 90*time.Minute || len(o.Cache.Overrides) != 1 || o.Cache.Overrides[0].Model != "m" {
		t.Fatalf("decoded %+v", o.Cache)
	}
}
