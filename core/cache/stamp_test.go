package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestUnchangedIsSound: a replay keeps a result from LookupStamped made
// ahead of its turn only when Unchanged says so, so whenever it does, a
// fresh LookupOutcome must agree. Lookups are made up to 12 steps ahead
// while the cache changes under them in every way it can — fills in the
// same and other scopes, exact repeats, replacements, evictions over
// MaxEntries, expiry as the clock moves, pins, a graph index, the graph
// being built in the background — and every pending result is checked
// after every change. The counts make sure both answers, and the
// "entries were added but none matter" answer, are exercised.
func TestUnchangedIsSound(t *testing.T) {
	calibrated, err := NewJudge(JudgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		judge      Judge
		thr        float64
		switchOver int
	}{{"cosine-scan", cosJudge{}, 0.8, 10_000}, {"calibrated-scan", calibrated, 0.5, 10_000}, {"calibrated-hnsw", calibrated, 0.5, 16}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Threshold, cfg.IndexSwitchOver, cfg.MaxEntries = tc.thr, tc.switchOver, 250
			cfg.TTL = Duration(40 * time.Minute)
			clock := newClock()
			c, err := New(cfg, NewMemoryStore(), &bowEmbedder{id: "bow-v1", dim: 64}, tc.judge, clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := c.Load(ctx); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			scopes := []Scope{scope("a"), scope("b"), {Model: "a", System: "be brief"}}
			type pending struct {
				req Request
				res Result
				st  Stamp
			}
			var queue []pending
			gen := supportPrompts{rng: rng}
			var kept, keptAfterChange, keptGraphAfterChange, dropped int
			modes := map[string]int{}
			check := func(changed bool) {
				for _, p := range queue {
					if !c.Unchanged(p.st, p.res) {
						dropped++
						continue
					}
					kept++
					c.mu.RLock()
					if changed && p.st.sc != nil && p.st.sc.gen != p.st.gen {
						keptAfterChange++
						if p.res.Index == "hnsw" {
							keptGraphAfterChange++ // searched again, same hits
						}
					}
					c.mu.RUnlock()
					now, err := c.LookupOutcome(ctx, p.req)
					if err != nil {
						t.Fatal(err)
					}
					if now.Outcome != p.res.Outcome || now.EntryID != p.res.EntryID || now.Similarity != p.res.Similarity ||
						now.Index != p.res.Index || now.Response != p.res.Response {
						t.Fatalf("%q: kept %+v, a lookup now gives %+v", p.req.Prompt, p.res, now)
					}
				}
			}
			for i := 0; i < 2500; i++ {
				prompt := gen.next()
				req := Request{Prompt: prompt, Scope: scopes[rng.IntN(len(scopes))]}
				res, st, err := c.LookupStamped(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if plain, err := c.LookupOutcome(ctx, req); err != nil || plain.Outcome != res.Outcome ||
					plain.EntryID != res.EntryID || plain.Similarity != res.Similarity || plain.Index != res.Index {
					t.Fatalf("%q: stamped lookup %+v, LookupOutcome %+v (%v)", prompt, res, plain, err)
				}
				queue = append(queue, pending{req, res, st})
				modes[res.Index]++
				check(false)
				if len(queue) < 12 {
					continue
				}
				// The oldest pending request's turn: it is executed as
				// a replay would, filling the cache on a miss.
				p := queue[0]
				queue = queue[1:]
				switch {
				case p.res.Outcome == Miss:
					if _, err := c.Put(ctx, p.req, "answer "+p.req.Prompt, Meta{}); err != nil {
						t.Fatal(err)
					}
				case rng.IntN(10) == 0 && p.res.EntryID != 0:
					if err := c.Pin(ctx, p.res.EntryID, rng.IntN(2) == 0); err != nil && !strings.Contains(err.Error(), "not found") {
						t.Fatal(err)
					}
				}
				clock.Add(time.Duration(rng.IntN(40)) * time.Second)
				if rng.IntN(50) == 0 {
					clock.Add(20 * time.Minute)
				}
				check(true)
			}
			t.Logf("kept %d (%d after changes in the scope, %d of them graph searches), dropped %d; index modes %v",
				kept, keptAfterChange, keptGraphAfterChange, dropped, modes)
			if tc.switchOver < 100 && (modes["hnsw"] < 500 || keptGraphAfterChange < 100) {
				t.Fatalf("index modes %v, %d graph searches kept after changes: the graph is not exercised", modes, keptGraphAfterChange)
			}
			if kept < 1000 || keptAfterChange < 100 || dropped < 100 {
				t.Fatalf("kept %d (%d after changes), dropped %d: the test does not exercise both answers", kept, keptAfterChange, dropped)
			}
		})
	}
}

