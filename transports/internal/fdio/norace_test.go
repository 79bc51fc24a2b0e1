//go:build !race

package fdio

const raceEnabled = false
