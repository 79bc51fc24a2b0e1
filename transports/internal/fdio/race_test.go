//go:build race

package fdio

const raceEnabled = true
