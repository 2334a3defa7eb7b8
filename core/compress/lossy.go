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

// candidate is a piece of text budget mode may drop or reduce.
type candidate struct {
	start, end int // removal range, separators included
	cs, ce     int // the content range, without separators
	text       string
	score      float64
	tokens     int
	block      int  // the block it belongs to
	whole      bool // the candidate is its whole block
	frozen     bool // a protected range straddles it: neither dropped nor reduced
}

// budget actions on a candidate.
const (
	actKeep uint8 = iota
	actDrop
	actReduce
)

// budgetPass drops the candidates least relevant to the final question
// until the prompt fits the budget. Candidates are sentences of plain
// prose, items of lists, chat turns and header blocks ("Key: value" lines
// with their continuations), and whole blocks for few-shot examples and
// multiple-choice questions (dropping half of one leaves nonsense).
// Relevance is the IDF-weighted overlap of content words with the final
// question plus priors for natural language and instructions; ties drop
// the later text first, since prompts put instructions and key facts early.
//
// Protection decides what an action may do, not which candidate is
// chosen: walking from the least relevant candidate up, each one is
// dropped when every protected unit in it still has a copy in the kept
// text, and otherwise reduced to the protected units that have none
// (a residue such as "25 days … March 31 … Acme Corp"). Copies are
// counted as they go, so the most relevant copy of a repeated unit is the
// one that stays. This is still extractive: every kept byte is from the
// prompt.
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
		if b.keyStart != b.start || multipleChoice(d, b) {
			a, e := d.blockRemoval(b.start, b.end)
			cands = append(cands, candidate{start: a, end: e, cs: b.start, ce: b.end, block: bi, whole: true})
			continue
		}
		var parts []rng
		if itemized(d, b) {
			parts = d.items(b)
		} else {
			parts = d.sentences(b.start, b.end)
		}
		for _, r := range parts {
			ce := r.end
			for ce > r.start && isSpaceByte(s[ce-1]) {
				ce--
			}
			cands = append(cands, candidate{start: r.start, end: r.end, cs: r.start, ce: ce, block: bi})
		}
	}
	if len(cands) == 0 {
		st.note = "nothing droppable outside protected text"
		return nil, nil
	}
	// avail counts the copies of each unit text still in the kept text.
	avail := make(map[string]int, len(d.units))
	for _, u := range d.units {
		avail[u.Text]++
	}
	for i := range cands {
		c := &cands[i]
		c.text = s[c.cs:c.ce]
		c.frozen = d.straddlesProt(c.cs, c.ce)
		c.tokens = st.meter.count(s[c.start:c.end])
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
	act := make([]uint8, len(cands))
	kept := make([][]string, len(cands)) // a reduced candidate's residue pieces
	for _, i := range order {
		if need <= 0 {
			break
		}
		c := cands[i]
		if c.frozen {
			continue
		}
		pieces, gone, drop := d.residue(c.cs, c.ce, avail)
		if drop {
			act[i] = actDrop
			need -= c.tokens
		} else {
			saved := st.meter.count(c.text) - st.meter.count(strings.Join(pieces, residueSep))
			if saved <= 0 {
				continue
			}
			act[i], kept[i] = actReduce, pieces
			need -= saved
		}
		for _, u := range gone {
			avail[u]--
		}
	}
	if need > 0 {
		st.note = fmt.Sprintf("budget %d not reached: the rest is protected or the final question", target)
	}
	return budgetEdits(d, blocks, cands, act, kept), nil
}

// residueSep joins the protected pieces of a reduced run. It keeps pieces
// apart for unit detection too: two names joined by a plain space would
// read as one longer name on the next run.
const residueSep = " … "

