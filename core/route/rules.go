package route

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// RuleSet is a compiled, immutable set of rules. It is safe for concurrent
// use; a rule edit compiles a new set, and the old one stays in force until
// the new one compiles.
type RuleSet struct {
	rules    []compiledRule
	lex      *lexicon // built-in vocabulary plus every keyword rule
	keywords int      // number of keyword rules (their ids index scan.ruleMatched)
}

type compiledRule struct {
	RuleConfig
	re      *regexp.Regexp // pattern rules
	lits    []literal      // prefilter for re: one must occur; nil = none
	keyword int            // keyword rules: id in the scan; -1 otherwise
}

// Compile validates and compiles rules. On error it returns nil and a joined
// error of *FieldError values, one per problem, each naming the rule's index,
// name and field; callers keep their previous RuleSet in force.
func Compile(rules []RuleConfig) (*RuleSet, error) {
	rs := &RuleSet{lex: newLexicon()}
	var errs []error
	bad := func(i int, r RuleConfig, field string, err error) {
		errs = append(errs, &FieldError{Section: "rules", Index: i, Name: r.Name, Field: field, Err: err})
	}
	names := map[string]int{}
	for i, r := range rules {
		r.Name = strings.TrimSpace(r.Name)
		if r.Name == "" {
			bad(i, r, "name", errors.New("is empty"))
		} else if j, dup := names[r.Name]; dup {
			bad(i, r, "name", fmt.Errorf("is also used by rule %d", j))
		} else {
			names[r.Name] = i
		}
		cr := compiledRule{RuleConfig: r, keyword: -1}
		hasPattern, hasKeywords := r.Pattern != "", len(r.Keywords) > 0
		switch {
		case hasPattern && hasKeywords:
			bad(i, r, "pattern", errors.New("set either pattern or keywords, not both"))
		case !hasPattern && !hasKeywords:
			bad(i, r, "pattern", errors.New("one of pattern or keywords is required"))
		case hasPattern:
			expr := r.Pattern
			if !r.CaseSensitive {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				bad(i, r, "pattern", err)
				break
			}
			if re.MatchString("") {
				bad(i, r, "pattern", errors.New("matches the empty string, so it would match every prompt"))
				break
			}
			cr.re = re
			cr.lits = requiredLiterals(r.Pattern, r.CaseSensitive)
		default:
			ok := true
			for k, kw := range r.Keywords {
				n := len(phraseHashes(kw))
				switch {
				case n == 0:
					bad(i, r, fmt.Sprintf("keywords[%d]", k), fmt.Errorf("%q has no letters or digits", kw))
					ok = false
				case n > maxPhrase:
					bad(i, r, fmt.Sprintf("keywords[%d]", k), fmt.Errorf("%q is longer than %d words", kw, maxPhrase))
					ok = false
				}
			}
			if ok {
				cr.keyword = rs.keywords
				rs.keywords++
			}
		}
		hasWeight, hasTier := r.Weight != 0, strings.TrimSpace(r.Tier) != ""
		switch {
		case math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) || math.Abs(r.Weight) > 1:
			bad(i, r, "weight", fmt.Errorf("%v is outside [-1, 1]", r.Weight))
		case hasWeight && hasTier:
			bad(i, r, "weight", errors.New("set either weight or tier, not both"))
		case !hasWeight && !hasTier:
			bad(i, r, "weight", errors.New("one of a non-zero weight or a tier is required"))
		}
		rs.rules = append(rs.rules, cr)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Keyword rules share the scanner's table; rules were validated above, so
	// adding them cannot fail.
	for _, cr := range rs.rules {
		if cr.keyword < 0 {
			continue
		}
		id := int32(cr.keyword)
		for _, kw := range cr.Keywords {
			rs.lex.add(kw, func(e *lexEntry) {
				for _, have := range e.rules {
					if have == id {
						return
					}
				}
				e.rules = append(e.rules, id)
			})
		}
	}
	rs.lex.freeze()
	return rs, nil
}

// Len is the number of rules.
func (rs *RuleSet) Len() int { return len(rs.rules) }

// Rules returns the rules as configured.
func (rs *RuleSet) Rules() []RuleConfig {
	out := make([]RuleConfig, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = r.RuleConfig
	}
	return out
}

// match reports which rules match text, given the scan of text with this
// set's lexicon.
func (rs *RuleSet) match(text string, sc *scanResult, yield func(i int, r *compiledRule)) {
	var fs foldState
	for i := range rs.rules {
		r := &rs.rules[i]
		var ok bool
		if r.re != nil {
			ok = passes(r.lits, text, &fs) && r.re.MatchString(text)
		} else {
			ok = sc.ruleMatched[r.keyword]
		}
		if ok {
			yield(i, r)
		}
	}
}
