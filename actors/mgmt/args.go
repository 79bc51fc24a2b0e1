package mgmt

import (
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// atoi is C's atoi: leading blanks, an optional sign, decimal digits up to
// the first other character; no digits gives 0.
func atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n")
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

// scanInt reads one sscanf %i field from s: 0x hex, leading 0 octal,
// decimal otherwise. It returns the value, the rest and whether a number
// was there.
func scanInt(s string) (int, string, bool) {
	s = strings.TrimLeft(s, " \t\n")
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	if i+2 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' && digit(s[i+2], 16) {
		base, i = 16, i+2
	} else if i < len(s) && s[i] == '0' {
		base = 8
	}
	start := i
	for i < len(s) && digit(s[i], base) {
		i++
	}
	if i == start {
		return 0, s, false
	}
	v, err := strconv.ParseInt(s[start:i], base, 64)
	if err != nil {
		return 0, s, false
	}
	if neg {
		v = -v
	}
	return int(v), s[i:], true
}

func digit(c byte, base int) bool {
	switch base {
	case 8:
		return c >= '0' && c <= '7'
	case 16:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
	}
	return c >= '0' && c <= '9'
}

// scanInts reads n %i fields; ok is false (EINVAL) when fewer are there.
func scanInts(s string, n int) ([]int, bool) {
	out := make([]int, 0, n)
	for len(out) < n {
		v, rest, ok := scanInt(s)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		s = rest
	}
	return out, true
}

// scanIntWord reads "%i %s".
func scanIntWord(s string) (int, string, bool) {
	v, rest, ok := scanInt(s)
	if !ok {
		return 0, "", false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0, "", false
	}
	return v, f[0], true
}

// parseID turns a user or group argument into an id: a name from the
// databases, else a leading digit means a number, else NONE or ANY means
// unset (-1); anything else is EINVAL.
func parseID(s string, group bool) (int, error) {
	if group {
		if g, err := user.LookupGroup(s); err == nil {
			return strconv.Atoi(g.Gid)
		}
	} else if u, err := user.Lookup(s); err == nil {
		return strconv.Atoi(u.Uid)
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		return atoi(s), nil
	}
	if s == "NONE" || s == "ANY" {
		return -1, nil
	}
	return 0, syscall.EINVAL
}

// idName prints a uid or gid as port/print does: the name, else the
// number, NONE when unset.
func idName(id int, group bool) string {
	if id < 0 {
		return "NONE"
	}
	if group {
		if g, err := user.LookupGroupId(strconv.Itoa(id)); err == nil {
			return g.Name
		}
	} else if u, err := user.LookupId(strconv.Itoa(id)); err == nil {
		return u.Username
	}
	return strconv.Itoa(id)
}
