package cache

// This file keeps the judge's text analysis, guards and features exactly as
// they were before they were made fast (prepared analyses, an analysis
// cache, word ids, hand-written scanners), as the reference the
// equivalence tests and the before/after benchmarks compare against.
// Identifiers carry an "old" prefix; the word lists are shared. The copy is
// deliberate and frozen: it is the oracle the fast path is fuzzed against.
// When the judge's behaviour is meant to change, replace it with golden
// verdicts instead of editing both.

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// oldJudge is Calibrated.Judge as it was: both texts analysed per call.
func oldJudge(j *Calibrated, query, cached Text) Judgement {
	q, c := oldAnalyze(query.Prompt), oldAnalyze(cached.Prompt)
	f := oldComputeFeatures(q, c, query.Vector, cached.Vector, j.lex)
	g, d := oldRunGuards(q, c, j.guards)
	return Judgement{Score: j.model.Probability(f), Cosine: f.Cosine, Guard: g, Detail: d, Features: f}
}

// oldAnalysis is what the guards and the score need to know about one text.
type oldAnalysis struct {
	raw      string
	words    []string        // lowercased letter/digit runs, "n't" expanded
	wordSet  map[string]bool // words
	stems    map[string]bool // stem(words)
	compact  map[string]bool // raw tokens lowercased without dots and hyphens ("U.S." → "us")
	runs     []oldCapRun     // runs of capitalized words, for acronym expansion
	joins    map[string]bool // adjacent word pairs written together ("upper case" → "uppercase")
	numbers  []string        // canonical numbers and ordinals, sorted, unique
	units    []string        // canonical units, sorted, unique
	negators []string        // negating words, in order
	entities []oldEntity
}

// capRun is a run of capitalized words ("World Health Organization") and
// its initials ("who"), so an acronym in one text matches the run in the
// other.
type oldCapRun struct {
	initials string
	words    []string
}

type oldEntity struct {
	text  string   // as written
	words []string // lowercase words that must appear in the other text
	span  string   // lowercase literal that must appear instead (URLs, quotes…)
}

var (
	oldReURL     = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s"'<>]+`)
	oldReEmail   = regexp.MustCompile(`[\w.+-]+@[\w-]+(?:\.[\w-]+)+`)
	oldReQuoted  = regexp.MustCompile("\"([^\"]{1,120})\"|“([^”]{1,120})”|`([^`]{1,120})`|(?:^|\\s)'([^']{1,80})'(?:[\\s.,;:!?)]|$)")
	oldReNumber  = regexp.MustCompile(`(?:^|[^\w.])([-+]?\d[\d,]*(?:\.\d+)?)(st|nd|rd|th|[a-zA-Z%]+)?`)
	oldReCurrSym = regexp.MustCompile(`[$€£¥]`)
	oldReLangSym = regexp.MustCompile(`(?i)(?:^|[^\w])([cf](?:\+\+|#)|\.net)(?:[^\w]|$)`)
	oldReCodeTok = regexp.MustCompile(`[A-Za-z_]\w+(?:(?:\.|::|->)[A-Za-z_]\w*)*(?:\.|::|->)[A-Za-z_]\w+(?:\(\))?|[A-Za-z_]\w*\(\)|[A-Za-z0-9]*_\w+`)
	oldReFlag    = regexp.MustCompile(`(?:^|\s)(--?[a-z][\w-]*)`)
	oldReRawTok  = regexp.MustCompile(`[\p{L}\p{N}][\p{L}\p{N}'’.\-]*`)
)

