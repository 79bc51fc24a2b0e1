package vnl

import "strings"

// The shared tokenizer of the three option syntaxes, after vdeplug4's
// strtokq_r (libvdeplug4/parseparms.c), rule for rule:
//
//   - '…' and "…" quote: delimiters, backslashes, percent signs and the other
//     quote character inside are literal; the quote characters are removed.
//     An unterminated quote runs to the end of the text.
//   - \x outside quotes takes x literally (a delimiter, a quote, '%' or '\');
//     a trailing lone backslash is dropped.
//   - %HH outside quotes (two hex digits, either case) is decoded to that
//     byte; otherwise the '%' stays as it is. A decoded byte is never a
//     delimiter or quote. (C strings end at a decoded %00; here the NUL byte
//     is kept, and the OS rejects it where it matters.)

// cut returns the decoded token at the start of s, ending at the first
// unquoted, unescaped byte of delims, and the raw text after that
// delimiter. found reports whether a delimiter ended the token.
func cut(s, delims string) (tok, rest string, found bool) {
	const (
		plain = iota
		single
		double
		escape
	)
	out := make([]byte, 0, len(s))
	state := plain
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case single:
			if c == '\'' {
				state = plain
			} else {
				out = append(out, c)
			}
		case double:
			if c == '"' {
				state = plain
			} else {
				out = append(out, c)
			}
		case escape:
			out = append(out, c)
			state = plain
		default:
			switch {
			case c == '\'':
				state = single
			case c == '"':
				state = double
			case c == '\\':
				state = escape
			case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
				out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
				i += 2
			case strings.IndexByte(delims, c) >= 0:
				return string(out), s[i+1:], true
			default:
				out = append(out, c)
			}
		}
	}
	return string(out), "", false
}

// unquotedIndex returns the index in the raw text s of the first (or, with
// last, the last) byte d that is neither quoted nor escaped, or -1.
func unquotedIndex(s string, d byte, last bool) int {
	var quote byte // 0, '\'' or '"'
	at := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\\':
			i++ // the next byte is literal
		case c == '\'' || c == '"':
			quote = c
		case c == d:
			if !last {
				return i
			}
			at = i
		}
	}
	return at
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
