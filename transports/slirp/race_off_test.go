//go:build !race

package slirp

const raceEnabled = false
