//go:build race

package cache

// raceEnabled shortens the slowest equivalence tests under -race.
const raceEnabled = true
