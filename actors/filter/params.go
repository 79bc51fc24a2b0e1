package filter

// Param names one of wirefilter's per-direction parameters.
type Param int

// The parameters, in the original's order.
const (
	Loss        Param = iota // loss percentage
	LostBurst                // mean length of lost bursts (Gilbert model)
	Delay                    // delay, ms
	Dup                      // duplication percentage
	Band                     // bottleneck bandwidth, bytes/s
	Speed                    // interface speed, bytes/s (slows the sender)
	ChanBufSize              // channel buffer size, bytes
	Noise                    // bit flips per MiB
	MTU                      // largest packet, bytes (frame length + 2)
	NumParams
)

var paramNames = [NumParams]string{"loss", "lostburst", "delay", "dup", "bandwidth", "speed", "chanbufsize", "noise", "mtu"}

// String returns the parameter's console command name.
func (p Param) String() string {
	if p < 0 || p >= NumParams {
		return "?"
	}
	return paramNames[p]
}

// Params is the full parameter set of one direction. The zero value lets
// everything through unchanged.
type Params [NumParams]Value
