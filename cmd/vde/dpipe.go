package main

import (
	"os"

	"github.com/govde/govde/internal/dpipe"
)

func runDpipe(_ string, args []string) int { return dpipe.Main(args, os.Stderr) }
