//go:build race

package lazydgram

const raceEnabled = true
