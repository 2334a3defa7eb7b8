package cache

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pennyllm/penny/core/embed"
	"github.com/pennyllm/penny/core/vindex"
)

// Errors callers branch on.
var (
	// ErrNotCached: Put refused the request (cache disabled or request
	// ineligible); the wrapped text says why. Callers usually ignore it.
	ErrNotCached = errors.New("not cached")
	// ErrNotStarted: a write was attempted before Start or Load.
	ErrNotStarted = errors.New("cache not started (call Start or Load)")
)

// candidatesPerLookup is how many index neighbours are judged per lookup:
// more than TopK, because the nearest by cosine is not always the best by
// the Judge's calibrated score, and expired or guarded ones are skipped.
const candidatesPerLookup = 8

// maxSamePromptScopes bounds how many other scopes are checked for the
// same prompt (one hash each).
const maxSamePromptScopes = 64

// maxCrossScopes bounds how many other scopes a miss looks into to explain
// "this would have hit under another model/system prompt".
const maxCrossScopes = 8

// loadBatch is how many rows the store reader hands over at a time.
const loadBatch = 512

// buildBatch is how many graph insertions the background builder does per
// write-lock hold (~140 µs each at 100-d): short enough that a lookup
// waiting behind it stays in the low milliseconds.
const buildBatch = 16

// Cache is penny's exact + semantic response cache. All methods are safe for
// concurrent use. Lookup never changes state; Serve/RecordHit, Put, Pin,
// Evict, InvalidateAll and Reembed do, and write through to the Store
// before changing memory, so a failed write leaves memory as it was.
type Cache struct {
	cfg   Config
	store Store
	emb   embed.Embedder
	judge Judge
	now   func() time.Time

	mu       sync.RWMutex
	started  bool
	loaded   bool
	loadErr  error
	loadDone chan struct{}
	entries  map[int64]*entry
	byKey    map[string]int64
	scopes   map[string]*scopeState
	fps      map[Scope]string // Fingerprint memo: loading 100k entries of a few scopes hashes each scope once
	pinned   int              // pinned entries, kept so Stats stays O(scopes)
	lru      *list.List       // unpinned entries by last use, front = most recent
	// recency guards lru and the entries' hits and lastUsed against
	// RecordHit, which changes them under the read lock only: a hit is
	// recorded for every request served from the cache, and with the
	// write lock each waited for the lookups in flight (and stalled new
	// ones). Writers, holding mu, need not take it; readers of these
	// fields under the read lock must.
	recency sync.Mutex
	byAge   *list.List // unpinned entries by creation, front = oldest

	// scratch pools what a lookup needs only while it decides
	// (*lookupScratch): its candidates' vectors, dequantized only to judge
	// them, were the largest allocation of a replay.
	scratch sync.Pool

	// fillPatience is how long a fill tries for the write lock while
	// letting lookups in before it queues for it (lockForFill).
	fillPatience time.Duration

	building bool
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

type entry struct {
	id       int64
	key, fp  string
	scope    Scope
	prompt   string
	embedder string // "" or another embedder's ID: not in the index (stale)
	created  time.Time
	lastUsed time.Time
	hits     int64
	pinned   bool
	meta     Meta
	lruElem  *list.Element
	ageElem  *list.Element
}

type scopeState struct {
	scope Scope
	index *vindex.Index // vectors of the current embedder
	n     int           // entries in this scope
	stale int           // entries without a current-embedder vector
	// gen counts the changes a lookup of this scope could see (entries
	// added, removed or pinned, index building); shape counts those of
	// them that are not an entry added. See Stamp.
	gen, shape uint64
}

// New makes a cache. Call Start (background) or Load (blocking) before
// use: until the store is loaded, exact lookups ask the store directly and
// semantic lookups miss with ReasonLoading. clock is injected so tests and
// replays control time; nil means time.Now.
func New(cfg Config, store Store, emb embed.Embedder, judge Judge, clock func() time.Time) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cache config: %w", err)
	}
	if store == nil || emb == nil || judge == nil {
		return nil, errors.New("cache.New: store, embedder and judge are required")
	}
	if emb.Dim() < 1 {
		return nil, fmt.Errorf("cache.New: embedder %s reports dimension %d", emb.ID(), emb.Dim())
	}
	if clock == nil {
		clock = time.Now
	}
	c := &Cache{
		cfg: cfg, store: store, emb: emb, judge: judge, now: clock,
		loadDone:     make(chan struct{}),
		stop:         make(chan struct{}),
		fillPatience: defaultFillPatience,
	}
	c.reset()
	return c, nil
}

