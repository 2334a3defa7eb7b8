package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// keyVersion is part of every hash: changing the normalization below must
// bump it, so old exact keys stop matching instead of matching wrongly.
const keyVersion = "penny-cache-key-v2"

// Normalize is the canonical form of a prompt (and of a system prompt) for
// the exact key. It removes differences that cannot change the answer and
// keeps everything that can:
//
//   - Unicode NFC, so "é" typed as one or two code points is one key;
//   - line endings CRLF and CR become LF;
//   - leading and trailing whitespace of the whole text is dropped;
//   - trailing spaces and tabs of every line are dropped;
//   - outside ``` fenced blocks, runs of spaces/tabs inside a line become one
//     space (leading indentation is kept: it is structure in lists, YAML and
//     Python), and three or more line breaks become two (one blank line).
//   - inside fenced blocks only the line-ending and trailing-space rules
//     apply: whitespace in code can be meaningful.
//
// Case is kept: "US" and "us", "Go" and "go", getUser and getuser differ in
// meaning often enough that folding case would serve wrong answers; the
// semantic layer is where near-identical wording is matched, under guards.
func Normalize(s string) string {
	if normalLine(s) {
		return s // most prompts and system prompts: two are normalized per lookup
	}
	return normalize(s)
}

// normalLine reports whether Normalize leaves s as it is because s is one
// line of printable ASCII (NFC already) with no tab, no run of spaces and
// no space at either end. The empty string is one too.
func normalLine(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || (c == ' ' && (i == 0 || i == len(s)-1 || s[i-1] == ' ')) {
			return false
		}
	}
	return true
}

func normalize(s string) string {
	s = norm.NFC.String(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s))
	inFence := false
	blank := 0
	for _, line := range lines {
		line = strings.TrimRightFunc(line, isHSpace)
		trimmed := strings.TrimLeftFunc(line, isHSpace)
		if strings.HasPrefix(trimmed, "```") {
			inFence = !inFence
		} else if !inFence {
			if trimmed == "" {
				blank++
				if blank > 1 {
					continue
				}
			} else {
				blank = 0
				indent := line[:len(line)-len(trimmed)]
				line = indent + collapseSpaces(trimmed)
			}
		}
		if inFence {
			blank = 0
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimFunc(b.String(), unicode.IsSpace)
}

func isHSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\u00a0' }

func collapseSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prev := false
	for _, r := range s {
		if isHSpace(r) {
			if !prev {
				b.WriteByte(' ')
			}
			prev = true
			continue
		}
		prev = false
		b.WriteRune(r)
	}
	return b.String()
}

// canonicalScope appends every Scope field to b, named and
// length-prefixed, so that no two different scopes serialize alike
// ("a"+"bc" vs "ab"+"c").
func canonicalScope(b []byte, s Scope) []byte {
	b = field(b, "model", s.Model)
	b = field(b, "system", Normalize(s.System))
	// 'g' with -1 precision is the shortest exact representation, so 0.7
	// and 0.70 agree and 0.7 and 0.70000001 do not.
	var num [32]byte
	b = field(b, "temperature", strconv.AppendFloat(num[:0], s.Temperature, 'g', -1, 64))
	b = field(b, "max_tokens", strconv.AppendInt(num[:0], int64(s.MaxTokens), 10))
	b = field(b, "tools", s.Tools)
	b = field(b, "format", s.Format)
	b = field(b, "tenant", s.Tenant)
	return field(b, "source", s.Source)
}

// field appends one named, length-prefixed field of canonicalScope.
func field[T string | []byte](b []byte, name string, v T) []byte {
	b = append(b, name...)
	b = append(b, '=')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, ':')
	b = append(b, v...)
	return append(b, '\n')
}

// hash is the hex SHA-256 of b. Keys are built in a buffer on the stack
// (when they fit) and hashed from it: a lookup computes two.
func hash(b []byte) string {
	h := sha256.Sum256(b)
	var x [2 * sha256.Size]byte
	hex.Encode(x[:], h[:])
	return string(x[:])
}

// ExactKey is the exact-match key of a request: a SHA-256 over the key
// version, the normalized prompt and every Scope field.
func ExactKey(r Request) string { return exactKey(Normalize(r.Prompt), r.Scope) }

func exactKey(normPrompt string, s Scope) string {
	var buf [512]byte
	b := append(buf[:0], keyVersion+"\n"...)
	b = canonicalScope(b, s)
	b = append(b, "prompt="...)
	return hash(append(b, normPrompt...))
}

// Fingerprint identifies a scope; semantic lookups only compare entries
// with the same fingerprint.
func Fingerprint(s Scope) string {
	var buf [256]byte
	b := append(buf[:0], keyVersion+"/scope\n"...)
	return hash(canonicalScope(b, s))
}

// DiffScope names the components in which have differs from want, e.g.
// "model differs: gpt-4o vs gpt-4o-mini". Long values (system prompts,
// tool definitions) are named, not printed. Empty when the scopes agree.
func DiffScope(want, have Scope) string {
	var d []string
	short := func(name, a, b string) {
		if a != b {
			d = append(d, fmt.Sprintf("%s differs: %s vs %s", name, quoteShort(a), quoteShort(b)))
		}
	}
	short("model", want.Model, have.Model)
	if Normalize(want.System) != Normalize(have.System) {
		d = append(d, "system prompt differs")
	}
	if want.Temperature != have.Temperature {
		d = append(d, fmt.Sprintf("temperature differs: %g vs %g", want.Temperature, have.Temperature))
	}
	if want.MaxTokens != have.MaxTokens {
		d = append(d, fmt.Sprintf("max_tokens differs: %d vs %d", want.MaxTokens, have.MaxTokens))
	}
	if want.Tools != have.Tools {
		d = append(d, "tools differ")
	}
	short("format", want.Format, have.Format)
	if want.Tenant != have.Tenant {
		d = append(d, "tenant differs")
	}
	if want.Source != have.Source {
		d = append(d, fmt.Sprintf("answer source differs: %s vs %s", sourceName(want.Source), sourceName(have.Source)))
	}
	return strings.Join(d, "; ")
}

func sourceName(s string) string {
	if s == "" {
		return "a real model"
	}
	return s
}

func quoteShort(s string) string {
	if s == "" {
		return `""`
	}
	if r := []rune(s); len(r) > 40 {
		return string(r[:39]) + "…"
	}
	return s
}
