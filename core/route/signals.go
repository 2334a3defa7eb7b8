package route

import (
	"fmt"
	"math"
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
	if explain {
		out.contribs = make([]Contribution, 0, len(vals)+2+rs.Len())
	}
	for i, val := range vals {
		d := val * ws[i]
		out.raw += d
		if explain {
			out.contribs = append(out.contribs, Contribution{
				Name: "signal:" + signalOrder[i], Value: val, Weight: ws[i], Delta: d,
				Detail: signalDetail(i, &sc, tokens, turns),
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

func signalDetail(i int, sc *scanResult, tokens, turns int) string {
	switch i {
	case 0:
		return fmt.Sprintf("%d prompt tokens", tokens)
	case 1:
		return fmt.Sprintf("%d code fences, %d code-like lines, %d code words", sc.fences, sc.codeLines, sc.catCount[0])
	case 2:
		return fmt.Sprintf("%d math words, %d numbers, %d operators", sc.catCount[1], sc.numbers, sc.ops)
	case 3:
		return fmt.Sprintf("%d reasoning markers", sc.catCount[2])
	case 4:
		return fmt.Sprintf("%d questions, %d list items, %d labelled sub-items, %d connectives", sc.questions, sc.listItems, sc.labelledItems(), sc.catCount[4])
	case 5:
		return fmt.Sprintf("%d format demands", sc.catCount[3])
	default:
		return fmt.Sprintf("%d turns", turns)
	}
}
