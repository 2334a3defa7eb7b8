package compress

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// BenchmarkCompressShort runs the default passes over replay-like 10–30
// word prompts, counted with o200k: mostly nothing to remove, so this is
// the pipeline's fixed cost per request.
func BenchmarkCompressShort(b *testing.B) {
	c, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	prompts := []string{
		"How do I reset my password on the mobile app?",
		"Can you summarize the refund policy for orders over $200 in two sentences?",
		"Translate 'where is the train station' into German and French, please.",
		"hi,  thanks for the help yesterday — is order #48213 shipped yet?  ",
		"Write a SQL query that returns the top 5 customers by revenue in 2023, joined with their region.",
	}
	tc := counter()
	tc.Count("load the rank table before timing")
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	i := 0
	for b.Loop() {
		if _, err := c.Compress(ctx, prompts[i%len(prompts)], tc); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// TestTrackerGroups checks the tracker's groups, found by scanning for a
// few units and through the map for more, against a plain map grouping.
func TestTrackerGroups(t *testing.T) {
	texts := []string{"42", "https://x.io", "`a`", "\"q\"", "3.5 GB", "Ann", "v1.2", "x@y.z"}
	for n := 0; n <= 3*smallTracker; n++ {
		units := make([]Unit, n)
		for i := range units {
			units[i] = Unit{Text: texts[(i*7+i/3)%len(texts)] + strings.Repeat("!", i%(n/4+1)), Start: 10 * i}
		}
		tr := newTracker(units)
		group := map[string]int{}
		var first []int32
		next := make([]int32, n)
		last := map[int]int32{}
		for i, u := range units {
			next[i] = -1
			g, ok := group[u.Text]
			if !ok {
				group[u.Text] = len(first)
				first = append(first, int32(i))
				last[len(first)-1] = int32(i)
				continue
			}
			next[last[g]] = int32(i)
			last[g] = int32(i)
		}
		if !slices.Equal(tr.first, first) || !slices.Equal(tr.next, next) {
			t.Fatalf("%d units: first %v next %v, want %v %v", n, tr.first, tr.next, first, next)
		}
		for txt, g := range group {
			if got := tr.groupOf(txt); int(got) != g {
				t.Fatalf("%d units: groupOf(%q) = %d, want %d", n, txt, got, g)
			}
		}
		if (tr.group == nil) != (n <= smallTracker) {
			t.Fatalf("%d units: map %v", n, tr.group != nil)
		}
	}
}

// TestScratchReuse compresses short prompts that exercise every cache of
// a call (duplicate blocks, near duplicates, JSON, code, units) in
// shuffled order and from several goroutines, reusing pooled scratch, and
// requires each result to equal the one made with fresh scratch.
func TestScratchReuse(t *testing.T) {
	c, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tc := counter()
	ctx := context.Background()
	// Forty words: two copies differing in the last one are near
	// duplicates (Jaccard of word bigrams 38/40).
	nearDup := "the team met on monday to review the quarterly plan and agreed that the budget for cloud hosting " +
		"should be cut by ten percent while the support staff grows by two people before the next review in june"
	dup := "Please check the invoice totals for March and April carefully.\n\n"
	prompts := []string{
		"How do I reset my password on the mobile app?",
		dup + "Some context here about billing.\n\n" + dup + "What is wrong with invoice #4821?",
		"Format this: {\"a\": 1,   \"b\": [1, 2,  3],  \"c\": {\"d\": \"e\"}}\nThanks!",
		"```go\nfunc main() {\n    fmt.Println(\"hi\")\n}\n```\n\n\nWhy   does this   print twice?",
		"Email ann@example.com about https://example.com/a?b=1 and the 3.5 GB limit.   \n\n\n\nOK?",
		"The quick brown fox jumps over the lazy dog near the river bank today.\nThe quick brown fox jumps over the lazy dog near the river bank today!\nWhy?",
		strings.Repeat("List item with number 12 and name Bob.\n", 30) + "Summarize.",
		nearDup + " today.\n\nIn between, a different paragraph about something else entirely.\n\n" + nearDup + " tonight.\n\nWhich one?",
		"Other words first.\n\n" + nearDup + " tomorrow.\n\n" + nearDup + " today.\n\nWhich?",
	}
	want := make([]Result, len(prompts))
	for i, p := range prompts {
		scratchPool = sync.Pool{New: func() any { return new(scratch) }} // fresh scratch
		r, err := c.Compress(ctx, p, tc)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for range 300 {
				i := rng.IntN(len(prompts))
				r, err := c.Compress(ctx, prompts[i], tc)
				if err != nil || !reflect.DeepEqual(r, want[i]) {
					errs <- fmt.Sprintf("prompt %d: %v\n got %+v\nwant %+v", i, err, r, want[i])
					return
				}
			}
		}(uint64(g))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
