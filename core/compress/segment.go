package compress

import (
	"encoding/json"
	"sort"
	"strings"
)

// lineKind classifies a line so that each pass knows what it may touch:
// prose is fair game, everything else is structure whose whitespace or
// wording carries meaning.
type lineKind uint8

const (
	kindProse  lineKind = iota
	kindBlank           // empty or whitespace only
	kindFence           // a fence marker or a line inside a fenced code block
	kindJSON            // part of a multi-line or standalone JSON value
	kindTable           // a Markdown/ASCII table row
	kindIndent          // indented code: indentation ≥ 4 columns beyond the document's base
)

type line struct {
	start, end int // byte range without the trailing "\n"
	kind       lineKind
	indent     int // bytes of leading spaces/tabs
	// drop is extra indentation (beyond the document's base) that the
	// whitespace pass may remove: set on indented blocks judged to be prose.
	drop int
	// encoded marks a line of a base64 body (MIME part, PEM block, PGP
	// armour): data, not words, numbers or names, so it holds no units.
	encoded bool
}

// jsonBlock is a JSON value found in the text, outside fences.
type jsonBlock struct {
	start, end int
}

// doc is the analysis of one pass's input that every pass shares.
type doc struct {
	text  string
	lines []line
	json  []jsonBlock
	base  string // common leading whitespace of non-blank lines outside fences
	// code holds the indented blocks judged to be code, blank lines inside
	// them included: the whole block is one protected unit, so no pass can
	// remove the part that made it look like code and flip the judgement
	// on the next run.
	code  []rng
	units []Unit         // protected units, sorted by Start
	prot  []rng          // merged protected ranges, sorted
	cache *analysisCache // the Compress call's, nil for a lone analysis
}

type rng struct{ start, end int }

func analyze(text string) *doc { return analyzeWith(text, nil) }

// analysisCache carries what one Compress call learns about lines and
// JSON values to its later analyses: a pass changes few lines, and the
// pipeline analyses the text again after every pass that changed it.
// The units of a line depend on its text alone (scanLine reads nothing
// outside it), and whether a value is valid JSON on the value alone.
type analysisCache struct {
	lines map[string]lineUnits
	store []lineUnit
	json  map[string]bool
	// dedupe's per-text figures: the normalised hash and the bigrams of
	// blocks and lines, most of which the next round sees unchanged.
	norm    map[string]normInfo
	grams   map[string][]uint64
	gramBuf []uint64
	// The slices of an analysis the pipeline no longer needs (release),
	// reused by the next one: an analysis allocates a few hundred
	// kilobytes for a 10,000-token prompt, and the collector's work grows
	// with that rate.
	spareLines []line
	spareProt  []rng
	spareUnits []Unit
}

// release hands d's slices to the next analysis of the call. d must not
// be used afterwards.
func (c *analysisCache) release(d *doc) {
	if c == nil || d == nil || d.cache != c {
		return
	}
	c.spareLines, c.spareProt, c.spareUnits = d.lines[:0], d.prot[:0], d.units[:0]
	d.lines, d.prot, d.units = nil, nil, nil
}

type normInfo struct {
	h        uint64
	n, words int
}

type lineUnits struct{ off, n int32 }

type lineUnit struct {
	kind string
	a, b int32 // relative to the line's start
}

func newAnalysisCache() *analysisCache {
	c := new(analysisCache)
	c.reset()
	return c
}

// reset empties c for a new call, keeping its maps' and buffers' memory
// (see scratch). The spare slices are empty by construction (release
// hands them over at length 0); whatever they hold is overwritten before
// it is read.
func (c *analysisCache) reset() {
	if c.lines == nil {
		// json is made on first use (setJSON): most prompts hold no JSON.
		c.lines, c.norm, c.grams = map[string]lineUnits{}, map[string]normInfo{}, map[string][]uint64{}
	}
	clear(c.lines)
	clear(c.json)
	clear(c.norm)
	clear(c.grams)
	c.store, c.gramBuf = c.store[:0], c.gramBuf[:0]
}

func analyzeWith(text string, c *analysisCache) *doc {
	d := &doc{text: text, cache: c}
	d.splitLines()
	d.classify()
	d.units = protectedUnits(d)
	var spare []rng
	if c != nil {
		spare, c.spareProt = c.spareProt, nil
	}
	d.prot = mergeRanges(spare, d.units)
	return d
}

