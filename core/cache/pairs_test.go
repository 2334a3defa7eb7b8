package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePairsTSVByName(t *testing.T) {
	in := "id\tb\tnote\tlabel\ta\n7\tquery one\tx\t1\tcached one\n\n8\tquery two\ty\t0\tcached two\r\n"
	p, st, err := ParsePairs(strings.NewReader(in), "mine.tsv", PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != FormatTSV || st.Rows != 2 || st.Kept != 2 || st.Blank != 1 {
		t.Fatalf("stats %+v", st)
	}
	want := []Pair{{A: "cached one", B: "query one", Label: 1, Origin: "mine.tsv:2"}, {A: "cached two", B: "query two", Label: 0, Origin: "mine.tsv:4"}}
	for i := range want {
		if p[i] != want[i] {
			t.Errorf("pair %d = %+v, want %+v", i, p[i], want[i])
		}
	}
}

func TestParsePairsErrorsNameLine(t *testing.T) {
	for name, in := range map[string]string{
		"bad label":     "label\ta\tb\n1\tx\ty\n2\tx\ty\n",
		"short row":     "label\ta\tb\n1\tx\n",
		"sts bad score": "4.0\ta\tb\nnope\tc\td\n",
		"sts too high":  "4.0\ta\tb\n7\tc\td\n",
		"sick bad ent":  "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n1\ta\tb\t4.5\tMAYBE\n",
	} {
		_, _, err := ParsePairs(strings.NewReader(in), "f.tsv", PairsOptions{})
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "f.tsv:") {
			t.Errorf("%s: error %q does not name file:line", name, err)
		}
	}
	if _, _, err := ParsePairs(strings.NewReader("x\ty\tz\n"), "h.tsv", PairsOptions{}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `"label"`) {
		t.Errorf("missing columns: %v", err)
	}
	if _, _, err := ParsePairs(strings.NewReader(""), "e.tsv", PairsOptions{}); err == nil {
		t.Error("empty input accepted")
	}
}

func TestParsePairsSTSBinarization(t *testing.T) {
	in := "5.0\ta\tb\n\tunscored\trow\n4.0\tc\td\n3.6\tambiguous\trow\n3.0\te\tf\n0.2\tg\th\n"
	p, st, err := ParsePairs(strings.NewReader(in), "sts.tsv", PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != FormatSTS || st.Unscored != 1 || st.Ambiguous != 1 || len(p) != 4 {
		t.Fatalf("stats %+v, %d pairs", st, len(p))
	}
	labels := []int{p[0].Label, p[1].Label, p[2].Label, p[3].Label}
	if labels[0] != 1 || labels[1] != 1 || labels[2] != 0 || labels[3] != 0 {
		t.Errorf("labels %v", labels)
	}
	// No gap: every scored row kept, < 4 negative.
	p, st, err = ParsePairs(strings.NewReader(in), "sts.tsv", PairsOptions{STSNegative: 3.99})
	if err != nil || len(p) != 5 || st.Ambiguous != 0 {
		t.Fatalf("no-gap: %d pairs, %+v, %v", len(p), st, err)
	}
}

func TestParsePairsMSRAndSICK(t *testing.T) {
	msr := "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tone\ttwo\n0\t3\t4\tthree\tfour\n"
	p, st, err := ParsePairs(strings.NewReader(msr), "msr.tsv", PairsOptions{})
	if err != nil || st.Format != FormatMSR || len(p) != 2 || p[0].A != "one" || p[0].Label != 1 || p[1].Label != 0 {
		t.Fatalf("msr: %+v %+v %v", p, st, err)
	}
	sick := "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n" +
		"1\tA man plays\tA person plays\t4.5\tENTAILMENT\n" +
		"2\tA man plays drums\tA woman plays drums\t4.2\tNEUTRAL\n" +
		"3\tA man plays\tNo man plays\t4.1\tCONTRADICTION\n" +
		"4\tA cat\tA car\t1.5\tNEUTRAL\n"
	p, st, err = ParsePairs(strings.NewReader(sick), "sick.txt", PairsOptions{})
	if err != nil || st.Format != FormatSICK || len(p) != 4 {
		t.Fatalf("sick: %+v %v", st, err)
	}
	if p[0].Label != 1 || p[1].Label != 0 || p[2].Label != 0 || p[3].Label != 0 {
		t.Errorf("sick labels %d %d %d %d", p[0].Label, p[1].Label, p[2].Label, p[3].Label)
	}
}

// TestParsePairsSharedData parses every native file of the shared data set.
func TestParsePairsSharedData(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "sts")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.t[sx][vt]"))
	if len(files) == 0 {
		t.Skip("shared data not present at", dir)
	}
	total := 0
	for _, f := range files {
		if strings.HasSuffix(f, "readme.txt") || strings.Contains(filepath.Base(f), "00-readme") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		p, st, err := ParsePairs(fh, filepath.Base(f), PairsOptions{})
		fh.Close()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(p) == 0 {
			t.Errorf("%s: no pairs (%+v)", f, st)
		}
		total += len(p)
	}
	if total < 15000 {
		t.Errorf("only %d pairs from the shared data", total)
	}
}

func TestParsePairsFixture(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "fixtures", "cache", "pairs.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, st, err := ParsePairs(f, "pairs.tsv", PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, x := range p {
		pos += x.Label
	}
	if st.Format != FormatTSV || pos < 40 || len(p)-pos < 60 {
		t.Errorf("fixture: %d positives, %d negatives (%+v)", pos, len(p)-pos, st)
	}
}

func FuzzParsePairs(f *testing.F) {
	f.Add("label\ta\tb\n1\tx\ty\n")
	f.Add("4.2\ta\tb\n\tx\ty\n")
	f.Add("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\n")
	f.Add("pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n1\ta\tb\t4.5\tENTAILMENT\n")
	f.Add("\uFEFFlabel\tb\ta\r\n0\t\t\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, st, err := ParsePairs(strings.NewReader(in), "fuzz", PairsOptions{})
		if err != nil {
			if p != nil {
				t.Fatal("pairs returned with an error")
			}
			return
		}
		if st.Kept != len(p) || st.Kept > st.Rows {
			t.Fatalf("stats %+v for %d pairs", st, len(p))
		}
		for _, x := range p {
			if x.Label != 0 && x.Label != 1 {
				t.Fatalf("label %d", x.Label)
			}
			if !strings.HasPrefix(x.Origin, "fuzz:") {
				t.Fatalf("origin %q", x.Origin)
			}
		}
	})
}
