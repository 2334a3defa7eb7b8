package route

// The scanner makes one pass over the prompt's bytes and collects everything
// the built-in signals and the keyword rules need. Scoring must take
// microseconds for a 2,000-token prompt, which rules out one regular
// expression per signal (Go's regexp scans at tens of MB/s, so eight passes
// over 8 KB already cost the budget). Words are hashed while they are read
// and looked up in one table that holds the built-in vocabularies and every
// keyword of every rule; multi-word phrases are matched by extending partial
// matches word by word.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	maxPhrase = 8 // words; longer keyword phrases are rejected by Compile
)

// Built-in vocabulary categories.
const (
	catCode uint8 = 1 << iota
	catMath
	catReason
	catFormat
	catMulti
	catLabel // words that introduce a numbered sub-item: "part 2", "question (b)"
)

// builtinVocab lists the words and phrases behind the text signals. They are
// general English markers of each kind of request, not taken from any
// evaluation set.
var builtinVocab = map[uint8][]string{
	catCode: {
		"func", "def", "return", "import", "class", "const", "var", "let", "void", "struct", "lambda",
		"printf", "println", "console", "null", "nil", "boolean", "int", "string", "array", "function call",
		"compile", "compiler", "runtime", "stack trace", "traceback", "exception", "segfault", "refactor",
		"python", "javascript", "typescript", "golang", "java", "kotlin", "rust code", "sql", "regex",
		"html", "css", "api", "endpoint", "bug", "debug", "unit test", "algorithm", "time complexity",
	},
	catMath: {
		"solve", "equation", "equations", "integral", "derivative", "differentiate", "integrate", "limit of",
		"probability", "expected value", "variance", "calculate", "compute", "how many", "how much", "sum",
		"product of", "percent", "percentage", "ratio", "matrix", "vector", "eigenvalue", "theorem", "lemma",
		"prime", "polynomial", "factor", "logarithm", "sqrt", "square root", "fraction", "average", "mean",
		"median", "divisible", "modulo", "remainder", "geometry", "triangle", "angle", "radius", "area of",
		"volume of", "perimeter", "inequality", "function f", "f x", "mod", "gcd", "lcm", "permutations",
		"combinations", "exponent", "algebra", "group", "ring", "field extension", "homomorphism",
	},
	catReason: {
		"step by step", "prove", "proof", "show that", "explain why", "why does", "why is", "why do",
		"compare", "contrast", "derive", "analyze", "analyse", "evaluate", "justify", "reason about",
		"trade off", "tradeoff", "tradeoffs", "trade offs", "implications", "critique", "pros and cons",
		"design a", "architect", "optimize", "in depth", "thoroughly", "rigorous", "counterexample",
		"what would happen", "think through", "plan", "strategy", "argue", "assess", "infer",
	},
	catFormat: {
		"json", "yaml", "xml", "csv", "markdown", "table", "bullet points", "bulleted", "numbered list",
		"format", "formatted", "schema", "template", "in words", "word limit", "at most", "no more than",
		"exactly", "headings", "outline", "code block", "latex",
	},
	catMulti: {
		"also", "additionally", "furthermore", "moreover", "secondly", "thirdly", "as well as", "then",
	},
	// Followed by an ordinal ("1"…"9", "a"…"h") these label sub-items of one
	// request; each distinct ordinal counts as one part.
	catLabel: {
		"part", "question", "scenario", "statement", "case", "task", "problem", "item", "claim",
		"premise", "exercise", "section", "step", "subquestion",
	},
}

// lexEntry is what the table knows about a word or a phrase prefix.
type lexEntry struct {
	cats   uint8   // built-in categories for which this is a complete entry
	prefix bool    // a longer phrase starts with this sequence
	rules  []int32 // keyword rules for which this is a complete entry
}

// lexicon maps word-sequence hashes to entries. It is built with a Go map
// and then frozen into an open-addressing table, which the scanner probes
// for every word of every prompt: a probe costs a few nanoseconds where a
// map lookup costs several times that.
type lexicon struct {
	idx     map[uint64]int32 // while building
	entries []lexEntry

	keys  []uint64 // frozen table; 0 marks an empty slot
	vals  []int32
	shift uint
}

