package compress

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fillers are politeness and hedging phrases that change no instruction,
// with their replacement ("" removes). Matched case-insensitively on word
// boundaries in prose only. Longer phrases first so that "please kindly"
// wins over "please".
var fillers = []struct{ phrase, with string }{
	{"as an ai language model, ", ""},
	{"as an ai language model ", ""},
	{"i was wondering if you could ", ""},
	{"i would really like you to ", ""},
	{"i would like you to ", ""},
	{"i'd like you to ", ""},
	{"i want you to ", ""},
	{"could you please ", ""},
	{"can you please ", ""},
	{"would you please ", ""},
	{"please kindly ", ""},
	{"please make sure to ", ""},
	{"please note that ", ""},
	{"it is important to note that ", ""},
	{"it's important to note that ", ""},
	{"it is worth noting that ", ""},
	{"needless to say, ", ""},
	{"for all intents and purposes, ", ""},
	{"at the end of the day, ", ""},
	{"due to the fact that ", "because "},
	{"at this point in time ", "now "},
	{"in the event that ", "if "},
	{"for the purpose of ", "for "},
	{"with regard to ", "about "},
	{"a large number of ", "many "},
	{"in order to ", "to "},
	{"is able to ", "can "},
	{"kindly ", ""},
	{"please ", ""},
	{"basically, ", ""},
	{"basically ", ""},
	{"thank you in advance", "thanks"},
}

// fillerPass removes filler phrases. When a phrase opened a sentence, the
// next word is capitalised so the sentence still reads as one.
func fillerPass(_ context.Context, d *doc, _ *state) ([]edit, error) {
	s := d.text
	var es []edit
	for _, l := range d.lines {
		if l.kind != kindProse {
			continue
		}
		lower := asciiLower(s[l.start:l.end])
		taken := make([]bool, len(lower)+1)
		for _, f := range fillers {
			from := 0
			for {
				k := strings.Index(lower[from:], f.phrase)
				if k < 0 {
					break
				}
				a := from + k
				b := a + len(f.phrase)
				from = b
				if (a > 0 && isWordByte(lower[a-1])) || taken[a] || taken[b-1] {
					continue
				}
				for x := a; x < b; x++ {
					taken[x] = true
				}
				with := f.with
				start := l.start + a
				end := l.start + b
				if sentenceOpen(s, l.start, start) && end < l.end {
					// "Please summarise" → "Summarise".
					r, n := utf8.DecodeRuneInString(s[end:l.end])
					if unicode.IsLower(r) {
						if with == "" {
							with = string(unicode.ToUpper(r))
							end += n
						} else {
							with = strings.ToUpper(with[:1]) + with[1:]
						}
					} else if with != "" {
						with = strings.ToUpper(with[:1]) + with[1:]
					}
				}
				// dup: a phrase may contain a protected word ("AI"); it
				// may go only if that word is still found elsewhere.
				es = append(es, edit{start: start, end: end, with: with, dup: true})
			}
		}
	}
	return es, nil
}