// oldWords lowercases text, expands "n't" and splits it into letter/digit runs,
// the same tokens the local embedder uses.
func oldWords(text string) []string {
	text = oldExpandNot(strings.ToLower(text))
	return strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// expandNot rewrites the "n't" contraction as " not" (can't → can not,
// won't → will not), with straight or curly apostrophes. Written out
// rather than with a strings.Replacer: building one per call dominated the
// judge's cost, and a shared one would be package state.
func oldExpandNot(s string) string {
	if !strings.Contains(s, "n't") && !strings.Contains(s, "n’t") {
		return s
	}
	for _, ap := range []string{"'", "’"} {
		s = strings.ReplaceAll(s, "can"+ap+"t", "can not")
		s = strings.ReplaceAll(s, "won"+ap+"t", "will not")
		s = strings.ReplaceAll(s, "n"+ap+"t", " not")
	}
	return s
}

// stem is a deliberately crude suffix stripper: it only has to map the
// inflections of one word to the same key (enable/enabled/enables/enabling).
func oldStem(w string) string {
	switch {
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		w = w[:len(w)-2]
	case len(w) > 4 && strings.HasSuffix(w, "es"):
		w = w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		w = w[:len(w)-1]
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

func oldAnalyze(text string) *oldAnalysis {
	a := &oldAnalysis{raw: text, words: oldWords(text), wordSet: map[string]bool{}, stems: map[string]bool{}, compact: map[string]bool{}}
	var run oldCapRun
	flush := func() {
		if len(run.words) >= 2 {
			a.runs = append(a.runs, run)
		}
		run = oldCapRun{}
	}
	for _, t := range oldReRawTok.FindAllString(text, -1) {
		c := oldCompactToken(t)
		a.compact[c] = true
		r, _ := utf8.DecodeRuneInString(t)
		switch {
		case unicode.IsUpper(r):
			run.initials += string(unicode.ToLower(r))
			run.words = append(run.words, strings.ToLower(t))
		case c == "of" || c == "the" || c == "and" || c == "for":
			if len(run.words) > 0 {
				run.words = append(run.words, c)
			}
		default:
			flush()
		}
	}
	flush()
	a.joins = map[string]bool{}
	for i := 0; i+1 < len(a.words); i++ {
		a.joins[a.words[i]+a.words[i+1]] = true
	}
	for i, w := range a.words {
		a.wordSet[w] = true
		a.stems[oldStem(w)] = true
		if negators[w] && !(w == "no" && i+1 < len(a.words) && oldIsDigits(a.words[i+1])) { // "No 7" is "number 7"
			a.negators = append(a.negators, w)
		}
	}
	a.numbers, a.units = oldNumbersAndUnits(text, a.words)
	a.entities = oldFindEntities(text, a.words)
	return a
}

// numbersAndUnits extracts canonical numbers ("1,000" → "1000", "3.50" →
// "3.5", "two" → "2", "3rd" and "third" → "3rd") and the units near them.
func oldNumbersAndUnits(text string, ws []string) (nums, us []string) {
	numSet, unitSet := map[string]bool{}, map[string]bool{}
	for _, m := range oldReNumber.FindAllStringSubmatch(text, -1) {
		n := strings.ReplaceAll(m[1], ",", "")
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			continue
		}
		canon := strconv.FormatFloat(f, 'g', -1, 64)
		suffix := strings.ToLower(m[2])
		switch suffix {
		case "st", "nd", "rd", "th":
			canon += "th" // 1st/2nd/3rd all become "Nth" so the suffix spelling never matters
		default:
			if u, ok := units[suffix]; ok {
				unitSet[u] = true
			}
		}
		numSet[canon] = true
	}
	for _, w := range ws {
		if v, ok := numberWords[w]; ok {
			if strings.HasSuffix(v, "th") || strings.HasSuffix(v, "rd") {
				v = strings.TrimRight(v, "thrd") + "th"
			}
			numSet[v] = true
		}
	}
	if len(numSet) > 0 {
		for _, w := range ws {
			if u, ok := units[w]; ok && len(w) > 1 { // single letters (m, g, c) only count glued to a number
				unitSet[u] = true
			}
		}
		for _, s := range oldReCurrSym.FindAllString(text, -1) {
			unitSet[units[s]] = true
		}
		if strings.Contains(text, "%") {
			unitSet["%"] = true
		}
	}
	return oldSortedKeys(numSet), oldSortedKeys(unitSet)
}

func oldIsDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func oldSortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// findEntities collects what must agree: URLs, emails, quoted strings, code
// identifiers, C++/C#/.NET, gazetteer names, and capitalized words that do
// not start a sentence (unless the text is in Title Case, where capitals say
// nothing), acronyms and mixed-case words (iPhone, PyTorch) anywhere.
func oldFindEntities(text string, ws []string) []oldEntity {
	var out []oldEntity
	seen := map[string]bool{}
	add := func(e oldEntity) {
		key := e.span + "|" + strings.Join(e.words, " ")
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	rest := text
	for _, re := range []*regexp.Regexp{oldReURL, oldReEmail} {
		for _, m := range re.FindAllString(rest, -1) {
			m = strings.TrimRight(m, ".,;:!?)")
			add(oldEntity{text: m, span: strings.ToLower(m)})
		}
		rest = re.ReplaceAllString(rest, " ")
	}
	for _, m := range oldReQuoted.FindAllStringSubmatch(rest, -1) {
		for _, g := range m[1:] {
			// Short quoted strings are literals (a file name, an error
			// message, a search term); long ones are reported speech, which
			// paraphrases legitimately reword.
			if g = strings.TrimSpace(g); g != "" && len(oldWords(g)) <= 4 {
				add(oldEntity{text: oldStrconvQuote(g), words: oldWords(g)})
			}
		}
	}
	for _, m := range oldReLangSym.FindAllStringSubmatch(rest, -1) {
		add(oldEntity{text: m[1], span: strings.ToLower(m[1])})
	}
	for _, m := range oldReCodeTok.FindAllString(rest, -1) {
		add(oldEntity{text: m, span: strings.ToLower(m)})
	}
	for _, m := range oldReFlag.FindAllStringSubmatch(rest, -1) {
		add(oldEntity{text: m[1], span: strings.ToLower(m[1])})
	}
	spelled := map[string]string{} // lowercase → as first written
	for _, t := range oldReRawTok.FindAllString(rest, -1) {
		for _, w := range oldWords(t) {
			if _, ok := spelled[w]; !ok {
				if len(oldWords(t)) == 1 {
					spelled[w] = strings.Trim(t, ".'’-")
				} else {
					spelled[w] = w
				}
			}
		}
	}
	for _, w := range ws {
		if gazetteer[w] {
			text := spelled[w]
			if text == "" {
				text = w
			}
			add(oldEntity{text: text, words: []string{w}})
		}
	}
	titleCase := oldIsTitleCase(rest)
	sentenceStart := true
	for _, tok := range oldReRawTok.FindAllStringIndex(rest, -1) {
		t := strings.Trim(rest[tok[0]:tok[1]], ".'’-")
		prefix := rest[:tok[0]]
		if i := strings.LastIndexFunc(prefix, func(r rune) bool { return !unicode.IsSpace(r) && r != '"' && r != '(' }); i >= 0 {
			last, _ := utf8.DecodeLastRuneInString(prefix[:i+1])
			sentenceStart = strings.ContainsRune(".!?:;\n", last)
		} else {
			sentenceStart = true
		}
		if t == "" || t == "I" || unicode.IsDigit([]rune(t)[0]) { // 8GB, 3rd: numbers, not names
			continue
		}
		upper, lower, letters := 0, 0, 0
		for _, r := range t {
			switch {
			case unicode.IsUpper(r):
				upper++
				letters++
			case unicode.IsLower(r):
				lower++
				letters++
			}
		}
		first, _ := utf8.DecodeRuneInString(t)
		acronym := upper >= 2 && lower == 0                          // USA, U.S., GPU
		mixed := upper >= 1 && lower >= 1 && !unicode.IsUpper(first) // iPhone, eBay
		inner := upper >= 2 && lower >= 1 && unicode.IsUpper(first)  // PyTorch, McDonald
		capital := unicode.IsUpper(first) && !sentenceStart && !titleCase
		if letters == 0 || !(acronym || mixed || inner || capital) {
			continue
		}
		ew := oldWords(strings.ReplaceAll(t, ".", ""))
		if acronym {
			ew = []string{oldCompactToken(t)}
		}
		if len(ew) > 0 {
			add(oldEntity{text: t, words: ew})
		}
	}
	return out
}

func oldCompactToken(t string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '\'' || r == '’' {
			return -1
		}
		return r
	}, t))
}

