package views

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/pennyllm/penny/core/cache"
	"github.com/pennyllm/penny/tui/common"
	"github.com/pennyllm/penny/tui/keys"
)

// CacheEntryLimit bounds the entries the browser lists per sort order.
const CacheEntryLimit = 500

// sliderStep is the threshold slider's resolution.
const sliderStep = 0.01

type (
	cacheEntriesMsg struct {
		seq     int
		entries []cache.EntryInfo
		err     error
	}
	cacheWhatIfMsg struct {
		seq int
		w   cache.WhatIf
		err error
	}
	cacheEvalMsg struct {
		r   cache.Report
		err error
	}
	cacheResponseMsg struct {
		id   int64
		text string
		err  error
	}
	cacheEditedMsg struct {
		what string
		err  error
	}
)

// Cache browses cache entries (by hits or age), evicts and pins them, and
// shows on a threshold slider which entries the current prompt would hit at
// each threshold, with precision and recall on the labelled pairs.
type Cache struct {
	c        *common.Common
	readOnly bool
	sort     cache.SortBy
	entries  []cache.EntryInfo
	cur      common.Current
	whatIf   *cache.WhatIf
	sweep    []cache.Sweep
	evalErr  string
	thr      float64 // slider position
	thrSet   bool    // the user moved the slider: keep it across prompts
	resp     map[int64]string
	list     cursor
	seq      int
	err      string
	loading  bool
	evalDone bool

	sortKey, evict, pin key.Binding
	adjust              keys.Adjust
}

// NewCache returns the cache view; c.Services.Cache must be set. A
// read-only view (an SSH demo) browses but does not evict or pin.
func NewCache(c *common.Common, readOnly bool) *Cache {
	v := &Cache{
		c: c, readOnly: readOnly, sort: cache.SortHits, thr: 0.9, resp: map[int64]string{},
		list:    cursor{keys: keys.NewList("")},
		sortKey: key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by hits/age")),
		evict:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "evict")),
		pin:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pin/unpin")),
		adjust:  keys.NewAdjust("threshold"),
	}
	v.adjust.More.SetKeys("]", "right")
	v.adjust.More.SetHelp("]/→", "threshold up")
	v.adjust.Less.SetKeys("[", "left")
	v.adjust.Less.SetHelp("[/←", "threshold down")
	return v
}

func (v *Cache) Title() string {
	return fmt.Sprintf("Cache · %d entries by %s", len(v.entries), v.sort)
}

func (v *Cache) Show(cur common.Current) tea.Cmd {
	v.cur = cur
	v.seq++
	v.loading = true
	v.whatIf = nil
	cmds := []tea.Cmd{v.loadEntries(), v.loadWhatIf()}
	if e := v.c.Services.Eval; e != nil && !v.evalDone {
		v.evalDone = true // labelled pairs do not change while the program runs
		cmds = append(cmds, func() tea.Msg {
			r, err := e.Evaluate(context.Background())
			return cacheEvalMsg{r, err}
		})
	}
	return tea.Batch(cmds...)
}

func (v *Cache) loadEntries() tea.Cmd {
	seq, s, sort := v.seq, v.c.Services.Cache, v.sort
	return func() tea.Msg {
		es, err := s.Entries(sort, CacheEntryLimit)
		return cacheEntriesMsg{seq, es, err}
	}
}

func (v *Cache) loadWhatIf() tea.Cmd {
	if strings.TrimSpace(v.cur.Prompt) == "" {
		return nil
	}
	seq, s, thr := v.seq, v.c.Services.Cache, v.thr
	req := cache.Request{Prompt: v.cur.Prompt, Scope: v.cur.Scope}
	return func() tea.Msg {
		w, err := s.WhatIf(context.Background(), req, thr)
		return cacheWhatIfMsg{seq, w, err}
	}
}

// loadResponse fetches the selected entry's response once.
func (v *Cache) loadResponse() tea.Cmd {
	e, ok := v.selected()
	if !ok {
		return nil
	}
	if _, have := v.resp[e.ID]; have {
		return nil
	}
	v.resp[e.ID] = "" // in flight
	s, id := v.c.Services.Cache, e.ID
	return func() tea.Msg {
		text, err := s.Response(context.Background(), id)
		return cacheResponseMsg{id, text, err}
	}
}

