package fabric

// testHook runs fn inside the fabric actor (tests only).
type testHook struct{ fn func(*fabric) }

func (h *testHook) run(f *fabric) { h.fn(f) }