// defaultFillPatience is Cache.fillPatience: about eight graph searches at
// 100,000 entries, long enough for the lookups in flight to finish, short
// enough that a fill is never held up noticeably. With nothing else to run
// a waiting fill spins that long at most.
const defaultFillPatience = time.Millisecond

// lockForFill takes the write lock for a fill (Put). sync.RWMutex stops
// new readers as soon as a writer waits, so a fill waiting for one
// lookup's graph search (about 100 µs at 100,000 entries) held up every
// lookup that started meanwhile. A replay fills from one goroutine while
// others look up ahead, so on 2 cores its lookups queued behind every fill
// (docs/BENCHMARKS.md: 3,900–4,800 → 4,550–5,550 req/s at 100,000
// entries, and 8% of the plans made ahead made again before, under 2%
// after). The fill tries for
// the lock instead, yielding between tries, so lookups keep starting and
// the fill gets in when none is in flight; after fillPatience it queues as
// before, so lookups that overlap without a gap cannot starve it.
func (c *Cache) lockForFill() {
	if c.mu.TryLock() {
		return
	}
	deadline := time.Now().Add(c.fillPatience)
	for !c.mu.TryLock() {
		if !time.Now().Before(deadline) {
			c.mu.Lock()
			return
		}
		runtime.Gosched()
	}
}

func (c *Cache) reset() {
	c.entries = make(map[int64]*entry)
	c.byKey = make(map[string]int64)
	c.scopes = make(map[string]*scopeState)
	c.fps = make(map[Scope]string)
	c.lru = list.New()
	c.byAge = list.New()
	c.pinned = 0
}

// Config is the configuration the cache runs with.
func (c *Cache) Config() Config { return c.cfg }

// Start loads the entries in the background and returns at once. Exact
// lookups work meanwhile; Ready reports when semantic ones do. Close, or
// the end of ctx, stops the load; after a failed load (a cancelled one
// included) Start or Load tries again.
func (c *Cache) Start(ctx context.Context) {
	c.mu.Lock()
	if !c.beginLoadLocked() {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		_ = c.load(ctx)
	}()
}

// Load loads the entries and returns when they are in memory (the HNSW
// graphs may still be building; lookups scan exactly meanwhile). If a load
// is already running it waits for it; after a failed one it tries again.
// A load stopped by ctx returns ctx's error and leaves the cache as before
// the load: exact lookups work (from the store), and Load may be retried.
func (c *Cache) Load(ctx context.Context) error {
	c.mu.Lock()
	if !c.beginLoadLocked() {
		c.mu.Unlock()
		return c.WaitLoaded(ctx)
	}
	c.mu.Unlock()
	return c.load(ctx)
}

