package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $GOVDE_CPUPROFILE until the returned
// function is called (a benchmarking aid for bench/).
func startProfile() func() {
	path := os.Getenv("GOVDE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
