package compress

import (
	"context"
	"testing"
	"unicode/utf8"
)

// fuzzConfigs are the pipelines every fuzz target exercises: the default,
// and every pass at once (lossy ones included, with an absolute budget so
// that idempotence is defined).
func fuzzConfigs(t *testing.T) []*Compressor {
	all := DefaultConfig()
	all.JSONTable, all.Filler, all.Stopwords, all.BudgetTokens = true, true, true, 40
	return []*Compressor{mustNew(t, DefaultConfig(), nil), mustNew(t, all, nil)}
}

func fuzzSeeds(f *testing.F) {
	f.Add("Hello   world.  \n\n\n\nWhat is 2+2?")
	f.Add("Context:\n{\n  \"a\": [1, 2, 3],\n  \"b\": \"x  y\"\n}\n\nWhy?")
	f.Add("Example 1:\nQ: a b c d\nA: 1\n\nExample 2:\nQ: a b c d\nA: 1\n\nQ: e?")
	f.Add("```go\nx  :=  1\n```\n\n    indented  code;\n\n| a  | b |\n\nPlease kindly answer the question?")
	f.Add("I would like you to read https://e.com/x?y=1 and mail bob@e.com about 3.5 GB for \"Acme  Corp\".\n\nOk?")
	f.Add("[{\"k\":1,\"v\":\"a\"},{\"k\":2,\"v\":\"b\"},{\"k\":3,\"v\":\"c\"}]\n\nWhich k?")
	f.Add("a\r\n\r\n\r\nb\t\tc  \n\xff\xfe invalid")
	f.Add("    Indented prose line one.\n    Indented prose line two.\n\nThe end?")
	// Budget mode was not a fixed point on these (SpamAssassin ham,
	// minimised): a residue whose name lost a starter on the next run,
	// and a unit kept only inside a longer word ("RE" in "SIGNATURE").
	f.Add("The meeting moved to Tuesday at the main office.\n\nReaders who wish To Be Removed From Our Mailing List can write in at any time of the year, and Those Who Wish To Stay can ignore it.\n\nWhen is the meeting?")
	f.Add("Subject: RE: lunch plans\nFrom: Bob\n\nWe could meet at noon near the old station.\n\n-----BEGIN PGP SIGNATURE-----\nVersion: PGP 7.5\n\niQA/AwUBPT+eg8PxH8jf3ohaEQJaJACferw1H2dZWXUEkFKdJ3bVpSJ5QnQAoPoD\n+oIb0wFbSjKC4hdc/DSjPkvj\n=pRCH\n-----END PGP SIGNATURE-----\n\nWhere do we meet?")
	// The common indentation kept on the question's line alone gave the
	// next run a new common indentation to remove (found by the fuzzer).
	f.Add("  0\n\n 0")
	f.Add("    a\n\n   b\n  c?")
	f.Add("  x\n\n      code();\n      more();\n\n  y?")
	f.Add("Body:\n\n    <table width=\"600\">\n      <tr><td><a href=\"http://e.com/x\">Sale</a></td></tr>\n    </table>\n\nWhat is on sale?")
}

func fuzzRun(t *testing.T, in string, check func(t *testing.T, c *Compressor, r Result)) {
	for _, c := range fuzzConfigs(t) {
		r, err := c.Compress(context.Background(), in, counter())
		if err != nil {
			t.Fatal(err)
		}
		check(t, c, r)
	}
}

func FuzzIdempotent(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRun(t, in, func(t *testing.T, c *Compressor, r Result) {
			again, err := c.Compress(context.Background(), r.Text, counter())
			if err != nil {
				t.Fatal(err)
			}
			if again.Text != r.Text {
				t.Fatalf("not idempotent:\n%q\n→\n%q", r.Text, again.Text)
			}
		})
	})
}

func FuzzProtectedKept(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRun(t, in, func(t *testing.T, c *Compressor, r Result) {
			if chk := CheckProtected(in, r.Text); chk.Kept != chk.Units {
				t.Fatalf("lost %v in\n%q", chk.Missing, r.Text)
			}
		})
	})
}

func FuzzNeverMoreTokens(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRun(t, in, func(t *testing.T, c *Compressor, r Result) {
			real := counter()
			if b, a := real.Count(in).Tokens, real.Count(r.Text).Tokens; a > b || a != r.Tokens || b != r.TokensBefore {
				t.Fatalf("tokens %d → %d (reported %d → %d)", b, a, r.TokensBefore, r.Tokens)
			}
		})
	})
}

func FuzzValidUTF8(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			return // the planner rejects invalid UTF-8 before compression
		}
		fuzzRun(t, in, func(t *testing.T, c *Compressor, r Result) {
			if !utf8.ValidString(r.Text) {
				t.Fatalf("invalid UTF-8 out: %q", r.Text)
			}
		})
	})
}
