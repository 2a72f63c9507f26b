package envvars

import "strings"

// Expand replaces the $(VAR) references in s with mapping(VAR), as
// upstream's expansion of env values, commands and args:
//
//   - $(VAR) is replaced by mapping("VAR");
//   - $$ is an escaped $: it becomes one $ and starts no reference, so
//     $$(VAR) becomes the literal $(VAR);
//   - a $ followed by anything else, a $( without its closing ), and a $
//     at the very end are kept as they are.
//
// A mapping that does not know a name should return the reference itself
// (Mapping does), so that an undefined $(VAR) stays in the text.
func Expand(s string, mapping func(name string) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch next := s[i+1]; next {
		case '$': // an escaped $
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				// An unterminated reference is text; what follows is
				// scanned again, as upstream does.
				b.WriteString("$(")
				i++
				continue
			}
			b.WriteString(mapping(s[i+2 : i+2+end]))
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}

// Mapping returns a mapping for Expand that looks a name up in each of
// maps in turn and, when none has it, gives back the reference $(name)
// unchanged.
func Mapping(maps ...map[string]string) func(string) string {
	return func(name string) string {
		for _, m := range maps {
			if v, ok := m[name]; ok {
				return v
			}
		}
		return "$(" + name + ")"
	}
}

// ExpandAll expands every string of ss; nil stays nil.
func ExpandAll(ss []string, mapping func(string) string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Expand(s, mapping)
	}
	return out
}
