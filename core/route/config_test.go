package route

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestDocumentedTOMLMatchesDefaults decodes the [route] section documented
// for penny.toml (kept in testdata so it is the exact text handed to the
// config file) and checks it equals DefaultConfig, so the docs cannot drift.
func TestDocumentedTOMLMatchesDefaults(t *testing.T) {
	b, err := os.ReadFile("testdata/route.toml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Route Config `toml:"route"`
	}
	md, err := toml.Decode(string(b), &file)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Errorf("undecoded keys: %v", und)
	}
	if !reflect.DeepEqual(file.Route, DefaultConfig()) {
		t.Errorf("documented config differs from DefaultConfig:\n%+v\n%+v", file.Route, DefaultConfig())
	}
	// The commented rules are valid when uncommented.
	// Everything from the first commented [[route.rules]] on.
	_, example, ok := strings.Cut(string(b), "# [[route.rules]]")
	if !ok {
		t.Fatal("no example rules")
	}
	var rules []string
	for _, line := range strings.Split("# [[route.rules]]"+example, "\n") {
		rules = append(rules, strings.TrimPrefix(line, "# "))
	}
	var withRules struct {
		Route Config `toml:"route"`
	}
	if _, err := toml.Decode(string(b)+"\n"+strings.Join(rules, "\n"), &withRules); err != nil {
		t.Fatal(err)
	}
	if len(withRules.Route.Rules) != 3 {
		t.Fatalf("example rules = %d, want 3", len(withRules.Route.Rules))
	}
	if err := withRules.Route.Validate(); err != nil {
		t.Errorf("example rules invalid: %v", err)
	}
}