// WaitLoaded blocks until the entries are loaded and returns the load
// error (of the last attempt, if it failed).
func (c *Cache) WaitLoaded(ctx context.Context) error {
	for {
		c.mu.RLock()
		started, loaded, err, done := c.started, c.loaded, c.loadErr, c.loadDone
		c.mu.RUnlock()
		switch {
		case !started:
			return ErrNotStarted
		case loaded:
			return nil
		case err != nil: // the last attempt failed and no other runs
			return err
		}
		select {
		case <-done: // this attempt ended; a retry may have begun since
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ready reports whether semantic lookups work (entries loaded).
func (c *Cache) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.loaded
}

// Close stops the background index builder. The cache must not be used
// afterwards.
func (c *Cache) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	return nil
}

// load reads every entry into a fresh state off-lock, then swaps it in;
// a failed load leaves the cache as it was. Reading rows and indexing them
// overlap (see readStore).
func (c *Cache) load(ctx context.Context) error {
	fresh := &Cache{cfg: c.cfg, emb: c.emb, now: c.now}
	fresh.reset()
	loaded, err := fresh.readStore(ctx, c.store)
	if err == nil {
		fresh.linkLoaded(loaded)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(c.loadDone)
	if err != nil {
		c.loadErr = fmt.Errorf("load cache entries: %w", err)
		return c.loadErr
	}
	c.entries, c.byKey, c.scopes = fresh.entries, fresh.byKey, fresh.scopes
	c.lru, c.byAge, c.pinned = fresh.lru, fresh.byAge, fresh.pinned
	c.loaded = true
	c.kickBuilderLocked()
	return nil
}

// linkLoaded puts loaded entries (unpinned ones) on the recency lists in
// order — Load's order is arbitrary — and drops scopes that a size hint
// announced but no entry filled (deleted while loading).
func (c *Cache) linkLoaded(loaded []*entry) {
	// Sorting (time, entry) pairs keeps the comparisons in one array
	// instead of chasing 100,000 entry pointers per pass.
	type timed struct {
		t int64
		e *entry
	}
	byTime := make([]timed, 0, len(loaded))
	for _, e := range loaded {
		if !e.pinned {
			byTime = append(byTime, timed{e.lastUsed.UnixNano(), e})
		}
	}
	byT := func(a, b timed) int { return cmp.Compare(a.t, b.t) }
	slices.SortFunc(byTime, byT)
	for _, s := range byTime {
		s.e.lruElem = c.lru.PushFront(s.e) // front = most recent
	}
	for i := range byTime {
		byTime[i].t = byTime[i].e.created.UnixNano()
	}
	slices.SortFunc(byTime, byT)
	for _, s := range byTime {
		s.e.ageElem = c.byAge.PushBack(s.e) // front = oldest
	}
	for fp, sc := range c.scopes {
		if sc.n == 0 {
			delete(c.scopes, fp)
		}
	}
}

// add puts a stored entry into memory (caller holds the write lock or owns
// c exclusively). Vectors of another embedder are dropped: they are never
// compared, and the entry serves exact hits only until Reembed. pend, when
// not nil, is the index insertion prepared for se's vector (see Put).
func (c *Cache) add(se Entry, pend *pendingAdd) *entry {
	e := c.insert(&se, c.fingerprint(se.Scope), pend)
	if !e.pinned {
		e.lruElem = c.lru.PushFront(e)
		e.ageElem = c.byAge.PushBack(e)
	}
	return e
}

// pendingAdd is an index insertion prepared (vindex.Index.Prepare) on one
// scope's index.
type pendingAdd struct {
	index *vindex.Index
	p     *vindex.Pending
}

// insert is add without the recency lists, for a scope fingerprinted as
// fp. load links its entries once all are read.
func (c *Cache) insert(se *Entry, fp string, pend *pendingAdd) *entry {
	e := &entry{
		id: se.ID, key: se.Key, fp: fp,
		scope: se.Scope, prompt: se.Prompt, created: se.CreatedAt, lastUsed: se.LastUsed,
		hits: se.Hits, pinned: se.Pinned, meta: se.Meta,
	}
	if e.lastUsed.IsZero() {
		e.lastUsed = e.created
	}
	sc := c.scopes[fp]
	if sc == nil {
		sc = c.newScope(se.Scope)
		c.scopes[fp] = sc
	}
	sc.n++
	e.embedder = se.Embedder
	indexed := false
	if se.Embedder == c.emb.ID() && se.Dim == c.emb.Dim() {
		if len(se.Codes) == se.Dim {
			indexed = sc.index.AddQuantized(e.id, se.Codes, se.Scale) == nil
		} else if pend != nil && pend.index == sc.index {
			indexed = sc.index.AddPending(e.id, pend.p) == nil
		} else if len(se.Vector) == se.Dim {
			indexed = sc.index.Add(e.id, se.Vector) == nil
		}
	}
	if !indexed {
		sc.stale++
	}
	c.entries[e.id] = e
	c.byKey[e.key] = e.id
	if e.pinned {
		c.pinned++
	}
	return e
}

func (c *Cache) newScope(s Scope) *scopeState {
	return &scopeState{scope: s, index: vindex.New(c.emb.Dim(), vindex.Options{SwitchOver: c.cfg.IndexSwitchOver})}
}

// remove drops an entry from memory (caller holds the write lock).
func (c *Cache) remove(id int64) {
	e := c.entries[id]
	if e == nil {
		return
	}
	delete(c.entries, id)
	if c.byKey[e.key] == id {
		delete(c.byKey, e.key)
	}
	if e.lruElem != nil {
		c.lru.Remove(e.lruElem)
	}
	if e.ageElem != nil {
		c.byAge.Remove(e.ageElem)
	}
	if e.pinned {
		c.pinned--
	}
	sc := c.scopes[e.fp]
	if sc == nil {
		return
	}
	sc.gen++
	sc.shape++
	sc.n--
	if !sc.index.Remove(id) {
		sc.stale--
	}
	if sc.n == 0 {
		delete(c.scopes, e.fp)
		return
	}
	if sc.index.CompactDue() {
		sc.index.Compact()
	}
}

func (c *Cache) fingerprint(s Scope) string {
	fp, ok := c.fps[s]
	if !ok {
		fp = Fingerprint(s)
		if len(c.fps) > 4096 { // bound the memo; scopes are few in practice
			clear(c.fps)
		}
		c.fps[s] = fp
	}
	return fp
}

func (c *Cache) current(e *entry) bool { return e.embedder == c.emb.ID() }

// expired reports whether e may no longer be served at now. Pinned entries
// and a zero TTL never expire.
func (c *Cache) expired(e *entry, now time.Time) bool {
	return !e.pinned && c.cfg.TTL > 0 && !now.Before(e.created.Add(time.Duration(c.cfg.TTL)))
}

// ttlLeft is the time e may still be served; negative when it never expires.
func (c *Cache) ttlLeft(e *entry, now time.Time) time.Duration {
	if e.pinned || c.cfg.TTL == 0 {
		return -1
	}
	return max(0, e.created.Add(time.Duration(c.cfg.TTL)).Sub(now))
}

// kickBuilderLocked starts the background graph builder if an index lags
// (caller holds the write lock).
func (c *Cache) kickBuilderLocked() {
	if c.building {
		return
	}
	for _, sc := range c.scopes {
		if sc.index.NeedsBuild() {
			c.building = true
			c.wg.Add(1)
			go c.buildLoop()
			return
		}
	}
}

// buildLoop inserts pending vectors into HNSW graphs a few at a time, each
// batch under the write lock, until every index has caught up.
func (c *Cache) buildLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			c.mu.Lock()
			c.building = false
			c.mu.Unlock()
			return
		default:
		}
		c.mu.Lock()
		var pending *scopeState
		for _, sc := range c.scopes {
			if sc.index.NeedsBuild() {
				pending = sc
				break
			}
		}
		if pending == nil {
			c.building = false
			c.mu.Unlock()
			return
		}
		pending.index.BuildStep(buildBatch)
		pending.gen++ // the index may have switched from scan to graph
		c.mu.Unlock()
	}
}

