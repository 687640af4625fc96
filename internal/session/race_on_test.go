//go:build race

package session

// raceEnabled says the race detector is on: it makes sync.Pool drop
// values at random, so allocation counts mean nothing.
const raceEnabled = true
