package filter

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The console commands. Each runs with c.mu held and returns an errno
// (0 = success).

const einval = int(syscall.EINVAL)

// maxNodes bounds markov-numnodes (the weight matrix is n×n).
const maxNodes = 1024

var helpLines = []string{
	"COMMAND      HELP",
	"------------ ------------",
	"help         print a summary of mgmt commands",
	"load         load a configuration file",
	"showinfo     show status and parameter values",
	"loss         set loss percentage",
	"lostburst    mean length of lost packet bursts",
	"delay        set delay ms",
	"dup          set dup packet percentage",
	"bandwidth    set channel bandwidth bytes/sec",
	"speed        set interface speed bytes/sec",
	"noise        set noise factor bits/Mbyte",
	"mtu          set channel MTU (bytes)",
	"chanbufsize  set channel buffer size (bytes)",
	"fifo         set channel fifoness",
	"shutdown     shut the channel down",
	"logout       log out from this mgmt session",
	"markov-numnodes n  markov mode: set number of states",
	"markov-setnode n   markov mode: set current state",
	"markov-name n,name markov mode: set state's name",
	"markov-time ms     markov mode: transition period",
	"setedge n1,n2,w    markov mode: set edge weight",
	"showinfo n         markov mode: show parameter values",
	"showedges n        markov mode: show edge weights",
	"showcurrent        markov mode: show current state",
	"markov-debug n     markov mode: set debug level",
}

func cmdHelp(c *Control, s *Session, _ string) int {
	for _, l := range helpLines {
		s.printf("%s", l)
	}
	return 0
}

// setter parses a value of the grammar (ParseValue) for parameter p.
// Unlike the original, a value outside the grammar is an error (EINVAL).
func setter(p Param) func(c *Control, s *Session, arg string) int {
	return func(c *Control, s *Session, arg string) int {
		st, err := ParseValue(arg)
		if err != nil {
			return einval
		}
		return errnoOf(c.set(p, st))
	}
}

func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return int(syscall.EIO)
}

func (c *Control) name(n int) string { return c.nodes[n].name }

func cmdShowinfo(c *Control, s *Session, arg string) int {
	n := c.current
	if arg != "" {
		n = atoi(arg)
	}
	if n < 0 || n >= c.n() {
		return einval
	}
	var st [2]Stats
	if c.wire != nil {
		for d := 0; d < c.wire.Dirs(); d++ {
			st[d], _ = c.wire.Stats(Dir(d))
		}
	}
	v := &c.nodes[n].vals
	if c.ndirs == 2 {
		s.printf("WireFilter: bidirectional")
	} else {
		s.printf("WireFilter: monodirectional")
	}
	if c.n() > 1 {
		s.printf("Node %d \"%s\" (0,..,%d) Markov-time %s", n, c.name(n), c.n()-1, FormatG(c.mtime))
	}
	rows := []struct {
		label string
		p     Param
	}{{"Loss  ", Loss}, {"Lburst", LostBurst}, {"Delay ", Delay}, {"Dup   ", Dup}, {"Bandw ", Band}, {"Speed ", Speed}, {"Noise ", Noise}}
	if c.ndirs == 2 {
		for _, r := range rows {
			s.printf("%s L->R %s   R->L %s", r.label, v[r.p][LR], v[r.p][RL])
		}
		s.printf("MTU    L->R %s     R->L %s   ", FormatG(v[MTU][LR].Min()), FormatG(v[MTU][RL].Min()))
		s.printf("Cap.   L->R %s   R->L %s", v[ChanBufSize][LR], v[ChanBufSize][RL])
		s.printf("Current Delay Queue size:   L->R %d      R->L %d   ", st[LR].QueuedBytes, st[RL].QueuedBytes)
	} else {
		for _, r := range rows {
			s.printf("%s %s", r.label, v[r.p][LR])
		}
		s.printf("MTU    %s", FormatG(v[MTU][LR].Min()))
		s.printf("Cap.   %s", v[ChanBufSize][LR])
		s.printf("Current Delay Queue size:   %d", st[LR].QueuedBytes)
	}
	if c.fifo {
		s.printf("Fifoness TRUE")
	} else {
		s.printf("Fifoness FALSE")
	}
	s.printf("Waiting packets in delay queues %d", st[LR].QueuedFrames+st[RL].QueuedFrames)
	if c.blink != nil {
		s.printf("Blink socket: %s", c.blink.Path())
		s.printf("Blink id:     %s", c.blink.ID())
	}
	return 0
}

func cmdLoad(c *Control, s *Session, arg string) int { return c.runScript(s, arg) }

