package compress

import (
	"github.com/pennyllm/penny/core/tokens"
)

// meter counts tokens with the real counter, piece by piece when that is
// provably exact.
//
// tiktoken's cl100k_base and o200k_base split text with a pre-tokenizer
// regex before BPE, and BPE never merges across its pieces. A position
// right after "\n" and before an ASCII letter or digit is always a piece
// boundary for both regexes: the newline is consumed by `\s*[\r\n]+` (or by
// the trailing `[\r\n/]*` of a punctuation run), and no alternative that
// matches a letter or digit may start with a newline. So
// count(a+b) == count(a)+count(b) when a ends with "\n" and b starts with
// [A-Za-z0-9], and a pass's output can be counted by re-counting only the
// lines that changed. TestMeterExact checks this against whole-text counts.
// Estimating counters (Exact=false) round a scaled count, which does not
// add up, so they are counted whole.
type meter struct {
	c         tokens.Counter
	name      string
	piecewise bool
	local     map[string]int // counts made during this call
	owner     *Compressor    // holds the cross-call memo; nil for none
	calls     int            // counter invocations, for the benchmark's attribution
}

func (c *Compressor) newMeter(counter tokens.Counter) *meter {
	probe := counter.Count("")
	m := &meter{c: counter, name: probe.Tokenizer, local: map[string]int{}}
	m.piecewise = probe.Exact && (probe.Tokenizer == string(tokens.O200k) || probe.Tokenizer == string(tokens.Cl100k))
	if m.piecewise {
		m.owner = c
	}
	return m
}

// keep merges the counts of one call into the compressor's memo.
func (c *Compressor) keep(m *meter) {
	if !m.piecewise || len(m.local) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.memo)+len(m.local) > memoLimit {
		c.memo = make(map[memoKey]int, len(m.local))
	}
	for k, v := range m.local {
		c.memo[memoKey{m.name, k}] = v
	}
}

func (m *meter) count(s string) int {
	if !m.piecewise {
		m.calls++
		return m.c.Count(s).Tokens
	}
	total := 0
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i-1] == '\n' && isASCIIAlnum(s[i]) {
			total += m.piece(s[start:i])
			start = i
		}
	}
	return total + m.piece(s[start:])
}

func (m *meter) piece(p string) int {
	if p == "" {
		return 0
	}
	if n, ok := m.local[p]; ok {
		return n
	}
	if m.owner != nil {
		m.owner.mu.Lock()
		n, ok := m.owner.memo[memoKey{m.name, p}]
		m.owner.mu.Unlock()
		if ok {
			m.local[p] = n
			return n
		}
	}
	m.calls++
	n := m.c.Count(p).Tokens
	m.local[p] = n
	return n
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
