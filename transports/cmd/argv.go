package cmd

// Argv splits a command line into arguments exactly as libexecs'
// s2argv (1.3, the version vdeplug4's cmd:// uses through coprocsp) does for
// its first command:
//
//   - blanks (space, tab, newline) separate arguments;
//   - '…' and "…" quote; inside "…" a backslash and the character after it
//     are both kept;
//   - outside quotes, \x is x;
//   - ';' ends the command (what follows is not run);
//   - an argument starting with '$' is a variable, replaced by the empty
//     string (libexecs has no variable lookup by default); a '$' inside an
//     argument is dropped.
//
// There is no other expansion and no redirection. It is a literal port of
// the library's state machine.
func Argv(s string) []string {
	const (
		end = iota
		space
		char
		sglq
		dblq
		escape
		semic
		variable
		escvar
		dblesc
	)
	const (
		newArg = 1 << iota
		chCopy
		endArg
		endVar
		endCmd
	)
	next := [10][8]int{
		{end, 0, 0, 0, 0, 0, 0, 0},
		{end, space, char, sglq, dblq, escape, semic, variable},
		{end, space, char, sglq, dblq, escape, semic, char},
		{end, sglq, sglq, char, sglq, sglq, sglq, sglq},
		{end, dblq, dblq, dblq, char, dblesc, dblq, dblq},
		{end, char, char, char, char, char, char, char},
		{end, semic, char, sglq, dblq, escape, semic, variable},
		{end, space, variable, variable, variable, variable, semic, variable},
		{end, variable, variable, variable, variable, variable, variable, variable},
		{end, dblq, dblq, dblq, dblq, dblq, dblq, dblq},
	}
	action := [10][8]int{
		{endCmd, 0, 0, 0, 0, 0, 0, 0},
		{endCmd, 0, newArg | chCopy, newArg, newArg, newArg, endCmd, newArg},
		{endCmd | endArg, endArg, chCopy, 0, 0, 0, endCmd | endArg, 0},
		{endCmd | endArg, chCopy, chCopy, 0, chCopy, chCopy, chCopy, chCopy},
		{endCmd | endArg, chCopy, chCopy, chCopy, 0, chCopy, chCopy, chCopy},
		{endCmd | endArg, chCopy, chCopy, chCopy, chCopy, chCopy, chCopy, chCopy},
		{endCmd, 0, newArg | chCopy, newArg, newArg, newArg, 0, newArg},
		{endCmd | endVar, endVar, chCopy, 0, 0, 0, endCmd | endVar, 0},
		{endCmd | endVar, chCopy, chCopy, chCopy, chCopy, chCopy, chCopy, chCopy},
		{endCmd | endArg, chCopy, chCopy, chCopy, chCopy, chCopy, chCopy, chCopy},
	}
	class := func(i int) int {
		if i == len(s) {
			return end
		}
		switch s[i] {
		case 0:
			return end
		case ' ', '\t', '\n':
			return space
		case '\'':
			return sglq
		case '"':
			return dblq
		case '\\':
			return escape
		case ';':
			return semic
		case '$':
			return variable
		}
		return char
	}
	argv := []string{}
	var cur []byte
	state := space
	for i := 0; state != end; i++ {
		c := class(i)
		a := action[state][c]
		if a&newArg != 0 {
			cur = cur[:0]
		}
		if a&chCopy != 0 {
			cur = append(cur, s[i])
		}
		if a&endArg != 0 {
			argv = append(argv, string(cur))
		}
		if a&endVar != 0 {
			argv = append(argv, "") // no s2argv_getvar: every variable is empty
		}
		if a&endCmd != 0 {
			return argv
		}
		state = next[state][c]
	}
	return argv
}
