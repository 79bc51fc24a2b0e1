package vnl

// ParseNested splits the argument of a nested-VNL module, ARG{NESTED-VNL}
// (vdeplug4's vde_parsenestparms, used by plugins such as vlan, agno and
// wirefilter): outer is the raw text before the first unquoted, unescaped
// '{' (to be parsed by ParseBracket or ParseSlash), nested is the raw text
// after it up to the last unquoted '}' (or to the end if there is none),
// passed verbatim to Open: neither part is unquoted or decoded here.
//
// Without a '{' it returns outer = arg, nested = "" and ErrNoNested. The C
// library then opens the default network (vde_open(NULL)); a module that
// wants that compatibility treats ErrNoNested as nested == "".
func ParseNested(arg string) (outer, nested string, err error) {
	i := unquotedIndex(arg, '{', false)
	if i < 0 {
		return arg, "", ErrNoNested
	}
	outer, nested = arg[:i], arg[i+1:]
	if j := unquotedIndex(nested, '}', true); j >= 0 {
		nested = nested[:j]
	}
	return outer, nested, nil
}