func newLexicon() *lexicon {
	lx := &lexicon{idx: map[uint64]int32{}}
	for cat, words := range builtinVocab {
		for _, w := range words {
			lx.add(w, func(e *lexEntry) { e.cats |= cat })
		}
	}
	return lx
}

// add registers a phrase; set marks its complete entry.
func (lx *lexicon) add(phrase string, set func(*lexEntry)) {
	hs := phraseHashes(phrase)
	for i, h := range hs {
		e := lx.entry(h)
		if i < len(hs)-1 {
			e.prefix = true
		} else {
			set(e)
		}
	}
}

func (lx *lexicon) entry(h uint64) *lexEntry {
	i, ok := lx.idx[h]
	if !ok {
		i = int32(len(lx.entries))
		lx.entries = append(lx.entries, lexEntry{})
		lx.idx[h] = i
	}
	return &lx.entries[i]
}

// freeze builds the probe table (load factor ≤ 1/4). No add after freeze.
func (lx *lexicon) freeze() {
	bits := uint(4)
	for 1<<bits < 4*len(lx.idx) {
		bits++
	}
	lx.shift = 64 - bits
	lx.keys = make([]uint64, 1<<bits)
	lx.vals = make([]int32, 1<<bits)
	mask := uint64(1)<<bits - 1
	for h, v := range lx.idx {
		h = nonZero(h)
		for i := slot(h, lx.shift); ; i = (i + 1) & mask {
			if lx.keys[i] == 0 {
				lx.keys[i], lx.vals[i] = h, v
				break
			}
		}
	}
}

func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

func slot(h uint64, shift uint) uint64 { return (h * 0x9e3779b97f4a7c15) >> shift }

// lookup probes the frozen table.
func (lx *lexicon) lookup(h uint64) (*lexEntry, bool) {
	h = nonZero(h)
	mask := uint64(len(lx.keys) - 1)
	for i := slot(h, lx.shift); ; i = (i + 1) & mask {
		switch lx.keys[i] {
		case h:
			return &lx.entries[lx.vals[i]], true
		case 0:
			return nil, false
		}
	}
}

// phraseHashes returns the hash of each prefix of the phrase's word sequence
// (the last one is the whole phrase). It uses the scanner's word split.
func phraseHashes(phrase string) []uint64 {
	var hs []uint64
	var cur uint64
	for i := 0; i < len(phrase); {
		if !wordByte[phrase[i]] {
			i++
			continue
		}
		var w uint64 = fnvOffset
		for ; i < len(phrase) && wordByte[phrase[i]]; i++ {
			w = (w ^ uint64(lowerByte[phrase[i]])) * fnvPrime
		}
		if len(hs) == 0 {
			cur = w
		} else {
			cur = combine(cur, w)
		}
		hs = append(hs, cur)
	}
	return hs
}

func combine(prev, w uint64) uint64 {
	// Mix so that "a b" never collides with the single word whose hash
	// happens to equal prev^w.
	x := (prev ^ 0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	x ^= x >> 31
	return (x ^ w) * fnvPrime
}

// wordByte and lowerByte are read-only lookup tables: letters, digits, '_'
// and every non-ASCII byte (so UTF-8 words stay whole) are word bytes.
var wordByte, lowerByte = func() (w [256]bool, l [256]byte) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		w[c] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
		l[c] = b
		if b >= 'A' && b <= 'Z' {
			l[c] = b + 'a' - 'A'
		}
	}
	return
}()

func isWordByte(c byte) bool { return wordByte[c] }

func lower(c byte) byte { return lowerByte[c] }

// scanResult is what one pass over a prompt finds.
type scanResult struct {
	bytes       int
	lines       int
	numbers     int // runs of digits
	ops         int // + = ^ < > characters
	questions   int // '?'
	listItems   int // lines starting with "1." "2)" "-" "*"
	fences      int // ``` occurrences
	codeLines   int // lines ending in ; { } or indented and holding symbols
	catCount    [6]int
	labelled    uint32 // bit per distinct ordinal seen after a catLabel word
	ruleMatched []bool // per keyword rule of the rule set used
}