// runScript runs the commands of a file, echoing each line (load) when the
// session has output. Lines are read as fgets does with a 128-byte buffer:
// longer lines are cut into several commands.
func (c *Control) runScript(s *Session, path string) int {
	if s.depth >= maxLoadDepth {
		return int(syscall.ELOOP)
	}
	f, err := os.Open(path)
	if err != nil {
		return errnoOf(err)
	}
	defer f.Close()
	s.depth++
	defer func() { s.depth-- }()
	r := bufio.NewReader(f)
	for {
		line, ok := fgets(r, maxLine)
		if !ok {
			return 0
		}
		line = delnl(line)
		s.printf("%s (%s) %s", Prompt, path, line)
		c.handleCmd(s, line)
		if c.shutting {
			return 0
		}
	}
}

// fgets reads at most max bytes, up to and including a newline; a NUL
// ends the C string early. ok is false at the end of the file (or on a
// read error, e.g. a directory).
func fgets(r *bufio.Reader, max int) (string, bool) {
	var b []byte
	for len(b) < max {
		c, err := r.ReadByte()
		if err != nil {
			break
		}
		b = append(b, c)
		if c == '\n' {
			break
		}
	}
	if len(b) == 0 {
		return "", false
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b), true
}

func cmdFifo(c *Control, s *Session, arg string) int {
	c.fifo = atoi(arg) != 0
	return errnoOf(c.push())
}

func cmdNumNodes(c *Control, s *Session, arg string) int {
	n := atoi(arg)
	if n <= 0 || n > maxNodes {
		return einval
	}
	c.resize(n)
	if err := c.push(); err != nil {
		return errnoOf(err)
	}
	c.start()
	return 0
}

func cmdSetNode(c *Control, s *Session, arg string) int {
	n := atoi(arg)
	if n < 0 || n >= c.n() {
		return einval
	}
	c.moveTo(n)
	return 0
}

func cmdName(c *Control, s *Session, arg string) int {
	arg = strings.TrimLeft(arg, " \t")
	n := atoi(arg)
	if n < 0 || n >= c.n() {
		return einval
	}
	arg = strings.TrimLeft(arg, "0123456789")
	arg = strings.TrimLeft(arg, " \t")
	arg = strings.TrimPrefix(arg, ",")
	arg = strings.TrimSuffix(arg, "\n")
	c.nodes[n].name = arg
	return 0
}

func cmdTime(c *Control, s *Session, arg string) int {
	v, rest, ok := scanNumber(strings.TrimLeft(arg, " \t\n"))
	if !ok || strings.TrimSpace(rest) != "" || v <= 0 {
		return einval
	}
	c.mtime = v
	c.start()
	return 0
}

func cmdSetEdge(c *Control, s *Session, arg string) int {
	parts := strings.Split(arg, ",")
	if len(parts) != 3 {
		return einval
	}
	x, err1 := strconv.Atoi(strings.TrimSpace(parts[0]))
	y, err2 := strconv.Atoi(strings.TrimSpace(parts[1]))
	w, rest, ok := scanNumber(strings.TrimSpace(parts[2]))
	if err1 != nil || err2 != nil || !ok || rest != "" {
		return einval
	}
	if x < 0 || x >= c.n() || y < 0 || y >= c.n() {
		return einval
	}
	*c.at(x, y) = w
	c.compute(x)
	return 0
}

func cmdShowEdges(c *Control, s *Session, arg string) int {
	n := c.current
	if arg != "" {
		n = atoi(arg)
	}
	if n < 0 || n >= c.n() {
		return einval
	}
	for j := 0; j < c.n(); j++ {
		if w := *c.at(n, j); w != 0 {
			s.printf("Edge %-2d->%-2d \"%s\"->\"%s\" weigth %s", n, j, c.name(n), c.name(j), FormatG(w))
		}
	}
	return 0
}

func cmdShowCurrent(c *Control, s *Session, _ string) int {
	s.printf("Current Markov Node %d \"%s\" (0,..,%d)", c.current, c.name(c.current), c.n()-1)
	return 0
}

func cmdDebug(c *Control, s *Session, arg string) int {
	n := atoi(arg)
	if s.out == nil || n < 0 {
		return einval
	}
	s.debug = n
	if n > 0 {
		c.sessions[s] = struct{}{}
	} else {
		delete(c.sessions, s)
	}
	return 0
}

func cmdShutdown(c *Control, s *Session, _ string) int {
	c.shutting = true
	return 0
}

// atoi is C's atoi: leading white space, an optional sign, digits; 0 when
// there are none.
func atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<31 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}