// normOf is normHash, remembered per call when there is a cache.
func (d *doc) normOf(txt string) (uint64, int, int) {
	if d.cache == nil {
		return normHash(txt)
	}
	ni, ok := d.cache.norm[txt]
	if !ok {
		ni.h, ni.n, ni.words = normHash(txt)
		d.cache.norm[txt] = ni
	}
	return ni.h, ni.n, ni.words
}

// bigramsOf is bigramsInto, remembered per call when there is a cache;
// buf serves the calls without one.
func (d *doc) bigramsOf(buf []uint64, txt string) ([]uint64, []uint64) {
	if d.cache == nil {
		return bigramsInto(buf, txt)
	}
	g, ok := d.cache.grams[txt]
	if !ok {
		g, d.cache.gramBuf = bigramsInto(d.cache.gramBuf, txt)
		d.cache.grams[txt] = g
	}
	return g, buf
}

// validJSON is json.Valid, remembered per call when there is a cache.
func (d *doc) validJSON(v string) bool {
	if d.cache == nil {
		return json.Valid([]byte(v))
	}
	ok, seen := d.cache.json[v]
	if !seen {
		ok = json.Valid([]byte(v))
		d.cache.setJSON(v, ok)
	}
	return ok
}

// setJSON remembers whether v is valid JSON.
func (c *analysisCache) setJSON(v string, ok bool) {
	if c.json == nil {
		c.json = map[string]bool{}
	}
	c.json[v] = ok
}

func (d *doc) splitLines() {
	s := d.text
	n := strings.Count(s, "\n") + 1
	if c := d.cache; c != nil && cap(c.spareLines) >= n {
		d.lines, c.spareLines = c.spareLines[:0], nil
	} else {
		d.lines = make([]line, 0, n)
	}
	start := 0
	for start <= len(s) {
		i := strings.IndexByte(s[start:], '\n')
		end := len(s)
		if i >= 0 {
			end = start + i
		}
		d.lines = append(d.lines, line{start: start, end: end, indent: leadingWS(s[start:end])})
		if i < 0 {
			break
		}
		start = end + 1
	}
}

func leadingWS(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func (d *doc) lineText(i int) string { return d.text[d.lines[i].start:d.lines[i].end] }

// fenceMarker reports whether a line opens or closes a fenced code block and
// returns the marker character and its length.
func fenceMarker(l string) (byte, int) {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0
	}
	c := t[0]
	n := 0
	for n < len(t) && t[n] == c {
		n++
	}
	if n < 3 {
		return 0, 0
	}
	return c, n
}

func (d *doc) classify() {
	// Fences first: nothing inside them is looked at again.
	inFence := false
	var fc byte
	var fn int
	for i := range d.lines {
		l := d.lineText(i)
		if inFence {
			d.lines[i].kind = kindFence
			if c, n := fenceMarker(l); c == fc && n >= fn && strings.TrimSpace(strings.TrimLeft(l, string(c))) == "" {
				inFence = false
			}
			continue
		}
		if c, n := fenceMarker(l); c != 0 {
			inFence, fc, fn = true, c, n
			d.lines[i].kind = kindFence
			continue
		}
		switch t := strings.TrimSpace(l); {
		case t == "":
			d.lines[i].kind = kindBlank
		case t[0] == '|' || (strings.Count(t, "|") >= 2 && strings.HasPrefix(t, "+-")):
			d.lines[i].kind = kindTable
		default:
			d.lines[i].kind = kindProse
		}
	}
	// Common indentation of everything outside fences (textwrap.dedent): a
	// prompt pasted from an indented string literal is prose, not code.
	first := true
	for i, l := range d.lines {
		if l.kind == kindFence || l.kind == kindBlank {
			continue
		}
		ws := d.text[l.start : l.start+l.indent]
		if first {
			d.base, first = ws, false
			continue
		}
		d.base = commonPrefix(d.base, ws)
		_ = i
	}
	d.findJSON()
	folded := d.foldedHeaders()
	for i, l := range d.lines {
		if l.kind != kindProse || folded[i] {
			continue
		}
		extra := d.text[l.start+len(d.base) : l.start+l.indent]
		if strings.HasPrefix(extra, "\t") || strings.HasPrefix(extra, "    ") {
			d.lines[i].kind = kindIndent
		}
	}
	d.indentedProse()
	d.encodedRuns()
}