// budgetEdits turns the chosen actions into edits. A block whose pieces
// all go is removed as a block, separators included; a run of consecutive
// pieces that are dropped or reduced becomes one residue, so that the
// separators between the pieces go too.
func budgetEdits(d *doc, blocks []block, cands []candidate, act []uint8, kept [][]string) []edit {
	s := d.text
	var es []edit
	for i := 0; i < len(cands); {
		c := cands[i]
		if c.whole {
			switch act[i] {
			case actDrop:
				es = append(es, edit{start: c.start, end: c.end, dup: true})
			case actReduce:
				es = append(es, edit{start: c.cs, end: c.ce, with: strings.Join(kept[i], residueSep), dup: true})
			}
			i++
			continue
		}
		j := i
		all := true
		for j < len(cands) && cands[j].block == c.block && !cands[j].whole {
			all = all && act[j] == actDrop
			j++
		}
		if all {
			b := blocks[c.block]
			a, e := d.blockRemoval(b.start, b.end)
			es = append(es, edit{start: a, end: e, dup: true})
			i = j
			continue
		}
		for k := i; k < j; {
			if act[k] == actKeep {
				k++
				continue
			}
			m := k
			var pieces []string
			for m < j && act[m] != actKeep {
				pieces = append(pieces, kept[m]...)
				m++
			}
			if len(pieces) == 0 {
				a := cands[k].start
				if m == j {
					// The block's last pieces take the separator before
					// them, so no trailing space or line break remains.
					a = cands[k-1].ce
				}
				es = append(es, edit{start: a, end: cands[m-1].end, dup: true})
				k = m
				continue
			}
			with := strings.Join(pieces, residueSep)
			end := cands[m-1].ce
			// Text after the residue on the same line would touch its last
			// unit ("Acme Corp" + "The …" reads as one name): separate it.
			if e := cands[m-1].end; e > end && e < len(s) && s[e-1] != '\n' && m < j {
				with += residueSep[:len(residueSep)-1]
			}
			es = append(es, edit{start: cands[k].cs, end: end, with: with, dup: true})
			k = m
		}
		i = j
	}
	return es
}

// residue decides what budget mode may do with s[a:b]: drop it whole when
// every protected unit in it has a copy elsewhere in the kept text, or
// else keep only the protected ranges that hold a last copy. gone lists
// the unit occurrences the action removes (one entry per occurrence).
func (d *doc) residue(a, b int, avail map[string]int) (pieces, gone []string, drop bool) {
	lo := sort.Search(len(d.units), func(k int) bool { return d.units[k].Start >= a })
	hi := lo
	for hi < len(d.units) && d.units[hi].Start < b {
		hi++
	}
	inside := d.units[lo:hi]
	here := map[string]int{}
	for _, u := range inside {
		here[u.Text]++
	}
	drop = true
	for t, n := range here {
		if n >= avail[t] {
			drop = false
			break
		}
	}
	if drop {
		for _, u := range inside {
			gone = append(gone, u.Text)
		}
		return nil, gone, true
	}
	// Walk the merged protected ranges; a range may go when each unit in
	// it keeps a copy outside what this candidate removes.
	removed := map[string]int{}
	k := 0
	for _, r := range d.prot {
		if r.end <= a {
			continue
		}
		if r.start >= b {
			break
		}
		var us []string
		for k < len(inside) && inside[k].Start < r.end {
			us = append(us, inside[k].Text)
			k++
		}
		ok := true
		for _, t := range us {
			if removed[t]+1 >= avail[t] {
				ok = false
				break
			}
		}
		// Count every occurrence in the range, a unit repeated inside it
		// included, before committing.
		if ok {
			cnt := map[string]int{}
			for _, t := range us {
				cnt[t]++
			}
			for t, n := range cnt {
				if removed[t]+n >= avail[t] {
					ok = false
					break
				}
			}
		}
		if !ok {
			pieces = append(pieces, d.text[r.start:r.end])
			continue
		}
		for _, t := range us {
			removed[t]++
			gone = append(gone, t)
		}
	}
	return pieces, gone, false
}

