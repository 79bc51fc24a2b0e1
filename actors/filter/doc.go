// Package filter is wirefilter as actors: a Wire joins endpoints through one
// stage actor per direction (LR, RL) that applies wirefilter's per-packet
// pipeline (MTU, loss with the Gilbert burst model, duplication, channel
// buffer, interface speed, bottleneck bandwidth, delay, FIFO ordering,
// noise, blink) to batches of frames; a Control holds the configuration
// (the Markov chain of parameter sets) and serves the management console
// with the original's commands and output framing.
//
// Data path: a reader goroutine per direction reads a batch and sends it to
// the stage actor (synchronized dispatcher, our tail-drop mailbox sized so
// it never drops); the stage sends frames due now to the destination and
// keeps delayed ones in a single min-heap per stage with a single timer,
// never a goroutine or timer per frame. Frames travel as pooled buffers and
// nothing is allocated per frame. Delays and rates are computed in
// nanoseconds (the original rounds to milliseconds).
//
// Deliberate differences from the original (also in COMPATIBILITY.md):
// FIFO ordering is per direction (the original shares its latest due time
// between both directions, so a delay set on LR also holds back RL), and a
// frame sent without delay never overtakes a queued one in FIFO mode;
// noise and dup cannot hang; blink never blocks; delay queues are bounded
// by backpressure; values outside the grammar are errors; the console
// takes every line of a read as a command.
package filter
