package compress

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unit kinds: what no pass may alter.
const (
	UnitCode     = "code"     // fenced or indented code block
	UnitInline   = "inline"   // `inline code`
	UnitURL      = "url"      // http(s)://…, www.…
	UnitEmail    = "email"    // name@example.com
	UnitNumber   = "number"   // 42, 3.5 GB, $1,200, 2026-07-24, v1.2.3
	UnitQuoted   = "quoted"   // "…", “…”, '…'
	UnitEntity   = "entity"   // capitalised multi-word names, ACRONYMS
	UnitQuestion = "question" // the final question or instruction
)

// Unit is one protected span of a text.
type Unit struct {
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Protected returns the protected units of text, sorted by start. Units may
// overlap (a URL inside a quoted string is both).
func Protected(text string) []Unit {
	return analyze(text).units
}

// Check is the outcome of comparing a compressed text with its original.
type Check struct {
	Units   int    `json:"units"`             // distinct protected unit texts in the original
	Kept    int    `json:"kept"`              // of those, found verbatim in the output
	Missing []Unit `json:"missing,omitempty"` // first occurrence of each lost unit
}

// Ratio is Kept/Units, 1 when there is nothing to protect.
func (c Check) Ratio() float64 {
	if c.Units == 0 {
		return 1
	}
	return float64(c.Kept) / float64(c.Units)
}

// CheckProtected verifies that every protected unit of before appears
// verbatim in after. Duplicated units count once: removing a duplicate
// paragraph keeps the value, which is what protection promises.
func CheckProtected(before, after string) Check {
	return checkUnits(Protected(before), after)
}

func checkUnits(units []Unit, after string) Check {
	seen := make(map[string]bool, len(units))
	var c Check
	for _, u := range units {
		if seen[u.Text] {
			continue
		}
		seen[u.Text] = true
		c.Units++
		if strings.Contains(after, u.Text) {
			c.Kept++
		} else {
			c.Missing = append(c.Missing, u)
		}
	}
	return c
}

func protectedUnits(d *doc) []Unit {
	s := d.text
	// Code blocks and the question go to extra, the line units to us: a
	// scan adds the latter in order of Start, so merging the two sorted
	// lists replaces a stable sort of every unit (a fifth of the time of
	// an analysis on a 10,000-token prompt).
	var extra []Unit
	add := func(kind string, a, b int) {
		if b > a {
			extra = append(extra, Unit{Kind: kind, Text: s[a:b], Start: a, End: b})
		}
	}
	// Code blocks: fenced and indented, whole.
	for i := 0; i < len(d.lines); {
		if d.lines[i].kind != kindFence {
			i++
			continue
		}
		j := i
		for j+1 < len(d.lines) && d.lines[j+1].kind == kindFence {
			j++
		}
		// A closing fence directly followed by a new fence is two blocks,
		// but protecting them together is equally safe.
		add(UnitCode, d.lines[i].start, d.lines[j].end)
		i = j + 1
	}
	for _, r := range d.code {
		add(UnitCode, r.start, r.end)
	}
	var us []Unit
	addLine := func(kind string, a, b int) {
		if b > a {
			us = append(us, Unit{Kind: kind, Text: s[a:b], Start: a, End: b})
		}
	}
	if c := d.cache; c != nil {
		us = cachedLineUnits(d, c, len(extra)+1)
	} else {
		us = make([]Unit, 0, len(s)/24+4)
		for _, l := range d.lines {
			if scanned(l) {
				scanLine(s, l.start, l.end, addLine)
			}
		}
	}
	if q, ok := finalQuestion(d); ok {
		add(UnitQuestion, q.start, q.end)
	}
	byStart := func(a, b Unit) int { return cmp.Compare(a.Start, b.Start) }
	if !slices.IsSortedFunc(us, byStart) {
		slices.SortStableFunc(us, byStart) // not expected; keeps the contract
	}
	if len(extra) == 0 {
		return us
	}
	slices.SortStableFunc(extra, byStart)
	// Merge in place from the back; on equal starts a code block (added
	// first) precedes line units and the question (added last) follows
	// them, as a stable sort of code, lines, question would order them.
	i, k := len(us)-1, len(us)+len(extra)-1
	us = append(us, extra...)
	for j := len(extra) - 1; j >= 0; k-- {
		e := extra[j]
		if i >= 0 && (us[i].Start > e.Start || us[i].Start == e.Start && e.Kind != UnitQuestion) {
			us[k] = us[i]
			i--
			continue
		}
		us[k] = e
		j--
	}
	return us
}

// scanned reports whether a line's inline units are looked for: code and
// base64 bodies have none of their own.
func scanned(l line) bool {
	return l.kind != kindFence && l.kind != kindIndent && l.kind != kindBlank && !l.encoded
}

// cachedLineUnits returns the line units of d, scanning only the lines the
// call has not seen, in a slice sized for them and spare more.
func cachedLineUnits(d *doc, c *analysisCache, spare int) []Unit {
	s := d.text
	refs := make([]lineUnits, len(d.lines))
	n := 0
	var tmp []Unit
	add := func(kind string, a, b int) {
		if b > a {
			tmp = append(tmp, Unit{Kind: kind, Text: s[a:b], Start: a, End: b})
		}
	}
	for i, l := range d.lines {
		if !scanned(l) {
			continue
		}
		txt := s[l.start:l.end]
		lu, ok := c.lines[txt]
		if !ok {
			tmp = tmp[:0]
			scanLine(s, l.start, l.end, add)
			lu = lineUnits{off: int32(len(c.store)), n: int32(len(tmp))}
			for _, u := range tmp {
				c.store = append(c.store, lineUnit{u.Kind, int32(u.Start - l.start), int32(u.End - l.start)})
			}
			c.lines[txt] = lu
		}
		refs[i] = lu
		n += int(lu.n)
	}
	us := c.spareUnits[:0]
	c.spareUnits = nil
	if cap(us) < n+spare {
		us = make([]Unit, 0, n+spare)
	}
	for i, l := range d.lines {
		lu := refs[i]
		for _, u := range c.store[lu.off : lu.off+lu.n] {
			a, b := l.start+int(u.a), l.start+int(u.b)
			us = append(us, Unit{Kind: u.kind, Text: s[a:b], Start: a, End: b})
		}
	}
	return us
}

// finalQuestion is the last prose or table paragraph — in a prompt, the
// instruction or question the model must answer. A very long last paragraph
// is cut to its last sentence that asks something (or its last line), so
// that protecting it does not freeze a whole document.
func finalQuestion(d *doc) (rng, bool) {
	ps := d.paragraphs(false)
	for i := len(ps) - 1; i >= 0; i-- {
		p := ps[i]
		k := d.lines[p.first].kind
		if k == kindFence || k == kindIndent {
			continue
		}
		if p.end-p.start <= 600 {
			// The indentation before the question is not part of it, so
			// that it does not stop the whitespace pass from removing the
			// prompt's common indentation (see whitespacePass).
			return rng{p.start + d.lines[p.first].indent, p.end}, true
		}
		t := d.text[p.start:p.end]
		if q := strings.LastIndexByte(t, '?'); q >= 0 {
			b := sentenceStart(t, q)
			return rng{p.start + b, p.start + q + 1}, true
		}
		return rng{d.lines[p.last].start + d.lines[p.last].indent, p.end}, true
	}
	return rng{}, false
}

// sentenceStart finds where the sentence containing t[q] begins.
func sentenceStart(t string, q int) int {
	for i := q - 1; i > 0; i-- {
		if t[i] == '\n' {
			return i + 1
		}
		if (t[i] == ' ') && (t[i-1] == '.' || t[i-1] == '!' || t[i-1] == '?') {
			return i + 1
		}
	}
	return 0
}

// scanLine finds inline units on one line in a single left-to-right scan;
// a hand-written scanner because regular expressions over a 40 KB prompt
// would spend the whole latency budget.
func scanLine(s string, start, end int, add func(string, int, int)) {
	i := start
	for i < end {
		c := s[i]
		switch {
		case c == '`':
			if j := strings.IndexByte(s[i+1:end], '`'); j >= 0 {
				add(UnitInline, i, i+j+2)
				i += j + 2
				continue
			}
		case c == '"' && i+1 < end && s[i+1] != ' ':
			// An opening quote is followed by the quoted text; a quote
			// followed by a space closes an earlier string (`a="x" b="y"`
			// must not yield the unit `" b="`).
			if j := closeQuote(s, i+1, end, '"'); j > 0 {
				add(UnitQuoted, i, j)
				scanInner(s, i+1, j-1, add)
				i = j
				continue
			}
		case c == '\'' && (i == start || isOpenCtx(s[i-1])):
			if j := closeQuote(s, i+1, end, '\''); j > i+2 && (j == end || !isWordByte(s[j])) {
				add(UnitQuoted, i, j)
				scanInner(s, i+1, j-1, add)
				i = j
				continue
			}
		case c == 0xE2 && strings.HasPrefix(s[i:end], "“"):
			if j := strings.Index(s[i+3:end], "”"); j >= 0 {
				add(UnitQuoted, i, i+3+j+3)
				i += 3 + j + 3
				continue
			}
		}
		if i > start && isWordByte(s[i-1]) {
			i++
			continue
		}
		// Fast path: a plain lower-case word followed by a space or
		// sentence punctuation is never a unit (most of any prompt).
		if c >= 'a' && c <= 'z' && c != 'h' && c != 'w' {
			j := i + 1
			for j < end && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			if j == end || s[j] == ' ' || s[j] == ')' || s[j] == '"' ||
				(s[j] == ',' || s[j] == '.' || s[j] == ';' || s[j] == '!' || s[j] == '?') && (j+1 == end || s[j+1] == ' ') {
				i = j
				continue
			}
		}
		if n := wordUnit(s, i, end, add); n > i {
			i = n
			continue
		}
		i++
	}
}

// scanInner finds URLs, emails and numbers inside a quoted string, so that
// the checker knows about them even when the quotes are later unwrapped.
func scanInner(s string, a, b int, add func(string, int, int)) {
	for i := a; i < b; i++ {
		if i > a && isWordByte(s[i-1]) {
			continue
		}
		if n := wordUnit(s, i, b, add); n > i {
			i = n - 1
		}
	}
}

func isOpenCtx(c byte) bool {
	return c == ' ' || c == '\t' || c == '(' || c == '[' || c == '{' || c == ':' || c == '=' || c == ','
}

func closeQuote(s string, i, end int, q byte) int {
	for ; i < end; i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i + 1
		}
	}
	return -1
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// wordUnit recognises a URL, email, number or entity starting at s[i] (at a
// word boundary) and returns the index after it, or i.
func wordUnit(s string, i, end int, add func(string, int, int)) int {
	c := s[i]
	if c == '$' && i+1 < end && s[i+1] >= '0' && s[i+1] <= '9' {
		// "$1,200": the currency sign belongs to the number.
		j := wordUnit(s, i+1, end, func(kind string, a, b int) {
			if kind == UnitNumber {
				a = i
			}
			add(kind, a, b)
		})
		return j
	}
	if c == 'h' && (strings.HasPrefix(s[i:end], "http://") || strings.HasPrefix(s[i:end], "https://")) ||
		c == 'w' && strings.HasPrefix(s[i:end], "www.") {
		j := i
		for j < end && s[j] > ' ' && s[j] != '"' && s[j] != '`' && s[j] != '<' && s[j] != '>' {
			j++
		}
		j = trimTrailingPunct(s, i, j)
		add(UnitURL, i, j)
		return j
	}
	// Identifier-like token: letters, digits and . _ - : / % + @, starting
	// with a letter or digit (or a sign or dot right before a digit), so
	// that JSON's `:1` yields the unit "1", not ":1".
	if !isASCIIAlnum(c) && c < 0x80 {
		if !((c == '-' || c == '+' || c == '.') && i+1 < end && s[i+1] >= '0' && s[i+1] <= '9') {
			return entity(s, i, end, add)
		}
	}
	j := i
	hasDigit, hasAt := false, false
	for j < end {
		b := s[j]
		switch {
		case b >= '0' && b <= '9':
			hasDigit = true
		case b == '@':
			hasAt = true
		case isWordByte(b) && b < 0x80, b == '.', b == '-', b == ':', b == '/', b == '%', b == '+', b == ',':
		default:
			goto done
		}
		j++
	}
done:
	j = trimTrailingPunct(s, i, j)
	if j == i {
		return i
	}
	tok := s[i:j]
	if hasAt {
		if k := strings.IndexByte(tok, '@'); k > 0 && strings.Contains(tok[k:], ".") && k < len(tok)-3 {
			add(UnitEmail, i, j)
			return j
		}
	}
	if hasDigit {
		// Numbers keep a following unit word: "3.5 GB", "200 ms".
		if j+1 < end && s[j] == ' ' {
			if w := unitWordEnd(s, j+1, end); w > j+1 {
				j = w
			}
		}
		add(UnitNumber, i, j)
		return j
	}
	return entity(s, i, end, add)
}

