package cache

import (
	"math"
	"runtime"
	"testing"
)

// TestAnalysisCostBounds measures the heap an analysis holds once its
// memos are full (judged as the cached side against a few hundred
// different prompts) and checks analysisCost bounds it without
// overstating it more than fourfold: the analysis cache's byte budget is
// then a real bound, and as many analyses fit as the memory allows.
func TestAnalysisCostBounds(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("heap measurement; slow under -race")
	}
	_, j := localJudge(t, -1)
	queries := demoPrompts(t, 300)
	qa := make([]*analysis, len(queries))
	for i, q := range queries {
		qa[i] = j.analysis(q)
	}
	long := longText(t)
	runtime.GC() // the garbage of loading the embedder, out of the first measurement
	for _, text := range []string{"thanks!", "Capital of France?", "How can I turn on two-factor authentication for my GitHub account?",
		queries[3], queries[17], long[:1000], long[:4000], long} {
		const copies = 20
		// A first copy fills the queries' own memos with the text's
		// words, so that only the copies' memory is measured.
		warm := j.analysis(text)
		for _, q := range qa {
			j.judge(q, nil, warm, nil)
		}
		// The least of three measurements: another goroutine (a test's
		// leftover worker) allocating meanwhile only adds.
		per := math.Inf(1)
		var keep []*analysis
		for range 3 {
			var ms0, ms1 runtime.MemStats
			keep = make([]*analysis, 0, copies)
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			for range copies {
				a := j.analysis(text) // a new analysis each time: the judge caches none
				for _, q := range qa {
					j.judge(q, nil, a, nil)
				}
				keep = append(keep, a)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			per = min(per, float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/copies)
			runtime.KeepAlive(keep)
		}
		cost := float64(analysisCost(text))
		t.Logf("%6d bytes: %8.0f B held, cost %8.0f (memos %d/%d, %d/%d)", len(text), per, cost,
			len(keep[0].lx.memo.ids), keep[0].lx.memo.max, len(keep[0].present.entries), keep[0].present.max)
		if per > cost || per < cost/4 {
			t.Errorf("%d-byte text holds %.0f bytes; analysisCost says %.0f", len(text), per, cost)
		}
	}
}