// sentenceOpen reports whether position i starts a sentence within its line.
func sentenceOpen(s string, lineStart, i int) bool {
	j := i
	for j > lineStart && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j == lineStart {
		return true
	}
	switch s[j-1] {
	case '.', '!', '?', ':', '"', '(':
		return true
	}
	return false
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// stopwords are the words pruned by the stopword pass: articles and
// intensifiers, which models reconstruct reliably. Negations, pronouns,
// prepositions and modal verbs change meaning and are never pruned.
var stopwords = map[string]bool{
	"the": true, "a": true, "an": true, "very": true, "really": true, "just": true, "quite": true,
	"rather": true, "simply": true, "actually": true, "basically": true, "literally": true,
	"totally": true, "extremely": true, "truly": true, "certainly": true, "definitely": true,
}

// stopwordPass drops stopwords (lower-case only, so sentence-initial words
// and names stay) together with the space after them.
func stopwordPass(_ context.Context, d *doc, _ *state) ([]edit, error) {
	s := d.text
	var es []edit
	for _, l := range d.lines {
		if l.kind != kindProse {
			continue
		}
		for i := l.start + l.indent; i < l.end; {
			if !isWordByte(s[i]) {
				i++
				continue
			}
			j := i
			for j < l.end && isWordByte(s[j]) {
				j++
			}
			if stopwords[s[i:j]] && j < l.end && s[j] == ' ' && j+1 < l.end && isWordByte(s[j+1]) &&
				(i == l.start+l.indent || s[i-1] == ' ') {
				es = append(es, edit{start: i, end: j + 1})
			}
			i = j
		}
	}
	return es, nil
}

// candidate is a piece of text budget mode may drop.
type candidate struct {
	start, end int // removal range, separators included
	cs, ce     int // the content range, without separators
	text       string
	score      float64
	tokens     int
	units      []string // protected unit texts inside
	block      int      // the block it belongs to
	whole      bool     // the candidate is its whole block
}

// budgetPass drops the candidates least relevant to the final question
// until the prompt fits cfg.BudgetTokens. Candidates are whole blocks when
// the block is structured (examples, lists, chat turns: dropping half of
// one leaves nonsense) and sentences otherwise. Relevance is the IDF-
// weighted overlap of content words with the final question; ties drop the
// later text first, since prompts put instructions and key facts early.
// A candidate holding a protected unit is dropped only while another copy
// of that unit stays.
func budgetPass(_ context.Context, d *doc, st *state) ([]edit, error) {
	target := st.budget
	if target <= 0 || st.tokens <= target {
		return nil, nil
	}
	s := d.text
	q, hasQ := finalQuestion(d)
	blocks := examples(d)
	var cands []candidate
	for bi, b := range blocks {
		if hasQ && b.end > q.start && b.start < q.end {
			continue
		}
		if d.lines[b.firstLine].kind != kindProse {
			continue
		}
		if structured(d, b) {
			a, e := d.blockRemoval(b.start, b.end)
			cands = append(cands, candidate{start: a, end: e, cs: b.start, ce: b.end, text: s[b.start:b.end], block: bi, whole: true})
			continue
		}
		for _, r := range sentences(s, b.start, b.end) {
			ce := r.end
			for ce > r.start && (s[ce-1] == ' ' || s[ce-1] == '\n' || s[ce-1] == '\t' || s[ce-1] == '\r') {
				ce--
			}
			cands = append(cands, candidate{start: r.start, end: r.end, cs: r.start, ce: ce, text: s[r.start:r.end], block: bi})
		}
	}
	if len(cands) == 0 {
		st.note = "nothing droppable outside protected text"
		return nil, nil
	}
	// Unit occurrences, to know which candidate may go.
	count := map[string]int{}
	for _, u := range d.units {
		count[u.Text]++
	}
	ui := 0
	for i := range cands {
		c := &cands[i]
		for ui < len(d.units) && d.units[ui].Start < c.start {
			ui++
		}
		for j := ui; j < len(d.units) && d.units[j].Start < c.end; j++ {
			c.units = append(c.units, d.units[j].Text)
		}
		c.tokens = st.meter.count(c.text)
	}
	scoreAll(cands, questionText(d, q, hasQ))
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ca, cb := cands[order[a]], cands[order[b]]
		if ca.score != cb.score {
			return ca.score < cb.score
		}
		return ca.start > cb.start
	})
	need := st.tokens - target
	drop := make([]bool, len(cands))
	for _, i := range order {
		if need <= 0 {
			break
		}
		c := cands[i]
		ok := true
		for _, u := range c.units {
			if count[u] < 2 {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		for _, u := range c.units {
			count[u]--
		}
		drop[i] = true
		need -= c.tokens
	}
	// Still over budget: reduce the least relevant remaining candidates to
	// their protected units ("… 25 days … March 31 …" keeps every number
	// and name of the sentence and drops the words around them). This is
	// still extractive: every kept byte is from the prompt.
	reduced := make([]string, len(cands))
	for _, i := range order {
		if need <= 0 {
			break
		}
		c := cands[i]
		if drop[i] {
			continue
		}
		r, ok := reduceToUnits(d, c.cs, c.ce)
		if !ok {
			continue
		}
		// Only reductions that pay: trimming a word or two off a short line
		// buys little and is where unit detection is most sensitive to
		// context (see the idempotence notes in the package README).
		was := st.meter.count(s[c.cs:c.ce])
		saved := was - st.meter.count(r)
		if saved < 3 || 4*saved < was {
			continue
		}
		reduced[i] = r
		need -= saved
	}
	if need > 0 {
		st.note = fmt.Sprintf("budget %d not reached: the rest is protected or the final question", target)
	}
	// A block whose sentences all go is removed as a block, separators
	// included.
	var es []edit
	for i := 0; i < len(cands); {
		c := cands[i]
		if c.whole {
			if drop[i] {
				es = append(es, edit{start: c.start, end: c.end, dup: true})
			} else if reduced[i] != "" {
				es = append(es, edit{start: c.cs, end: c.ce, with: reduced[i], dup: true})
			}
			i++
			continue
		}
		j := i
		all := true
		for j < len(cands) && cands[j].block == c.block && !cands[j].whole {
			all = all && drop[j]
			j++
		}
		if all {
			b := blocks[c.block]
			a, e := d.blockRemoval(b.start, b.end)
			es = append(es, edit{start: a, end: e, dup: true})
		} else {
			for k := i; k < j; k++ {
				if drop[k] {
					es = append(es, edit{start: cands[k].start, end: cands[k].end, dup: true})
				} else if reduced[k] != "" {
					es = append(es, edit{start: cands[k].cs, end: cands[k].ce, with: reduced[k], dup: true})
				}
			}
		}
		i = j
	}
	return es, nil
}

// reduceToUnits returns the protected ranges inside [a,b) joined by " … ",
// or false when a unit straddles the boundary or there is none.
func reduceToUnits(d *doc, a, b int) (string, bool) {
	if strings.Contains(d.text[a:b], " … ") {
		// Already reduced: unit detection depends on context (a name
		// next to another capitalised word), so reducing the reduction
		// could treat a part as plain text the second time.
		return "", false
	}
	var parts []string
	for _, r := range d.prot {
		if r.end <= a {
			continue
		}
		if r.start >= b {
			break
		}
		if r.start < a || r.end > b {
			return "", false
		}
		parts = append(parts, d.text[r.start:r.end])
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, " … "), true
}

// structured: a block with several lines that look like list items, chat
// turns or options; or an example with a header.
func structured(d *doc, b block) bool {
	if b.keyStart != b.start {
		return true
	}
	if b.lastLine == b.firstLine {
		return false
	}
	for li := b.firstLine; li <= b.lastLine; li++ {
		l := strings.TrimSpace(d.lineText(li))
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
			return true
		}
		if len(l) >= 2 && (l[1] == '.' || l[1] == ')') && (l[0] >= 'A' && l[0] <= 'Z' || l[0] >= '0' && l[0] <= '9') {
			return true
		}
		if k := strings.IndexByte(l, ':'); k > 0 && k < 20 && !strings.Contains(l[:k], " ") {
			return true
		}
	}
	return false
}