// labelledItems is the number of distinct labelled sub-items.
func (r *scanResult) labelledItems() int {
	n := 0
	for b := r.labelled; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// scan reads the prompt once. ruleCount sizes the rule match slice.
func (lx *lexicon) scan(text string, ruleCount int) scanResult {
	r := scanResult{bytes: len(text)}
	if ruleCount > 0 {
		r.ruleMatched = make([]bool, ruleCount)
	}
	var (
		active     [4]uint64 // hashes of phrase prefixes ending at the previous word
		nActive    int
		afterLabel bool // the previous word introduces a sub-item
		lineStart  = true
		lineIndent int
		lineSyms   int
		last       byte // last non-space byte of the line
		backticks  int
	)
	n := len(text)
	for i := 0; i < n; i++ {
		c := text[i]
		if wordByte[c] {
			// Consume the whole word in a tight loop.
			start := i
			var w uint64 = fnvOffset
			digits := true
			for ; i < n && wordByte[text[i]]; i++ {
				b := text[i]
				w = (w ^ uint64(lowerByte[b])) * fnvPrime
				if b < '0' || b > '9' {
					digits = false
				}
			}
			wlen := i - start
			if digits {
				r.numbers++
				// "1." / "2)" list items at the start of a line.
				if lineStart && wlen <= 2 && i+1 < n && (text[i] == '.' || text[i] == ')') && text[i+1] == ' ' {
					r.listItems++
				}
			}
			if afterLabel && wlen == 1 {
				switch f := lowerByte[text[start]]; {
				case f >= '1' && f <= '9':
					r.labelled |= 1 << (f - '1')
				case f >= 'a' && f <= 'h':
					r.labelled |= 1 << (9 + f - 'a')
				}
			}
			isLabel := false
			var next [4]uint64
			nn := 0
			visit := func(h uint64) {
				e, ok := lx.lookup(h)
				if !ok {
					return
				}
				if e.cats != 0 {
					for k := 0; k < len(r.catCount); k++ {
						if e.cats&(1<<k) != 0 {
							r.catCount[k]++
						}
					}
					if e.cats&catLabel != 0 {
						isLabel = true
					}
				}
				for _, id := range e.rules {
					r.ruleMatched[id] = true
				}
				if e.prefix && nn < len(next) {
					next[nn] = h
					nn++
				}
			}
			for k := 0; k < nActive; k++ {
				visit(combine(active[k], w))
			}
			visit(w)
			active, nActive = next, nn
			afterLabel = isLabel
			lineStart = false
			last = text[i-1]
			backticks = 0
			i-- // the loop's i++ moves past the word
			continue
		}
		switch c {
		case '\n':
			if last == ';' || last == '{' || last == '}' || (lineIndent >= 4 && lineSyms >= 2) {
				r.codeLines++
			}
			r.lines++
			lineStart, lineIndent, lineSyms, last, backticks = true, 0, 0, 0, 0
			continue
		case ' ', '\t', '\r':
			if lineStart {
				if c == '\t' {
					lineIndent += 4
				} else {
					lineIndent++
				}
			}
			continue
		case '?':
			r.questions++
		case '+', '=', '^', '<', '>':
			r.ops++
			lineSyms++
		case '{', '}', '(', ')', ';', '[', ']':
			lineSyms++
		case '`':
			backticks++
			if backticks == 3 {
				r.fences++
				backticks = 0
			}
			last = c
			lineStart = false
			continue
		case '-', '*':
			if lineStart && i+1 < n && text[i+1] == ' ' {
				r.listItems++
			}
		}
		backticks = 0
		lineStart = false
		last = c
	}
	if n > 0 {
		if last == ';' || last == '{' || last == '}' || (lineIndent >= 4 && lineSyms >= 2) {
			r.codeLines++
		}
		r.lines++
	}
	return r
}
