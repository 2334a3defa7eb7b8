package compress

import (
	"sort"
	"strings"
)

// tracker follows the original prompt's protected units through the
// passes, so that checking them costs O(units + edits) instead of a
// substring search of every unit in every intermediate text. A unit no
// edit has touched is still at its (shifted) position, verbatim; only
// units an edit touched ("detached") need a search, and they are few: the
// copies a dedupe or budget removal took away.
type tracker struct {
	units []Unit
	pos   []int // current start of each unit, -1 once detached
	// The units with one text form a group, kept as a linked list (first
	// of a group, next of a unit, -1 ends) rather than a slice per text:
	// a prompt has thousands of units, and one allocation each showed in
	// the profile.
	group map[string]int32 // nil for a few units: groupOf scans first instead
	first []int32
	next  []int32
}

// smallTracker is the most units found by scanning rather than through
// the group map: a short prompt has a handful, and building the map was
// a tenth of compressing one.
const smallTracker = 16

func newTracker(units []Unit) *tracker {
	t := &tracker{units: units, pos: make([]int, len(units)), next: make([]int32, len(units))}
	if len(units) > smallTracker {
		t.group = make(map[string]int32, len(units))
	}
	last := make([]int32, 0, len(units))
	for i, u := range units {
		t.pos[i] = u.Start
		t.next[i] = -1
		g, ok := t.lookup(u.Text)
		if !ok {
			g = int32(len(t.first))
			if t.group != nil {
				t.group[u.Text] = g
			}
			t.first = append(t.first, int32(i))
			last = append(last, int32(i))
			continue
		}
		t.next[last[g]] = int32(i)
		last[g] = int32(i)
	}
	return t
}

// lookup is the group of the units with text txt, false when none.
func (t *tracker) lookup(txt string) (int32, bool) {
	if t.group != nil {
		g, ok := t.group[txt]
		return g, ok
	}
	for g, f := range t.first {
		if t.units[f].Text == txt {
			return int32(g), true
		}
	}
	return 0, false
}

// groupOf is lookup's group (0, like the map's zero value, when none).
func (t *tracker) groupOf(txt string) int32 {
	g, _ := t.lookup(txt)
	return g
}

// hit reports whether an attached unit i overlaps one of the sorted,
// non-overlapping edits.
func (t *tracker) hit(i int, es []edit) bool {
	a := t.pos[i]
	b := a + len(t.units[i].Text)
	k := sort.Search(len(es), func(k int) bool { return es[k].end > a || (es[k].start == es[k].end && es[k].start > a) })
	for ; k < len(es) && es[k].start <= b; k++ {
		e := es[k]
		if e.start == e.end {
			if a < e.start && e.start < b {
				return true
			}
			continue
		}
		if e.start < b && a < e.end {
			return true
		}
	}
	return false
}

// missing returns the unit texts that the edits would lose: texts with no
// untouched copy that the output does not contain either.
func (t *tracker) missing(es []edit, out string) []string {
	var cand []string
	seen := map[string]bool{}
	for i := range t.units {
		if t.pos[i] >= 0 && !t.hit(i, es) {
			continue
		}
		if txt := t.units[i].Text; !seen[txt] {
			seen[txt] = true
			cand = append(cand, txt)
		}
	}
	var lost []string
	k := keptIn{out: out}
	for _, txt := range cand {
		intact := false
		for j := t.first[t.groupOf(txt)]; j >= 0; j = t.next[j] {
			if t.pos[j] >= 0 && !t.hit(int(j), es) {
				intact = true
				break
			}
		}
		if !intact && !k.has(txt) {
			lost = append(lost, txt)
		}
	}
	return lost
}

// advance moves attached units past the applied edits and detaches the
// ones an edit touched.
func (t *tracker) advance(es []edit) { t.pos = t.advanced(es, t.pos) }

