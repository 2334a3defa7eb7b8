//go:build race

package vindex

// raceEnabled shrinks the heavy tests: the race detector slows graph
// construction about tenfold and they test the algorithm, not races.
const raceEnabled = true
