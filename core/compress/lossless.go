package compress

import (
	"context"
	"slices"
	"strings"
)

// whitespacePass removes whitespace that carries no meaning: trailing
// spaces, runs of blank lines, runs of spaces inside prose lines, the
// indentation common to the whole prompt, and blank lines at both ends.
// Fenced code is not touched; indented code and tables only lose trailing
// spaces and the common indentation (their relative layout stays).
func whitespacePass(_ context.Context, d *doc, _ *state) ([]edit, error) {
	s := d.text
	var es []edit
	base := len(d.base)
	lines := d.lines
	// The common indentation goes from every line or from none: stripping
	// it where no unit covers it and keeping it on a protected line (code,
	// a multi-line question) would leave the lines a new common prefix,
	// and the next run would strip that too.
	if base > 0 {
		for _, l := range lines {
			if l.kind != kindFence && l.kind != kindBlank && d.overlapsProt(l.start, l.start+base) {
				base = 0
				break
			}
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch l.kind {
		case kindFence:
			continue
		case kindBlank:
			j := i
			for j+1 < len(lines) && lines[j+1].kind == kindBlank {
				j++
			}
			switch {
			case i == 0 && j == len(lines)-1:
				es = append(es, edit{start: 0, end: len(s)})
			case i == 0:
				es = append(es, edit{start: 0, end: lines[j+1].start})
			case j == len(lines)-1:
				es = append(es, edit{start: lines[i-1].end, end: len(s)})
			case j > i || l.end > l.start:
				es = append(es, edit{start: l.start, end: lines[j].end})
			}
			i = j
			continue
		}
		if base+l.drop > 0 {
			// When the common indentation stays, only the block's own
			// (l.drop, beyond it) goes.
			from := l.start + len(d.base) - base
			es = append(es, edit{start: from, end: l.start + len(d.base) + l.drop})
		}
		// Trailing spaces and tabs (a final "\r" of CRLF text stays).
		e := l.end
		if e > l.start && s[e-1] == '\r' {
			e--
		}
		t := e
		for t > l.start+l.indent && (s[t-1] == ' ' || s[t-1] == '\t') {
			t--
		}
		if l.kind == kindProse || l.kind == kindJSON {
			es = appendSpaceRuns(es, s, l.start+l.indent, t)
		}
		if t < e && t >= l.start+l.indent {
			es = append(es, edit{start: t, end: e})
		}
	}
	return es, nil
}

// appendSpaceRuns replaces each run of two or more spaces/tabs in s[a:b]
// with a single space.
func appendSpaceRuns(es []edit, s string, a, b int) []edit {
	for i := a; i < b; i++ {
		if s[i] != ' ' && s[i] != '\t' {
			continue
		}
		j := i + 1
		for j < b && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j-i >= 2 || s[i] == '\t' {
			es = append(es, edit{start: i, end: j, with: " "})
		}
		i = j - 1
	}
	return es
}

// jsonPass minifies JSON values that parse: it removes the whitespace
// between JSON tokens and nothing else, so every key, string and number
// keeps its exact bytes (the effect of encoding/json.Compact, but as
// edits the guard and the UI can see).
func jsonPass(_ context.Context, d *doc, _ *state) ([]edit, error) {
	s := d.text
	n := 0
	for _, b := range d.json {
		// Pretty-printed JSON has about two whitespace runs a line.
		n += 2 * (strings.Count(s[b.start:b.end], "\n") + 1)
	}
	es := make([]edit, 0, n)
	for _, b := range d.json {
		first := len(es)
		inStr := false
		for i := b.start; i < b.end; i++ {
			c := s[i]
			if inStr {
				switch c {
				case '\\':
					i++
				case '"':
					inStr = false
				}
				continue
			}
			if c == '"' {
				inStr = true
				continue
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				j := i + 1
				for j < b.end && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
					j++
				}
				es = append(es, edit{start: i, end: j})
				i = j - 1
			}
		}
		if c := d.cache; c != nil && len(es) > first {
			// The compact form of a valid value is valid: tell the next
			// analysis, which would otherwise validate it again (when the
			// guard keeps every edit, the text is exactly this).
			c.setJSON(applyIn(s, b.start, b.end, es[first:]), true)
		}
	}
	return es, nil
}

// applyIn is apply(s, es)[a:b'] for sorted edits inside s[a:b]: the
// edited text of that range alone.
func applyIn(s string, a, b int, es []edit) string {
	var sb strings.Builder
	sb.Grow(b - a)
	pos := a
	for _, e := range es {
		sb.WriteString(s[pos:e.start])
		sb.WriteString(e.with)
		pos = e.end
	}
	sb.WriteString(s[pos:b])
	return sb.String()
}