func oldStrconvQuote(s string) string { return "\u201c" + s + "\u201d" }

// isTitleCase reports whether most words of text start with a capital, as
// in headlines and titles, where a capital marks no name.
func oldIsTitleCase(text string) bool {
	n, caps := 0, 0
	for _, f := range strings.Fields(text) {
		r, _ := utf8.DecodeRuneInString(f)
		if !unicode.IsLetter(r) {
			continue
		}
		n++
		if unicode.IsUpper(r) {
			caps++
		}
	}
	return n >= 4 && caps*10 >= n*7
}

// present reports whether entity e of one text also appears in the other.
// Words are looked up in the other text's word set, joined forms included
// ("U.S." ~ "us", "node.js" ~ "nodejs"), so case and position do not matter.
func (e oldEntity) oldPresentIn(o *oldAnalysis) bool {
	if e.span != "" {
		return strings.Contains(strings.ToLower(o.raw), e.span)
	}
	if len(e.words) == 0 {
		return true
	}
	ok := true
	for _, w := range e.words {
		if !o.wordSet[w] && !o.compact[w] && !o.oldHasVariant(w) {
			ok = false
			break
		}
	}
	if ok {
		return true
	}
	joined := strings.Join(e.words, "")
	if o.wordSet[joined] || strings.Contains(strings.Join(o.words, ""), joined) && len(joined) >= 4 {
		return true
	}
	for _, g := range aliasGroups {
		if !slices.Contains(g, strings.Join(e.words, " ")) && !slices.Contains(g, joined) {
			continue
		}
		for _, alias := range g {
			if oldContainsPhrase(o.words, strings.Fields(alias)) {
				return true
			}
		}
	}
	return false
}