// eligible explains why a request may not use the cache ("" when it may).
func (c *Cache) eligible(r Request) string {
	switch {
	case !utf8.ValidString(r.Prompt) || containsNUL(r.Prompt):
		return "prompt is not text"
	case len(r.Prompt) > c.cfg.MaxPromptBytes:
		return fmt.Sprintf("prompt is %d bytes, over max_prompt_bytes %d", len(r.Prompt), c.cfg.MaxPromptBytes)
	case r.Scope.Temperature != 0 && !c.cfg.AllowNonzeroTemperature:
		return fmt.Sprintf("temperature %g: sampled answers are not reused (set allow_nonzero_temperature)", r.Scope.Temperature)
	case Normalize(r.Prompt) == "":
		return "prompt is empty"
	}
	return ""
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

func (c *Cache) bypass(r Request) (Result, bool) {
	res := Result{Scale: c.judge.Scale(), Threshold: c.cfg.ThresholdFor(r.Scope), Neighbors: []Neighbor{}}
	if !c.cfg.Enabled {
		res.Outcome, res.Reason, res.Detail = Bypass, ReasonDisabled, "cache disabled in config (cache.enabled)"
		return res, true
	}
	if why := c.eligible(r); why != "" {
		res.Outcome, res.Reason, res.Detail = Bypass, ReasonIneligible, why
		return res, true
	}
	return res, false
}

// Lookup answers whether req can be served from the cache and explains the
// answer. It changes nothing (no hit count, no recency): the planner calls
// it on every keystroke. On a hit Response holds the cached text.
func (c *Cache) Lookup(ctx context.Context, req Request) (Result, error) {
	return c.lookup(ctx, req, true, nil)
}

// LookupOutcome is Lookup for callers that need the outcome only, such as
// a replay, which reports hit rates and savings but shows no explanation.
// Outcome, EntryID, Similarity, Response, TTLLeft, Threshold, Scale,
// Embedder and Index are exactly Lookup's. What it skips is the part of a
// miss's explanation that looks beyond the request's own scope: other
// scopes are not searched, so a miss that Lookup would explain as
// scope_mismatch is given the reason found in its own scope (or empty),
// and Neighbors is empty. Other scopes can never serve a request, so the
// outcome cannot differ (TestLookupOutcomeMatchesLookup checks it).
func (c *Cache) LookupOutcome(ctx context.Context, req Request) (Result, error) {
	return c.lookup(ctx, req, false, nil)
}

// OutcomeOnly adapts a Cache so that its Lookup is LookupOutcome: a
// planner given it plans exactly as with the Cache (same outcome, entry and
// costs) without the cross-scope explanation of misses. Replays use it.
type OutcomeOnly struct{ *Cache }

// Lookup is LookupOutcome.
func (o OutcomeOnly) Lookup(ctx context.Context, req Request) (Result, error) {
	return o.LookupOutcome(ctx, req)
}

// lookupAttempts bounds how often a lookup is made again because the entry
// it chose was removed before its response could be read.
const lookupAttempts = 4

// lookup is Lookup (explain) or LookupOutcome. With st it also records
// what the result depends on (LookupStamped).
//
// A lookup chooses its entry under the read lock and reads the response
// from the store after releasing it, so an eviction or a replacement can
// remove the entry in between. That is not an error the caller should see:
// the lookup is made again and answers from what the cache holds now. The
// store deletes under the write lock, so the next attempt's read lock sees
// the entry gone from memory too.
func (c *Cache) lookup(ctx context.Context, req Request, explain bool, st *Stamp) (Result, error) {
	for attempt := 1; ; attempt++ {
		if st != nil {
			*st = Stamp{}
		}
		res, err := c.lookupOnce(ctx, req, explain, st)
		if err == nil || !errors.Is(err, ErrNotFound) || attempt == lookupAttempts {
			return res, err
		}
	}
}

func (c *Cache) lookupOnce(ctx context.Context, req Request, explain bool, st *Stamp) (Result, error) {
	res, done := c.bypass(req)
	if done {
		if st != nil {
			st.static = true // config and request alone decided
		}
		return res, nil
	}
	key := ExactKey(req)
	now := c.now()
	fp := ""
	if st != nil {
		fp = Fingerprint(req.Scope)
	}

	c.mu.RLock()
	if !c.loaded {
		c.mu.RUnlock()
		return c.lookupLoading(ctx, req, key, res, now)
	}
	if st != nil {
		st.record(c, fp, key, now)
	}
	var expiredExact string
	if id, ok := c.byKey[key]; ok {
		e := c.entries[id]
		if !c.expired(e, now) {
			res.Outcome, res.Similarity, res.EntryID = ExactHit, 1, e.id
			res.TTLLeft = c.ttlLeft(e, now)
			res.Detail = "same prompt and scope"
			c.mu.RUnlock()
			return c.withResponse(ctx, res)
		}
		expiredExact = fmt.Sprintf("the same prompt was cached %s ago and expired %s ago (ttl %s)",
			roundDur(now.Sub(e.created)), roundDur(now.Sub(e.created.Add(time.Duration(c.cfg.TTL)))), time.Duration(c.cfg.TTL))
	}
	c.mu.RUnlock()

	vecs, err := c.emb.Embed(ctx, []string{req.Prompt})
	if err != nil {
		return Result{}, fmt.Errorf("cache lookup: embed prompt with %s: %w", c.emb.ID(), err)
	}
	if len(vecs) != 1 || len(vecs[0]) != c.emb.Dim() {
		return Result{}, fmt.Errorf("cache lookup: embedder %s returned %d vectors (dim %d), want 1 of dim %d",
			c.emb.ID(), len(vecs), dimOf(vecs), c.emb.Dim())
	}
	q := Text{Prompt: req.Prompt, Vector: vecs[0]}

	sc, _ := c.scratch.Get().(*lookupScratch)
	if sc == nil {
		sc = new(lookupScratch)
	}
	c.mu.RLock()
	if st != nil {
		st.recheck(c, q.Vector)
	}
	v := c.gather(req, q, now, st, sc)
	c.mu.RUnlock()
	// Judging is most of a lookup's work; it runs without the lock, so a
	// fill (Put, which takes the write lock) does not wait for it. It reads
	// only what gather copied and entry fields that never change.
	qj := c.judgeQuery(q)
	sc.judged = qj.all(v.cands, sc.judged)
	res = c.semantic(req, qj, v, sc.judged, res, now, expiredExact, explain)
	// The result refers to no candidate or judgement: the scratch is free.
	if v.vecs != nil { // gathered: the slices may have grown
		sc.cands, sc.vecs = v.cands, v.vecs
	}
	sc.cands, sc.judged = sc.cands[:0], sc.judged[:0]
	clear(sc.cands[:cap(sc.cands)])
	clear(sc.judged[:cap(sc.judged)])
	c.scratch.Put(sc)
	if res.Outcome == SemanticHit {
		return c.withResponse(ctx, res)
	}
	return res, nil
}

func dimOf(v [][]float32) int {
	if len(v) == 0 {
		return 0
	}
	return len(v[0])
}

func (c *Cache) withResponse(ctx context.Context, res Result) (Result, error) {
	resp, err := c.store.Response(ctx, res.EntryID)
	if err != nil {
		return Result{}, fmt.Errorf("cache lookup: read response of entry %d: %w", res.EntryID, err)
	}
	res.Response = resp
	return res, nil
}

// lookupLoading answers before the entries are in memory: the exact key is
// read from the store, anything else waits for the load.
func (c *Cache) lookupLoading(ctx context.Context, req Request, key string, res Result, now time.Time) (Result, error) {
	res.Index = "loading"
	se, resp, ok, err := c.store.Get(ctx, key)
	if err != nil {
		return Result{}, fmt.Errorf("cache lookup: %w", err)
	}
	if ok {
		e := &entry{created: se.CreatedAt, pinned: se.Pinned}
		if !c.expired(e, now) {
			res.Outcome, res.Similarity, res.EntryID, res.Response = ExactHit, 1, se.ID, resp
			res.TTLLeft = c.ttlLeft(e, now)
			res.Detail = "same prompt and scope"
			return res, nil
		}
		res.Outcome, res.Reason = Miss, ReasonExpired
		res.Detail = fmt.Sprintf("the same prompt was cached %s ago and has expired (ttl %s)", roundDur(now.Sub(se.CreatedAt)), time.Duration(c.cfg.TTL))
		return res, nil
	}
	res.Outcome, res.Reason = Miss, ReasonLoading
	res.Detail = "no exact match; semantic lookup starts once the cache has loaded"
	return res, nil
}

// scored is a judged candidate.
type scored struct {
	candidate
	j     Judgement
	cross bool // from another scope
}

// candidate is an entry to judge, with what deciding needs of it read
// under the lock: pinned is mutable, the other fields of an entry are not.
type candidate struct {
	e       *entry
	v       []float32
	expired bool
	ttl     time.Duration // ttlLeft
}

// lookupView is what the semantic part of a lookup reads under the read
// lock, so that judging and deciding can run without it.
type lookupView struct {
	index   string // the scope's index mode; "empty" without a scope
	cands   []candidate
	vecs    []float32 // the candidates' vectors
	stale   int       // the scope's entries embedded by another embedder
	none    bool      // the cache holds no entries
	nearest string    // nearestScopeDiff, when the scope has no candidates
}

// gather searches the request's scope and copies the candidates into
// sc's memory (caller holds the read lock).
func (c *Cache) gather(req Request, q Text, now time.Time, st *Stamp, sc *lookupScratch) lookupView {
	v := lookupView{index: "empty", none: len(c.entries) == 0}
	if ss := c.scopes[Fingerprint(req.Scope)]; ss != nil {
		v.index, v.stale = ss.index.Mode(), ss.stale
		var hits []vindex.Hit
		var err error
		if st != nil {
			hits, err = ss.index.SearchTraced(q.Vector, candidatesPerLookup, 0, &st.trace)
			st.searched(v.index, hits)
		} else {
			hits, err = ss.index.Search(q.Vector, candidatesPerLookup, 0)
		}
		if err == nil { // a dimension mismatch cannot happen: New checked Dim and Lookup the vector
			v.cands, v.vecs = c.candidates(ss, hits, now, sc.cands, sc.vecs)
		}
	}
	if len(v.cands) == 0 && v.stale == 0 && !v.none {
		v.nearest = c.nearestScopeDiff(req)
	}
	return v
}

// candidates looks up the index's hits (caller holds the read lock),
// appending them to out. Their vectors are written into vecs, grown when
// short, which is returned for reuse once the candidates are judged.
func (c *Cache) candidates(sc *scopeState, hits []vindex.Hit, now time.Time, out []candidate, vecs []float32) ([]candidate, []float32) {
	dim := c.emb.Dim()
	if cap(vecs) < len(hits)*dim {
		vecs = make([]float32, len(hits)*dim)
	}
	vecs = vecs[:len(hits)*dim]
	for i, h := range hits {
		e := c.entries[h.ID]
		v, ok := sc.index.VectorTo(vecs[i*dim:(i+1)*dim:(i+1)*dim], h.ID)
		if e == nil || !ok {
			continue
		}
		out = append(out, candidate{e: e, v: v, expired: c.expired(e, now), ttl: c.ttlLeft(e, now)})
	}
	return out, vecs
}

// queryJudge judges one query against candidates. With a PreparedJudge the
// query is analysed once, on first use, however many candidates it meets.
// Not safe for concurrent use.
type queryJudge struct {
	judge Judge
	pj    PreparedJudge // nil when judge is not one
	q     Text
	p     *Prepared
}

func (c *Cache) judgeQuery(q Text) *queryJudge {
	qj := &queryJudge{judge: c.judge, q: q}
	qj.pj, _ = c.judge.(PreparedJudge)
	return qj
}

func (qj *queryJudge) one(e *entry, v []float32) Judgement {
	cached := Text{Prompt: e.prompt, Vector: v}
	if qj.pj == nil {
		return qj.judge.Judge(qj.q, cached)
	}
	if qj.p == nil {
		qj.p = qj.pj.Prepare(qj.q)
	}
	return qj.pj.JudgePrepared(qj.p, cached)
}

// lookupScratch is the memory a lookup reuses.
type lookupScratch struct {
	cands  []candidate
	vecs   []float32
	judged []scored
}

// all judges the candidates, in order, into out's array when it has room.
func (qj *queryJudge) all(cands []candidate, out []scored) []scored {
	out = slices.Grow(out[:0], len(cands))[:len(cands)]
	for i, cd := range cands {
		out[i] = scored{candidate: cd, j: qj.one(cd.e, cd.v)}
	}
	return out
}

// semantic decides the semantic lookup from v and its judged candidates
// in, without the lock. Without explain, a miss neither searches other
// scopes (which takes the read lock again) nor lists neighbours.
func (c *Cache) semantic(req Request, qj *queryJudge, v lookupView, in []scored, res Result, now time.Time, expiredExact string, explain bool) Result {
	res.Embedder = c.emb.ID()
	res.Index = v.index
	thr := res.Threshold

	// The served entry: the best Judge score among servable candidates.
	var hit *scored
	for i := range in {
		s := &in[i]
		if s.expired || s.j.Guard != "" || s.j.Score < thr {
			continue
		}
		if hit == nil || s.j.Score > hit.j.Score {
			hit = s
		}
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].j.Score > in[j].j.Score })
	if hit != nil {
		res.Outcome, res.EntryID, res.Similarity = SemanticHit, hit.e.id, hit.j.Score
		res.TTLLeft = hit.ttl
		res.Detail = fmt.Sprintf("similar prompt (%.3f %s ≥ threshold %.3f)", hit.j.Score, res.Scale, thr)
		if explain {
			res.Neighbors = c.neighbors(req, in, hit, thr, now, res.Scale)
		}
		return res
	}

	// A miss: look for what would have hit under another scope, to explain.
	var cross []scored
	res.Outcome = Miss
	if explain {
		c.mu.RLock()
		cross = c.crossScope(req, qj, now, thr)
		c.mu.RUnlock()
		all := append(append([]scored(nil), in...), cross...)
		sort.SliceStable(all, func(i, j int) bool { return all[i].j.Score > all[j].j.Score })
		res.Neighbors = c.neighbors(req, all, nil, thr, now, res.Scale)
	}
	if len(in) > 0 {
		res.Similarity = in[0].j.Score
	}
	switch {
	case expiredExact != "":
		res.Reason, res.Detail = ReasonExpired, expiredExact
	case len(cross) > 0 && (len(in) == 0 || cross[0].j.Score > in[0].j.Score):
		res.Reason = ReasonScopeMismatch
		res.Detail = fmt.Sprintf("a matching entry (%.3f %s) exists for another scope: %s", cross[0].j.Score, res.Scale, DiffScope(req.Scope, cross[0].e.scope))
	case len(in) > 0:
		best := in[0]
		res.Reason, res.Detail = c.reasonFor(req, best, thr, now, res.Scale)
		if res.Reason == ReasonBelowThreshold {
			res.Detail = fmt.Sprintf("best similarity %.3f (%s) is below the threshold %.3f by %.3f",
				best.j.Score, res.Scale, thr, thr-best.j.Score)
		}
	case v.stale > 0:
		res.Reason = ReasonEmbedderChanged
		res.Detail = fmt.Sprintf("%d entries for this scope were embedded by another embedder (now %s, dim %d); run `penny cache reembed`",
			v.stale, c.emb.ID(), c.emb.Dim())
	case v.none:
		res.Reason, res.Detail = ReasonEmpty, "the cache is empty"
	default:
		res.Reason, res.Detail = ReasonEmpty, "no entries for this scope (model, system prompt, parameters, tenant)"
		if v.nearest != "" {
			res.Detail += "; nearest scope: " + v.nearest
		}
	}
	return res
}