// dedupePass removes repeated material, keeping the first occurrence:
// whole blocks (paragraphs, examples, JSON, code) that are equal after
// normalising case and whitespace, then repeated lines inside prose, then
// near-duplicate paragraphs (word-bigram Jaccard ≥ threshold). Every
// removal is a dup edit: the guard keeps it only if each protected unit it
// covers is still present elsewhere.
func dedupePass(d *doc, threshold float64) []edit {
	s := d.text
	q, hasQ := finalQuestion(d)
	blocks := examples(d)
	removed := make([]bool, len(blocks))
	var es []edit
	// Keys are hashes of the normalised text, confirmed by comparing the
	// texts: building a normalised copy of every block and line cost an
	// allocation each.
	seen := make(map[uint64]int, len(blocks))
	for i, b := range blocks {
		if hasQ && b.end > q.start && b.start < q.end {
			continue
		}
		txt := s[b.keyStart:b.end]
		h, _, nw := d.normOf(txt)
		if nw < 4 {
			continue
		}
		if k, ok := seen[h]; ok {
			if normEqual(txt, s[blocks[k].keyStart:blocks[k].end]) {
				removed[i] = true
				a, e := d.blockRemoval(b.start, b.end)
				es = append(es, edit{start: a, end: e, dup: true})
			}
			continue
		}
		seen[h] = i
	}
	// Near duplicates among the remaining blocks.
	if threshold > 0 {
		type sig struct {
			i     int
			grams []uint64
		}
		var kept []sig
		var buf []uint64 // one backing array for every block's bigrams
		for i, b := range blocks {
			if removed[i] {
				continue
			}
			var g []uint64
			g, buf = d.bigramsOf(buf, s[b.keyStart:b.end])
			if len(g) < 8 {
				continue
			}
			inQ := hasQ && b.end > q.start && b.start < q.end
			dup := false
			for _, k := range kept {
				n, m := len(g), len(k.grams)
				if float64(min(n, m)) < threshold*float64(max(n, m)) {
					continue // Jaccard ≤ min/max can't reach the threshold
				}
				if jaccard(g, k.grams) >= threshold {
					dup = true
					break
				}
			}
			if dup && !inQ {
				removed[i] = true
				a, e := d.blockRemoval(b.start, b.end)
				es = append(es, edit{start: a, end: e, dup: true})
				continue
			}
			kept = append(kept, sig{i, g})
		}
	}
	// Repeated lines inside prose that survived as blocks.
	seenLine := map[uint64]rng{}
	for i, b := range blocks {
		if removed[i] || b.keyStart != b.start {
			// Examples are compared whole: removing their lines one by one
			// would leave a header with half a body.
			continue
		}
		for li := b.firstLine; li <= b.lastLine; li++ {
			l := d.lines[li]
			if l.kind != kindProse {
				continue
			}
			txt := s[l.start:l.end]
			h, n, nw := d.normOf(txt)
			if n < 20 || nw < 4 {
				continue
			}
			if r, ok := seenLine[h]; ok {
				if !normEqual(txt, s[r.start:r.end]) {
					continue
				}
				if hasQ && l.end > q.start && l.start < q.end {
					continue
				}
				// Remove the line and its newline; a last line takes the
				// newline before it instead.
				if l.end < len(s) {
					es = append(es, edit{start: l.start, end: l.end + 1, dup: true})
				} else if l.start > 0 && li > b.firstLine {
					es = append(es, edit{start: l.start - 1, end: l.end, dup: true})
				}
				continue
			}
			seenLine[h] = rng{l.start, l.end}
		}
	}
	return es
}

// block is a unit of deduplication and of budget dropping: a paragraph, or
// a few-shot example spanning several paragraphs.
type block struct {
	start, end          int
	keyStart            int // where the comparable content starts (after "Example 3:")
	firstLine, lastLine int
}

// examples groups paragraphs into blocks. A line such as "Example 2:",
// "### Example", "Sample 3)" starts an example that runs until the next
// such header or the next non-prose block; everything else is one block per
// paragraph. The header's number is left out of the comparison so that
// "Example 1" and "Example 4" with the same body are duplicates.
func examples(d *doc) []block {
	ps := d.paragraphs(false)
	var out []block
	for i := 0; i < len(ps); i++ {
		p := ps[i]
		hdr, ks := exampleHeader(d.text[p.start:d.lines[p.first].end])
		if !hdr || d.lines[p.first].kind != kindProse {
			out = append(out, block{start: p.start, end: p.end, keyStart: p.start, firstLine: p.first, lastLine: p.last})
			continue
		}
		j := i
		// Only a header standing alone ("Example 2:" then a blank line)
		// opens a multi-paragraph example; it runs to the next header or
		// heading-like line.
		for p.first == p.last && j+1 < len(ps) {
			n := ps[j+1]
			first := strings.TrimSpace(d.text[n.start:d.lines[n.first].end])
			if h, _ := exampleHeader(first); h {
				break
			}
			if d.lines[n.first].kind != kindProse && d.lines[n.first].kind != kindJSON && d.lines[n.first].kind != kindFence {
				break
			}
			if strings.HasPrefix(first, "#") || strings.HasPrefix(first, "---") || strings.HasPrefix(first, "===") || strings.HasPrefix(first, "<|") {
				break
			}
			j++
		}
		out = append(out, block{start: p.start, end: ps[j].end, keyStart: p.start + ks, firstLine: p.first, lastLine: ps[j].last})
		i = j
	}
	return out
}

