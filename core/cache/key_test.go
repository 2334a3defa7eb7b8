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

// keyGoldenRequests cover every Scope field, Normalize's rules and values
// whose formatting could drift (floats, negative and large numbers).
var keyGoldenRequests = []Request{
	{Prompt: "p"},
	{Prompt: "How do I reset my password?", Scope: Scope{Model: "gpt-4o-mini"}},
	{Prompt: "  two\r\n\r\n\r\nblank   lines\t \n```\n  code   kept  \n```", Scope: Scope{Model: "m", System: " be  brief \r\n", Temperature: 0.7, MaxTokens: 400}},
	{Prompt: "é vs e\u0301", Scope: Scope{Model: "m", System: "s", Temperature: 0.70000001, MaxTokens: -1, Tools: `[{"name":"x"}]`, Format: "json_object", Tenant: "team-a", Source: "simulated"}},
	{Prompt: "big", Scope: Scope{Model: "ms", Temperature: 1e-300, MaxTokens: 1 << 40, Tenant: "ü"}},
}

// TestKeysAreStable pins exact keys and fingerprints: they are stored with
// every cache entry, so a change of their bytes (without bumping
// keyVersion) would silently orphan every stored entry.
func TestKeysAreStable(t *testing.T) {
	want := [][2]string{
		{"f3a374c6743d0d316608253d3e065570cc1fb7a4a66bb0ca70045d29d3e44ff7", "7795bf4e6931ff65e92f2a8c7e437b0a44020163279724a6137ad0cbae3fdcf4"},
		{"044e4c5d1d635ccfbddcd5acea5474b5e80747ecddd399958ec8b0ffdd9e6c06", "d4f1001fd8c88a4354238e3168211575f75eadb761338287f5d076fa533a72a5"},
		{"b98e8b652b6090798e9ffabc88b0e02f04ce5cd20a59b52be1a8bebb7c085a2d", "dcb6927a4bbccdd163f7ef7bfd725971e10fff1f12bc74afdcd83dd937b945b8"},
		{"20abe0a0c29cce1e07540821af0461740026ef50d41bba3cf3c9d0affed32ee6", "3693b254f8fd20238d37658c45bcf3a839300ca4d040b226c2cfcd4371f10801"},
		{"dbe6b473e3c5010e93cab6f2546e05a287226f065db9af62899c1e9af733dc82", "e49015d4badf2a0cdc58b984fe779ffa66a9b8de1daa55c1b9b48ce4044db92b"},
	}
	if len(want) != len(keyGoldenRequests) {
		t.Fatalf("%d golden keys for %d requests", len(want), len(keyGoldenRequests))
	}
	for i, r := range keyGoldenRequests {
		if k, fp := ExactKey(r), Fingerprint(r.Scope); k != want[i][0] || fp != want[i][1] {
			t.Errorf("request %d: key %s, fingerprint %s; want %s, %s", i, k, fp, want[i][0], want[i][1])
		}
	}
}

// FuzzNormalLine: the fast path of Normalize returns only what the full
// normalization would.
func FuzzNormalLine(f *testing.F) {
	for _, s := range []string{"", "a", "How do I reset my password?", " a", "a ", "a  b", "a\tb", "```go", "é", "a\nb", "x\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if normalLine(s) && normalize(s) != s {
			t.Fatalf("%q is taken as normal; normalize gives %q", s, normalize(s))
		}
	})
}

// TestKeyAllocs: a lookup computes an exact key and a fingerprint, so each
// allocates only its result for a prompt and system prompt already normal.
func TestKeyAllocs(t *testing.T) {
	r := Request{Prompt: "How do I reset my password?", Scope: Scope{Model: "gpt-4o-mini", System: "Be brief.", Temperature: 0.7, MaxTokens: 400}}
	if n := testing.AllocsPerRun(100, func() { ExactKey(r) }); n > 1 {
		t.Errorf("ExactKey: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { Fingerprint(r.Scope) }); n > 1 {
		t.Errorf("Fingerprint: %v allocations", n)
	}
}