// acronymMatch reports whether entity e of text a is an acronym spelled out
// in b ("WHO" ~ "World Health Organization") or a word of a capitalized run
// in a that b abbreviates.
func oldAcronymMatch(e oldEntity, a, b *oldAnalysis) bool {
	if len(e.words) != 1 {
		return false
	}
	w := e.words[0]
	for _, r := range b.runs {
		if r.initials == w {
			return true
		}
	}
	for _, r := range a.runs {
		if slices.Contains(r.words, w) && len(r.initials) >= 2 && b.compact[r.initials] {
			return true
		}
	}
	return false
}

// hasVariant reports whether the text has a spelling variant of the name w:
// one edit away (Moqtada/Muqtada, Jeffery/Jeffrey) for names of five or
// more letters, or a short form (Tim/Timothy). Gazetteer names never match
// variants: Java is not JavaScript, Austria is not Australia.
func (o *oldAnalysis) oldHasVariant(w string) bool {
	if gazetteer[w] || len(w) < 3 {
		return false
	}
	for x := range o.wordSet {
		if gazetteer[x] || x[0] != w[0] {
			continue
		}
		if len(w) >= 5 && len(x) >= 5 && oldDamerau1(w, x) {
			return true
		}
		short, long := w, x
		if len(short) > len(long) {
			short, long = long, short
		}
		if len(short) >= 3 && len(long) > len(short) && strings.HasPrefix(long, short) && o.oldIsName(x) == (x == long) && !oldIsDigits(short) {
			return true
		}
	}
	return false
}

// isName is true when word appears capitalized in the raw text.
func (o *oldAnalysis) oldIsName(word string) bool {
	for _, t := range oldReRawTok.FindAllString(o.raw, -1) {
		if strings.ToLower(t) == word {
			r, _ := utf8.DecodeRuneInString(t)
			return unicode.IsUpper(r)
		}
	}
	return false
}

// damerau1 reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent letters.
func oldDamerau1(a, b string) bool {
	if a == b {
		return true
	}
	if d := len(a) - len(b); d > 1 || d < -1 {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch {
	case len(a) == len(b):
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case len(a) > len(b):
		return a[i+1:] == b[i:]
	default:
		return a[i:] == b[i+1:]
	}
}

func oldContainsPhrase(ws, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(ws); i++ {
		if slices.Equal(ws[i:i+len(phrase)], phrase) {
			return true
		}
	}
	return false
}

// runGuards returns the first guard that rejects serving c's answer for q,
// with the differing words; "" when all pass.
func oldRunGuards(q, c *oldAnalysis, opts GuardOptions) (guard, detail string) {
	if !opts.NoNumber {
		oq, oc := oldMinus(q.numbers, c.numbers), oldMinus(c.numbers, q.numbers)
		if (len(oq) > 0 && len(oc) > 0) || (opts.NumberAdditions && len(oq)+len(oc) > 0) {
			return GuardNumber, oldDiffer(q.numbers, c.numbers)
		}
		uq, uc := oldMinus(q.units, c.units), oldMinus(c.units, q.units)
		if len(q.numbers) > 0 && len(c.numbers) > 0 && len(uq) > 0 && len(uc) > 0 {
			return GuardNumber, oldDiffer(q.units, c.units)
		}
	}
	if !opts.NoNegation && len(q.negators) != len(c.negators) {
		return GuardNegation, oldDiffer(q.negators, c.negators)
	}
	if !opts.NoPolarity {
		for _, p := range antonymPairs {
			x, y := oldStemPhrase(p[0]), oldStemPhrase(p[1])
			qx, qy := oldHasStem(q, x), oldHasStem(q, y)
			cx, cy := oldHasStem(c, x), oldHasStem(c, y)
			if (qx && !qy && cy && !cx) || (qy && !qx && cx && !cy) {
				if qx {
					return GuardPolarity, oldSurface(q, x) + " ≠ " + oldSurface(c, y)
				}
				return GuardPolarity, oldSurface(q, y) + " ≠ " + oldSurface(c, x)
			}
		}
	}
	if !opts.NoEntity {
		onlyQ, onlyC := oldUnmatchedEntities(q, c), oldUnmatchedEntities(c, q)
		if (len(onlyQ) > 0 && len(onlyC) > 0 && oldEntitySwap(q, c, onlyQ, onlyC)) || (opts.EntityAdditions && len(onlyQ)+len(onlyC) > 0) {
			return GuardEntity, oldDiffer(oldTexts(onlyQ), oldTexts(onlyC))
		}
	}
	return "", ""
}

// unmatchedEntities lists a's entities that b lacks.
func oldUnmatchedEntities(a, b *oldAnalysis) []oldEntity {
	var out []oldEntity
	for _, e := range a.entities {
		if !e.oldPresentIn(b) && !oldAcronymMatch(e, a, b) {
			out = append(out, e)
		}
	}
	return out
}

func oldTexts(es []oldEntity) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.text
	}
	return out
}

