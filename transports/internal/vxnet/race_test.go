//go:build race

package vxnet

const raceEnabled = true