// judgeScope returns up to k judged candidates from one scope (caller
// holds the read lock).
func (c *Cache) judgeScope(sc *scopeState, qj *queryJudge, k int, now time.Time) []scored {
	hits, err := sc.index.Search(qj.q.Vector, k, 0)
	if err != nil {
		return nil // dimension mismatch cannot happen: New checked Dim and Lookup the vector
	}
	cands, _ := c.candidates(sc, hits, now, nil, nil)
	return qj.all(cands, nil)
}

// crossScope finds entries of other scopes (same tenant only: another
// tenant's prompts are never shown) that would have been served. The same
// normalized prompt is checked first, then the nearest entry of each of the
// largest other scopes.
// The caller holds the read lock.
func (c *Cache) crossScope(req Request, qj *queryJudge, now time.Time, thr float64) []scored {
	fp := Fingerprint(req.Scope)
	var out []scored
	seen := map[int64]bool{}
	consider := func(s scored) {
		if seen[s.e.id] || s.expired || s.j.Guard != "" || s.j.Score < thr {
			return
		}
		seen[s.e.id] = true
		s.cross = true
		out = append(out, s)
	}
	norm := Normalize(req.Prompt)
	n := 0
	for ofp, sc := range c.scopes {
		if ofp == fp || sc.scope.Tenant != req.Scope.Tenant {
			continue
		}
		if n++; n > maxSamePromptScopes {
			break
		}
		id, ok := c.byKey[exactKey(norm, sc.scope)]
		if !ok {
			continue
		}
		e := c.entries[id]
		s := scored{candidate: candidate{e: e, expired: c.expired(e, now), ttl: c.ttlLeft(e, now)}, j: Judgement{Score: 1, Cosine: 1}}
		if v, ok := c.scopes[e.fp].index.Vector(id); ok {
			s.j = qj.one(e, v)
		}
		consider(s)
	}
	others := make([]*scopeState, 0, len(c.scopes))
	for ofp, sc := range c.scopes {
		if ofp != fp && sc.scope.Tenant == req.Scope.Tenant && sc.index.Len() > 0 {
			others = append(others, sc)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].index.Len() > others[j].index.Len() })
	if len(others) > maxCrossScopes {
		others = others[:maxCrossScopes]
	}
	for _, sc := range others {
		for _, s := range c.judgeScope(sc, qj, 1, now) {
			consider(s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].j.Score > out[j].j.Score })
	return out
}