// foldedHeaders marks the indented continuation lines of header blocks
// (RFC 5322 mail headers, HTTP headers): a paragraph that opens with a
// "Name: value" field, holds at least two of them, and whose other lines
// are all indented. Folding indents a long field value, which would
// otherwise read as indented code ("for <a@b.org>; Thu, 22 Aug 2002"), and
// freeze the most repetitive part of a pasted e-mail. A single "Output:"
// label above an indented snippet is not a header block.
func (d *doc) foldedHeaders() []bool {
	var out []bool
	for i := 0; i < len(d.lines); {
		if d.lines[i].kind != kindProse || d.lines[i].indent > len(d.base) || !headerField(d.lineText(i)[d.lines[i].indent:]) {
			i++
			continue
		}
		fields, j := 0, i
		ok := true
		for ; j < len(d.lines) && d.lines[j].kind == kindProse; j++ {
			t := d.lineText(j)
			if d.lines[j].indent > len(d.base) {
				// A folded value may end with ";" before its next
				// parameter; anything else code-like is code.
				if codeLike(strings.TrimSuffix(strings.TrimSpace(t), ";")) {
					ok = false
					break
				}
				continue
			}
			if !headerField(t[d.lines[j].indent:]) {
				ok = false
				break
			}
			fields++
		}
		if ok && fields >= 2 {
			if out == nil {
				out = make([]bool, len(d.lines))
			}
			for k := i; k < j; k++ {
				out[k] = d.lines[k].indent > len(d.base)
			}
		}
		i = max(j, i+1)
	}
	if out == nil {
		return make([]bool, len(d.lines))
	}
	return out
}

