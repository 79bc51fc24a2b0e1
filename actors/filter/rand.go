package filter

import (
	"math"
	"math/rand/v2"
)

// rng is a stage's random source: a seeded PCG, so a run with --seed is
// reproducible. It is owned by one stage actor and never shared.
type rng struct{ r *rand.Rand }

func newRNG(seed, stream uint64) rng {
	return rng{r: rand.New(rand.NewPCG(seed, stream))}
}

// float returns a uniform sample in [0, 1), the drand48() of the original.
func (r rng) float() float64 { return r.r.Float64() }

// intn returns a uniform integer in [0, n).
func (r rng) intn(n int) int { return r.r.IntN(n) }

// sample draws one value of v: V itself when there is no variation,
// uniform in [V-Plus, V+Plus], or normal with mean V and σ = Plus/3
// (Marsaglia's polar method, as the original).
func (r rng) sample(v Value) float64 {
	if v.Plus == 0 {
		return v.V
	}
	if !v.Normal {
		return v.V + v.Plus*(r.float()*2-1)
	}
	for {
		x := 2*r.float() - 1
		y := 2*r.float() - 1
		r2 := x*x + y*y
		if r2 < 1 && r2 > 0 {
			return v.V + v.Plus/3*x*math.Sqrt(-2*math.Log(r2)/r2)
		}
	}
}
