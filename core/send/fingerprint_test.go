package send

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/pennyllm/penny/core/cache"
)

// TestFingerprintMemo checks the Sender's memo against Fingerprint for
// repeated scopes, more distinct scopes than it keeps, and a NaN
// temperature (a key that never matches itself).
func TestFingerprintMemo(t *testing.T) {
	var f fingerprints
	for round := 0; round < 3; round++ {
		for i := 0; i < 3*maxFingerprints; i++ {
			s := cache.Scope{Model: fmt.Sprintf("m%d", i%(maxFingerprints+7)), System: "be brief", Temperature: float64(i % 3), MaxTokens: i % 5}
			if i%50 == 0 {
				s.Temperature = math.NaN()
			}
			if got, want := f.get(s), Fingerprint(s); got != want {
				t.Fatalf("%+v: %s, want %s", s, got, want)
			}
		}
	}
	if len(f.m) > maxFingerprints {
		t.Errorf("memo holds %d scopes, bound %d", len(f.m), maxFingerprints)
	}
}

// BenchmarkSendShort sends a planned short prompt: a miss (hold, call,
// settlement, fill, ledger record) and a hit (the cached answer, the
// baseline re-priced), with in-memory collaborators.
func BenchmarkSendShort(b *testing.B) {
	e := newEnv(b, "gpt-4o-mini")
	s, err := New(DefaultConfig(), e.deps)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	miss := e.plan("Can you summarize the refund policy for orders over $200 in two sentences?")
	opt := Options{Scope: e.scope, Tag: "bench"}
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Send(ctx, miss, opt, nil); err != nil {
				b.Fatal(err)
			}
			e.ledger.mu.Lock()
			e.ledger.recs = e.ledger.recs[:0]
			e.ledger.mu.Unlock()
		}
	})
	hit := e.plan("Can you summarize the refund policy for orders over $200 in two sentences?")
	if hit.Cache.Outcome != cache.ExactHit {
		b.Fatalf("second plan: %s", hit.Cache.Outcome)
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Send(ctx, hit, opt, nil); err != nil {
				b.Fatal(err)
			}
			e.ledger.mu.Lock()
			e.ledger.recs = e.ledger.recs[:0]
			e.ledger.mu.Unlock()
		}
	})
}