// exampleHeader recognises "Example 3:", "## Example", "Sample #2 -", and
// returns where the content after the header (and its number) starts.
func exampleHeader(l string) (bool, int) {
	t := strings.TrimLeft(l, " \t#*")
	off := len(l) - len(t)
	for _, w := range []string{"example", "sample", "shot"} {
		// Compared in place: lower-casing every paragraph's first line
		// cost an allocation each.
		if !hasPrefixASCIIFold(t, w) {
			continue
		}
		i := len(w)
		for i < len(t) && (t[i] == ' ' || t[i] == '#' || t[i] >= '0' && t[i] <= '9') {
			i++
		}
		if i < len(t) && (t[i] == ':' || t[i] == '.' || t[i] == ')' || t[i] == '-') {
			i++
		} else if i != len(t) && strings.TrimRight(t[i:], "* ") != "" {
			return false, 0
		}
		return true, off + i
	}
	return false, 0
}

// hasPrefixASCIIFold reports whether s starts with the lower-case ASCII
// word w, ignoring ASCII case (as strings.ToLower then HasPrefix did for
// an ASCII w).
func hasPrefixASCIIFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// normReader walks a text as normKey would write it: ASCII case folded,
// whitespace runs collapsed to one space, none at either end.
type normReader struct {
	s       string
	i       int
	space   bool // a space is due before the next byte
	emitted bool
}

func (r *normReader) next() (byte, bool) {
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			r.space = r.emitted
			r.i++
			continue
		}
		if r.space {
			r.space = false // c is emitted on the next call
			return ' ', true
		}
		r.i++
		r.emitted = true
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		return c, true
	}
	return 0, false
}

// normHash is the FNV-1a hash of the normalised text ("exact after
// normalisation": case folded, whitespace collapsed), its length and its
// word count, without building the normalised copy.
func normHash(s string) (h uint64, n, words int) {
	const offset, prime = 14695981039346656037, 1099511628211
	h = offset
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			pending = n > 0
			continue
		}
		if pending {
			h = (h ^ ' ') * prime
			n++
			words++
			pending = false
		}
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		h = (h ^ uint64(c)) * prime
		n++
	}
	if n > 0 {
		words++
	}
	return h, n, words
}

// normEqual reports whether a and b are equal after normalisation.
func normEqual(a, b string) bool {
	ra, rb := normReader{s: a}, normReader{s: b}
	for {
		x, okA := ra.next()
		y, okB := rb.next()
		if okA != okB || x != y {
			return false
		}
		if !okA {
			return true
		}
	}
}

// bigramsInto appends to buf the sorted, distinct hashes of consecutive
// word pairs of s, case-folded (ASCII), and returns them and the grown
// buffer; one buffer serves every block of a prompt.
func bigramsInto(buf []uint64, s string) (g, rest []uint64) {
	const offset, prime = 14695981039346656037, 1099511628211
	// Room for every bigram up front (words − 1; a word starts after
	// whitespace): one allocation at most instead of append's doublings.
	words, inWord := 0, false
	for i := 0; i < len(s); i++ {
		ws := s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'
		if !ws && !inWord {
			words++
		}
		inWord = !ws
	}
	buf = slices.Grow(buf, max(words-1, 0))
	start := len(buf)
	var prev uint64
	havePrev := false
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			break
		}
		h := uint64(offset)
		for i < len(s) && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r' {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 32
			}
			h = (h ^ uint64(c)) * prime
			i++
		}
		if havePrev {
			buf = append(buf, (prev*31+h)*prime)
		}
		prev, havePrev = h, true
	}
	out := buf[start:]
	slices.Sort(out)
	u := out[:0]
	for i, v := range out {
		if i == 0 || v != out[i-1] {
			u = append(u, v)
		}
	}
	buf = buf[:start+len(u)]
	return buf[start:len(buf):len(buf)], buf
}

func jaccard(a, b []uint64) float64 {
	i, j, inter := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}
