package filter

import (
	"fmt"
	"time"
)

// The Markov mode of wirefilter: N nodes, each a full parameter set; every
// markov-time ms the next node is drawn from the current node's row of the
// weight matrix (percentages; the self-loop weight is 100 minus the
// others). All methods run with c.mu held.

func (c *Control) n() int { return len(c.nodes) }

func (c *Control) at(i, j int) *float64 { return &c.adj[i*c.n()+j] }

// resize changes the number of nodes, keeping the weights that still fit
// (new nodes are unreachable; the current node goes back to 0 if it was
// removed).
func (c *Control) resize(n int) {
	old := c.n()
	if n == old {
		return
	}
	adj := make([]float64, n*n)
	for i := 0; i < n; i++ {
		adj[i*n+i] = 100
		for j := 1; j < n; j++ {
			nj := (i + j) % n
			if i < old && nj < old {
				adj[i*n+nj] = c.adj[i*old+nj]
				adj[i*n+i] -= adj[i*n+nj]
			}
		}
	}
	if n > old {
		for i := old; i < n; i++ {
			c.nodes = append(c.nodes, &node{})
		}
	} else {
		c.nodes = c.nodes[:n]
		if c.current >= n {
			c.current = 0
		}
	}
	c.adj = adj
}

// compute sets node i's self-loop weight to 100 minus its other weights.
func (c *Control) compute(i int) {
	n := c.n()
	*c.at(i, i) = 100
	for j := 1; j < n; j++ {
		*c.at(i, i) -= *c.at(i, (i+j)%n)
	}
}

// step draws the node after i and reports the change to debug sessions.
func (c *Control) step(i int) int {
	n := c.n()
	num := c.rng.float() * 100
	k := i
	for j := 0; j < n; j++ {
		k = (i + j) % n
		v := *c.at(i, k)
		if num <= v {
			break
		}
		num -= v
	}
	if k != i {
		line := fmt.Sprintf("%04d Node %d \"%s\" -> %d \"%s\"", 3800+k, i, c.nodes[i].name, k, c.nodes[k].name)
		for s := range c.sessions {
			s.async(line)
		}
	}
	return k
}

// start restarts the Markov clock: a step now, then one every mtime ms.
func (c *Control) start() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.n() <= 1 {
		return
	}
	c.moveTo(c.step(c.current))
	c.schedule()
}

func (c *Control) schedule() {
	c.gen++
	gen := c.gen
	c.timer = time.AfterFunc(time.Duration(c.mtime*float64(time.Millisecond)), func() { c.tick(gen) })
}

// tick is the Markov timer of generation gen (a restarted clock ignores
// the ticks of the previous one).
func (c *Control) tick(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer == nil || gen != c.gen || c.n() <= 1 {
		return
	}
	c.moveTo(c.step(c.current))
	c.schedule()
}

// moveTo makes k the current node and pushes its parameters.
func (c *Control) moveTo(k int) {
	if k == c.current {
		return
	}
	c.current = k
	if err := c.push(); err != nil {
		c.logf("markov: %v", err)
	}
}
