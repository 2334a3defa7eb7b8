package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/route"
)

// The default file parses to the built-in defaults, and so does the file
// with every shown default uncommented ("#key = value" lines): the
// documented defaults are the real ones.
func TestDefaultFileParses(t *testing.T) {
	c, err := Parse("penny.toml", DefaultFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, defaults()) {
		t.Errorf("embedded default file and defaults() disagree:\n file: %+v\n code: %+v", c, defaults())
	}
	setting := regexp.MustCompile(`^#([a-z_]+ = )`)
	var b strings.Builder
	n := 0
	for _, line := range strings.Split(string(DefaultFile), "\n") {
		if setting.MatchString(line) {
			line, n = line[1:], n+1
		}
		b.WriteString(line + "\n")
	}
	if n < 40 {
		t.Fatalf("only %d documented defaults found", n)
	}
	c, err = Parse("uncommented", []byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, defaults()) {
		t.Errorf("a documented default differs from the code's:\n file: %+v\n code: %+v", c, defaults())
	}
}

func TestErrorsNameFileLineField(t *testing.T) {
	src := "baseline_model = \"gpt-4o\"\n\ncompletion_tokens = 0\nrequests_per_dya = 5\n"
	_, err := Parse("/home/u/penny.toml", []byte(src), nil)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("got %v", err)
	}
	if got := errs[0].Error(); got != "/home/u/penny.toml:3: completion_tokens: must be between 1 and 1000000, got 0" {
		t.Errorf("first error = %q", got)
	}
	if got := errs[1].Error(); got != "/home/u/penny.toml:4: requests_per_dya: unknown field" {
		t.Errorf("second error = %q", got)
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	_, err := Parse("p.toml", []byte("a = 1\nb = = 2\n"), nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Line != 2 {
		t.Fatalf("got %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	c, err := Parse("p.toml", []byte("baseline_model = \"gpt-4o\"\n"), map[string]string{
		"PENNY_BASELINE_MODEL": "claude-3-haiku", "PENNY_COMPLETION_TOKENS": "123",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaselineModel != "claude-3-haiku" || c.CompletionTokens != 123 {
		t.Errorf("env not applied: %+v", c)
	}
	_, err = Parse("p.toml", nil, map[string]string{"PENNY_COMPLETION_TOKENS": "many"})
	if err == nil || !strings.Contains(err.Error(), "environment: PENNY_COMPLETION_TOKENS: not an integer") {
		t.Errorf("bad env: %v", err)
	}
}

type extSection struct {
	Endpoints []struct {
		Name string `toml:"name"`
	} `toml:"endpoint"`
	Offline bool `toml:"offline"`
}

func (e *extSection) validate() error {
	for i, ep := range e.Endpoints {
		if ep.Name == "" {
			return fmt.Errorf("providers.endpoint[%d]: name: is required", i)
		}
	}
	return nil
}

func TestExtensionSections(t *testing.T) {
	src := "baseline_model = \"gpt-4o\"\n[providers]\noffline = true\n[[providers.endpoint]]\nname = \"a\"\n[[providers.endpoint]]\nbase = \"x\"\n"
	var ext extSection
	_, err := Parse("p.toml", []byte(src), nil, Section{Key: "providers", Value: &ext, Validate: ext.validate})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v", err)
	}
	got := errs.Error()
	for _, want := range []string{"p.toml:7: providers.endpoint.base: unknown field", "p.toml:6: providers.endpoint[1].name: is required"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	if !ext.Offline || len(ext.Endpoints) != 2 || ext.Endpoints[0].Name != "a" {
		t.Errorf("section not decoded: %+v", ext)
	}
	// Without the section registered, an external table is skipped (its
	// owner validates it); any other unknown table is an error.
	if _, err := Parse("p.toml", []byte("[providers]\noffline = true\n"), nil); err != nil {
		t.Errorf("unregistered external section: %v", err)
	}
	if _, err := Parse("p.toml", []byte("[provider]\noffline = true\n"), nil); err == nil || !strings.Contains(err.Error(), "provider.offline: unknown field") {
		t.Errorf("unknown section: %v", err)
	}
}

func TestPriceOverridesValidated(t *testing.T) {
	src := "[[prices]]\nid = \"gpt-4o\"\ninput = 2.0\n[[prices]]\nid = \"x\"\noutput = -1\n"
	_, err := Parse("p.toml", []byte(src), nil)
	if err == nil || !strings.Contains(err.Error(), "p.toml:6: prices[1].output: must not be negative") {
		t.Fatalf("got %v", err)
	}
	c, err := Parse("p.toml", []byte(src[:strings.Index(src, "[[prices]]\nid = \"x\"")]), nil)
	if err != nil || len(c.Prices) != 1 || *c.Prices[0].Input != 2.0 {
		t.Fatalf("got %+v, %v", c.Prices, err)
	}
}

func TestWithRulesKeepsEverythingElse(t *testing.T) {
	src := "# my settings\nbaseline_model = \"gpt-4o\"\n\n[[route.rules]]\nname = \"old\"\nkeywords = [\"x\"]\nweight = 0.1\n\n[budget]\n# keep me\ndaily_usd = 5.0\n"
	rules := []route.RuleConfig{{Name: "sql", Pattern: `\bselect\b`, Weight: 0.2}, {Name: "proofs", Keywords: []string{"prove"}, Tier: "strong"}}
	out, err := WithRules("p.toml", []byte(src), rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{"# my settings", "# keep me", "daily_usd = 5.0", `pattern = "\\bselect\\b"`, `tier = "strong"`} {
		if !strings.Contains(got, want) {
			t.Errorf("result lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"old"`) {
		t.Errorf("old rule kept:\n%s", got)
	}
	c, err := Parse("p.toml", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Route.Rules, rules) || c.Budget.DailyUSD != 5 {
		t.Errorf("round trip: %+v", c.Route.Rules)
	}
	// Saving no rules removes them; an invalid rule is refused.
	if out, err = WithRules("p.toml", []byte(src), nil, nil); err != nil || strings.Contains(string(out), "route.rules") {
		t.Errorf("clearing rules: %v\n%s", err, out)
	}
	if _, err := WithRules("p.toml", []byte(src), []route.RuleConfig{{Name: "bad", Pattern: "("}}, nil); err == nil {
		t.Error("an invalid pattern was saved")
	}
}

func TestSummarizeSettings(t *testing.T) {
	c, err := Parse("penny.toml", []byte("[compress]\nsummarize = true\nsummarize_model = \"gpt-4o-mini\"\nsummarize_ratio = 0.3\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Compress.Summarize || c.Compress.SummarizeModel != "gpt-4o-mini" || c.Compress.SummarizeRatio != 0.3 || c.Compress.SummarizeMinTokens != 400 {
		t.Fatalf("compress = %+v", c.Compress)
	}
	if _, err := Parse("/p/penny.toml", []byte("[compress]\nsummarize_ratio = 1.5\n"), nil); err == nil || !strings.Contains(err.Error(), "summarize_ratio") {
		t.Fatalf("err = %v", err)
	}
}
