//go:build !race

package vxnet

const raceEnabled = false
