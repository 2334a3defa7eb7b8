package cache

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Pair is one labelled example for evaluating the cache: Label 1 means the
// answer cached for A may be served for B, 0 means it must not.
type Pair struct {
	A, B  string
	Label int
	// Origin names the file and line ("msr-para-val.tsv:17").
	Origin string
}

// PairsFormat says how a pairs file is laid out.
type PairsFormat string

const (
	FormatAuto PairsFormat = ""     // detect from the header row
	FormatTSV  PairsFormat = "tsv"  // header with label, a, b (any order, extra columns ignored)
	FormatSTS  PairsFormat = "sts"  // SemEval STS: score 0–5 \t s1 \t s2, no header
	FormatMSR  PairsFormat = "msr"  // Microsoft Research Paraphrase Corpus
	FormatSICK PairsFormat = "sick" // SICK 2014: pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment
)

// PairsOptions binarizes the graded native formats.
//
// STS scores mean 5 "completely equivalent", 4 "mostly equivalent, but some
// unimportant details differ", 3 "roughly equivalent, but some important
// information differs". A cached answer may be served only for the first
// two, so STS rows score ≥ STSPositive (default 4) are label 1 and rows
// ≤ STSNegative (default 3) are label 0; the band between is an average of
// annotators who disagreed on whether the difference matters and is skipped
// (counted in PairsStats.Ambiguous). Set STSNegative = STSPositive to keep
// every scored row.
//
// SICK rows are label 1 when relatedness ≥ SICKPositive (default 4) and the
// entailment judgement is ENTAILMENT, else 0. Relatedness alone is not
// equivalence: "a man is playing the drums" / "a woman is playing the drums"
// is rated 4+ related but NEUTRAL, and serving one's answer for the other
// is exactly the wrong hit a cache must avoid. SICK judges entailment in one
// direction (A ⇒ B); with relatedness ≥ 4 that is close to equivalence.
type PairsOptions struct {
	Format       PairsFormat
	STSPositive  float64
	STSNegative  float64
	SICKPositive float64
}

func (o PairsOptions) withDefaults() PairsOptions {
	if o.STSPositive == 0 {
		o.STSPositive = 4
	}
	if o.STSNegative == 0 {
		o.STSNegative = 3
	}
	if o.SICKPositive == 0 {
		o.SICKPositive = 4
	}
	return o
}

// PairsStats counts what parsing kept and dropped.
type PairsStats struct {
	Format    PairsFormat `json:"format"`
	Rows      int         `json:"rows"`      // data rows read (header excluded)
	Kept      int         `json:"kept"`      // pairs returned
	Unscored  int         `json:"unscored"`  // STS rows without a score (skipped)
	Ambiguous int         `json:"ambiguous"` // STS rows between the two cut-offs (skipped)
	Blank     int         `json:"blank"`     // empty lines
}

// ErrMalformed is wrapped by every row-level parse error. A malformed row is
// an error naming file and line, not a silent skip: an evaluation over
// quietly shrunken data would report figures for data nobody chose.
var ErrMalformed = errors.New("malformed pairs row")

