//go:build race

package vxvde

const raceEnabled = true