// shortText is the length, in words, up to which any entity conflict is a
// substitution: in a question of a dozen words every name is the subject.
const oldShortText = 15

// entitySwap decides whether entities unmatched on both sides are a
// substitution ("capital of France" / "capital of Spain") rather than two
// texts each adding its own detail (a news sentence naming a spokesman, its
// paraphrase naming the city). It is a substitution when both texts are
// short, when an unmatched literal (URL, code, quoted string) is involved,
// or when two unmatched names stand in the same slot: the same word before
// or after each.
func oldEntitySwap(q, c *oldAnalysis, onlyQ, onlyC []oldEntity) bool {
	if len(q.words) <= oldShortText && len(c.words) <= oldShortText {
		return true
	}
	for _, x := range onlyQ {
		for _, y := range onlyC {
			if x.span != "" || y.span != "" {
				return true
			}
			xl, xr := oldNeighbours(q, x)
			yl, yr := oldNeighbours(c, y)
			if (xl != "" && xl == yl) || (xr != "" && xr == yr) {
				return true
			}
		}
	}
	return false
}

// neighbours returns the words before and after e's first occurrence.
func oldNeighbours(a *oldAnalysis, e oldEntity) (left, right string) {
	if len(e.words) == 0 {
		return "", ""
	}
	for i := 0; i+len(e.words) <= len(a.words); i++ {
		if slices.Equal(a.words[i:i+len(e.words)], e.words) {
			if i > 0 {
				left = a.words[i-1]
			}
			if j := i + len(e.words); j < len(a.words) {
				right = a.words[j]
			}
			return left, right
		}
	}
	return "", ""
}

// additions reports whether only one side has numbers, or entities, the
// other lacks — evidence of a more specific (or less specific) request —
// and whether both sides name entities the other lacks (in long texts that
// entitySwap does not call a substitution). The score weighs these; the
// guards do not veto them.
func oldAdditions(q, c *oldAnalysis) (numbers, entities, conflict bool) {
	oq, oc := oldMinus(q.numbers, c.numbers), oldMinus(c.numbers, q.numbers)
	numbers = (len(oq) > 0) != (len(oc) > 0)
	eq, ec := oldUnmatchedEntities(q, c), oldUnmatchedEntities(c, q)
	entities = (len(eq) > 0) != (len(ec) > 0)
	conflict = len(eq) > 0 && len(ec) > 0
	return numbers, entities, conflict
}

func oldStemPhrase(p string) []string {
	ws := strings.Fields(p)
	for i, w := range ws {
		ws[i] = oldStem(w)
	}
	return ws
}

// surface returns the words of a that matched the stemmed phrase, as the
// user wrote them (lowercased): "descending", not "descend".
func oldSurface(a *oldAnalysis, phrase []string) string {
	for i := 0; i+len(phrase) <= len(a.words); i++ {
		match := true
		for j, p := range phrase {
			if oldStem(a.words[i+j]) != p {
				match = false
				break
			}
		}
		if match {
			return strings.Join(a.words[i:i+len(phrase)], " ")
		}
	}
	return strings.Join(phrase, " ")
}

