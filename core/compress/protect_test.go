package compress

import (
	"strings"
	"testing"
)

func TestProtectedUnits(t *testing.T) {
	in := "Please contact Maria Gonzalez at maria@example.com or see https://example.com/docs?id=7.\n" +
		"The limit is 3.5 GB and costs $1,200 per month; v1.2.3 shipped on 2026-07-24.\n" +
		"Say \"keep  this\" and 'this too' but don't split.\n" +
		"Use `go test ./...` in the NASA repo.\n\n" +
		"```\ncode  block\n```\n\n" +
		"What is the limit?"
	want := map[string]string{
		"Maria Gonzalez":                UnitEntity,
		"maria@example.com":             UnitEmail,
		"https://example.com/docs?id=7": UnitURL,
		"3.5 GB":                        UnitNumber,
		"$1,200":                        UnitNumber,
		"v1.2.3":                        UnitNumber,
		"2026-07-24":                    UnitNumber,
		"\"keep  this\"":                UnitQuoted,
		"'this too'":                    UnitQuoted,
		"`go test ./...`":               UnitInline,
		"NASA":                          UnitEntity,
		"```\ncode  block\n```":         UnitCode,
		"What is the limit?":            UnitQuestion,
	}
	got := map[string]string{}
	for _, u := range Protected(in) {
		got[u.Text] = u.Kind
		if in[u.Start:u.End] != u.Text {
			t.Errorf("unit %+v: offsets do not match text", u)
		}
	}
	for text, kind := range want {
		if got[text] != kind {
			t.Errorf("%q: kind %q, want %q", text, got[text], kind)
		}
	}
	for text := range got {
		if strings.HasPrefix(text, "'t ") || text == "The" {
			t.Errorf("spurious unit %q", text)
		}
	}
}

func TestFinalQuestionLongParagraph(t *testing.T) {
	long := strings.Repeat("Background sentence without a question in it. ", 30)
	in := long + "So what should we do next? Thanks."
	var q string
	for _, u := range Protected(in) {
		if u.Kind == UnitQuestion {
			q = u.Text
		}
	}
	if q != "So what should we do next?" {
		t.Fatalf("question = %q", q)
	}
}

func TestCheckProtected(t *testing.T) {
	in := "Order A-103 costs 90 EUR, see https://x.example/a.\n\nWhy?"
	if c := CheckProtected(in, in); c.Ratio() != 1 || c.Units == 0 {
		t.Fatalf("identity: %+v", c)
	}
	c := CheckProtected(in, "Order costs 90 EUR, see https://x.example/a.\n\nWhy?")
	if c.Kept != c.Units-1 || len(c.Missing) != 1 || c.Missing[0].Text != "A-103" {
		t.Fatalf("missing: %+v", c)
	}
	if (Check{}).Ratio() != 1 {
		t.Fatal("empty check ratio")
	}
}
