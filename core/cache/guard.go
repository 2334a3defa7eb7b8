package cache

import (
	"cmp"
	"hash/maphash"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Guard names reported in Judgement.Guard.
const (
	GuardNumber   = "number"   // numbers, ordinals or units differ
	GuardNegation = "negation" // one text negates what the other asserts
	GuardPolarity = "polarity" // an antonym swap: enable/disable, before/after…
	GuardEntity   = "entity"   // names, languages, tools, quoted strings, URLs, identifiers differ
)

// GuardOptions switches guards. The zero value runs all of them; it is the
// [cache.guards] section of penny.toml.
type GuardOptions struct {
	NoNumber   bool `toml:"no_number"`
	NoNegation bool `toml:"no_negation"`
	NoPolarity bool `toml:"no_polarity"`
	NoEntity   bool `toml:"no_entity"`
	// NumberAdditions and EntityAdditions also reject when only one text
	// has a number or names an entity ("sort a list" vs "sort a list in
	// Python"). Off by default: the guards veto conflicts (each side has one
	// the other lacks: 3 ≠ 30, France ≠ Spain), and an addition lowers the
	// calibrated score through the number_added/entity_added features,
	// whose weight is fitted — real paraphrases often add a date or a name.
	NumberAdditions bool `toml:"number_additions"`
	EntityAdditions bool `toml:"entity_additions"`
}

// analysis is what the guards and the score need to know about one text.
type analysis struct {
	raw      string
	words    []string // lowercased letter/digit runs, "n't" expanded
	wordSet  strSet   // words
	stems    strSet   // stem(words)
	compact  strSet   // raw tokens lowercased without dots and hyphens ("U.S." → "us")
	runs     []capRun // runs of capitalized words, for acronym expansion
	joins    strSet   // adjacent word pairs written together ("upper case" → "uppercase")
	numbers  []string // canonical numbers and ordinals, sorted, unique
	units    []string // canonical units, sorted, unique
	negators []string // negating words, in order
	entities []entity

	// Derived once per text so that judging a text against many others
	// (and the same cached prompt over and over) does not redo them.
	lowerRaw  string        // strings.ToLower(raw), for span entities
	joined    string        // words written together, for joined entity forms
	capFirst  strSet        // lowercased raw tokens whose first occurrence starts with a capital
	wordStems []string      // stem(words[i])
	uniq      []string      // distinct words, first occurrence first: sums over them are deterministic
	uniqStems []string      // stem(uniq[i])
	wordUniq  []int32       // index in uniq of words[i]
	wordIdx   []int32       // index in uniq of wordSet[k]
	pairJoins []joinAt      // every i, by the hash of words[i]+words[i+1] ("upper case" → "uppercase")
	uniqH     []uint64      // strHash(uniq[i])
	uniqStemH []uint64      // strHash(uniqStems[i])
	polar     []polarHit    // antonym pairs with a side present, by pair index
	present   *presenceMemo // other texts' entities found present in this one, by entity key
	lx        *lexData      // lexicon-dependent data (score.go); nil until prepared
}

// strSet is a set of strings as a slice sorted by hash (then string),
// each with its hash: membership is a binary search over integers and, on
// a hash match, a string comparison, so it is exact. Far smaller than a
// map for the few words of a prompt, and an analysis computes its words'
// hashes once, so judging a pair hashes nothing.
type strSet []hstr

type hstr struct {
	h uint64
	s string
}

// strSeed seeds strHash. Set once at start-up and never written: not
// mutable state. Hashes are only compared within one process.
var strSeed = maphash.MakeSeed()

func strHash(s string) uint64 { return maphash.String(strSeed, s) }

func newStrSet(xs []string) strSet {
	if len(xs) == 0 {
		return nil
	}
	t := make(strSet, len(xs))
	for i, x := range xs {
		t[i] = hstr{strHash(x), x}
	}
	return t.sortCompact()
}

// newStrSetHashed builds the set of xs, whose hashes are hs.
func newStrSetHashed(xs []string, hs []uint64) strSet {
	t := make(strSet, len(xs))
	for i, x := range xs {
		t[i] = hstr{hs[i], x}
	}
	return t.sortCompact()
}

// sortCompact sorts t by hash, then string, and drops duplicates.
func (t strSet) sortCompact() strSet {
	slices.SortFunc(t, func(a, b hstr) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	return slices.CompactFunc(t, func(a, b hstr) bool { return a.h == b.h && a.s == b.s })
}

// has reports whether s, whose hash is h, is in the set.
func (t strSet) has(s string, h uint64) bool {
	lo, hi := 0, len(t)
	for lo < hi { // the first entry whose hash is ≥ h
		m := int(uint(lo+hi) >> 1)
		if t[m].h < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for ; lo < len(t) && t[lo].h == h; lo++ {
		if t[lo].s == s {
			return true
		}
	}
	return false
}

func (t strSet) contains(s string) bool { return t.has(s, strHash(s)) }

// joinAt is a position i of a text's words with the hash of
// words[i]+words[i+1].
type joinAt struct {
	h uint64
	i int32
}

// presenceMemo remembers, by entity key, whether an entity of another
// text is present in this one (entity.presentIn): a cached prompt is asked
// about the same query entities lookup after lookup. Entries are sorted by
// the key's hash. Analyses are shared between goroutines, hence the lock.
type presenceMemo struct {
	mu      sync.Mutex
	max     int
	entries []presence
}

type presence struct {
	h       uint64 // strHash(key)
	key     string
	present bool
}

// presenceMemoMax bounds each text's presence memo; presenceMemoCap a
// short text's.
const presenceMemoMax = 1024

func presenceMemoCap(n int) int { return min(presenceMemoMax, 16+n/4) }

// find returns where key (hash h) is or would go; the caller holds mu.
func (p *presenceMemo) find(key string, h uint64) (int, bool) {
	i, _ := slices.BinarySearchFunc(p.entries, h, func(e presence, h uint64) int { return cmp.Compare(e.h, h) })
	for j := i; j < len(p.entries) && p.entries[j].h == h; j++ {
		if p.entries[j].key == key {
			return j, true
		}
	}
	return i, false
}

// get returns whether key was found present; the caller holds mu.
func (p *presenceMemo) get(key string, h uint64) (present, ok bool) {
	if i, ok := p.find(key, h); ok {
		return p.entries[i].present, true
	}
	return false, false
}

// put records key's presence, while the memo has room (false when full);
// the caller holds mu.
func (p *presenceMemo) put(key string, h uint64, present bool) bool {
	if len(p.entries) >= p.max {
		return false
	}
	i, ok := p.find(key, h)
	if ok {
		p.entries[i].present = present
		return true
	}
	if len(p.entries) == cap(p.entries) {
		n := min(p.max, max(4, 2*cap(p.entries)))
		p.entries = slices.Grow(p.entries, n-len(p.entries))
	}
	p.entries = slices.Insert(p.entries, i, presence{h, key, present})
	return true
}

// polarHit records which sides of antonymStems[pair] a text has.
type polarHit struct {
	pair int32
	x, y bool
}

// capRun is a run of capitalized words ("World Health Organization") and
// its initials ("who"), so an acronym in one text matches the run in the
// other.
type capRun struct {
	initials string
	words    []string
}

type entity struct {
	text  string   // as written
	words []string // lowercase words that must appear in the other text
	span  string   // lowercase literal that must appear instead (URLs, quotes…)
	// joined is the words written together; aliases the indices of the
	// aliasGroups naming the entity (by its words or joined form). Both
	// are filled by newEntity, once per text rather than per comparison.
	joined  string
	aliases []int
	key     string // span|words: what presentIn depends on
	keyH    uint64 // strHash(key)
}

// newEntity fills the derived fields of an entity.
func newEntity(text string, ws []string, span string) entity {
	e := entity{text: text, words: ws, span: span, joined: strings.Join(ws, ""), key: span + "|" + strings.Join(ws, " ")}
	e.keyH = strHash(e.key)
	// The groups naming the phrase or the joined form, in group order.
	e.aliases = append(e.aliases, aliasIndex[strings.Join(ws, " ")]...)
	if j := aliasIndex[e.joined]; len(j) > 0 {
		e.aliases = append(e.aliases, j...)
		slices.Sort(e.aliases)
		e.aliases = slices.Compact(e.aliases)
	}
	return e
}

// aliasIndex maps each name of aliasGroups to the indices of the groups
// holding it, in order. Computed once at start-up and never written.
var aliasIndex = func() map[string][]int {
	m := map[string][]int{}
	for i, g := range aliasGroups {
		for _, a := range g {
			if !slices.Contains(m[a], i) {
				m[a] = append(m[a], i)
			}
		}
	}
	return m
}()

// aliasFields are aliasGroups split into words, for containsPhrase.
// Computed once at start-up and never written: not mutable state.
var aliasFields = func() [][][]string {
	out := make([][][]string, len(aliasGroups))
	for i, g := range aliasGroups {
		for _, a := range g {
			out[i] = append(out[i], strings.Fields(a))
		}
	}
	return out
}()

// antonymsByStem indexes antonymStems by the stem of each side's first
// word (computed once, never written).
var antonymsByStem = func() map[string][]int32 {
	m := map[string][]int32{}
	for i, p := range antonymStems {
		for _, side := range p {
			first := "" // an empty phrase is in every text (hasStem)
			if len(side) > 0 {
				first = side[0]
			}
			if !slices.Contains(m[first], int32(i)) {
				m[first] = append(m[first], int32(i))
			}
		}
	}
	return m
}()

// antonymStems are antonymPairs stemmed, likewise computed once.
var antonymStems = func() [][2][]string {
	out := make([][2][]string, len(antonymPairs))
	for i, p := range antonymPairs {
		out[i] = [2][]string{stemPhrase(p[0]), stemPhrase(p[1])}
	}
	return out
}()

var (
	reURL   = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s"'<>]+`)
	reEmail = regexp.MustCompile(`[\w.+-]+@[\w-]+(?:\.[\w-]+)+`)
	// Quoted strings: "…", “…”, `…` or '…' after white space, as
	//   "([^"]{1,120})"|“([^”]{1,120})”|`([^`]{1,120})`|(?:^|\s)'([^']{1,80})'(?:[\s.,;:!?)]|$)
	// anchored at the start of its input, for findQuoted: at the text's
	// start (reQuotedAt0, where the single-quote form may begin at ^) and
	// elsewhere (reQuotedAt, where it needs white space).
	reQuotedAt0 = regexp.MustCompile("^(?:\"([^\"]{1,120})\"|“([^”]{1,120})”|`([^`]{1,120})`|(?:^|\\s)'([^']{1,80})'(?:[\\s.,;:!?)]|$))")
	reQuotedAt  = regexp.MustCompile("^(?:\"([^\"]{1,120})\"|“([^”]{1,120})”|`([^`]{1,120})`|\\s'([^']{1,80})'(?:[\\s.,;:!?)]|$))")
	// Numbers with their suffix, as
	//   (?:^|[^\w.])([-+]?\d[\d,]*(?:\.\d+)?)(st|nd|rd|th|[a-zA-Z%]+)?
	// anchored for findAnchored: at the text's start and elsewhere.
	reNumberAt0 = regexp.MustCompile(`^(?:^|[^\w.])([-+]?\d[\d,]*(?:\.\d+)?)(st|nd|rd|th|[a-zA-Z%]+)?`)
	reNumberAt  = regexp.MustCompile(`^[^\w.]([-+]?\d[\d,]*(?:\.\d+)?)(st|nd|rd|th|[a-zA-Z%]+)?`)
	reCurrSym   = regexp.MustCompile(`[$€£¥]`)
	reLangSym   = regexp.MustCompile(`(?i)(?:^|[^\w])([cf](?:\+\+|#)|\.net)(?:[^\w]|$)`)
	reCodeTok   = regexp.MustCompile(`[A-Za-z_]\w+(?:(?:\.|::|->)[A-Za-z_]\w*)*(?:\.|::|->)[A-Za-z_]\w+(?:\(\))?|[A-Za-z_]\w*\(\)|[A-Za-z0-9]*_\w+`)
	// Command-line flags after white space, as (?:^|\s)(--?[a-z][\w-]*),
	// anchored for findAnchored.
	reFlagAt0 = regexp.MustCompile(`^(?:^|\s)(--?[a-z][\w-]*)`)
	reFlagAt  = regexp.MustCompile(`^\s(--?[a-z][\w-]*)`)
)

// words lowercases text, expands "n't" and splits it into letter/digit runs,
// the same tokens the local embedder uses.
func words(text string) []string { return lowerWords(strings.ToLower(text)) }

// lowerWords is words of a lowercased text.
func lowerWords(lower string) []string {
	return strings.FieldsFunc(expandNot(lower), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// expandNot rewrites the "n't" contraction as " not" (can't → can not,
// won't → will not), with straight or curly apostrophes. Written out
// rather than with a strings.Replacer: building one per call dominated the
// judge's cost, and a shared one would be package state.
func expandNot(s string) string {
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
func stem(w string) string {
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

func analyze(text string) *analysis {
	lower := strings.ToLower(text)
	a := &analysis{raw: text, words: lowerWords(lower), lowerRaw: lower, present: &presenceMemo{max: presenceMemoCap(len(text))}}
	var compact, capFirst []string
	seenTok := map[string]bool{} // lowercased tokens seen, for capFirst
	var run capRun
	flush := func() {
		if len(run.words) >= 2 {
			a.runs = append(a.runs, run)
		}
		run = capRun{}
	}
	for _, span := range rawTokens(text) {
		t := text[span[0]:span[1]]
		c := compactToken(t)
		compact = append(compact, c)
		r, _ := utf8.DecodeRuneInString(t)
		if l := strings.ToLower(t); !seenTok[l] {
			seenTok[l] = true
			if unicode.IsUpper(r) {
				capFirst = append(capFirst, l)
			}
		}
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
	a.compact, a.capFirst = newStrSet(compact), newStrSet(capFirst)
	var joins []string
	if n := len(a.words) - 1; n > 0 {
		joins = make([]string, n)
		a.pairJoins = make([]joinAt, n)
	}
	// The joined pairs are substrings of one string, allocated once.
	var jb strings.Builder
	total := 0
	for i := range joins {
		total += len(a.words[i]) + len(a.words[i+1])
	}
	jb.Grow(total)
	for i := range joins {
		jb.WriteString(a.words[i])
		jb.WriteString(a.words[i+1])
	}
	all, off := jb.String(), 0
	for i := range joins {
		n := len(a.words[i]) + len(a.words[i+1])
		joins[i], off = all[off:off+n], off+n
		a.pairJoins[i] = joinAt{strHash(joins[i]), int32(i)}
	}
	a.joins = newStrSet(joins)
	slices.SortFunc(a.pairJoins, func(x, y joinAt) int {
		if c := cmp.Compare(x.h, y.h); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	a.wordStems = make([]string, len(a.words))
	for i, w := range a.words {
		a.wordStems[i] = stem(w)
		if negators[w] && !(w == "no" && i+1 < len(a.words) && isDigits(a.words[i+1])) { // "No 7" is "number 7"
			a.negators = append(a.negators, w)
		}
	}
	// Distinct words in first-occurrence order: deterministic, unlike a
	// map's, so sums over them do not vary from run to run.
	a.uniq = make([]string, 0, len(a.words))
	a.wordUniq = make([]int32, len(a.words))
	seen := make(map[string]int32, len(a.words))
	for i, w := range a.words {
		k, ok := seen[w]
		if !ok {
			k = int32(len(a.uniq))
			seen[w] = k
			a.uniq = append(a.uniq, w)
		}
		a.wordUniq[i] = k
	}
	a.uniqStems = make([]string, len(a.uniq))
	a.uniqH, a.uniqStemH = make([]uint64, len(a.uniq)), make([]uint64, len(a.uniq))
	for i, w := range a.uniq {
		a.uniqStems[i] = stem(w)
		a.uniqH[i], a.uniqStemH[i] = strHash(w), strHash(a.uniqStems[i])
	}
	a.wordSet = newStrSetHashed(a.uniq, a.uniqH)
	a.wordIdx = make([]int32, len(a.wordSet))
	for k, e := range a.wordSet {
		a.wordIdx[k] = seen[e.s]
	}
	a.stems = newStrSetHashed(a.uniqStems, a.uniqStemH)
	a.joined = strings.Join(a.words, "")
	// Only pairs with a side whose first word's stem the text has can be
	// present: look those up by stem rather than testing every pair.
	cand := append([]int32(nil), antonymsByStem[""]...) // pairs with an empty side (none today)
	for _, st := range a.stems {
		cand = append(cand, antonymsByStem[st.s]...)
	}
	slices.Sort(cand)
	cand = slices.Compact(cand)
	for _, i := range cand {
		p := antonymStems[i]
		if x, y := hasStem(a, p[0]), hasStem(a, p[1]); x || y {
			a.polar = append(a.polar, polarHit{i, x, y})
		}
	}
	a.numbers, a.units = numbersAndUnits(text, a.words)
	a.entities = findEntities(text, a.words)
	return a
}

// numbersAndUnits extracts canonical numbers ("1,000" → "1000", "3.50" →
// "3.5", "two" → "2", "3rd" and "third" → "3rd") and the units near them.
func numbersAndUnits(text string, ws []string) (nums, us []string) {
	numSet, unitSet := map[string]bool{}, map[string]bool{}
	var found [][]string
	if strings.ContainsAny(text, "0123456789") { // \d is ASCII in Go's regexp
		found = findAnchored(text, reNumberAt0, reNumberAt, numberStart)
	}
	for _, m := range found {
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
		for _, s := range reCurrSym.FindAllString(text, -1) {
			unitSet[units[s]] = true
		}
		if strings.Contains(text, "%") {
			unitSet["%"] = true
		}
	}
	return sortedKeys(numSet), sortedKeys(unitSet)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// findEntities collects what must agree: URLs, emails, quoted strings, code
// identifiers, C++/C#/.NET, gazetteer names, and capitalized words that do
// not start a sentence (unless the text is in Title Case, where capitals say
// nothing), acronyms and mixed-case words (iPhone, PyTorch) anywhere.
func findEntities(text string, ws []string) []entity {
	var out []entity
	seen := map[string]bool{}
	add := func(e entity) {
		key := e.span + "|" + strings.Join(e.words, " ")
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	// Each pattern is run only when the text has a character every match
	// of it needs: most prompts have no URL, email, quote or flag, and the
	// regexps dominated the cost of analysing a long prompt.
	rest := text
	for _, p := range []struct {
		re    *regexp.Regexp
		inSeg func(byte) bool
		may   func(string) bool
	}{{reURL, isURLByte, mayURL}, {reEmail, isEmailByte, mayEmail}} {
		spans := findInSegments(p.re, rest, p.inSeg, p.may)
		for _, sp := range spans {
			m := strings.TrimRight(rest[sp[0]:sp[1]], ".,;:!?)")
			add(newEntity(m, nil, strings.ToLower(m)))
		}
		rest = replaceSpans(rest, spans, " ")
	}
	if mayQuote(rest) {
		for _, m := range findQuoted(rest) {
			for _, g := range m[1:] {
				// Short quoted strings are literals (a file name, an error
				// message, a search term); long ones are reported speech, which
				// paraphrases legitimately reword.
				if g = strings.TrimSpace(g); g != "" && len(words(g)) <= 4 {
					add(newEntity(strconvQuote(g), words(g), ""))
				}
			}
		}
	}
	if l := strings.ToLower(rest); strings.Contains(l, "c++") || strings.Contains(l, "f++") || strings.Contains(l, "c#") ||
		strings.Contains(l, "f#") || strings.Contains(l, ".net") {
		for _, m := range reLangSym.FindAllStringSubmatch(rest, -1) {
			add(newEntity(m[1], nil, strings.ToLower(m[1])))
		}
	}
	for _, sp := range findInSegments(reCodeTok, rest, isCodeByte, mayCode) {
		m := rest[sp[0]:sp[1]]
		add(newEntity(m, nil, strings.ToLower(m)))
	}
	if mayFlag(rest) {
		for _, m := range findAnchored(rest, reFlagAt0, reFlagAt, flagStart) {
			add(newEntity(m[1], nil, strings.ToLower(m[1])))
		}
	}
	toks := rawTokens(rest)
	// How each word was first written, only needed for gazetteer names
	// (most prompts name none).
	var spelled map[string]string // lowercase → as first written
	if slices.ContainsFunc(ws, func(w string) bool { return gazetteer[w] }) {
		spelled = map[string]string{}
		for _, span := range toks {
			t := rest[span[0]:span[1]]
			tw := words(t)
			for _, w := range tw {
				if _, ok := spelled[w]; !ok {
					if len(tw) == 1 {
						spelled[w] = strings.Trim(t, ".'’-")
					} else {
						spelled[w] = w
					}
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
			add(newEntity(text, []string{w}, ""))
		}
	}
	titleCase := isTitleCase(rest)
	sentenceStart := true
	for _, tok := range toks {
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
		ew := words(strings.ReplaceAll(t, ".", ""))
		if acronym {
			ew = []string{compactToken(t)}
		}
		if len(ew) > 0 {
			add(newEntity(t, ew, ""))
		}
	}
	return out
}

// mayQuote reports whether a quoted string can be in s: every match starts with
// ", “ or ` or has ' at the start of s or after white space (\s: \t \n \f
// \r and space). Apostrophes inside words ("don't") do not count.
func mayQuote(s string) bool {
	if strings.ContainsAny(s, "\"“`") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' && (i == 0 || isSpaceRE(s[i-1])) {
			return true
		}
	}
	return false
}

// findQuoted finds the quoted strings of s, as FindAllStringSubmatch(s, -1)
// with the unanchored pattern would, by trying
// the anchored pattern only where a match can start (a quote or backtick,
// white space before an apostrophe, an apostrophe at the start) instead
// of running the unanchored pattern over the whole text, which for long
// prompts runs the regexp's slow NFA across every byte. The leftmost
// position where the anchored pattern matches is where the unanchored
// search would match, with the same alternative and groups. Fuzzed
// against the unanchored pattern (FuzzFindQuoted).
func findQuoted(s string) [][]string {
	var out [][]string
	for x := 0; x < len(s); {
		c := s[x]
		start := c == '"' || c == '`' || strings.HasPrefix(s[x:], "“") ||
			x == 0 && c == '\'' || isSpaceRE(c) && x+1 < len(s) && s[x+1] == '\''
		if !start {
			x++
			continue
		}
		re := reQuotedAt
		if x == 0 {
			re = reQuotedAt0
		}
		m := re.FindStringSubmatchIndex(s[x:])
		if m == nil {
			x++
			continue
		}
		out = append(out, submatches(s, x, m))
		x += m[1]
	}
	return out
}

// submatches turns a match's index pairs, relative to offset x of s, into
// its groups' text ("" for a group that did not take part).
func submatches(s string, x int, m []int) []string {
	groups := make([]string, len(m)/2)
	for g := range groups {
		if m[2*g] >= 0 {
			groups[g] = s[x+m[2*g] : x+m[2*g+1]]
		}
	}
	return groups
}

// findAnchored is FindAllStringSubmatch(s, -1) of an unanchored pattern
// P, computed from its anchored forms at0 (^P, tried at the start of s) and
// at (^P without P's own start-of-text branch, tried elsewhere), tried
// only at the rune boundaries x where start(s, x) says a match may begin.
// The leftmost position where the anchored pattern matches is where the
// unanchored search matches, with the same groups; the regexp steps over
// runes (an invalid byte is one), as this loop does. Running the
// unanchored pattern over a long prompt made the regexp run its slow NFA
// over every byte.
func findAnchored(s string, at0, at *regexp.Regexp, start func(s string, x, w int) bool) [][]string {
	var out [][]string
	for x := 0; x < len(s); {
		_, w := utf8.DecodeRuneInString(s[x:])
		if !start(s, x, w) {
			x += w
			continue
		}
		re := at
		if x == 0 {
			re = at0
		}
		m := re.FindStringSubmatchIndex(s[x:])
		if m == nil || m[1] == 0 {
			x += w
			continue
		}
		out = append(out, submatches(s, x, m))
		x += m[1]
	}
	return out
}

// numberStart: a number match begins at the text's start or at a rune
// other than a word character or '.', and its digits (after an optional
// sign) follow at once.
func numberStart(s string, x, w int) bool {
	digitAt := func(i int) bool {
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		return i < len(s) && '0' <= s[i] && s[i] <= '9'
	}
	if x == 0 && digitAt(0) {
		return true
	}
	c := s[x]
	word := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.'
	return !word && digitAt(x+w)
}

// flagStart: a flag match begins at the text's start or at white space,
// followed by '-'.
func flagStart(s string, x, w int) bool {
	if x == 0 && s[0] == '-' {
		return true
	}
	return isSpaceRE(s[x]) && x+1 < len(s) && s[x+1] == '-'
}

// mayFlag reports whether a flag can be in s: a '-' at the start of s or
// after white space, followed by a lowercase letter or another '-'.
func mayFlag(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && (i == 0 || isSpaceRE(s[i-1])) && (s[i+1] == '-' || 'a' <= s[i+1] && s[i+1] <= 'z') {
			return true
		}
	}
	return false
}

// isSpaceRE is \s in Go's regexp syntax.
func isSpaceRE(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\f' || b == '\r'
}

// findInSegments is re.FindAllStringIndex(s, -1) for a pattern whose
// matches consist only of bytes for which inSeg holds and whose only
// context assertions (\b, ^, $) see a byte outside that set exactly as
// they see the start or end of the text. Then every match lies inside one
// maximal run of such bytes, and matching each run alone finds the same
// matches (leftmost-first within a run is leftmost-first overall). Runs
// that may rejects (it must be a necessary condition for a match) are
// skipped. Short runs also let the regexp use its backtracker instead of
// the far slower NFA it runs on long inputs: analysing a 2,000-token
// prompt spent most of its time in these patterns. Fuzzed against the
// plain regexps (FuzzAnalyzeMatchesOld, FuzzSegmentedRegexps).
func findInSegments(re *regexp.Regexp, s string, inSeg func(byte) bool, may func(string) bool) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		if !inSeg(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && inSeg(s[j]) {
			j++
		}
		if seg := s[i:j]; may(seg) {
			for _, m := range re.FindAllStringIndex(seg, -1) {
				out = append(out, [2]int{i + m[0], i + m[1]})
			}
		}
		i = j
	}
	return out
}

// replaceSpans replaces each span of s (in order, not overlapping) with
// repl, as re.ReplaceAllString(s, repl) does for a literal repl.
func replaceSpans(s string, spans [][2]int, repl string) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(repl)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// reURL's matches never hold white space, quotes or angle brackets (all
// non-word bytes, so \b sees them as it sees the text's edges) and start
// with http:// https:// or www. in any case.
func isURLByte(b byte) bool { return !isSpaceRE(b) && b != '"' && b != '\'' && b != '<' && b != '>' }

func mayURL(seg string) bool {
	return strings.Contains(seg, "://") || strings.Contains(strings.ToLower(seg), "www.")
}

// reEmail's matches are ASCII word bytes, . + - and @ (no assertions).
func isEmailByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '.' || b == '+' || b == '-' || b == '@'
}

func mayEmail(seg string) bool { return strings.Contains(seg, "@") }

// reCodeTok's matches are ASCII word bytes and . : - > ( ) (no
// assertions).
func isCodeByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '_' || b == '.' || b == ':' || b == '-' || b == '>' || b == '(' || b == ')'
}

// mayCode is a necessary condition for a code-token match in seg: an
// underscore (third alternative), "()" (second), or a separator . :: ->
// followed by a letter or underscore (first).
func mayCode(seg string) bool {
	if strings.Contains(seg, "_") || strings.Contains(seg, "()") {
		return true
	}
	for i := 0; i+1 < len(seg); i++ {
		switch seg[i] {
		case '.', ':', '>':
			if c := seg[i+1]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
				return true
			}
		}
	}
	return false
}

// rawTokens returns the spans of the raw tokens of s: a letter or number
// followed by letters, numbers, apostrophes, periods and hyphens, longest
// first — what the regexp [\p{L}\p{N}][\p{L}\p{N}'’.\-]* finds (fuzzed
// against it), about ten times faster. Invalid UTF-8 bytes are
// separators, as in the regexp.
func rawTokens(s string) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !isLetterOrNumber(r) {
			i += w
			continue
		}
		j := i + w
		for j < len(s) {
			r, w := utf8.DecodeRuneInString(s[j:])
			if !isLetterOrNumber(r) && r != '\'' && r != '’' && r != '.' && r != '-' {
				break
			}
			j += w
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

func isLetterOrNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

func compactToken(t string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '\'' || r == '’' {
			return -1
		}
		return r
	}, t))
}

func strconvQuote(s string) string { return "\u201c" + s + "\u201d" }

// isTitleCase reports whether most words of text start with a capital, as
// in headlines and titles, where a capital marks no name.
func isTitleCase(text string) bool {
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
func (e entity) presentIn(o *analysis) bool {
	if e.span != "" {
		return strings.Contains(o.lowerRaw, e.span)
	}
	if len(e.words) == 0 {
		return true
	}
	ok := true
	for _, w := range e.words {
		if !o.wordSet.contains(w) && !o.compact.contains(w) && !o.hasVariant(w) {
			ok = false
			break
		}
	}
	if ok {
		return true
	}
	if o.wordSet.contains(e.joined) || strings.Contains(o.joined, e.joined) && len(e.joined) >= 4 {
		return true
	}
	for _, g := range e.aliases {
		for _, alias := range aliasFields[g] {
			if containsPhrase(o.words, alias) {
				return true
			}
		}
	}
	return false
}

// acronymMatch reports whether entity e of text a is an acronym spelled out
// in b ("WHO" ~ "World Health Organization") or a word of a capitalized run
// in a that b abbreviates.
func acronymMatch(e entity, a, b *analysis) bool {
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
		if slices.Contains(r.words, w) && len(r.initials) >= 2 && b.compact.contains(r.initials) {
			return true
		}
	}
	return false
}

// hasVariant reports whether the text has a spelling variant of the name w:
// one edit away (Moqtada/Muqtada, Jeffery/Jeffrey) for names of five or
// more letters, or a short form (Tim/Timothy). Gazetteer names never match
// variants: Java is not JavaScript, Austria is not Australia.
func (o *analysis) hasVariant(w string) bool {
	if gazetteer[w] || len(w) < 3 {
		return false
	}
	for _, x := range o.uniq {
		if x[0] != w[0] || gazetteer[x] { // the cheap test first
			continue
		}
		if len(w) >= 5 && len(x) >= 5 && damerau1(w, x) {
			return true
		}
		short, long := w, x
		if len(short) > len(long) {
			short, long = long, short
		}
		if len(short) >= 3 && len(long) > len(short) && strings.HasPrefix(long, short) && o.isName(x) == (x == long) && !isDigits(short) {
			return true
		}
	}
	return false
}

// isName is true when word's first occurrence in the raw text is
// capitalized.
func (o *analysis) isName(word string) bool { return o.capFirst.contains(word) }

// damerau1 reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent letters.
func damerau1(a, b string) bool {
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

func containsPhrase(ws, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(ws); i++ {
		if slices.Equal(ws[i:i+len(phrase)], phrase) {
			return true
		}
	}
	return false
}

// runGuardsWith returns the first guard that rejects serving c's answer
// for q, with the differing words; "" when all pass. It takes each side's
// unmatched entities, which the features need too (additionsWith), so they
// are computed once per pair.
func runGuardsWith(q, c *analysis, opts GuardOptions, onlyQ, onlyC []entity) (guard, detail string) {
	if !opts.NoNumber {
		oq, oc := minusLen(q.numbers, c.numbers), minusLen(c.numbers, q.numbers)
		if (oq > 0 && oc > 0) || (opts.NumberAdditions && oq+oc > 0) {
			return GuardNumber, differ(q.numbers, c.numbers)
		}
		if len(q.numbers) > 0 && len(c.numbers) > 0 && minusLen(q.units, c.units) > 0 && minusLen(c.units, q.units) > 0 {
			return GuardNumber, differ(q.units, c.units)
		}
	}
	if !opts.NoNegation && len(q.negators) != len(c.negators) {
		return GuardNegation, differ(q.negators, c.negators)
	}
	if !opts.NoPolarity {
		// A pair can fire only if both texts have a side of it: walk the
		// pairs both texts touch, in list order (the first firing pair is
		// reported).
		for i, k := 0, 0; i < len(q.polar) && k < len(c.polar); {
			hq, hc := q.polar[i], c.polar[k]
			if hq.pair != hc.pair {
				if hq.pair < hc.pair {
					i++
				} else {
					k++
				}
				continue
			}
			i, k = i+1, k+1
			x, y := antonymStems[hq.pair][0], antonymStems[hq.pair][1]
			qx, qy, cx, cy := hq.x, hq.y, hc.x, hc.y
			if (qx && !qy && cy && !cx) || (qy && !qx && cx && !cy) {
				if qx {
					return GuardPolarity, surface(q, x) + " ≠ " + surface(c, y)
				}
				return GuardPolarity, surface(q, y) + " ≠ " + surface(c, x)
			}
		}
	}
	if !opts.NoEntity {
		if (len(onlyQ) > 0 && len(onlyC) > 0 && entitySwap(q, c, onlyQ, onlyC)) || (opts.EntityAdditions && len(onlyQ)+len(onlyC) > 0) {
			return GuardEntity, differ(texts(onlyQ), texts(onlyC))
		}
	}
	return "", ""
}

// unmatchedEntities lists a's entities that b lacks. Whether an entity is
// present in b depends only on the entity (its key) and b, so b remembers
// it (presenceMemo); acronymMatch also depends on a and is not memoized.
// An analysis's entity keys are distinct (findEntities dedupes them), so
// what is known is kept per entity index. The list is appended to out.
func unmatchedEntities(a, b *analysis, out []entity) []entity {
	if len(a.entities) == 0 {
		return out
	}
	const (
		unknown = iota
		absent
		present
		learnedAbsent // computed now, to be remembered
		learnedPresent
	)
	var buf [16]uint8
	var state []uint8
	if len(a.entities) <= len(buf) {
		state = buf[:len(a.entities)]
	} else {
		state = make([]uint8, len(a.entities))
	}
	if b.present != nil {
		b.present.mu.Lock()
		for i, e := range a.entities {
			if v, ok := b.present.get(e.key, e.keyH); ok {
				state[i] = absent
				if v {
					state[i] = present
				}
			}
		}
		b.present.mu.Unlock()
	}
	learned := false
	for i, e := range a.entities {
		if state[i] == unknown {
			state[i] = learnedAbsent
			if e.presentIn(b) {
				state[i] = learnedPresent
			}
			learned = true
		}
		if (state[i] == absent || state[i] == learnedAbsent) && !acronymMatch(e, a, b) {
			out = append(out, e)
		}
	}
	if learned && b.present != nil {
		b.present.mu.Lock()
		for i, e := range a.entities {
			if state[i] < learnedAbsent {
				continue
			}
			if !b.present.put(e.key, e.keyH, state[i] == learnedPresent) {
				break
			}
		}
		b.present.mu.Unlock()
	}
	return out
}

// clearEntities empties es for reuse, dropping what its elements point to.
func clearEntities(es []entity) []entity {
	clear(es)
	return es[:0]
}

func texts(es []entity) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.text
	}
	return out
}

// shortText is the length, in words, up to which any entity conflict is a
// substitution: in a question of a dozen words every name is the subject.
const shortText = 15

// entitySwap decides whether entities unmatched on both sides are a
// substitution ("capital of France" / "capital of Spain") rather than two
// texts each adding its own detail (a news sentence naming a spokesman, its
// paraphrase naming the city). It is a substitution when both texts are
// short, when an unmatched literal (URL, code, quoted string) is involved,
// or when two unmatched names stand in the same slot: the same word before
// or after each.
func entitySwap(q, c *analysis, onlyQ, onlyC []entity) bool {
	if len(q.words) <= shortText && len(c.words) <= shortText {
		return true
	}
	for _, x := range onlyQ {
		for _, y := range onlyC {
			if x.span != "" || y.span != "" {
				return true
			}
			xl, xr := neighbours(q, x)
			yl, yr := neighbours(c, y)
			if (xl != "" && xl == yl) || (xr != "" && xr == yr) {
				return true
			}
		}
	}
	return false
}

// neighbours returns the words before and after e's first occurrence.
func neighbours(a *analysis, e entity) (left, right string) {
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

// additionsWith reports whether only one side has numbers, or entities, the
// other lacks — evidence of a more specific (or less specific) request —
// and whether both sides name entities the other lacks (in long texts that
// entitySwap does not call a substitution), given each side's unmatched
// entities. The score weighs these; the guards do not veto them.
func additionsWith(q, c *analysis, eq, ec []entity) (numbers, entities, conflict bool) {
	numbers = (minusLen(q.numbers, c.numbers) > 0) != (minusLen(c.numbers, q.numbers) > 0)
	entities = (len(eq) > 0) != (len(ec) > 0)
	conflict = len(eq) > 0 && len(ec) > 0
	return numbers, entities, conflict
}

func stemPhrase(p string) []string {
	ws := strings.Fields(p)
	for i, w := range ws {
		ws[i] = stem(w)
	}
	return ws
}

// surface returns the words of a that matched the stemmed phrase, as the
// user wrote them (lowercased): "descending", not "descend".
func surface(a *analysis, phrase []string) string {
	for i := 0; i+len(phrase) <= len(a.words); i++ {
		match := true
		for j, p := range phrase {
			if a.wordStems[i+j] != p {
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

func hasStem(a *analysis, phrase []string) bool {
	if len(phrase) == 0 {
		return true
	}
	if len(phrase) == 1 || !a.stems.contains(phrase[0]) { // a phrase is present only if its first word is
		return a.stems.contains(phrase[0])
	}
	// multi-word phrases must appear in order, adjacent
	for i := 0; i+len(phrase) <= len(a.words); i++ {
		match := true
		for j, p := range phrase {
			if a.wordStems[i+j] != p {
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
func differ(q, c []string) string {
	onlyQ, onlyC := minus(q, c), minus(c, q)
	side := func(s []string) string {
		if len(s) == 0 {
			return "—"
		}
		return strings.Join(s, ", ")
	}
	return side(onlyQ) + " ≠ " + side(onlyC)
}

// minusLen is len(minus(a, b)), without building it: each element of a
// takes an equal, not yet taken element of b, or counts.
func minusLen(a, b []string) int {
	if len(b) == 0 {
		return len(a)
	}
	var buf [16]bool
	var taken []bool
	if len(b) <= len(buf) {
		taken = buf[:len(b)]
	} else {
		taken = make([]bool, len(b))
	}
	n := 0
outer:
	for _, x := range a {
		for j, y := range b {
			if !taken[j] && x == y {
				taken[j] = true
				continue outer
			}
		}
		n++
	}
	return n
}

// minus is the multiset difference a − b, keeping a's order. Callers
// only read the result, which may share a's array.
func minus(a, b []string) []string {
	if len(a) == 0 {
		return nil
	}
	if len(b) == 0 {
		return a[:len(a):len(a)]
	}
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