// straddlesProt reports whether a protected range crosses a or b.
func (d *doc) straddlesProt(a, b int) bool {
	for _, r := range d.prot {
		if r.start >= b {
			return false
		}
		if r.start < a && r.end > a || r.start < b && r.end > b {
			return true
		}
	}
	return false
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// multipleChoice: a question followed by lettered options ("A. …",
// "(b) …"): its options only make sense together.
func multipleChoice(d *doc, b block) bool {
	n := 0
	for li := b.firstLine; li <= b.lastLine; li++ {
		l := strings.TrimSpace(d.lineText(li))
		l = strings.TrimPrefix(l, "(")
		if len(l) >= 2 && (l[1] == '.' || l[1] == ')') && (l[0] >= 'A' && l[0] <= 'H' || l[0] >= 'a' && l[0] <= 'h') {
			n++
		}
	}
	return n >= 2
}

// itemized: a block whose lines are items that stand on their own — list
// items, chat turns, "Key: value" fields — so budget mode may drop some of
// them. A block of one line is a sentence run instead.
func itemized(d *doc, b block) bool {
	if b.lastLine == b.firstLine {
		return false
	}
	for li := b.firstLine; li <= b.lastLine; li++ {
		l := d.lineText(li)
		if itemStart(strings.TrimSpace(l)) || headerField(l[d.lines[li].indent:]) {
			return true
		}
	}
	return false
}

// itemStart recognises a line that opens a list item or a labelled line.
func itemStart(l string) bool {
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
		return true
	}
	if len(l) >= 2 && (l[1] == '.' || l[1] == ')') && (l[0] >= 'A' && l[0] <= 'Z' || l[0] >= '0' && l[0] <= '9') {
		return true
	}
	k := strings.IndexByte(l, ':')
	return k > 0 && k < 20 && !strings.Contains(l[:k], " ")
}

// items splits an itemized block into items: a line and the lines after
// it that are indented deeper (a folded header, a wrapped list item) or
// that open no item of their own (a wrapped line). Each range includes
// its line break.
func (d *doc) items(b block) []rng {
	var out []rng
	start, ind := -1, 0
	for li := b.firstLine; li <= b.lastLine; li++ {
		l := d.lines[li]
		t := d.lineText(li)
		opens := itemStart(strings.TrimSpace(t)) || headerField(t[l.indent:])
		if start >= 0 && (l.indent > ind || !opens) {
			continue
		}
		if start >= 0 {
			out = append(out, rng{start, l.start})
		}
		start, ind = l.start, l.indent
	}
	return append(out, rng{start, d.lines[b.lastLine].end})
}

// sentences splits s[a:b] into sentence ranges that each include the
// whitespace after them (so removing one leaves single spacing). A line
// break ends a sentence unless the text is hard-wrapped there (the line
// ends without punctuation and the next one goes on in lower case).
// Protected ranges are never split.
func (d *doc) sentences(a, b int) []rng {
	s := d.text
	var out []rng
	start := a
	pi := sort.Search(len(d.prot), func(k int) bool { return d.prot[k].end > a })
	for i := a; i < b; i++ {
		for pi < len(d.prot) && d.prot[pi].end <= i {
			pi++
		}
		if pi < len(d.prot) && d.prot[pi].start <= i {
			i = d.prot[pi].end - 1
			continue
		}
		c := s[i]
		end := -1
		switch {
		case c == '\n':
			if wrapped(s, start, i, b) {
				continue
			}
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

// wrapped reports whether the line break at s[i] only wraps a sentence:
// the line does not end with sentence punctuation and the next line
// continues in lower case.
func wrapped(s string, start, i, b int) bool {
	if i+1 >= b || i == start {
		return false
	}
	switch s[i-1] {
	case '.', '!', '?', ':', ';':
		return false
	}
	j := i + 1
	for j < b && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	return j < b && s[j] >= 'a' && s[j] <= 'z'
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
