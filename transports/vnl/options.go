package vnl

import "strings"

// Option is one element of a module's option list: Key is the full key
// from the module's table that the (possibly abbreviated) given key matched,
// or "" for a positional word; Value is the decoded text after the first
// '=' ("" for a bare key).
type Option struct {
	Key   string
	Value string
}

// Options is an option list in the order written. A key may appear more
// than once; as in vdeplug4, where every option assigns a variable, the
// last occurrence wins (see Last).
type Options []Option

// Last returns the value of the last option whose Key is one of keys, and
// whether there was one. Several keys model C options that share one
// variable: vde's portgroup is Last("", "port", "portgroup").
func (o Options) Last(keys ...string) (value string, ok bool) {
	for i := len(o) - 1; i >= 0; i-- {
		for _, k := range keys {
			if o[i].Key == k {
				return o[i].Value, true
			}
		}
	}
	return "", false
}

// Has reports whether key was given.
func (o Options) Has(key string) bool {
	_, ok := o.Last(key)
	return ok
}

// ParseBracket parses the path + bracket syntax PATH[opt/opt=val/...] of the
// vde module and the netnodes (vdeplug4's vde_parsepathparms).
//
// PATH ends at the first unquoted '['; the option list ends at the last
// unquoted ']' (text after it is ignored; without one the list runs to the
// end). Options are split on unquoted '/', each decoded by the shared
// tokenizer, then cut at the first '=' into key and value. Empty elements
// and elements with an empty key ("=x") are ignored. A key matches the first
// entry of keys that starts with it (so keys' order matters: [po=6] is
// port=6 when "port" precedes "portgroup"). When positional is true, a
// bare word (no '=') that matches no key is a positional option (Key "",
// Value the word); pos is the last positional word (vde's portgroup,
// vde:///sw[3]). Any other unknown key returns a *KeyError (wrapping
// syscall.EINVAL) and no options.
//
// The path is decoded like the options (quotes, \x, %HH).
func ParseBracket(arg string, keys []string, positional bool) (path string, opts Options, pos string, err error) {
	path, rest, found := cut(arg, "[")
	if !found {
		return path, nil, "", nil
	}
	if j := unquotedIndex(rest, ']', true); j >= 0 {
		rest = rest[:j]
	}
	opts, err = parseList(rest, keys, positional)
	if err != nil {
		return path, nil, "", err
	}
	pos, _ = opts.Last("")
	return path, opts, pos, nil
}

// ParseSlash parses the slash syntax ADDRESS/opt/opt=val/... of vxvde,
// vxlan and the vlan plugin (vdeplug4's vde_parseparms): the whole argument
// is split on unquoted '/'; the first element, decoded, is the address (may
// be empty: the module's default), the others are options with the rules of
// ParseBracket and no positional words.
func ParseSlash(arg string, keys []string) (addr string, opts Options, err error) {
	addr, rest, found := cut(arg, "/")
	if !found {
		return addr, nil, nil
	}
	opts, err = parseList(rest, keys, false)
	if err != nil {
		return addr, nil, err
	}
	return addr, opts, nil
}

// parseList parses a '/'-separated option list.
func parseList(list string, keys []string, positional bool) (Options, error) {
	var opts Options
	for more := true; more; {
		var elem string
		elem, list, more = cut(list, "/")
		key, value, hasEq := strings.Cut(elem, "=")
		if key == "" {
			continue
		}
		if full, ok := matchKey(keys, key); ok {
			opts = append(opts, Option{Key: full, Value: value})
			continue
		}
		if positional && !hasEq {
			opts = append(opts, Option{Value: elem})
			continue
		}
		return nil, &KeyError{Key: key}
	}
	return opts, nil
}

// matchKey returns the first of keys that key is a prefix of.
func matchKey(keys []string, key string) (string, bool) {
	for _, k := range keys {
		if strings.HasPrefix(k, key) {
			return k, true
		}
	}
	return "", false
}
