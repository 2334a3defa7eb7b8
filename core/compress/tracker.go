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
	units  []Unit
	pos    []int // current start of each unit, -1 once detached
	byText map[string][]int
}

func newTracker(units []Unit) *tracker {
	t := &tracker{units: units, pos: make([]int, len(units)), byText: make(map[string][]int, len(units))}
	for i, u := range units {
		t.pos[i] = u.Start
		t.byText[u.Text] = append(t.byText[u.Text], i)
	}
	return t
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
	for _, txt := range cand {
		intact := false
		for _, j := range t.byText[txt] {
			if t.pos[j] >= 0 && !t.hit(j, es) {
				intact = true
				break
			}
		}
		if !intact && !strings.Contains(out, txt) {
			lost = append(lost, txt)
		}
	}
	return lost
}

// advance moves attached units past the applied edits and detaches the
// ones an edit touched.
func (t *tracker) advance(es []edit) {
	if len(es) == 0 {
		return
	}
	// delta[k] is the shift caused by edits[0:k].
	delta := make([]int, len(es)+1)
	for k, e := range es {
		delta[k+1] = delta[k] + len(e.with) - (e.end - e.start)
	}
	for i := range t.units {
		if t.pos[i] < 0 {
			continue
		}
		if t.hit(i, es) {
			t.pos[i] = -1
			continue
		}
		a := t.pos[i]
		// Edits entirely at or before a (an insertion at a counts: it
		// pushes the unit right).
		k := sort.Search(len(es), func(k int) bool { return es[k].end > a || (es[k].start == es[k].end && es[k].start > a) })
		t.pos[i] = a + delta[k]
	}
}

// check is CheckProtected over the tracked units.
func (t *tracker) check(text string) Check {
	var c Check
	for txt, idx := range t.byText {
		c.Units++
		kept := false
		for _, j := range idx {
			if t.pos[j] >= 0 {
				kept = true
				break
			}
		}
		if kept || strings.Contains(text, txt) {
			c.Kept++
		} else {
			c.Missing = append(c.Missing, t.units[idx[0]])
		}
	}
	return c
}