func (v *Cache) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case cacheEntriesMsg:
		if msg.seq != v.seq {
			return nil
		}
		v.loading = false
		if msg.err != nil {
			v.err = "could not load cache entries"
			return common.ReportErr(v.err, msg.err)
		}
		v.err, v.entries = "", msg.entries
		v.list.clamp(len(v.entries))
		return v.loadResponse()
	case cacheWhatIfMsg:
		if msg.seq != v.seq {
			return nil
		}
		if msg.err != nil {
			return common.ReportErr("threshold preview failed", msg.err)
		}
		w := msg.w
		v.whatIf = &w
		if !v.thrSet && w.Configured > 0 {
			v.thr = w.Configured
		}
	case cacheEvalMsg:
		if msg.err != nil {
			v.evalErr = "labelled pairs unavailable"
			return common.ReportErr("cache evaluation failed", msg.err)
		}
		v.sweep = msg.r.Sweep
	case cacheResponseMsg:
		if msg.err != nil {
			delete(v.resp, msg.id)
			return common.ReportErr("could not load the cached response", msg.err)
		}
		// Cached responses are untrusted: they may come from another user.
		v.resp[msg.id] = common.Sanitize(msg.text)
	case cacheEditedMsg:
		if msg.err != nil {
			return common.ReportErr(msg.what+" failed", msg.err)
		}
		v.seq++
		return tea.Batch(common.ReportInfo(msg.what), v.loadEntries(), v.loadWhatIf())
	case tea.KeyPressMsg:
		return v.key(msg)
	}
	return nil
}

func (v *Cache) key(msg tea.KeyPressMsg) tea.Cmd {
	if v.list.move(msg, len(v.entries), 10) {
		return v.loadResponse()
	}
	e, ok := v.selected()
	s := v.c.Services.Cache
	switch {
	case key.Matches(msg, v.sortKey):
		if v.sort == cache.SortHits {
			v.sort = cache.SortAge
		} else {
			v.sort = cache.SortHits
		}
		v.seq++
		return tea.Batch(v.loadEntries(), v.loadWhatIf())
	case key.Matches(msg, v.adjust.More):
		v.thr, v.thrSet = math.Min(1, math.Round((v.thr+sliderStep)*100)/100), true
	case key.Matches(msg, v.adjust.Less):
		v.thr, v.thrSet = math.Max(0, math.Round((v.thr-sliderStep)*100)/100), true
	case key.Matches(msg, v.evict) && ok && !v.readOnly:
		return func() tea.Msg {
			return cacheEditedMsg{fmt.Sprintf("evicted entry %d", e.ID), s.Evict(context.Background(), e.ID)}
		}
	case key.Matches(msg, v.pin) && ok && !v.readOnly:
		what := fmt.Sprintf("pinned entry %d", e.ID)
		if e.Pinned {
			what = fmt.Sprintf("unpinned entry %d", e.ID)
		}
		return func() tea.Msg {
			return cacheEditedMsg{what, s.Pin(context.Background(), e.ID, !e.Pinned)}
		}
	}
	return nil
}

func (v *Cache) selected() (cache.EntryInfo, bool) {
	if len(v.entries) == 0 {
		return cache.EntryInfo{}, false
	}
	return v.entries[v.list.pos], true
}

