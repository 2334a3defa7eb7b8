package common

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Sanitize makes untrusted text (model output, cached responses, other users'
// prompts) safe to render: it removes ANSI escape sequences and every C0/C1
// control character except newline and tab, turns CRLF and lone CR into
// newlines, and drops bidirectional overrides that could disguise text. A
// prompt that carried "\x1b]52;..." could otherwise write the viewer's
// clipboard, and one with "\x1b[2J" could wipe their screen.
func Sanitize(s string) string {
	if isPlain(s) {
		return s
	}
	s = ansi.Strip(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			// CRLF becomes LF; a lone CR (which would overwrite the line) too.
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			// C0, DEL, C1 controls: dropped.
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			// Bidi embeddings, overrides and isolates.
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII plus \n and \t, the common
// case, so Sanitize can return it without allocating.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == 0x7f || (c < 0x20 && c != '\n' && c != '\t') {
			return false
		}
	}
	return true
}

// OneLine sanitizes s and folds it to a single line, for list rows.
func OneLine(s string) string {
	s = Sanitize(s)
	s = strings.ReplaceAll(s, "\t", " ")
	return strings.Join(strings.Fields(s), " ")
}