// sentences splits s[a:b] into sentence ranges that each include the
// whitespace after them (so removing one leaves single spacing), and
// treats each line as ending a sentence.
func sentences(s string, a, b int) []rng {
	var out []rng
	start := a
	for i := a; i < b; i++ {
		c := s[i]
		end := -1
		switch {
		case c == '\n':
			end = i + 1
		case (c == '.' || c == '!' || c == '?') && i+1 < b && s[i+1] == ' ':
			// Not after a single capital ("J. Smith") or a number ("3. ").
			if i > a && (s[i-1] >= '0' && s[i-1] <= '9' || i-1 == a || s[i-2] == ' ') && c == '.' {
				continue
			}
			end = i + 1
			for end < b && s[end] == ' ' {
				end++
			}
		}
		if end > start {
			out = append(out, rng{start, end})
			start = end
			i = end - 1
		}
	}
	if start < b {
		out = append(out, rng{start, b})
	}
	return out
}

func questionText(d *doc, q rng, ok bool) string {
	if !ok {
		return ""
	}
	return d.text[q.start:q.end]
}

// scoreAll sets each candidate's relevance: the IDF-weighted share of the
// question's content words it contains, damped by length so that long
// sentences do not win by size alone, plus a prior for natural language
// (the share of English function words, ≈0.3–0.5 in prose and near 0 in
// headers, logs and IDs), so that when the question says little ("What is
// the sender asking for?") the message survives and the machine text goes.
func scoreAll(cands []candidate, question string) {
	for i := range cands {
		cands[i].score = proseRatio(cands[i].text) + instructionPrior(cands[i].text)
		if cands[i].block == cands[0].block {
			// The opening block is usually the system prompt or the task.
			cands[i].score += 0.3
		}
	}
	qw := contentWords(question)
	if len(qw) == 0 {
		return
	}
	df := map[string]int{}
	words := make([]map[string]bool, len(cands))
	for i, c := range cands {
		words[i] = contentWords(c.text)
		for w := range words[i] {
			if qw[w] {
				df[w]++
			}
		}
	}
	n := float64(len(cands))
	for i := range cands {
		sc := 0.0
		for w := range words[i] {
			if qw[w] {
				sc += math.Log(1 + n/float64(df[w]))
			}
		}
		cands[i].score += sc / math.Sqrt(1+float64(len(words[i])))
	}
}

// instructionPrior favours sentences that tell the model what to do: the
// system prompt's rules matter to every question, whatever its words.
func instructionPrior(s string) float64 {
	l := " " + asciiLower(s)
	for _, w := range []string{" you ", " you'", " must ", " never ", " always ", " only ", " do not ", " don't ",
		" should ", " return ", " use ", " answer ", " respond ", " output "} {
		if strings.Contains(l, w) {
			return 0.5
		}
	}
	return 0
}

