//go:build race

package cryptcab

// raceEnabled: the race detector makes sync.Pool drop items on purpose, so
// allocation checks are skipped.
const raceEnabled = true
