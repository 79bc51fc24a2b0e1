package filter

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Dir is a direction of a wire: LR (left to right; the only direction of a
// monodirectional filter) or RL.
type Dir int

const (
	// LR is left to right: stdin to the alternate stdout in a dpipe, the
	// first -v plug to the second.
	LR Dir = 0
	// RL is right to left.
	RL Dir = 1
)

// String returns "LR" or "RL".
func (d Dir) String() string {
	if d == RL {
		return "RL"
	}
	return "LR"
}

// Value is one wirefilter parameter for one direction: a central value and
// a variation. Each packet draws a new sample: uniform in
// [V-Plus, V+Plus], or (Normal) normal with mean V and σ = Plus/3.
type Value struct {
	V, Plus float64
	Normal  bool
}

// Max is V+Plus, the test wirefilter applies to decide whether a feature is on.
func (v Value) Max() float64 { return v.V + v.Plus }

// Min is V-Plus (the MTU and total-loss thresholds).
func (v Value) Min() float64 { return v.V - v.Plus }

// Alg returns 'U' or 'N', as showinfo prints it.
func (v Value) Alg() byte {
	if v.Normal {
		return 'N'
	}
	return 'U'
}

// String formats v as showinfo does (C "%g+%g%c").
func (v Value) String() string { return FormatG(v.V) + "+" + FormatG(v.Plus) + string(v.Alg()) }

// FormatG formats f like C's printf("%g").
func FormatG(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// Setting is one parsed value of the wirefilter grammar: which directions
// it sets, the value, and the Markov node it belongs to.
type Setting struct {
	// LR and RL tell which directions the value applies to (both when the
	// text had no LR/RL prefix).
	LR, RL bool
	Value  Value
	// Node is the Markov node given as a [N] suffix (0 when absent). The
	// caller checks that it exists.
	Node int
}

// ErrValue is returned for text that does not follow the value grammar.
var ErrValue = errors.New("invalid value")

// ParseValue parses the wirefilter value grammar shared by the command line
// and the management console:
//
//	[LR|RL]VALUE[+DELTA][K|M|G][U|N][[NODE]]
//
// with optional blanks after LR/RL, leading and trailing blanks ignored. K,
// M and G multiply VALUE and DELTA by 2^10, 2^20, 2^30; U (the default)
// makes the variation uniform, N normal; letters may be lower case. VALUE and
// DELTA are decimal numbers (sign, fraction and exponent allowed), never
// infinite or NaN.
//
// Differences from the original (which accepts anything, silently ignoring
// what sscanf cannot read): text outside the grammar, such as "abc",
// "128K+64" or "10NK", is an error (ErrValue) instead of a silent no-op or a
// partial value.
func ParseValue(s string) (Setting, error) {
	st := Setting{LR: true, RL: true}
	s = strings.Trim(s, " \t\n\r")
	if strings.HasSuffix(s, "]") {
		open := strings.LastIndexByte(s, '[')
		if open < 0 {
			return st, ErrValue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s[open+1 : len(s)-1]))
		if err != nil {
			return st, ErrValue
		}
		st.Node = n
		s = strings.TrimRight(s[:open], " \t")
	}
	switch {
	case strings.HasPrefix(s, "LR"):
		st.RL = false
		s = strings.TrimLeft(s[2:], " \t")
	case strings.HasPrefix(s, "RL"):
		st.LR = false
		s = strings.TrimLeft(s[2:], " \t")
	}
	if s == "" {
		return st, ErrValue
	}
	switch s[len(s)-1] {
	case 'n', 'N':
		st.Value.Normal = true
		s = s[:len(s)-1]
	case 'u', 'U':
		s = s[:len(s)-1]
	}
	mult := 1.0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	v, rest, ok := scanNumber(s)
	if !ok {
		return st, ErrValue
	}
	plus := 0.0
	if rest != "" {
		if rest[0] != '+' {
			return st, ErrValue
		}
		var ok bool
		plus, rest, ok = scanNumber(rest[1:])
		if !ok || rest != "" {
			return st, ErrValue
		}
	}
	st.Value.V, st.Value.Plus = v*mult, plus*mult
	if math.IsInf(st.Value.V, 0) || math.IsInf(st.Value.Plus, 0) {
		return st, ErrValue
	}
	return st, nil
}

// scanNumber reads a decimal floating-point number at the start of s
// ([+-]digits[.digits][e[+-]digits], at least one digit in the mantissa)
// and returns it with the rest of s.
func scanNumber(s string) (float64, string, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, s, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	f, err := strconv.ParseFloat(s[:i], 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, s, false
	}
	if math.IsInf(f, 0) {
		return 0, s, false
	}
	return f, s[i:], true
}