var functionWords = map[string]bool{
	"the": true, "a": true, "an": true, "and": true, "or": true, "but": true, "of": true, "to": true,
	"in": true, "on": true, "at": true, "for": true, "with": true, "is": true, "are": true, "was": true,
	"be": true, "it": true, "this": true, "that": true, "you": true, "we": true, "i": true, "not": true,
	"have": true, "has": true, "will": true, "can": true, "if": true, "as": true, "by": true, "from": true,
	"do": true, "my": true, "your": true, "our": true, "they": true, "he": true, "she": true, "so": true,
}

func proseRatio(s string) float64 {
	n, f := 0, 0
	for _, w := range strings.Fields(s) {
		n++
		if functionWords[strings.ToLower(strings.Trim(w, ".,;:!?\"'()"))] {
			f++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(f) / float64(n)
}

// contentWords lower-cases letters-only words of 3+ letters, cut to a
// 6-letter stem so that "compress", "compression" and "compressed" meet.
func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	f := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	for _, w := range strings.FieldsFunc(strings.ToLower(s), f) {
		if len(w) < 3 || commonWords[w] {
			continue
		}
		if len(w) > 6 {
			w = w[:6]
		}
		out[w] = true
	}
	return out
}

var commonWords = map[string]bool{
	"the": true, "and": true, "for": true, "are": true, "but": true, "not": true, "you": true, "all": true,
	"any": true, "can": true, "had": true, "her": true, "was": true, "one": true, "our": true, "out": true,
	"has": true, "have": true, "this": true, "that": true, "with": true, "from": true, "they": true,
	"will": true, "would": true, "there": true, "their": true, "what": true, "which": true, "when": true,
	"who": true, "how": true, "why": true, "where": true, "about": true, "into": true, "than": true,
	"then": true, "them": true, "these": true, "those": true, "some": true, "such": true, "only": true,
	"other": true, "following": true, "answer": true, "question": true, "please": true, "does": true,
	"did": true, "its": true, "his": true, "she": true, "him": true, "been": true, "were": true, "also": true,
}

// summarizePass replaces the longest run of plain prose (not the final
// question, no code, JSON or tables) with the summarizer's summary, when
// the run is at least SummarizeMinTokens long. Protected units of the run
// that the summary lost are appended verbatim, so the guarantee holds even
// for a careless summarizer. The call's cost is reported on the pass and
// in the Result even when the pass is then skipped: the money was spent.
// Summaries are cached per Compressor by input text, so re-planning the
// same prompt calls the model once.
func summarizePass(ctx context.Context, d *doc, st *state) ([]edit, error) {
	s := d.text
	q, hasQ := finalQuestion(d)
	best, bestStart, bestEnd := 0, 0, 0
	ps := d.paragraphs(false)
	for i := 0; i < len(ps); {
		if d.lines[ps[i].first].kind != kindProse || (hasQ && ps[i].end > q.start && ps[i].start < q.end) {
			i++
			continue
		}
		j := i
		for j+1 < len(ps) && d.lines[ps[j+1].first].kind == kindProse && !(hasQ && ps[j+1].end > q.start && ps[j+1].start < q.end) {
			j++
		}
		if n := ps[j].end - ps[i].start; n > best {
			best, bestStart, bestEnd = n, ps[i].start, ps[j].end
		}
		i = j + 1
	}
	if best == 0 {
		return nil, nil
	}
	region := s[bestStart:bestEnd]
	rt := st.meter.count(region)
	if rt < st.cfg.SummarizeMinTokens {
		st.note = fmt.Sprintf("longest prose run is %d tokens, below summarize_min_tokens %d", rt, st.cfg.SummarizeMinTokens)
		return nil, nil
	}
	sum, cost, cached, err := st.summarize(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("summarizer: %w", err)
	}
	if cached {
		// Paid when it was first made; sending this prompt costs nothing more.
		st.note = fmt.Sprintf("summary reused from an earlier call that cost %d nano-USD", int64(cost))
	} else {
		st.costNanos += cost
		st.extraTok += rt + st.meter.count(sum)
	}
	sum = strings.TrimSpace(sum)
	// Keep every unit of the region that neither the summary nor the rest
	// of the prompt holds.
	rest := s[:bestStart] + s[bestEnd:]
	var missing []string
	seen := map[string]bool{}
	for _, u := range d.units {
		if u.End <= bestStart || u.Start >= bestEnd || seen[u.Text] {
			continue
		}
		seen[u.Text] = true
		if !strings.Contains(sum, u.Text) && !strings.Contains(rest, u.Text) {
			missing = append(missing, u.Text)
		}
	}
	if len(missing) > 0 {
		sum += "\nKept verbatim: " + strings.Join(missing, "; ")
	}
	return []edit{{start: bestStart, end: bestEnd, with: sum, dup: true}}, nil
}