func trimTrailingPunct(s string, i, j int) int {
	for j > i {
		switch s[j-1] {
		case '.', ',', ':', ';', '!', '?', ')', ']', '}', '\'', '-', '/':
			j--
			continue
		}
		break
	}
	return j
}

var unitWords = map[string]bool{
	"ms": true, "s": true, "sec": true, "secs": true, "seconds": true, "second": true, "min": true, "mins": true,
	"minutes": true, "h": true, "hr": true, "hrs": true, "hours": true, "hour": true, "days": true, "day": true,
	"weeks": true, "months": true, "years": true, "kb": true, "mb": true, "gb": true, "tb": true, "kib": true,
	"mib": true, "gib": true, "kg": true, "g": true, "mg": true, "lb": true, "lbs": true, "km": true, "m": true,
	"cm": true, "mm": true, "mi": true, "ft": true, "usd": true, "eur": true, "gbp": true, "dollars": true,
	"percent": true, "tokens": true, "px": true, "rpm": true, "rps": true, "qps": true, "req/s": true,
	"°c": true, "°f": true, "k": true, "x": true, "ml": true, "l": true, "v": true, "w": true, "kw": true,
}

func unitWordEnd(s string, i, end int) int {
	j := i
	for j < end && (isWordByte(s[j]) || s[j] == '/') {
		j++
	}
	if j == i || j-i > 8 {
		return i
	}
	if unitWords[strings.ToLower(s[i:j])] {
		return j
	}
	return i
}

