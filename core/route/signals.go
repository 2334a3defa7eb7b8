package route

import (
	"math"
	"strconv"
)

// Signal names as they appear in contributions ("signal:" + name).
const (
	SignalTokens    = "tokens"
	SignalCode      = "code"
	SignalMath      = "math"
	SignalReasoning = "reasoning"
	SignalMultiPart = "multipart"
	SignalFormat    = "format"
	SignalDepth     = "depth"
	SignalLearned   = "learned"
)

// tokenSaturation is where the length signal reaches 1: prompts of several
// thousand tokens are long documents for any model tier.
const tokenSaturation = 4096

// vote is the learned signal's result for one prompt.
type vote struct {
	ok     bool
	value  float64 // similarity-weighted share of "strong needed" neighbours, smoothed
	prior  float64 // share of "strong needed" among all examples
	scale  float64 // the learned signal's reliability (Learned.Reliability)
	detail string
}

// delta is the vote's departure from the prior, scaled by the learned
// signal's reliability: what the signal weight multiplies.
func (v vote) delta() float64 { return (v.value - v.prior) * v.scale }

// scorer turns a prompt into a raw score. Raw scores are not clamped, so
// evaluation can rank prompts that the clamped score would tie at 0 or 1.
type scorer struct {
	base  float64
	w     SignalWeights
	rules *RuleSet
}

// scored is a scoring result.
type scored struct {
	raw      float64
	contribs []Contribution // only when explaining
	matched  []string       // names of matched rules, when explaining
	pin      string         // tier pinned by the first matching pin rule
	pinRule  string
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// signalValues computes each built-in text signal's value in [0, 1]. The
// divisors say how much evidence saturates a signal: three reasoning
// markers, four math cues, six code cues, a second and third question.
func signalValues(sc *scanResult, tokens, turns int) [7]float64 {
	fencePairs := float64((sc.fences + 1) / 2)
	var v [7]float64
	v[0] = clamp01(math.Log2(1+float64(tokens)/32) / math.Log2(1+tokenSaturation/32.0))
	v[1] = clamp01((3*fencePairs + float64(sc.codeLines) + 1.5*float64(sc.catCount[0])) / 6)
	v[2] = clamp01((float64(sc.catCount[1]) + 0.25*float64(sc.numbers) + 0.25*float64(sc.ops)) / 4)
	v[3] = clamp01(float64(sc.catCount[2]) / 3)
	// Two parts already make a request markedly harder than one (each must
	// be answered and the answers combined); four saturate.
	parts := max(sc.questions, sc.listItems, sc.labelledItems())
	v[4] = clamp01((float64(max(parts-1, 0)) + 0.5*float64(sc.catCount[4])) / 3)
	v[5] = clamp01(float64(sc.catCount[3]) / 2)
	v[6] = clamp01(float64(turns-1) / 8)
	return v
}

var signalOrder = [7]string{SignalTokens, SignalCode, SignalMath, SignalReasoning, SignalMultiPart, SignalFormat, SignalDepth}

// signalNames are the contributions' names, "signal:" + signalOrder[i],
// built once rather than concatenated per prompt.
var signalNames = func() (n [7]string) {
	for i, s := range signalOrder {
		n[i] = "signal:" + s
	}
	return n
}()

func (w SignalWeights) array() [7]float64 {
	return [7]float64{w.Tokens, w.Code, w.Math, w.Reasoning, w.MultiPart, w.Format, w.Depth}
}

// score computes the raw score of text. With explain set it also builds the
// contributions (allocating); without, it allocates only the rule match
// slice, which keeps re-scoring thousands of prompts cheap.
func (s *scorer) score(text string, tokens, turns int, v vote, explain bool) scored {
	if tokens <= 0 {
		tokens = estimateTokens(text)
	}
	rs := s.rules
	sc := rs.lex.scan(text, rs.keywords)
	vals := signalValues(&sc, tokens, turns)
	ws := s.w.array()
	out := scored{raw: s.base}
	var details string // every signal's detail, back to back: one allocation
	var ends [len(vals) + 1]int
	if explain {
		out.contribs = make([]Contribution, 0, len(vals)+2+rs.Len())
		var buf [320]byte
		b := buf[:0]
		for i := range vals {
			b = appendSignalDetail(b, i, &sc, tokens, turns)
			ends[i+1] = len(b)
		}
		details = string(b)
	}
	for i, val := range vals {
		d := val * ws[i]
		out.raw += d
		if explain {
			out.contribs = append(out.contribs, Contribution{
				Name: signalNames[i], Value: val, Weight: ws[i], Delta: d,
				Detail: details[ends[i]:ends[i+1]],
			})
		}
	}
	if v.ok {
		d := v.delta() * s.w.Learned
		out.raw += d
		if explain {
			out.contribs = append(out.contribs, Contribution{
				Name: "signal:" + SignalLearned, Value: v.value, Weight: s.w.Learned, Delta: d, Detail: v.detail,
			})
		}
	} else if explain && v.detail != "" {
		out.contribs = append(out.contribs, Contribution{
			Name: "signal:" + SignalLearned, Weight: s.w.Learned, Detail: v.detail,
		})
	}
	rs.match(text, &sc, func(_ int, r *compiledRule) {
		if r.Tier != "" {
			if out.pin == "" {
				out.pin, out.pinRule = r.Tier, r.Name
			}
			if explain {
				out.contribs = append(out.contribs, Contribution{
					Name: "rule:" + r.Name, Value: 1, Detail: "pins tier " + r.Tier,
				})
				out.matched = append(out.matched, r.Name)
			}
			return
		}
		out.raw += r.Weight
		if explain {
			out.contribs = append(out.contribs, Contribution{Name: "rule:" + r.Name, Value: 1, Weight: r.Weight, Delta: r.Weight})
			out.matched = append(out.matched, r.Name)
		}
	})
	return out
}

// estimateTokens is the fallback when the caller did not count: about four
// bytes per token for English under BPE tokenizers.
func estimateTokens(text string) int { return (len(text) + 3) / 4 }

// signalDetail says what a signal counted.
func signalDetail(i int, sc *scanResult, tokens, turns int) string {
	return string(appendSignalDetail(nil, i, sc, tokens, turns))
}

// appendSignalDetail appends signalDetail's text to b, built with strconv
// (what fmt's %d prints): it runs seven times per routed prompt.
func appendSignalDetail(b []byte, i int, sc *scanResult, tokens, turns int) []byte {
	num := func(n int, what string) {
		b = append(strconv.AppendInt(b, int64(n), 10), what...)
	}
	switch i {
	case 0:
		num(tokens, " prompt tokens")
	case 1:
		num(sc.fences, " code fences, ")
		num(sc.codeLines, " code-like lines, ")
		num(sc.catCount[0], " code words")
	case 2:
		num(sc.catCount[1], " math words, ")
		num(sc.numbers, " numbers, ")
		num(sc.ops, " operators")
	case 3:
		num(sc.catCount[2], " reasoning markers")
	case 4:
		num(sc.questions, " questions, ")
		num(sc.listItems, " list items, ")
		num(sc.labelledItems(), " labelled sub-items, ")
		num(sc.catCount[4], " connectives")
	case 5:
		num(sc.catCount[3], " format demands")
	default:
		num(turns, " turns")
	}
	return b
}
