package fabric

// Tap sees every frame entering and leaving the switch (the original's
// packet/in and packet/out plugin events). It runs on the fabric's
// goroutine: it must copy what it keeps and never block. With no tap set
// the frame path pays one nil check.
type Tap interface {
	// In is called for each frame of at least 14 bytes read on port;
	// user is the port's current user (-1 none) and descr the description
	// of its newest endpoint.
	In(port, user int, descr string, frame []byte)
	// Out is called for each frame queued for port.
	Out(port int, frame []byte)
}

// taps fans frames out to several taps (several plugins at once).
type taps []Tap

func (t taps) In(port, user int, descr string, frame []byte) {
	for _, x := range t {
		x.In(port, user, descr, frame)
	}
}

func (t taps) Out(port int, frame []byte) {
	for _, x := range t {
		x.Out(port, frame)
	}
}

// AddTap and RemoveTap manage the set of taps. No reply.
type (
	AddTap    struct{ Tap Tap }
	RemoveTap struct{ Tap Tap }
)

func (f *fabric) setTaps(add, remove Tap) {
	var next taps
	if cur, ok := f.tap.(taps); ok {
		for _, t := range cur {
			if t != remove {
				next = append(next, t)
			}
		}
	}
	if add != nil {
		next = append(next, add)
	}
	if len(next) == 0 {
		f.tap = nil
		return
	}
	f.tap = next
}
