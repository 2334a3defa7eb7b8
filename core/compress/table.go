package compress

import (
	"context"
	"errors"
	"strings"
)

// tablePass rewrites JSON arrays of three or more objects that share the
// same keys in the same order as {"columns":[keys],"rows":[[values],…]}.
// Keys are written once instead of once per row. Values keep their exact
// bytes, so the rewrite is lossless (TestTableRoundTrip rebuilds the
// original array from the table), but the model sees a different shape,
// which is why the pass is opt-in.
func tablePass(_ context.Context, d *doc, _ *state) ([]edit, error) {
	var es []edit
	for _, b := range d.json {
		src := d.text[b.start:b.end]
		v, err := parseRaw(src)
		if err != nil {
			continue // json.Valid accepted it; a parse failure here is a bug, but not the user's
		}
		var sb strings.Builder
		if !v.tabulate(&sb) {
			continue
		}
		if out := sb.String(); out != src {
			es = append(es, edit{start: b.start, end: b.end, with: out, dup: true})
		}
	}
	return es, nil
}

// rawValue is a JSON value that remembers the exact bytes of its scalars
// and the order of its keys (encoding/json's maps lose both).
type rawValue struct {
	kind   byte // '{', '[', or 's' for any scalar
	scalar string
	keys   []string // raw, with quotes
	vals   []*rawValue
}

var errJSON = errors.New("json: unexpected input")

func parseRaw(s string) (*rawValue, error) {
	p := rawParser{s: s}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, errJSON
	}
	return v, nil
}

type rawParser struct {
	s string
	i int
}

func (p *rawParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *rawParser) str() (string, error) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", errJSON
	}
	j := p.i + 1
	for j < len(p.s) {
		switch p.s[j] {
		case '\\':
			j += 2
			continue
		case '"':
			out := p.s[p.i : j+1]
			p.i = j + 1
			return out, nil
		}
		j++
	}
	return "", errJSON
}

func (p *rawParser) value() (*rawValue, error) {
	p.ws()
	if p.i >= len(p.s) {
		return nil, errJSON
	}
	switch p.s[p.i] {
	case '{':
		p.i++
		v := &rawValue{kind: '{'}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return v, nil
		}
		for {
			p.ws()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, errJSON
			}
			p.i++
			x, err := p.value()
			if err != nil {
				return nil, err
			}
			v.keys, v.vals = append(v.keys, k), append(v.vals, x)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return v, nil
			}
			return nil, errJSON
		}
	case '[':
		p.i++
		v := &rawValue{kind: '['}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return v, nil
		}
		for {
			x, err := p.value()
			if err != nil {
				return nil, err
			}
			v.vals = append(v.vals, x)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				return v, nil
			}
			return nil, errJSON
		}
	case '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &rawValue{kind: 's', scalar: s}, nil
	default:
		j := p.i
		for j < len(p.s) && !strings.ContainsRune(",]} \t\r\n", rune(p.s[j])) {
			j++
		}
		if j == p.i {
			return nil, errJSON
		}
		v := &rawValue{kind: 's', scalar: p.s[p.i:j]}
		p.i = j
		return v, nil
	}
}

// uniform reports whether v is an array of ≥3 objects with identical key
// lists, none of them empty.
func (v *rawValue) uniform() bool {
	if v.kind != '[' || len(v.vals) < 3 {
		return false
	}
	first := v.vals[0]
	if first.kind != '{' || len(first.keys) == 0 {
		return false
	}
	for _, o := range v.vals[1:] {
		if o.kind != '{' || len(o.keys) != len(first.keys) {
			return false
		}
		for i, k := range o.keys {
			if k != first.keys[i] {
				return false
			}
		}
	}
	return true
}

// tabulate writes v minified, with uniform arrays as tables, and reports
// whether any table was written.
func (v *rawValue) tabulate(sb *strings.Builder) bool {
	changed := false
	switch {
	case v.kind == 's':
		sb.WriteString(v.scalar)
	case v.uniform():
		changed = true
		sb.WriteString(`{"columns":[`)
		sb.WriteString(strings.Join(v.vals[0].keys, ","))
		sb.WriteString(`],"rows":[`)
		for i, o := range v.vals {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('[')
			for j, x := range o.vals {
				if j > 0 {
					sb.WriteByte(',')
				}
				x.tabulate(sb)
			}
			sb.WriteByte(']')
		}
		sb.WriteString("]}")
	case v.kind == '[':
		sb.WriteByte('[')
		for i, x := range v.vals {
			if i > 0 {
				sb.WriteByte(',')
			}
			changed = x.tabulate(sb) || changed
		}
		sb.WriteByte(']')
	default:
		sb.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(k)
			sb.WriteByte(':')
			changed = v.vals[i].tabulate(sb) || changed
		}
		sb.WriteByte('}')
	}
	return changed
}