// ParsePairs reads labelled pairs; name labels errors and Pair.Origin.
// Fields are split on tabs and taken verbatim (no CSV quoting: the STS
// files quote inside sentences, "the battery""s state", and those quotes
// are part of the text). A UTF-8 byte-order mark and CRLF line ends are
// accepted. Blank lines are counted and skipped; any other malformed row is
// an error wrapping ErrMalformed that names file and line.
func ParsePairs(r io.Reader, name string, opts PairsOptions) ([]Pair, PairsStats, error) {
	opts = opts.withDefaults()
	if opts.STSNegative > opts.STSPositive {
		return nil, PairsStats{}, fmt.Errorf("pairs %s: STS negative cut-off %g above positive %g", name, opts.STSNegative, opts.STSPositive)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var (
		st    = PairsStats{Format: opts.Format}
		pairs []Pair
		line  int
		cols  map[string]int // TSV: column name → index
	)
	bad := func(format string, a ...any) error {
		return fmt.Errorf("pairs %s:%d: %s: %w", name, line, fmt.Sprintf(format, a...), ErrMalformed)
	}
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
			if st.Format == FormatAuto {
				st.Format = detectFormat(text)
			}
			if st.Format != FormatSTS {
				var err error
				if cols, err = headerColumns(st.Format, text); err != nil {
					return nil, st, fmt.Errorf("pairs %s:1: %w", name, err)
				}
				continue
			}
		}
		if strings.TrimSpace(text) == "" {
			st.Blank++
			continue
		}
		st.Rows++
		f := strings.Split(text, "\t")
		origin := name + ":" + strconv.Itoa(line)
		switch st.Format {
		case FormatSTS:
			if len(f) < 3 {
				return nil, st, bad("want score, sentence, sentence; got %d fields", len(f))
			}
			if strings.TrimSpace(f[0]) == "" {
				st.Unscored++
				continue
			}
			s, err := strconv.ParseFloat(strings.TrimSpace(f[0]), 64)
			if err != nil || s < 0 || s > 5 {
				return nil, st, bad("score %q is not a number in 0..5", f[0])
			}
			switch {
			case s >= opts.STSPositive:
				pairs = append(pairs, Pair{A: f[1], B: f[2], Label: 1, Origin: origin})
			case s <= opts.STSNegative:
				pairs = append(pairs, Pair{A: f[1], B: f[2], Label: 0, Origin: origin})
			default:
				st.Ambiguous++
			}
		default:
			get := func(col string) (string, error) {
				i := cols[col]
				if i >= len(f) {
					return "", bad("no %q field (%d fields)", col, len(f))
				}
				return f[i], nil
			}
			var p Pair
			var err error
			if p.A, err = get("a"); err != nil {
				return nil, st, err
			}
			if p.B, err = get("b"); err != nil {
				return nil, st, err
			}
			lab, err := get("label")
			if err != nil {
				return nil, st, err
			}
			p.Origin = origin
			if st.Format == FormatSICK {
				rel, err := strconv.ParseFloat(strings.TrimSpace(lab), 64)
				if err != nil || rel < 1 || rel > 5 {
					return nil, st, bad("relatedness %q is not a number in 1..5", lab)
				}
				ent, err := get("entailment")
				if err != nil {
					return nil, st, err
				}
				ent = strings.ToUpper(strings.TrimSpace(ent))
				if ent != "ENTAILMENT" && ent != "NEUTRAL" && ent != "CONTRADICTION" {
					return nil, st, bad("entailment judgement %q", ent)
				}
				if rel >= opts.SICKPositive && ent == "ENTAILMENT" {
					p.Label = 1
				}
			} else {
				switch strings.TrimSpace(lab) {
				case "1":
					p.Label = 1
				case "0":
					p.Label = 0
				default:
					return nil, st, bad("label %q is not 0 or 1", lab)
				}
			}
			pairs = append(pairs, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, st, fmt.Errorf("pairs %s:%d: %w", name, line+1, err)
	}
	if line == 0 {
		return nil, st, fmt.Errorf("pairs %s: empty input: %w", name, ErrMalformed)
	}
	st.Kept = len(pairs)
	return pairs, st, nil
}

// detectFormat recognizes the header rows of the native formats; a first
// row that starts with a score or a tab is STS data; anything else is taken
// as a TSV header.
func detectFormat(first string) PairsFormat {
	f := strings.Split(first, "\t")
	lower := strings.ToLower(f[0])
	switch {
	case lower == "quality" && len(f) >= 5:
		return FormatMSR
	case lower == "pair_id" && len(f) >= 5:
		return FormatSICK
	}
	if strings.TrimSpace(f[0]) == "" && len(f) >= 3 {
		return FormatSTS
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(f[0]), 64); err == nil && len(f) >= 3 {
		return FormatSTS
	}
	return FormatTSV
}

// headerColumns maps the roles label, a, b (and entailment for SICK) to
// column indexes. The native formats use fixed positions whose names vary
// between releases; the TSV format finds columns by name.
func headerColumns(format PairsFormat, header string) (map[string]int, error) {
	switch format {
	case FormatMSR:
		return map[string]int{"label": 0, "a": 3, "b": 4}, nil
	case FormatSICK:
		return map[string]int{"a": 1, "b": 2, "label": 3, "entailment": 4}, nil
	case FormatTSV:
	default:
		return nil, fmt.Errorf("unknown pairs format %q", format)
	}
	cols := map[string]int{}
	for i, name := range strings.Split(header, "\t") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "label" || name == "a" || name == "b" {
			if _, dup := cols[name]; dup {
				return nil, fmt.Errorf("column %q appears twice: %w", name, ErrMalformed)
			}
			cols[name] = i
		}
	}
	for _, need := range []string{"label", "a", "b"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Errorf("header has no %q column (want label, a, b): %w", need, ErrMalformed)
		}
	}
	return cols, nil
}
