package config

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pennyllm/penny/core/route"
)

// WithRules returns the config file text with its [[route.rules]] tables
// replaced by rules, leaving every other line — comments included —
// untouched. The new tables go where the first old one was, or at the end.
// The result is parsed before it is returned, so a file that would not
// load is never produced.
func WithRules(name string, data []byte, rules []route.RuleConfig, env map[string]string, ext ...Section) ([]byte, error) {
	lines := strings.SplitAfter(string(data), "\n")
	var out []string
	insertAt := -1
	inRule := false
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if m := headerRE.FindStringSubmatch(trimmed); m != nil {
			inRule = m[1] == "[[" && unquoteKey(m[2]) == "route.rules"
			if inRule {
				if insertAt < 0 {
					insertAt = len(out)
				}
				continue
			}
		}
		if inRule {
			continue
		}
		out = append(out, line)
	}
	block, err := encodeRules(rules)
	if err != nil {
		return nil, err
	}
	if insertAt < 0 {
		if n := len(out); n > 0 && !strings.HasSuffix(out[n-1], "\n") {
			out[n-1] += "\n"
		}
		insertAt = len(out)
		block = "\n" + block
	}
	result := strings.Join(out[:insertAt], "") + block + strings.Join(out[insertAt:], "")
	if _, err := Parse(name, []byte(result), env, ext...); err != nil {
		return nil, fmt.Errorf("the rules would make %s invalid: %w", name, err)
	}
	return []byte(result), nil
}

// encodeRules writes rules as [[route.rules]] tables.
func encodeRules(rules []route.RuleConfig) (string, error) {
	var b strings.Builder
	for _, r := range rules {
		var body bytes.Buffer
		if err := toml.NewEncoder(&body).Encode(ruleTOML(r)); err != nil {
			return "", fmt.Errorf("encode rule %q: %w", r.Name, err)
		}
		b.WriteString("[[route.rules]]\n")
		b.Write(body.Bytes())
		b.WriteString("\n")
	}
	return b.String(), nil
}

// ruleTOML leaves out empty fields so saved rules read like hand-written
// ones, in the order people write them.
func ruleTOML(r route.RuleConfig) any {
	return struct {
		Name          string   `toml:"name"`
		Pattern       string   `toml:"pattern,omitempty"`
		CaseSensitive bool     `toml:"case_sensitive,omitempty"`
		Keywords      []string `toml:"keywords,omitempty"`
		Weight        float64  `toml:"weight,omitempty"`
		Tier          string   `toml:"tier,omitempty"`
	}{r.Name, r.Pattern, r.CaseSensitive, r.Keywords, r.Weight, r.Tier}
}
