package config

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// locator maps field paths to the line that sets them, so validation errors
// can point into the file. The TOML decoder keeps no positions for valid
// keys, so the file is scanned line by line: table headers set the current
// path ([a.b], and [[a.b]] with a running index), assignments add the key.
// Paths look like "cache.ttl" or "route.rules[2].pattern".
type locator struct {
	lines   map[string]int // indexed path -> first line
	noIndex map[string]int // same path with array indices removed
}

var (
	headerRE = regexp.MustCompile(`^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)
	assignRE = regexp.MustCompile(`^\s*([A-Za-z0-9_\-."' ]+?)\s*=`)
	indexRE  = regexp.MustCompile(`\[\d+\]`)
)

func newLocator(data []byte) *locator {
	l := &locator{lines: map[string]int{}, noIndex: map[string]int{}}
	counts := map[string]int{}
	table := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if m := headerRE.FindStringSubmatch(trimmed); m != nil {
			name := unquoteKey(m[2])
			if m[1] == "[[" {
				idx := counts[name]
				counts[name]++
				table = name + "[" + strconv.Itoa(idx) + "]"
			} else {
				table = name
			}
			l.add(table, n)
			continue
		}
		if m := assignRE.FindStringSubmatch(line); m != nil {
			key := unquoteKey(m[1])
			if table != "" {
				key = table + "." + key
			}
			l.add(key, n)
		}
	}
	return l
}

func (l *locator) add(path string, line int) {
	if _, ok := l.lines[path]; !ok {
		l.lines[path] = line
	}
	bare := indexRE.ReplaceAllString(path, "")
	if _, ok := l.noIndex[bare]; !ok {
		l.noIndex[bare] = line
	}
}

// lineOf returns the line setting field, or of its nearest enclosing table,
// or 0 when the file does not mention it.
func (l *locator) lineOf(field string) int {
	for p := field; p != ""; {
		if n, ok := l.lines[p]; ok {
			return n
		}
		if n, ok := l.noIndex[p]; ok && !strings.Contains(p, "[") {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (l *locator) line(k toml.Key) int { return l.lineOf(strings.Join(k, ".")) }

func unquoteKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
