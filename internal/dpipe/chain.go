package dpipe

import "errors"

// errUsage reports a malformed command chain; the caller prints the usage.
var errUsage = errors.New("dpipe: malformed command chain")

// stageKind is how a command is connected to its neighbours.
type stageKind int

const (
	// kindFirst is the leftmost command: stdin/stdout talk to its right
	// neighbour.
	kindFirst stageKind = iota
	// kindBidir is a middle command reached through a plain "=": stdin/stdout
	// talk to the left neighbour, the alternate fds to the right one.
	kindBidir
	// kindLeftToRight is a middle command opened by "=}": it filters the
	// data flowing left to right only (stdin from the left, stdout to the
	// right).
	kindLeftToRight
	// kindRightToLeft is a middle command opened by "={": it filters the
	// data flowing right to left only (stdin from the right, stdout to the
	// left).
	kindRightToLeft
	// kindLast is the rightmost command: stdin/stdout talk to its left
	// neighbour. Its exit status is dpipe's.
	kindLast
)

// stage is one command of the chain.
type stage struct {
	argv []string
	kind stageKind
}

// splitIndex mirrors the original's splitindex(): it returns the index of
// the next separator in argv (len(argv) if none). A separator is any word
// starting with '='. While a one-way section opened with "=}" or "={" is
// pending (*dirchar is '}' or '{'), a word starting with the matching
// closer followed by '=' ("}=", "{=", "}={", ...) has its first byte
// stripped (in argv itself, like the original's argv[i]++) and so becomes a
// separator, closing the section. A separator whose second byte is '{' or
// '}' opens a new one-way section.
//
// Deliberate difference: with no pending section the original compares
// *dirchar (0) with the first byte of the word, so an empty argument
// matches and the original then reads past the end of that empty string
// (the first byte of the next argument in memory). Here an empty argument
// is always an ordinary argument.
func splitIndex(argv []string, dirchar *byte) int {
	for i, w := range argv {
		if *dirchar != 0 && len(w) >= 2 && w[0] == *dirchar && w[1] == '=' {
			w = w[1:]
			argv[i] = w
			*dirchar = 0
		}
		if len(w) > 0 && w[0] == '=' {
			if len(w) > 1 && (w[1] == '}' || w[1] == '{') {
				*dirchar = w[1]
			}
			return i
		}
	}
	return len(argv)
}

// parseChain splits the non-option words into the commands of the chain,
// following the original's start_dpipe()/rec_dpipe() recursion exactly,
// including its quirks: a "}=" or "{=" that does not close a pending
// section is an ordinary argument; a plain "=" inside a one-way section
// keeps the section open (the next command is one-way as well); "=}" right
// after "={" replaces the pending direction. It returns errUsage where the
// original calls usage_and_exit(): fewer than 3 words, an empty command
// (separator first, last, or doubled), no separator at all, or a one-way
// section left open at the end.
func parseChain(words []string) ([]stage, error) {
	argv := append([]string(nil), words...)
	var dirchar byte
	split := splitIndex(argv, &dirchar)
	if len(argv) < 3 || split == 0 || split >= len(argv)-1 {
		return nil, errUsage
	}
	stages := []stage{{argv: argv[:split:split], kind: kindFirst}}
	argv = argv[split+1:]
	old := dirchar
	for {
		next := old
		split = splitIndex(argv, &next)
		if split >= len(argv) {
			if next != 0 {
				return nil, errUsage
			}
			return append(stages, stage{argv: argv, kind: kindLast}), nil
		}
		if len(argv) < 3 || split == 0 || split == len(argv)-1 {
			return nil, errUsage
		}
		kind := kindBidir
		switch old {
		case '}':
			kind = kindLeftToRight
		case '{':
			kind = kindRightToLeft
		}
		stages = append(stages, stage{argv: argv[:split:split], kind: kind})
		argv = argv[split+1:]
		old = next
	}
}

// pipeEnd names one end of one of the chain's pipes.
type pipeEnd struct {
	pipe  int  // index into the pipe list; -1 = not connected
	write bool // write end (else read end)
}

var noEnd = pipeEnd{pipe: -1}

// wiring is the set of pipe ends a stage receives.
type wiring struct {
	stdin, stdout pipeEnd
	altIn, altOut pipeEnd // only for kindBidir stages
}

// plan computes how many pipes the chain needs and which ends each stage
// gets, replaying the original's fd shuffling: "cur" is what the original
// parent holds on its stdin/stdout while it walks the chain, which the next
// command inherits unless it replaces it.
//
//	first:      stdin=R(p1) stdout=W(p2)              cur = R(p2), W(p1)
//	= bidir =:  stdin/stdout=cur, alt=R(p1),W(p2)     cur = R(p2), W(p1)
//	=} ltr }=:  stdin=cur.in, stdout=W(p1)            cur.in  = R(p1)
//	={ rtl {=:  stdin=R(p1),  stdout=cur.out          cur.out = W(p1)
//	last:       stdin/stdout=cur
//
// So "a = b" is a.out→b.in, b.out→a.in; a middle "= b =" reads its right
// neighbour's stdout on its alternate stdin and writes the neighbour's stdin
// on its alternate stdout; "a =} b }= c" is the cycle a→b→c→a and
// "a ={ b {= c" the cycle a→c→b→a.
func plan(stages []stage) (npipes int, w []wiring) {
	newPipe := func() int { npipes++; return npipes - 1 }
	r := func(p int) pipeEnd { return pipeEnd{pipe: p} }
	wr := func(p int) pipeEnd { return pipeEnd{pipe: p, write: true} }
	w = make([]wiring, len(stages))
	var curIn, curOut pipeEnd
	for k, s := range stages {
		switch s.kind {
		case kindFirst:
			p1, p2 := newPipe(), newPipe()
			w[k] = wiring{stdin: r(p1), stdout: wr(p2), altIn: noEnd, altOut: noEnd}
			curIn, curOut = r(p2), wr(p1)
		case kindBidir:
			p1, p2 := newPipe(), newPipe()
			w[k] = wiring{stdin: curIn, stdout: curOut, altIn: r(p1), altOut: wr(p2)}
			curIn, curOut = r(p2), wr(p1)
		case kindLeftToRight:
			p1 := newPipe()
			w[k] = wiring{stdin: curIn, stdout: wr(p1), altIn: noEnd, altOut: noEnd}
			curIn = r(p1)
		case kindRightToLeft:
			p1 := newPipe()
			w[k] = wiring{stdin: r(p1), stdout: curOut, altIn: noEnd, altOut: noEnd}
			curOut = wr(p1)
		case kindLast:
			w[k] = wiring{stdin: curIn, stdout: curOut, altIn: noEnd, altOut: noEnd}
		}
	}
	return npipes, w
}
