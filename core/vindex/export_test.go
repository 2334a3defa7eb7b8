package vindex

import "time"

// For the external test package (realembed_test.go, behind a build tag).
var (
	SweepRecall = sweepRecall
	LogSweep    = logSweep
	EfConstr    = efConstructions
)

// CompareSearchCPU is the process CPU time per search of the search before
// this change (the reference copy at ef 256, the old default) and of
// Search at its default ef, over qs, measured interleaved in chunks of 250
// queries so that a shared machine's load weighs on both alike.
func CompareSearchCPU(ix *Index, qs [][]float32, k int) (before, after time.Duration) {
	const chunk = 250
	n := 0
	for start := 0; start < len(qs); start += chunk {
		part := qs[start:min(start+chunk, len(qs))]
		c0 := processCPU()
		for _, q := range part {
			refSearchGraph(ix, q, k, 256)
		}
		c1 := processCPU()
		for _, q := range part {
			_, _ = ix.Search(q, k, 0)
		}
		c2 := processCPU()
		before += c1 - c0
		after += c2 - c1
		n += len(part)
	}
	return before / time.Duration(n), after / time.Duration(n)
}
