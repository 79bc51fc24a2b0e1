// Package getopt parses command lines the way glibc's getopt_long and
// getopt_long_only do, so that govde's tools accept exactly the spellings
// users' scripts pass to the C originals: `-n 6`, `-n6`, `--numports 6`,
// `--numports=6`, `-xF`, and with LongOnly also `-numports 6` and `-hub`.
// Long names may be abbreviated to any unambiguous prefix.
package getopt

import (
	"fmt"
	"strings"
)

// Option describes one option.
type Option struct {
	Short  byte     // 0 when the option has no short form
	Long   []string // long names (aliases)
	HasArg bool
}

// Parsed is one option occurrence.
type Parsed struct {
	Opt  *Option
	Name string // the name as written (for messages)
	Arg  string
}

// Key returns the option's identity: its first long name, or its short letter.
func (p Parsed) Key() string {
	if len(p.Opt.Long) > 0 {
		return p.Opt.Long[0]
	}
	return string(p.Opt.Short)
}

// Set is an option table.
type Set struct {
	Opts []Option
	// LongOnly accepts long options after a single dash (getopt_long_only).
	LongOnly bool
	// StopAtNonOption stops at the first non-option (a leading '+' in the
	// C optstring); otherwise non-options are collected and parsing goes on.
	StopAtNonOption bool
	// Warn receives getopt's warnings (unknown option, missing argument);
	// the option is then skipped, as the C tools do.
	Warn func(msg string)
	// Prog is the program name used in warnings.
	Prog string
}

// Parse returns the options found and the remaining arguments.
func (s *Set) Parse(args []string) (opts []Parsed, rest []string) {
	warn := func(format string, a ...any) {
		if s.Warn != nil {
			s.Warn(s.Prog + ": " + fmt.Sprintf(format, a...))
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			return
		}
		if len(a) < 2 || a[0] != '-' {
			if s.StopAtNonOption {
				rest = append(rest, args[i:]...)
				return
			}
			rest = append(rest, a)
			continue
		}
		if strings.HasPrefix(a, "--") || (s.LongOnly && s.longMatch(a[1:]) != nil) {
			body := strings.TrimLeft(a, "-")
			name, val, hasVal := strings.Cut(body, "=")
			o, ambiguous := s.findLong(name)
			switch {
			case ambiguous:
				warn("option '%s' is ambiguous", a)
				continue
			case o == nil:
				warn("unrecognized option '%s'", a)
				continue
			}
			if o.HasArg && !hasVal {
				if i+1 >= len(args) {
					warn("option '%s' requires an argument", a)
					continue
				}
				i++
				val = args[i]
			} else if !o.HasArg && hasVal {
				warn("option '%s' doesn't allow an argument", a)
				continue
			}
			opts = append(opts, Parsed{Opt: o, Name: name, Arg: val})
			continue
		}
		// a cluster of short options
		for j := 1; j < len(a); j++ {
			o := s.findShort(a[j])
			if o == nil {
				warn("invalid option -- '%c'", a[j])
				continue
			}
			if !o.HasArg {
				opts = append(opts, Parsed{Opt: o, Name: string(a[j])})
				continue
			}
			val := a[j+1:]
			if val == "" {
				if i+1 >= len(args) {
					warn("option requires an argument -- '%c'", a[j])
					break
				}
				i++
				val = args[i]
			}
			opts = append(opts, Parsed{Opt: o, Name: string(a[j]), Arg: val})
			break
		}
	}
	return
}

func (s *Set) findShort(c byte) *Option {
	for i := range s.Opts {
		if s.Opts[i].Short == c && c != 0 {
			return &s.Opts[i]
		}
	}
	return nil
}

// longMatch is glibc's getopt_long_only test for "-body": a single
// character that is a short option stays short; otherwise a long option (exact
// or unambiguous prefix) wins; an ambiguous prefix is reported as such; with
// no long match the word is read as short options when its first character
// is one.
func (s *Set) longMatch(body string) *Option {
	if len(body) == 1 && s.findShort(body[0]) != nil {
		return nil
	}
	name, _, _ := strings.Cut(body, "=")
	o, amb := s.findLong(name)
	if amb {
		return &Option{}
	}
	if o == nil && s.findShort(body[0]) == nil {
		return &Option{} // reported as unrecognized by the long path
	}
	return o
}

func (s *Set) findLong(name string) (*Option, bool) {
	if name == "" {
		return nil, false
	}
	var found *Option
	for i := range s.Opts {
		for _, l := range s.Opts[i].Long {
			if l == name {
				return &s.Opts[i], false
			}
			if strings.HasPrefix(l, name) {
				if found != nil && found != &s.Opts[i] {
					return nil, true
				}
				found = &s.Opts[i]
			}
		}
	}
	return found, false
}