// advanced returns in dst (which may be t.pos) where the units are after
// the edits, -1 for the ones an edit touched, without changing t.
func (t *tracker) advanced(es []edit, dst []int) []int {
	if cap(dst) < len(t.pos) {
		dst = make([]int, len(t.pos))
	}
	dst = dst[:len(t.pos)]
	if len(es) == 0 {
		copy(dst, t.pos)
		return dst
	}
	// delta[k] is the shift caused by edits[0:k].
	delta := make([]int, len(es)+1)
	for k, e := range es {
		delta[k+1] = delta[k] + len(e.with) - (e.end - e.start)
	}
	for i := range t.units {
		if t.pos[i] < 0 {
			dst[i] = -1
			continue
		}
		if t.hit(i, es) {
			dst[i] = -1
			continue
		}
		a := t.pos[i]
		// Edits entirely at or before a (an insertion at a counts: it
		// pushes the unit right).
		k := sort.Search(len(es), func(k int) bool { return es[k].end > a || (es[k].start == es[k].end && es[k].start > a) })
		dst[i] = a + delta[k]
	}
	return dst
}

// check is CheckProtected over the tracked units.
func (t *tracker) check(text string) Check {
	var c Check
	for _, f := range t.first {
		c.Units++
		kept := false
		for j := f; j >= 0; j = t.next[j] {
			if t.pos[j] >= 0 {
				kept = true
				break
			}
		}
		if kept || strings.Contains(text, t.units[f].Text) {
			c.Kept++
		} else {
			c.Missing = append(c.Missing, t.units[f])
		}
	}
	return c
}

// protectedAt reports whether every unit text of the original that d's
// text still holds is protected there too, with the units at pos (from
// advanced), so that compressing that text again cannot remove it.
// Untouched units are checked at their position; the others by a search.
func (t *tracker) protectedAt(pos []int, d *doc) bool {
	for _, f := range t.first {
		ok := false
		for j := f; j >= 0; j = t.next[j] {
			if p := pos[j]; p >= 0 && d.insideProt(p, p+len(t.units[j].Text)) {
				ok = true
				break
			}
		}
		if !ok {
			ok = protectedOccurrence(d, t.units[f].Text)
		}
		if !ok {
			return false
		}
	}
	return true
}

// protectedOccurrence reports whether txt occurs in d's text inside a
// protected range, or does not occur at all (a lost unit is the check's
// business, not this one's).
func protectedOccurrence(d *doc, txt string) bool {
	found := false
	for from := 0; ; {
		i := strings.Index(d.text[from:], txt)
		if i < 0 {
			return !found
		}
		found = true
		a := from + i
		if d.insideProt(a, a+len(txt)) {
			return true
		}
		from = a + 1
	}
}

// keptIn decides whether a unit text is still in a pass's output as a
// unit, so that the next run protects it too. A standalone occurrence
// (not glued to a word on a side where the text starts or ends with a
// word character) is taken as one without analysis. An occurrence inside
// a longer word counts only if the output's own analysis protects it:
// "4" inside the number "340" stays, "RE" inside "SIGNATURE" does not —
// the next run could remove that word and the last copy with it, so
// counting it as kept made compression not idempotent and, over two runs,
// lost the unit. The analysis is made once, and only when needed.
type keptIn struct {
	out string
	d   *doc
}

func (k *keptIn) has(txt string) bool {
	if containsUnit(k.out, txt) {
		return true
	}
	if !strings.Contains(k.out, txt) {
		return false
	}
	if k.d == nil {
		k.d = analyze(k.out)
	}
	for from := 0; ; {
		i := strings.Index(k.out[from:], txt)
		if i < 0 {
			return false
		}
		a := from + i
		if k.d.insideProt(a, a+len(txt)) {
			return true
		}
		from = a + 1
	}
}

// containsUnit reports whether txt occurs in s not glued to a word on a
// side where txt itself starts or ends with a word character.
func containsUnit(s, txt string) bool {
	if txt == "" {
		return true
	}
	left, right := isWordByte(txt[0]), isWordByte(txt[len(txt)-1])
	for from := 0; ; {
		i := strings.Index(s[from:], txt)
		if i < 0 {
			return false
		}
		a := from + i
		b := a + len(txt)
		if (!left || a == 0 || !isWordByte(s[a-1])) && (!right || b == len(s) || !isWordByte(s[b])) {
			return true
		}
		from = a + 1
	}
}