// headerField recognises "Name: value" with an RFC 5322 field name (no
// spaces), or the mbox "From " separator line that precedes mail headers.
func headerField(l string) bool {
	if strings.HasPrefix(l, "From ") {
		return true
	}
	k := strings.IndexByte(l, ':')
	if k <= 0 || k > 40 || (k+1 < len(l) && l[k+1] != ' ' && l[k+1] != '\t') {
		return false
	}
	for i := 0; i < k; i++ {
		c := l[i]
		if !(isASCIIAlnum(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// indentedProse turns indented blocks that hold no code back into prose. A
// system prompt pasted from an indented string literal ("SYSTEM:\n    You
// are…") is the common case; Markdown would call it code, but treating it
// as code would freeze the most repetitive part of agent prompts. A single
// line that looks like code keeps the whole block as code.
func (d *doc) indentedProse() {
	for i := 0; i < len(d.lines); {
		if d.lines[i].kind != kindIndent {
			i++
			continue
		}
		j, last := i, i
		code, uniform := false, true
		common := ""
		for k := i; k < len(d.lines); k++ {
			kk := d.lines[k].kind
			if kk == kindBlank {
				continue
			}
			if kk != kindIndent {
				break
			}
			l := d.lineText(k)
			if t := strings.TrimSpace(l); !markupLine(t) { // see markupLine
				code = code || codeLike(t)
			}
			ws := l[len(d.base):d.lines[k].indent]
			if k == i {
				common = ws
			} else {
				uniform = uniform && ws == common
				common = commonPrefix(common, ws)
			}
			last = k
		}
		j = last
		if code {
			d.code = append(d.code, rng{d.lines[i].start, d.lines[j].end})
		} else {
			// Strip the block's own indentation only when it stands alone
			// (after a blank line or at the start: right under a list item
			// the indentation nests it) and is uniform (stripping a common
			// part of uneven indentation would expose a new indented block
			// to the next run, breaking idempotence).
			standalone := (i == 0 || d.lines[i-1].kind == kindBlank) && uniform
			for k := i; k <= j; k++ {
				if d.lines[k].kind == kindIndent {
					d.lines[k].kind = kindProse
					if standalone {
						d.lines[k].drop = len(common)
					}
				}
			}
		}
		i = j + 1
	}
}

// encodedMin is the shortest full line of a base64 body. Encoders wrap
// at 60–76 characters (RFC 2045 allows up to 76, PEM uses 64); a shorter
// alphanumeric line is more likely an identifier.
const encodedMin = 40

// encodedRuns marks base64 bodies: two or more consecutive prose lines of
// base64 characters only, the first at least encodedMin long, each mixing
// upper case, lower case and digits (which hex digests and words do not),
// all as long as the first except the last. A single such line may be a
// key or a token someone asks about, so it stays a unit.
func (d *doc) encodedRuns() {
	for i := 0; i < len(d.lines); {
		n := d.b64Len(i)
		if n < encodedMin {
			i++
			continue
		}
		j := i + 1
		for j < len(d.lines) {
			m := d.b64Len(j)
			if m == 0 || m > n {
				break
			}
			j++
			if m < n {
				break
			}
		}
		if j-i >= 2 {
			for k := i; k < j; k++ {
				d.lines[k].encoded = true
			}
		}
		i = j
	}
}

// b64Len is the length of line i when it is a plain prose line of base64
// characters (trailing "=" padding allowed) mixing upper case, lower case
// and digits, else 0.
func (d *doc) b64Len(i int) int {
	l := d.lines[i]
	if l.kind != kindProse || l.indent > len(d.base) {
		return 0
	}
	t := d.text[l.start+l.indent : l.end]
	t = strings.TrimSuffix(t, "\r")
	body := strings.TrimRight(t, "=")
	if len(t)-len(body) > 2 || body == "" {
		return 0
	}
	var up, low, dig bool
	for k := 0; k < len(body); k++ {
		switch c := body[k]; {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			low = true
		case c >= '0' && c <= '9':
			dig = true
		case c == '+' || c == '/':
		default:
			return 0
		}
	}
	if !(up && low && dig) {
		return 0
	}
	return len(t)
}

// markupLine reports whether a trimmed line is HTML or XML tags only
// ("<td width=\"10\">", "</tr>"). Markup alone does not make an indented
// block code: the same markup at the left margin is prose with its URLs,
// quoted values and numbers protected one by one, and indenting an HTML
// mail body must not freeze it whole. Script or style inside the block
// ("function f() {", "a { color: red }") still makes it code.
func markupLine(t string) bool {
	return len(t) >= 2 && t[0] == '<' && t[len(t)-1] == '>' && !strings.ContainsAny(t, "{}")
}

// codeLike reports whether a trimmed line looks like source code rather
// than prose. It errs towards code: a false "code" only costs savings.
func codeLike(t string) bool {
	for _, p := range []string{"//", "#!", "#include", "def ", "func ", "class ", "import ", "package ",
		"return ", "return;", "SELECT ", "select ", "var ", "let ", "const ", "if (", "for (", "while (", "</", "<?"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	// A semicolon ends statements and declarations at the end of a line;
	// inside a line it is usually prose punctuation ("see below; then").
	// Likewise "):" ends a Python or Go header line, not "Links (4): text".
	if strings.HasSuffix(t, ";") || strings.HasSuffix(t, "):") {
		return true
	}
	for _, p := range []string{"{", "}", " = ", "==", "=>", "->", "()", "[]", ":=", "&&", "||"} {
		if strings.Contains(t, p) {
			return true
		}
	}
	return false
}

func commonPrefix(a, b string) string {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return a[:i]
}

// findJSON marks JSON values that start a line (optionally after a short
// label such as "Context:") and end a line. They must parse; a near-JSON
// JavaScript object stays prose or indented code.
func (d *doc) findJSON() {
	s := d.text
	for i := 0; i < len(d.lines); i++ {
		l := d.lines[i]
		if l.kind != kindProse && l.kind != kindTable {
			continue
		}
		lt := s[l.start:l.end]
		j := strings.IndexAny(lt, "{[")
		if j < 0 {
			continue
		}
		pre := strings.TrimSpace(lt[:j])
		if pre != "" && !strings.HasSuffix(pre, ":") && !strings.HasSuffix(pre, "=") {
			continue
		}
		start := l.start + j
		end := matchJSON(s, start)
		if end < 0 {
			continue
		}
		// The value must end its line.
		rest := end
		for rest < len(s) && (s[rest] == ' ' || s[rest] == '\t' || s[rest] == '\r') {
			rest++
		}
		if rest < len(s) && s[rest] != '\n' {
			continue
		}
		if end-start < 2 || !d.validJSON(s[start:end]) {
			continue
		}
		// A fenced block inside a JSON candidate cannot happen: matchJSON
		// stops at fences because backticks are not JSON.
		k := i
		for k < len(d.lines) && d.lines[k].start < end {
			if d.lines[k].kind == kindFence {
				break
			}
			k++
		}
		if k < len(d.lines) && d.lines[k].start < end {
			continue
		}
		d.json = append(d.json, jsonBlock{start: start, end: end})
		for m := i; m < k; m++ {
			if m > i || pre == "" {
				d.lines[m].kind = kindJSON
			}
		}
		i = k - 1
	}
}

// matchJSON returns the end of the bracketed value starting at s[start], or
// -1. It only balances brackets outside strings; json.Valid decides.
func matchJSON(s string, start int) int {
	depth := 0
	inStr := false
	for i := start; i < len(s); i++ {
		c := s[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			case '\n':
				return -1
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '`':
			return -1
		}
	}
	return -1
}

// mergeRanges turns the (possibly overlapping) units into sorted disjoint
// ranges.
func mergeRanges(buf []rng, units []Unit) []rng {
	out := buf[:0]
	if cap(out) < len(units) {
		out = make([]rng, 0, len(units))
	}
	for _, u := range units {
		if n := len(out); n > 0 && u.Start <= out[n-1].end {
			if u.End > out[n-1].end {
				out[n-1].end = u.End
			}
			continue
		}
		out = append(out, rng{u.Start, u.End})
	}
	return out
}

// overlapsProt reports whether [start,end) touches a protected range. An
// empty range (an insertion) counts when strictly inside one.
func (d *doc) overlapsProt(start, end int) bool {
	lo, hi := 0, len(d.prot)
	for lo < hi {
		m := (lo + hi) / 2
		if d.prot[m].end <= start {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo >= len(d.prot) {
		return false
	}
	r := d.prot[lo]
	if start == end {
		return r.start < start && start < r.end
	}
	return r.start < end && start < r.end
}

// insideProt reports whether [start,end) lies within one protected range.
func (d *doc) insideProt(start, end int) bool {
	i := sort.Search(len(d.prot), func(k int) bool { return d.prot[k].end >= end })
	return i < len(d.prot) && d.prot[i].start <= start
}

// paragraph is a run of consecutive prose lines.
type paragraph struct {
	first, last int // line indexes, inclusive
	start, end  int // byte range, end excludes the final newline
}

// paragraphs returns the runs of lines of one kind class separated by blank
// lines or by a change of kind. Only prose runs are returned when proseOnly.
func (d *doc) paragraphs(proseOnly bool) []paragraph {
	var out []paragraph
	for i := 0; i < len(d.lines); {
		k := d.lines[i].kind
		if k == kindBlank || (proseOnly && k != kindProse) {
			i++
			continue
		}
		j := i
		for j+1 < len(d.lines) && d.lines[j+1].kind == k {
			j++
		}
		out = append(out, paragraph{first: i, last: j, start: d.lines[i].start, end: d.lines[j].end})
		i = j + 1
	}
	return out
}

// removalEnd extends a removal of [start,end) over the line break and blank
// lines that follow, so that removing a block leaves the surrounding
// structure as it was (and the whitespace pass has nothing new to do).
func (d *doc) blockRemoval(start, end int) (int, int) {
	s := d.text
	e := end
	for e < len(s) && (s[e] == ' ' || s[e] == '\t' || s[e] == '\r') {
		e++
	}
	if e < len(s) && s[e] == '\n' {
		e++
		// Swallow one following blank line only when a blank line also
		// precedes the block, so that exactly one separator remains.
		if start >= 2 && s[start-1] == '\n' && s[start-2] == '\n' {
			k := e
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r') {
				k++
			}
			if k < len(s) && s[k] == '\n' {
				e = k + 1
			}
		}
		return start, e
	}
	// Last block of the text: remove the separator before it instead.
	b := start
	for b > 0 && (s[b-1] == '\n' || s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\r') {
		b--
	}
	return b, e
}