// supportPrompts generates short support-style prompts from a small
// vocabulary, some with a number, a third of them repeats of an earlier
// prompt (exact, or with a word added): traffic whose lookups exercise
// exact hits, semantic hits, guards and misses.
type supportPrompts struct {
	rng  *rand.Rand
	past []string
}

var supportWords = strings.Fields("how do I reset my password cancel plan pro plus price of the monthly enable disable sync on iphone android error code not working why")

func (g *supportPrompts) next() string {
	ws := make([]string, 3+g.rng.IntN(5))
	for k := range ws {
		ws[k] = supportWords[g.rng.IntN(len(supportWords))]
	}
	if g.rng.IntN(4) == 0 {
		ws = append(ws, fmt.Sprint(g.rng.IntN(5)))
	}
	prompt := strings.Join(ws, " ")
	if len(g.past) > 0 && g.rng.IntN(3) == 0 {
		prompt = g.past[g.rng.IntN(len(g.past))]
		if g.rng.IntN(2) == 0 {
			prompt += " " + supportWords[g.rng.IntN(len(supportWords))]
		}
	}
	g.past = append(g.past, prompt)
	return prompt
}

// TestPreparedFills: a stamped lookup that misses prepares its fill, and
// the Put that follows takes it — no second embedding, the graph search
// reused while valid — leaving the cache exactly as plain Puts do. Two
// caches see the same requests, one looked up ahead with LookupStamped
// (as a replay plans), the other in turn with LookupOutcome; afterwards
// every lookup, neighbours included, must agree. (That the graph itself
// is Add's is vindex's TestAddPendingPreparedAhead.)
func TestPreparedFills(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Threshold, cfg.IndexSwitchOver = 0.8, 64
	ctx := context.Background()
	embs := [2]*bowEmbedder{{id: "bow-v1", dim: 64}, {id: "bow-v1", dim: 64}}
	var caches [2]*Cache
	for i := range caches {
		c, err := New(cfg, NewMemoryStore(), embs[i], cosJudge{}, newClock().Now)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Load(ctx); err != nil {
			t.Fatal(err)
		}
		caches[i] = c
	}
	ahead, plain := caches[0], caches[1]
	gen := supportPrompts{rng: rand.New(rand.NewPCG(7, 8))}
	var reqs []Request
	for range 1500 {
		reqs = append(reqs, Request{Prompt: gen.next(), Scope: scope("a")})
	}
	const lead = 8
	results := make([]Result, len(reqs))
	for i, req := range reqs {
		if i == 0 {
			for j := range min(lead, len(reqs)) {
				if results[j], _, _ = ahead.LookupStamped(ctx, reqs[j]); results[j].Outcome == "" {
					t.Fatal("no outcome")
				}
			}
		}
		if j := i + lead; j < len(reqs) {
			var err error
			if results[j], _, err = ahead.LookupStamped(ctx, reqs[j]); err != nil {
				t.Fatal(err)
			}
		}
		// Both caches fill on a miss in turn (a plan made ahead may be
		// stale, which the replay catches with Unchanged; here the turn's
		// own lookup decides, so the two caches stay comparable).
		in, err := plain.LookupOutcome(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if in.Outcome != Miss {
			continue
		}
		for _, c := range caches {
			if _, err := c.Put(ctx, req, "answer "+req.Prompt, Meta{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range caches {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.HasPrefix(c.Stats().Index, "hnsw (") {
			if time.Now().After(deadline) {
				t.Fatalf("graph not built: %s", c.Stats().Index)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if embs[0].calls >= embs[1].calls {
		t.Fatalf("prepared fills saved no embedding: %d calls ahead, %d in turn", embs[0].calls, embs[1].calls)
	}
	graph := 0
	for i := range 300 {
		req := Request{Prompt: gen.next(), Scope: scope("a")}
		if i%3 == 0 {
			req.Prompt = reqs[i*5].Prompt + " please"
		}
		a, err := ahead.Lookup(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := plain.Lookup(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if a.Index == "hnsw" {
			graph++
		}
		if a.Outcome != b.Outcome || a.EntryID != b.EntryID || a.Similarity != b.Similarity || a.Index != b.Index ||
			fmt.Sprint(a.Neighbors) != fmt.Sprint(b.Neighbors) {
			t.Fatalf("%q: prepared fills gave %s %d %v, plain %s %d %v", req.Prompt, a.Outcome, a.EntryID, a.Neighbors, b.Outcome, b.EntryID, b.Neighbors)
		}
	}
	if graph < 100 {
		t.Fatalf("only %d of 300 lookups searched the graph", graph)
	}
	t.Logf("embeddings: %d ahead, %d in turn; %d graph lookups", embs[0].calls, embs[1].calls, graph)
}
