package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// filterAttrs lists, per attribute, the operators an endpoint supports
// (pingone-api.md §3.4).
type filterAttrs map[string][]string

// parseFilter parses PingOne's SCIM filter subset: `attr op "value"`
// joined by `and` / `or`, with parentheses. An unsupported attribute or
// operator is 400 INVALID_DATA with an INVALID_FILTER detail.
func parseFilter(src string, allowed filterAttrs) (store.Filter, *apiError) {
	p := &filterParser{allowed: allowed}
	toks, err := lexFilter(src)
	if err != nil {
		return store.Filter{}, p.invalid(err.Error())
	}
	p.toks = toks
	f, e := p.or()
	if e != nil {
		return store.Filter{}, e
	}
	if p.pos < len(p.toks) {
		return store.Filter{}, p.invalid(fmt.Sprintf("unexpected %q", p.toks[p.pos].text))
	}
	return f, nil
}

type filterToken struct {
	text   string
	quoted bool
}

func lexFilter(s string) ([]filterToken, error) {
	var toks []filterToken
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, filterToken{text: string(c)})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, filterToken{text: b.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			toks = append(toks, filterToken{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks    []filterToken
	pos     int
	allowed filterAttrs
}

func (p *filterParser) invalid(msg string) *apiError {
	attrs := make([]string, 0, len(p.allowed))
	var ops []string
	for a, os := range p.allowed {
		attrs = append(attrs, a)
		for _, o := range os {
			if !slices.Contains(ops, o) {
				ops = append(ops, o)
			}
		}
	}
	slices.Sort(attrs)
	slices.Sort(ops)
	return errInvalid(errorDetail{Code: "INVALID_FILTER", Target: "filter", Message: "Invalid filter: " + msg,
		InnerError: map[string]any{"supportedAttributes": attrs, "supportedOperators": append(ops, "and", "or")}})
}

func (p *filterParser) keyword(words ...string) (string, bool) {
	if p.pos < len(p.toks) && !p.toks[p.pos].quoted {
		w := strings.ToLower(p.toks[p.pos].text)
		if slices.Contains(words, w) {
			p.pos++
			return w, true
		}
	}
	return "", false
}

func (p *filterParser) or() (store.Filter, *apiError) {
	return p.chain("or", p.and)
}

func (p *filterParser) and() (store.Filter, *apiError) {
	return p.chain("and", p.term)
}

func (p *filterParser) chain(op string, next func() (store.Filter, *apiError)) (store.Filter, *apiError) {
	first, e := next()
	if e != nil {
		return store.Filter{}, e
	}
	args := []store.Filter{first}
	for {
		if _, ok := p.keyword(op); !ok {
			break
		}
		f, e := next()
		if e != nil {
			return store.Filter{}, e
		}
		args = append(args, f)
	}
	if len(args) == 1 {
		return first, nil
	}
	return store.Filter{Op: op, Args: args}, nil
}

func (p *filterParser) term() (store.Filter, *apiError) {
	if p.pos < len(p.toks) && !p.toks[p.pos].quoted && p.toks[p.pos].text == "(" {
		p.pos++
		f, e := p.or()
		if e != nil {
			return store.Filter{}, e
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].text != ")" {
			return store.Filter{}, p.invalid("missing )")
		}
		p.pos++
		return f, nil
	}
	if p.pos+3 > len(p.toks) {
		return store.Filter{}, p.invalid("expected attribute, operator and value")
	}
	attr, op, val := p.toks[p.pos], p.toks[p.pos+1], p.toks[p.pos+2]
	p.pos += 3
	if attr.quoted || op.quoted {
		return store.Filter{}, p.invalid("expected attribute and operator before a value")
	}
	ops, ok := p.allowed[attr.text]
	if !ok {
		return store.Filter{}, p.invalid(fmt.Sprintf("attribute %q is not supported", attr.text))
	}
	o := strings.ToLower(op.text)
	if !slices.Contains(ops, o) {
		return store.Filter{}, p.invalid(fmt.Sprintf("operator %q is not supported for %s", op.text, attr.text))
	}
	if !val.quoted && val.text != "true" && val.text != "false" {
		return store.Filter{}, p.invalid("values must be in double quotes")
	}
	return store.Filter{Op: o, Path: attr.text, Value: val.text}, nil
}

// matchesFilter evaluates f against a JSON document in memory, for the few
// collections the server does not list from the store.
func matchesFilter(doc json.RawMessage, f store.Filter) bool {
	switch f.Op {
	case "":
		return true
	case "and":
		for _, a := range f.Args {
			if !matchesFilter(doc, a) {
				return false
			}
		}
		return true
	case "or":
		for _, a := range f.Args {
			if matchesFilter(doc, a) {
				return true
			}
		}
		return false
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return false
	}
	for _, part := range strings.Split(f.Path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		v = m[part]
	}
	got := strings.ToLower(fmt.Sprint(v))
	want := strings.ToLower(f.Value)
	if f.Op == "sw" {
		return strings.HasPrefix(got, want)
	}
	return got == want
}