// Words that start sentences and are capitalised for that reason alone.
var starters = map[string]bool{
	"The": true, "A": true, "An": true, "This": true, "That": true, "These": true, "Those": true, "In": true,
	"On": true, "At": true, "For": true, "If": true, "When": true, "It": true, "We": true, "You": true, "I": true,
	"He": true, "She": true, "They": true, "My": true, "Our": true, "Your": true, "His": true, "Her": true,
	"Their": true, "Please": true, "And": true, "But": true, "Or": true, "So": true, "As": true, "To": true,
	"Of": true, "From": true, "By": true, "With": true, "Is": true, "Are": true, "Was": true, "Do": true,
	"Does": true, "Can": true, "What": true, "Which": true, "Who": true, "How": true, "Why": true, "Where": true,
	"Use": true, "Return": true, "Answer": true, "Note": true, "Be": true, "Always": true, "Never": true,
	"Do not": true, "Don't": true, "Each": true, "All": true, "Any": true, "No": true, "Not": true, "After": true,
	"Before": true, "Then": true, "Here": true, "There": true, "Also": true, "Given": true, "Example": true,
}

// entity matches two or more capitalised words joined by single spaces
// ("Acme Corp", "New York Times"), skipping a sentence-initial starter, or a
// single ALL-CAPS word of 2+ letters ("NASA", "API").
func entity(s string, i, end int, add func(string, int, int)) int {
	w := capWordEnd(s, i, end)
	if w == i {
		return i
	}
	if allCaps(s[i:w]) && w-i >= 2 {
		// An acronym may still start a longer name: "IBM Research".
		if e := capRun(s, w, end); e > w {
			add(UnitEntity, i, e)
			return e
		}
		add(UnitEntity, i, w)
		return w
	}
	// Every leading starter goes, not just the first: "To Be Removed From
	// Our List" and a residue that kept only "Be Removed From Our List"
	// must yield the same unit, or the next run finds a new starter to
	// strip and the output is not a fixed point.
	first := i
	for starters[s[first:w]] {
		if w+1 >= end || s[w] != ' ' {
			return w
		}
		n := capWordEnd(s, w+1, end)
		if n == w+1 {
			return w + 1
		}
		first, w = w+1, n
	}
	e := capRun(s, w, end)
	if e > w {
		add(UnitEntity, first, e)
		return e
	}
	return w
}