func oldHasStem(a *oldAnalysis, phrase []string) bool {
	if len(phrase) == 1 {
		return a.stems[phrase[0]]
	}
	// multi-word phrases must appear in order, adjacent
	for i := 0; i+len(phrase) <= len(a.words); i++ {
		match := true
		for j, p := range phrase {
			if oldStem(a.words[i+j]) != p {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// differ formats what only the query has against what only the cached
// prompt has: "3 ≠ 30", "France ≠ Spain", "not ≠ —".
func oldDiffer(q, c []string) string {
	onlyQ, onlyC := oldMinus(q, c), oldMinus(c, q)
	side := func(s []string) string {
		if len(s) == 0 {
			return "—"
		}
		return strings.Join(s, ", ")
	}
	return side(onlyQ) + " ≠ " + side(onlyC)
}

// minus is the multiset difference a − b, keeping a's order.
func oldMinus(a, b []string) []string {
	left := map[string]int{}
	for _, x := range b {
		left[x]++
	}
	var out []string
	for _, x := range a {
		if left[x] > 0 {
			left[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

// softMatch is how close a word must be (WordSim) to count as present in the
// other text; below it, similarity is scaled down linearly to 0 so that
// "berries"/"carrots" (related, not interchangeable) still leave a gap.

func oldComputeFeatures(q, c *oldAnalysis, qv, cv []float32, lex Lexicon) Features {
	f := Features{Cosine: oldDot32(qv, cv)}
	weight := func(w string) float64 {
		if lex == nil {
			return 1
		}
		return lex.Weight(w)
	}
	f.Char3 = oldChar3Cosine(q.words, c.words, weight)
	var inter, union float64
	for w := range q.wordSet {
		union += weight(w)
		if c.wordSet[w] {
			inter += weight(w)
		}
	}
	for w := range c.wordSet {
		if !q.wordSet[w] {
			union += weight(w)
		}
	}
	if union > 0 {
		f.WordOverlap = inter / union
	}
	best := func(w string, o *oldAnalysis) float64 {
		if o.wordSet[w] || o.stems[oldStem(w)] {
			return 1
		}
		if lex == nil {
			return 0
		}
		b := 0.0
		for x := range o.wordSet {
			if s := lex.WordSim(w, x); s > b {
				b = s
			}
		}
		if b >= softMatch {
			return b
		}
		return b * b / softMatch * 0.5 // well below a match: counts little
	}
	side := func(a, o *oldAnalysis) (align, gap float64) {
		// Compounds written apart on one side: "upper case" ~ "uppercase".
		compound := map[string]bool{}
		for i := 0; i+1 < len(a.words); i++ {
			if o.wordSet[a.words[i]+a.words[i+1]] {
				compound[a.words[i]], compound[a.words[i+1]] = true, true
			}
		}
		var sum, tot float64
		for w := range a.wordSet {
			wt := weight(w)
			b := 1.0
			if !compound[w] && !o.joins[w] {
				b = best(w, o)
			}
			sum += wt * b
			tot += wt
			if g := wt * (1 - b); g > gap {
				gap = g
			}
		}
		if tot > 0 {
			align = sum / tot
		}
		return align, gap
	}
	a1, g1 := side(q, c)
	a2, g2 := side(c, q)
	f.Align = (a1 + a2) / 2
	f.MaxGap = math.Max(g1, g2)
	{
		n, e, x := oldAdditions(q, c)
		f.NumberAdded, f.EntityAdded, f.EntityConflict = oldB2f(n), oldB2f(e), oldB2f(x)
	}
	nq, nc := float64(len(q.words)), float64(len(c.words))
	if nq > 0 && nc > 0 {
		f.LenRatio = math.Min(nq, nc) / math.Max(nq, nc)
	}
	return f
}

func oldB2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func oldDot32(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// char3Cosine compares character trigrams of "<word>" (the same units the
// local embedder hashes), counted exactly and weighted by their word's
// weight, so "how do I" versus "how can I" costs little and a changed
// content word costs much.
func oldChar3Cosine(a, b []string, weight func(string) float64) float64 {
	ca, cb := oldTrigrams(a, weight), oldTrigrams(b, weight)
	var d, na, nb float64
	for g, x := range ca {
		na += x * x
		d += x * cb[g]
	}
	for _, y := range cb {
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return d / math.Sqrt(na*nb)
}

func oldTrigrams(ws []string, weight func(string) float64) map[string]float64 {
	m := map[string]float64{}
	for _, w := range ws {
		wt := weight(w)
		r := []rune("<" + w + ">")
		for i := 0; i+3 <= len(r); i++ {
			m[string(r[i:i+3])] += wt
		}
	}
	return m
}
