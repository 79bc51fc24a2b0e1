package cryptcab

import "time"

// timerLoop runs the housekeeping of the engine every tick, and at once
// when a writer asks for attention (no usable key, rekey due).
func (e *engine) timerLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.timing.tick())
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
		case <-e.kick:
		}
		e.mu.Lock()
		now := e.now()
		if e.srv != nil {
			e.serverHousekeeping(now)
		} else {
			e.clientHousekeeping(now)
		}
		e.mu.Unlock()
	}
}
