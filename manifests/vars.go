package manifests

import (
	"bytes"
	"strings"
)

// Variables
//
// A scalar value may refer to variables: ${NAME} is replaced by the value of
// NAME, and ${NAME:-default} by the value of NAME or, when NAME is unset or
// empty, by default (which may be empty and cannot contain '}'). $${ stands for
// a literal ${. NAME is [A-Za-z_][A-Za-z0-9_]*. Values come first from the
// process environment and then from the var files, later files winning; an
// empty value counts as unset. Substitution happens in scalar values after
// parsing, never in keys, and the result is never parsed as YAML again: a
// plain (unquoted) scalar only gets its type re-resolved, so `enabled: ${ON}`
// with ON=true is a boolean, while a quoted "${ON}" stays a string.

// variables looks variable values up.
type variables struct {
	getenv func(string) string
	files  map[string]string
}

func (v variables) lookup(name string) (string, bool) {
	if v.getenv != nil {
		if s := v.getenv(name); s != "" {
			return s, true
		}
	}
	if s := v.files[name]; s != "" {
		return s, true
	}
	return "", false
}

// badRef is a variable reference that could not be replaced: its name when it
// is unset, or invalid when it is not well formed. offset is the byte offset
// of its "${" in the original scalar.
type badRef struct {
	name    string
	offset  int
	invalid bool
}

// expand replaces the variable references in s. It returns the result, the
// names of the variables it used (in order, possibly repeated), and the
// references it could not replace, which expand to nothing.
func (v variables) expand(s string) (out string, used []string, bad []badRef) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(c)
			i++
			continue
		}
		start := i
		i += 2
		n := 0
		for i+n < len(s) && isNameByte(s[i+n], n == 0) {
			n++
		}
		name := s[i : i+n]
		i += n
		switch {
		case n > 0 && strings.HasPrefix(s[i:], "}"):
			i++
			if val, ok := v.lookup(name); ok {
				b.WriteString(val)
				used = append(used, name)
			} else {
				bad = append(bad, badRef{name: name, offset: start})
			}
		case n > 0 && strings.HasPrefix(s[i:], ":-"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				bad = append(bad, badRef{offset: start, invalid: true})
				i = len(s)
				break
			}
			def := s[i+2 : i+end]
			i += end + 1
			used = append(used, name)
			if val, ok := v.lookup(name); ok {
				b.WriteString(val)
			} else {
				b.WriteString(def)
			}
		default:
			bad = append(bad, badRef{offset: start, invalid: true})
			if end := strings.IndexByte(s[i:], '}'); end >= 0 {
				i += end + 1
			} else {
				i = len(s)
			}
		}
	}
	return b.String(), used, bad
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || !first && '0' <= c && c <= '9'
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

// parseVarFile reads a dotenv file: one NAME=VALUE per line; blank lines and
// lines starting with # are ignored; NAME may be preceded by "export ".
// VALUE may be double-quoted (with \n, \r, \t, \", \\ and \$ escapes),
// single-quoted (taken literally) or bare (trimmed, and cut at " #", which
// starts a comment). A value cannot span lines. Later lines win.
//
// Problems name the file, line and column, and never the value.
func parseVarFile(name string, data []byte) (map[string]string, []Problem) {
	vars := map[string]string{}
	var problems []Problem
	for i, line := range bytes.Split(data, []byte("\n")) {
		pos := Pos{File: name, Line: i + 1, Col: 1}
		s := strings.TrimSuffix(string(line), "\r")
		trimmed := strings.TrimLeft(s, " \t")
		pos.Col += len(s) - len(trimmed)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(trimmed, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			trimmed = strings.TrimLeft(rest, " \t")
			pos.Col = len(s) - len(trimmed) + 1
		}
		key, value, ok := strings.Cut(trimmed, "=")
		key = strings.TrimRight(key, " \t")
		if !ok {
			problems = append(problems, at(pos, "var-file", Error, "expected NAME=VALUE"))
			continue
		}
		if !isName(key) {
			problems = append(problems, at(pos, "var-file", Error, "invalid variable name: use letters, digits and _, not starting with a digit"))
			continue
		}
		value = strings.TrimLeft(value, " \t")
		valCol := len(s) - len(value) + 1
		parsed, err := parseVarValue(value)
		if err != "" {
			problems = append(problems, at(Pos{File: name, Line: i + 1, Col: valCol}, key, Error, "%s", err))
			continue
		}
		vars[key] = parsed
	}
	return vars, problems
}

// parseVarValue parses the text after "=". Its error never quotes the value.
func parseVarValue(v string) (string, string) {
	if v == "" {
		return "", ""
	}
	switch v[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				return b.String(), trailing(v[i+1:])
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '"', '\\', '$':
					b.WriteByte(v[i])
				default:
					b.WriteByte('\\')
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", "unterminated double-quoted value (values cannot span lines)"
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", "unterminated single-quoted value (values cannot span lines)"
		}
		return v[1 : end+1], trailing(v[end+2:])
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	if i := strings.Index(v, "\t#"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimRight(v, " \t"), ""
}

// trailing checks what follows a closing quote: nothing or a comment.
func trailing(rest string) string {
	rest = strings.TrimLeft(rest, " \t")
	if rest == "" || rest[0] == '#' {
		return ""
	}
	return "unexpected text after the closing quote"
}
