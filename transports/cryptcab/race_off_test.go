//go:build !race

package cryptcab

const raceEnabled = false
