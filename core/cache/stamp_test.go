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
