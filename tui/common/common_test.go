package common

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text\nwith\ttab", "plain text\nwith\ttab"},
		{"red \x1b[31mtext\x1b[0m", "red text"},
		{"clip \x1b]52;c;ZXZpbA==\x07board", "clip board"},
		{"title \x1b]0;pwned\x1b\\ok", "title ok"},
		{"wipe\x1b[2J\x1b[H", "wipe"},
		{"crlf\r\nline", "crlf\nline"},
		{"over\rwrite", "over\nwrite"},
		{"bell\x07 null\x00 del\x7f", "bell null del"},
		{"c1 \u009b31m csi", "c1 31m csi"},
		{"bidi \u202eevil\u202c", "bidi evil"},
		{"emoji 🙂 and 日本語", "emoji 🙂 and 日本語"},
	}
	for _, c := range cases {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"a\x1b[31mb", "\x1b]52;c;x\x07", "\r\n\x00", "\u009b2J", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		for _, r := range out {
			if r == utf8.RuneError {
				continue
			}
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
		if Sanitize(out) != out {
			t.Fatalf("not idempotent: %q -> %q", out, Sanitize(out))
		}
	})
}

func TestFitExactSize(t *testing.T) {
	lines := Fit("short\na much longer line than fits\n日本語日本語日本語", 10, 4)
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w != 10 {
			t.Errorf("line %q is %d wide", l, w)
		}
	}
}

func TestFrameSize(t *testing.T) {
	c := New(Services{}, true, nil)
	for _, focused := range []bool{false, true} {
		out := c.Frame("A very long title that does not fit", "body", 12, 5, focused)
		lines := strings.Split(out, "\n")
		if len(lines) != 5 {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w != 12 {
				t.Errorf("line %q is %d wide", ansi.Strip(l), w)
			}
		}
	}
}

func TestGauge(t *testing.T) {
	c := New(Services{}, true, nil)
	cases := []struct {
		v, mark float64
		want    string
	}{
		{0.5, -1, "█████░░░░░"},
		{0.82, 0.9, "████████░│"},
		{1, 0.3, "███│██████"},
		{0, 0, "│░░░░░░░░░"},
		{2, -1, "██████████"},
	}
	for _, cs := range cases {
		if got := ansi.Strip(c.Gauge(cs.v, cs.mark, 10)); got != cs.want {
			t.Errorf("Gauge(%v, %v) = %q, want %q", cs.v, cs.mark, got, cs.want)
		}
	}
}