// nearestScopeDiff names how the request's scope differs from the closest
// scope of the same tenant (fewest differing components).
func (c *Cache) nearestScopeDiff(req Request) string {
	best := ""
	bestN := 1 << 30
	for _, sc := range c.scopes {
		if sc.scope.Tenant != req.Scope.Tenant {
			continue
		}
		d := DiffScope(req.Scope, sc.scope)
		n := 1
		for _, r := range d {
			if r == ';' {
				n++
			}
		}
		if d != "" && (n < bestN || (n == bestN && d < best)) {
			best, bestN = d, n
		}
	}
	return best
}

// reasonFor is a candidate's own reason and detail; "" when it would be
// served at thr.
func (c *Cache) reasonFor(req Request, s scored, thr float64, now time.Time, scale string) (Reason, string) {
	switch {
	case s.cross:
		return ReasonScopeMismatch, DiffScope(req.Scope, s.e.scope)
	case s.expired:
		return ReasonExpired, fmt.Sprintf("expired %s ago", roundDur(now.Sub(s.e.created.Add(time.Duration(c.cfg.TTL)))))
	case s.j.Guard != "":
		d := "guard " + s.j.Guard
		if s.j.Detail != "" {
			d += ": " + s.j.Detail
		}
		return ReasonGuardRejected, d
	case s.j.Score < thr:
		return ReasonBelowThreshold, fmt.Sprintf("%.3f < %.3f (gap %.3f, %s)", s.j.Score, thr, thr-s.j.Score, scale)
	}
	return "", ""
}

