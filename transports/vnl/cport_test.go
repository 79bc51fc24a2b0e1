package vnl

// A literal port of vdeplug4 4.0.1's table-driven tokenizer
// (libvdeplug4/parseparms.c: strtokq_r, strtokq_rev_r, strtokq_nostrip_r),
// kept as the reference the Go tokenizer is fuzzed against. Inputs must not
// contain NUL (the C end of string).

import "strings"

const (
	cChar = iota
	cQuote
	cDoubleQ
	cEsc
	cPerc
	cPer2
	cDelim
	cEnd
)

const (
	cCopy = 1
	cCPer = 3
)

var cNextState = [cEnd][cEnd + 1]int{
	{cChar, cQuote, cDoubleQ, cEsc, cPerc, 0, cDelim, cEnd},
	{cQuote, cChar, cQuote, cQuote, cQuote, 0, cQuote, cEnd},
	{cDoubleQ, cDoubleQ, cChar, cDoubleQ, cDoubleQ, 0, cDoubleQ, cEnd},
	{cChar, cChar, cChar, cChar, cChar, 0, cChar, cEnd},
	{cPer2, cQuote, cDoubleQ, cEsc, cPerc, 0, cDelim, cEnd},
	{cChar, cQuote, cDoubleQ, cEsc, cPerc, 0, cDelim, cEnd},
	{cChar, cQuote, cDoubleQ, cEsc, cPerc, 0, cDelim, cEnd},
}

var cAction = [cEnd - 1][cEnd + 1]int{
	{cCopy, 0, 0, 0, cCopy, 0, 0, 0},
	{cCopy, 0, cCopy, cCopy, cCopy, 0, cCopy, 0},
	{cCopy, cCopy, 0, cCopy, cCopy, 0, cCopy, 0},
	{cCopy, cCopy, cCopy, cCopy, cCopy, 0, cCopy, 0},
	{cCopy, 0, 0, 0, cCopy, 0, 0, 0},
	{cCPer, 0, 0, 0, cCopy, 0, 0, 0},
}

func cCh2n(x byte) int {
	const hexchars = "0123456789ABCDEF0123456789abcdef"
	if i := strings.IndexByte(hexchars, x); i >= 0 {
		return i % 16
	}
	return -1
}

func cToken(c byte, delim string) int {
	switch c {
	case 0:
		return cEnd
	case '\'':
		return cQuote
	case '"':
		return cDoubleQ
	case '\\':
		return cEsc
	case '%':
		return cPerc
	}
	if strings.IndexByte(delim, c) >= 0 {
		return cDelim
	}
	return cChar
}

// cStrtokq is strtokq_r on s: the token, the text after the delimiter and
// whether a delimiter (not the end) stopped it.
func cStrtokq(s, delim string) (tok, rest string, found bool) {
	in := append([]byte(s), 0)
	var out []byte
	status := cChar
	from := 0
	for status != cDelim && status != cEnd {
		this := cToken(in[from], delim)
		todo := cAction[status][this]
		if todo&cCopy != 0 {
			out = append(out, in[from])
			if todo == cCPer {
				perc := len(out) - 3
				h1, h2 := cCh2n(out[perc+1]), cCh2n(out[perc+2])
				if h1 >= 0 && h2 >= 0 {
					out[perc] = byte(h1*0x10 + h2)
					out = out[:perc+1]
				}
			}
		}
		from++
		status = cNextState[status][this]
	}
	if status == cEnd {
		return string(out), "", false
	}
	return string(out), s[from:], true
}

// cRevIndex is strtokq_rev_r: the index of the last delimiter, or -1.
func cRevIndex(s, delim string) int {
	in := append([]byte(s), 0)
	status, to := cChar, -1
	for scan := 0; status != cEnd; scan++ {
		status = cNextState[status][cToken(in[scan], delim)]
		if status == cDelim {
			to = scan
		}
	}
	return to
}

// cNostripIndex is strtokq_nostrip_r: the index of the first delimiter, or -1.
func cNostripIndex(s, delim string) int {
	in := append([]byte(s), 0)
	status := cChar
	for from := 0; ; from++ {
		status = cNextState[status][cToken(in[from], delim)]
		if status == cDelim {
			return from
		}
		if status == cEnd {
			return -1
		}
	}
}