// capRun extends a name over " Capword" repetitions starting at w.
func capRun(s string, w, end int) int {
	e := w
	for e+1 < end && s[e] == ' ' {
		n := capWordEnd(s, e+1, end)
		if n == e+1 {
			break
		}
		e = n
	}
	return e
}

func capWordEnd(s string, i, end int) int {
	r, n := utf8.DecodeRuneInString(s[i:end])
	if !unicode.IsUpper(r) {
		return i
	}
	j := i + n
	for j < end {
		r, n := utf8.DecodeRuneInString(s[j:end])
		if !unicode.IsLetter(r) && r != '\'' && r != '-' {
			break
		}
		j += n
	}
	// Trailing apostrophe or hyphen belongs to the sentence, not the name.
	for j > i+1 && (s[j-1] == '\'' || s[j-1] == '-') {
		j--
	}
	// A name word ends at a space or at punctuation that ends it; "Ph.:+353"
	// or "Node.js" is one token, left to the identifier scanner, so that a
	// unit does not depend on how many spaces precede it.
	if j < end && !wordEndOK(s, j, end) {
		return i
	}
	return j
}

func wordEndOK(s string, j, end int) bool {
	switch s[j] {
	case ' ', '\t', '\r', '\n', ')', ']', '"', '>':
		return true
	case ',', '.', ';', ':', '!', '?':
		return j+1 >= end || s[j+1] == ' ' || s[j+1] == '\t' || s[j+1] == '\r' || s[j+1] == ')' || s[j+1] == '"'
	}
	return false
}

func allCaps(w string) bool {
	for _, r := range w {
		if !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}
