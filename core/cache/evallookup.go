package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/pennyllm/penny/core/embed"
)

// CacheLookup evaluates pairs through a real cache, as `penny eval cache`
// specifies: for each pair a fresh in-memory cache holding only a is asked
// for b. It runs the exact key, the index, the judge and the guards.
//
// The cache's own threshold is set to the bottom of the scale so that hit
// means "no guard fired" and raw is the judge's score; Evaluate applies
// the threshold being measured (see LookupFunc). cfg supplies everything
// else (top_k, switch-over); scope is the default one (temperature 0).
func CacheLookup(cfg Config, emb embed.Embedder, judge Judge) LookupFunc {
	cfg.Enabled = true
	cfg.Threshold = -1
	cfg.Overrides = nil
	cfg.MaxPromptBytes = 1 << 30
	cfg.TTL = 0
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(ctx context.Context, a, b string) (float64, bool, error) {
		c, err := New(cfg, NewMemoryStore(), emb, judge, func() time.Time { return epoch })
		if err != nil {
			return 0, false, err
		}
		defer c.Close()
		if err := c.Load(ctx); err != nil {
			return 0, false, err
		}
		scope := Scope{Model: "eval"}
		if _, err := c.Put(ctx, Request{Prompt: a, Scope: scope}, "answer", Meta{}); err != nil {
			return 0, false, fmt.Errorf("eval put: %w", err)
		}
		r, err := c.Lookup(ctx, Request{Prompt: b, Scope: scope})
		if err != nil {
			return 0, false, fmt.Errorf("eval lookup: %w", err)
		}
		switch r.Outcome {
		case ExactHit, SemanticHit:
			return r.Similarity, true, nil
		case Miss:
			return r.Similarity, false, nil
		}
		return 0, false, fmt.Errorf("eval lookup: %s: %s", r.Reason, r.Detail)
	}
}