func (v *Cache) Body(w, h int) string {
	st := v.c.Styles
	// Left: entries. Right: the threshold slider for the current prompt.
	rw := min(46, w*2/5)
	lw := w - rw - 1
	ls, rs := common.Fit(v.entriesView(lw, h), lw, h), common.Fit(v.sliderView(rw, h), rw, h)
	var b strings.Builder
	for i := range ls {
		b.WriteString(ls[i] + st.Subtle.Render("│") + rs[i] + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (v *Cache) entriesView(w, h int) string {
	st := v.c.Styles
	switch {
	case v.err != "":
		return st.Bad.Render(v.err)
	case v.loading && len(v.entries) == 0:
		return st.Muted.Render("loading…")
	case len(v.entries) == 0:
		return st.Muted.Render(common.Wrap("The cache is empty: answers are cached as you send.", w))
	}
	// Narrow screens drop the model column so the prompt stays visible.
	mw := 14
	if w < 70 {
		mw = 0
	}
	var b strings.Builder
	b.WriteString(st.Muted.Render(common.Fit(fmt.Sprintf("%5s %-4s %-*s %9s %s", "hits", "age", mw, trunc("model", mw), "saved", "prompt"), w, 1)[0]) + "\n")
	// Room for the selected entry's response below the list.
	rows := max(1, h-1-min(6, h/3))
	from, to := v.list.window(len(v.entries), rows)
	for i := from; i < to; i++ {
		e := v.entries[i]
		mark := " "
		switch {
		case e.Pinned:
			mark = "*"
		case e.Expired:
			mark = "x"
		}
		line := fmt.Sprintf("%5d %-4s %-*s %9s%s%s", e.Hits, age(e.CreatedAt), mw, trunc(common.OneLine(e.Scope.Model), mw),
			e.Saved, mark, common.OneLine(e.Prompt))
		line = common.Fit(line, w, 1)[0]
		if i == v.list.pos {
			line = st.Selected.Render(line)
		}
		b.WriteString(line + "\n")
	}
	if e, ok := v.selected(); ok {
		b.WriteString(st.Subtle.Render(strings.Repeat("─", w)) + "\n")
		meta := fmt.Sprintf("entry %d · %s", e.ID, ttl(e))
		if e.Pinned {
			meta += " · pinned"
		}
		b.WriteString(st.Muted.Render(meta) + "\n")
		b.WriteString(common.Wrap(v.resp[e.ID], w))
	}
	return b.String()
}

func ttl(e cache.EntryInfo) string {
	switch {
	case e.Expired:
		return "expired"
	case e.TTLLeft < 0:
		return "never expires"
	}
	return "TTL left " + e.TTLLeft.Round(time.Minute).String()
}

func age(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// hitsAt re-classifies the what-if candidates at threshold t: a candidate
// hits when its score reaches t and nothing but the threshold (no guard, no
// expiry) stood in its way. It is cache.WhatIf.At from the exported
// fields, so the view works with any CacheBrowser.
func hitsAt(w *cache.WhatIf, t float64) []cache.Neighbor {
	var out []cache.Neighbor
	for _, n := range w.Candidates {
		if (n.Reason == "" || n.Reason == cache.ReasonBelowThreshold) && n.Similarity >= t {
			out = append(out, n)
		}
	}
	return out
}

// sweepAt is the labelled-pairs row nearest to threshold t.
func (v *Cache) sweepAt(t float64) (cache.Sweep, bool) {
	best, ok := cache.Sweep{}, false
	for _, s := range v.sweep {
		if !ok || math.Abs(s.Threshold-t) < math.Abs(best.Threshold-t) {
			best, ok = s, true
		}
	}
	return best, ok
}

func (v *Cache) sliderView(w, h int) string {
	st := v.c.Styles
	var b strings.Builder
	b.WriteString(st.Bold.Render("Threshold what-if") + "\n")
	configured := -1.0
	if v.whatIf != nil {
		configured = v.whatIf.Configured
	}
	b.WriteString(v.c.Gauge(v.thr, configured, max(3, w-7)) + fmt.Sprintf(" %.2f", v.thr) + "\n")
	scale := "similarity"
	if v.whatIf != nil && v.whatIf.Scale != "" {
		scale = common.OneLine(v.whatIf.Scale)
	}
	note := scale
	if configured >= 0 {
		note += fmt.Sprintf(", configured %.2f (│)", configured)
	}
	b.WriteString(st.Muted.Render(note) + "\n")
	if s, ok := v.sweepAt(v.thr); ok {
		b.WriteString(fmt.Sprintf("labelled @%.2f: precision %.2f recall %.2f\n", s.Threshold, s.Precision, s.Recall))
	} else if v.evalErr != "" || v.c.Services.Eval == nil {
		b.WriteString(st.Muted.Render("precision/recall: no labelled pairs available") + "\n")
	}
	switch {
	case strings.TrimSpace(v.cur.Prompt) == "":
		b.WriteString(st.Muted.Render(common.Wrap("Type a prompt in the playground to see what it would hit at each threshold.", w)))
		return b.String()
	case v.whatIf == nil:
		b.WriteString(st.Muted.Render("judging the nearest entries…"))
		return b.String()
	}
	hits := hitsAt(v.whatIf, v.thr)
	if v.whatIf.Exact != 0 {
		b.WriteString(st.Good.Render(fmt.Sprintf("exact hit: entry %d", v.whatIf.Exact)) + "\n")
	}
	if len(hits) == 0 {
		b.WriteString("current prompt: " + st.Warn.Render("miss") + fmt.Sprintf(" at %.2f\n", v.thr))
	} else {
		b.WriteString("current prompt: " + st.Good.Render(fmt.Sprintf("%d would hit", len(hits))) + fmt.Sprintf(" at %.2f\n", v.thr))
	}
	b.WriteString(st.Muted.Render("nearest entries") + "\n")
	hit := map[int64]bool{}
	for _, n := range hits {
		hit[n.ID] = true
	}
	for _, n := range v.whatIf.Candidates {
		mark, why := "  ", string(n.Reason)
		if hit[n.ID] {
			mark, why = st.Good.Render("✓ "), "would hit"
		} else if n.Reason == cache.ReasonBelowThreshold || n.Reason == "" {
			why = "below"
		}
		line := fmt.Sprintf("%s%.3f %-10s %s", mark, n.Similarity, trunc(why, 10), common.OneLine(n.Prompt))
		b.WriteString(common.Fit(line, w, 1)[0] + "\n")
	}
	return b.String()
}

func (v *Cache) ShortHelp() []key.Binding {
	ev, pin := v.evict, v.pin
	_, ok := v.selected()
	ev.SetEnabled(ok && !v.readOnly)
	pin.SetEnabled(ok && !v.readOnly)
	return []key.Binding{v.adjust.More, v.adjust.Less, v.sortKey, ev, pin}
}

func (v *Cache) FullHelp() [][]key.Binding {
	return [][]key.Binding{{v.list.keys.Up, v.list.keys.Down, v.list.keys.Top, v.list.keys.Bottom}, v.ShortHelp()}
}