// neighbors are the TopK candidates, best first, each with its own reason.
// On a hit the served entry is always among them.
func (c *Cache) neighbors(req Request, all []scored, hit *scored, thr float64, now time.Time, scale string) []Neighbor {
	out := make([]Neighbor, 0, c.cfg.TopK)
	for _, s := range all {
		if len(out) >= c.cfg.TopK {
			break
		}
		out = append(out, c.neighbor(req, s, hit, thr, now, scale))
	}
	if hit != nil {
		for _, n := range out {
			if n.ID == hit.e.id {
				return out
			}
		}
		out[len(out)-1] = c.neighbor(req, *hit, hit, thr, now, scale)
	}
	return out
}

func (c *Cache) neighbor(req Request, s scored, hit *scored, thr float64, now time.Time, scale string) Neighbor {
	n := Neighbor{ID: s.e.id, Prompt: s.e.prompt, Similarity: s.j.Score}
	if hit != nil && s.e == hit.e {
		n.Detail = "served"
		return n
	}
	n.Reason, n.Detail = c.reasonFor(req, s, thr, now, scale)
	if n.Reason == "" {
		// It would pass on its own; no miss reason applies.
		n.Detail = "would also hit; a higher-scoring entry was served"
	}
	return n
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Minute:
		return d.Round(time.Second)
	default:
		return d.Round(time.Millisecond)
	}
}
