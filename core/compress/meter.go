package compress

import (
	"sort"

	"github.com/pennyllm/penny/core/tokens"
)

// meter counts tokens with the real counter, piece by piece when that is
// provably exact.
//
// tiktoken's cl100k_base and o200k_base split text with a pre-tokenizer
// regex before BPE, and BPE never merges across its pieces. A position
// right after "\n" and before a printable ASCII byte other than "/" is
// always a piece boundary for both regexes. The piece holding the newline
// matched one of: a punctuation run " ?[^\s\p{L}\p{N}]+[\r\n/]*" (or
// "[\r\n]*" in cl100k), whose tail takes only "\r", "\n" and "/"; or a
// whitespace alternative ("\s*[\r\n]+", "\s+(?!\S)", "\s+"), which takes
// only whitespace. No other alternative can hold a newline (the optional
// prefix of a word excludes "\r\n"). Either way the piece ends before the
// printable byte. So count(a+b) == count(a)+count(b) when a ends with "\n"
// and b starts with such a byte, and a pass's output is counted by
// re-counting only the pieces its edits touched (countEdit).
// TestMeterExact checks this against whole-text counts. Estimating
// counters (Exact=false) round a scaled count, which does not add up, so
// they are counted whole.
type meter struct {
	c         tokens.Counter
	piecewise bool
	local     map[string]int // counts made during this call
	calls     int            // counter invocations, for the benchmark's attribution

	// The pieces of the last text counted whole or adopted: bnd[k] is
	// where piece k starts (bnd[0] == 0) and pre[k] the tokens before it,
	// pre[len(bnd)] the total. countEdit re-counts only the pieces that
	// edits touch and builds the next text's arrays in nbnd/npre.
	text       string
	bnd, pre   []int
	nbnd, npre []int
	ntext      string
}

func newMeter(counter tokens.Counter) *meter {
	m := new(meter)
	m.reset(counter)
	return m
}

// reset makes m a new meter for counter, keeping its map's and slices'
// memory (see scratch).
func (m *meter) reset(counter tokens.Counter) {
	probe := counter.Count("")
	local := m.local
	if local == nil {
		local = map[string]int{}
	}
	clear(local)
	*m = meter{c: counter, local: local, bnd: m.bnd[:0], pre: m.pre[:0], nbnd: m.nbnd[:0], npre: m.npre[:0]}
	m.piecewise = probe.Exact && (probe.Tokenizer == string(tokens.O200k) || probe.Tokenizer == string(tokens.Cl100k))
}

func (m *meter) count(s string) int {
	if !m.piecewise {
		m.calls++
		return m.c.Count(s).Tokens
	}
	total := 0
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i-1] == '\n' && pieceStart(s[i]) {
			total += m.piece(s[start:i])
			start = i
		}
	}
	return total + m.piece(s[start:])
}

// pieceStart reports whether a byte right after "\n" starts a tokenizer
// piece (see meter).
func pieceStart(c byte) bool { return c > ' ' && c < 0x7f && c != '/' }

// countText counts s and remembers its pieces, so that countEdit can
// count a pass's output from the pieces its edits touched.
func (m *meter) countText(s string) int {
	if !m.piecewise {
		return m.count(s)
	}
	var run int
	m.bnd, m.pre, run = m.split(s, 0, 0, m.bnd[:0], m.pre[:0])
	m.pre = append(m.pre, run)
	m.text = s
	return run
}

// split appends the pieces of s, which starts at offset off of its text
// with run tokens before it, to bnd and pre, and returns run plus the
// tokens of s.
func (m *meter) split(s string, off, run int, bnd, pre []int) ([]int, []int, int) {
	bnd = append(bnd, off)
	pre = append(pre, run)
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i-1] == '\n' && pieceStart(s[i]) {
			run += m.piece(s[start:i])
			start = i
			bnd = append(bnd, off+i)
			pre = append(pre, run)
		}
	}
	return bnd, pre, run + m.piece(s[start:])
}

// countEdit returns the tokens of out = apply(m.text, es) for sorted,
// non-overlapping edits, re-counting only the pieces the edits touch. A
// piece boundary b of the input stays a boundary of the output when no
// edit changes the bytes on either side of it (b-1 and b) or inserts
// between them, because the boundary rule only looks at those two bytes.
// The output's pieces are kept aside; adopt makes them current when the
// pass is kept.
func (m *meter) countEdit(out string, es []edit) int {
	if !m.piecewise || m.text == "" || len(es) == 0 {
		return m.countTextAside(out)
	}
	in := m.text
	nb, np := m.nbnd[:0], m.npre[:0]
	run := 0   // tokens of out before the current position
	pos := 0   // input position up to which pieces are copied
	delta := 0 // output offset minus input offset at pos
	k := 0     // index into m.bnd
	for i := 0; i < len(es); {
		// The dirty region starts at the last boundary strictly before
		// the first edit's start.
		a := es[i].start
		for k+1 < len(m.bnd) && m.bnd[k+1] < a {
			k++
		}
		L := m.bnd[k]
		if L < pos {
			L = pos
		}
		// Copy the clean pieces from pos to L.
		for j := m.pieceIndex(pos); j < len(m.bnd) && m.bnd[j] < L; j++ {
			nb = append(nb, m.bnd[j]+delta)
			np = append(np, run)
			run += m.pre[j+1] - m.pre[j]
		}
		// Extend over edits until a boundary follows an edit's end by at
		// least one untouched byte and precedes the next edit.
		j := i
		var R int
		for {
			e := es[j].end
			r := sort.SearchInts(m.bnd, e+1)
			R = len(in)
			if r < len(m.bnd) {
				R = m.bnd[r]
			}
			if j+1 < len(es) && es[j+1].start <= R {
				j++
				continue
			}
			break
		}
		// Output segment of the dirty input region [L, R).
		oa := L + delta
		for x := i; x <= j; x++ {
			delta += len(es[x].with) - (es[x].end - es[x].start)
		}
		nb, np, run = m.split(out[oa:R+delta], oa, run, nb, np)
		pos = R
		i = j + 1
	}
	for j := m.pieceIndex(pos); j < len(m.bnd); j++ {
		nb = append(nb, m.bnd[j]+delta)
		np = append(np, run)
		run += m.pre[j+1] - m.pre[j]
	}
	np = append(np, run)
	m.nbnd, m.npre, m.ntext = nb, np, out
	return run
}

// pieceIndex is the index of the piece starting at pos (a boundary).
func (m *meter) pieceIndex(pos int) int {
	return sort.SearchInts(m.bnd, pos)
}

// countTextAside counts s whole (piece by piece) and keeps its pieces
// aside for adopt.
func (m *meter) countTextAside(s string) int {
	if !m.piecewise {
		return m.count(s)
	}
	nb, np, run := m.split(s, 0, 0, m.nbnd[:0], m.npre[:0])
	m.nbnd, m.npre, m.ntext = nb, append(np, run), s
	return run
}

// adopt makes the pieces of the last countEdit's output current.
func (m *meter) adopt(out string) {
	if !m.piecewise || m.ntext != out {
		return
	}
	m.bnd, m.nbnd = m.nbnd, m.bnd
	m.pre, m.npre = m.npre, m.pre
	m.text, m.ntext = out, ""
}

func (m *meter) piece(p string) int {
	if p == "" {
		return 0
	}
	if n, ok := m.local[p]; ok {
		return n
	}
	m.calls++
	n := m.c.Count(p).Tokens
	m.local[p] = n
	return n
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
