package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// URL is the schema's $id. Manifests name it in their first line,
// "# yaml-language-server: $schema=<URL>", so that editors complete and check
// them.
const URL = "https://raw.githubusercontent.com/p1ctl/p1ctl/main/schema/manifest.schema.json"

//go:embed manifest.schema.json
var raw []byte

// JSON returns the text of the schema. The caller owns the returned slice.
func JSON() []byte { return bytes.Clone(raw) }

// Violation is one way a document breaks the schema.
type Violation struct {
	// Pointer is the RFC 6901 JSON pointer of the value at fault. For an
	// unknown or badly named member it is that member's pointer (the key is
	// at fault, not its value); for a missing member it is the object that
	// lacks it.
	Pointer string
	// Keyword is the JSON Schema keyword that failed, such as "type", "enum",
	// "required", "additionalProperties" or "propertyNames".
	Keyword string
	// Field is the member name for "required", "additionalProperties" and
	// "propertyNames"; empty otherwise.
	Field string
	// Message is a short, human message such as `missing required field
	// "name"`. It names no pointer and never quotes the offending value, so it
	// is safe to print for values that came from secrets.
	Message string
	// Hint is an optional suggestion derived from the offending value or key,
	// such as `did you mean "email"?`. It may reveal part of the value.
	Hint string
}

// String returns the message followed by the hint in parentheses, if any.
func (v Violation) String() string {
	if v.Hint == "" {
		return v.Message
	}
	return v.Message + " (" + v.Hint + ")"
}

type compiled struct {
	schema *jsonschema.Schema
	tree   any // the schema as decoded JSON, to read keywords from
}

var load = sync.OnceValue(func() *compiled {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource(URL, bytes.NewReader(raw)); err != nil {
		panic(fmt.Sprintf("schema: embedded manifest.schema.json: %v", err))
	}
	s, err := c.Compile(URL)
	if err != nil {
		panic(fmt.Sprintf("schema: embedded manifest.schema.json: %v", err))
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		panic(fmt.Sprintf("schema: embedded manifest.schema.json: %v", err))
	}
	return &compiled{schema: s, tree: tree}
})

// Validate checks one manifest document against the schema and returns every
// violation, sorted by pointer, or nil when the document is valid.
//
// doc must be a decoded JSON value: nil, bool, string, int64, float64 (finite),
// []any or map[string]any. Validate is safe for concurrent use.
func Validate(doc any) []Violation {
	c := load()
	err := c.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		// Only a value that is not JSON gets here: a caller's bug.
		return []Violation{{Keyword: "type", Message: "not a JSON value: " + err.Error()}}
	}
	var out []Violation
	for _, leaf := range leaves(ve, nil) {
		out = append(out, c.explain(leaf, doc)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pointer != b.Pointer {
			return a.Pointer < b.Pointer
		}
		if a.Keyword != b.Keyword {
			return a.Keyword < b.Keyword
		}
		return a.Field < b.Field
	})
	return slices.CompactFunc(out, func(a, b Violation) bool { return a == b })
}

// leaves returns the errors that have no causes: the failures themselves,
// without the "doesn't validate with $ref" wrappers around them.
func leaves(ve *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leaves(c, out)
	}
	return out
}

// explain turns one jsonschema error into violations, reading the failed
// keyword's schema object for the facts a human message needs.
func (c *compiled) explain(ve *jsonschema.ValidationError, doc any) []Violation {
	ptr := pointer(ve.InstanceLocation)
	keyword, parent := c.keyword(ve.AbsoluteKeywordLocation)
	instance := lookup(doc, ptr)
	v := Violation{Pointer: ptr, Keyword: keyword}

	if strings.Contains(ve.KeywordLocation, "/propertyNames/") || strings.HasPrefix(ve.KeywordLocation, "propertyNames/") {
		// The instance is the key itself; ptr is already the member's pointer.
		v.Keyword = "propertyNames"
		v.Field = lastToken(ptr)
		msg := stringKeyword(parent, "patternErrorMessage")
		if msg == "" {
			msg = "not a valid key"
		}
		v.Message = fmt.Sprintf("invalid key %q: %s", v.Field, msg)
		return []Violation{v}
	}

	switch keyword {
	case "type":
		v.Message = "must be " + describeTypes(parent["type"])
	case "enum":
		allowed := stringList(parent["enum"])
		v.Message = "must be one of " + strings.Join(allowed, ", ")
		if s, ok := instance.(string); ok {
			if best := Closest(s, allowed); best != "" {
				v.Hint = fmt.Sprintf("did you mean %q?", best)
			}
		}
	case "const":
		b, _ := json.Marshal(parent["const"])
		v.Message = "must be " + string(b)
	case "required":
		obj, _ := instance.(map[string]any)
		var out []Violation
		for _, name := range stringList(parent["required"]) {
			if _, ok := obj[name]; !ok {
				out = append(out, Violation{Pointer: ptr, Keyword: keyword, Field: name,
					Message: fmt.Sprintf("missing required field %q", name)})
			}
		}
		return out
	case "additionalProperties":
		obj, _ := instance.(map[string]any)
		props, _ := parent["properties"].(map[string]any)
		known := make([]string, 0, len(props))
		for name := range props {
			known = append(known, name)
		}
		sort.Strings(known)
		var patterns []*regexp.Regexp
		if pp, ok := parent["patternProperties"].(map[string]any); ok {
			for p := range pp {
				if re, err := regexp.Compile(p); err == nil {
					patterns = append(patterns, re)
				}
			}
		}
		var out []Violation
		for name := range obj {
			if _, ok := props[name]; ok {
				continue
			}
			if slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(name) }) {
				continue
			}
			u := Violation{Pointer: ptr + "/" + escape(name), Keyword: keyword, Field: name,
				Message: fmt.Sprintf("unknown field %q", name)}
			if best := Closest(name, known); best != "" {
				u.Hint = fmt.Sprintf("did you mean %q?", best)
			}
			out = append(out, u)
		}
		return out
	case "minLength":
		if n := intKeyword(parent, keyword); n <= 1 {
			v.Message = "must not be empty"
		} else {
			v.Message = fmt.Sprintf("must be at least %d characters long", n)
		}
	case "maxLength":
		v.Message = fmt.Sprintf("must be at most %d characters long", intKeyword(parent, keyword))
	case "pattern":
		if msg := stringKeyword(parent, "patternErrorMessage"); msg != "" {
			v.Message = msg
		} else {
			v.Message = fmt.Sprintf("must match the pattern %s", stringKeyword(parent, "pattern"))
		}
	case "minimum":
		v.Message = fmt.Sprintf("must be at least %d", intKeyword(parent, keyword))
	case "maximum":
		v.Message = fmt.Sprintf("must be at most %d", intKeyword(parent, keyword))
	case "minItems":
		if n := intKeyword(parent, keyword); n <= 1 {
			v.Message = "must not be empty"
		} else {
			v.Message = fmt.Sprintf("must have at least %d items", n)
		}
	case "maxItems":
		v.Message = fmt.Sprintf("must have at most %d items", intKeyword(parent, keyword))
	case "uniqueItems":
		var i, j int
		if _, err := fmt.Sscanf(ve.Message, "items at index %d and %d are equal", &i, &j); err == nil {
			v.Pointer = ptr + "/" + strconv.Itoa(j)
			v.Message = fmt.Sprintf("repeats item %d of the list", i+1)
		} else {
			v.Message = "must not repeat an item"
		}
	case "minProperties", "maxProperties":
		props, _ := parent["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		if intKeyword(parent, "minProperties") == 1 && intKeyword(parent, "maxProperties") == 1 {
			v.Message = "must set exactly one of " + strings.Join(names, ", ")
		} else if keyword == "minProperties" {
			v.Message = fmt.Sprintf("must have at least %d fields", intKeyword(parent, keyword))
		} else {
			v.Message = fmt.Sprintf("must have at most %d fields", intKeyword(parent, keyword))
		}
	default:
		v.Message = ve.Message // not used by our schema; keep the library's words
	}
	return []Violation{v}
}

// keyword splits an absolute keyword location into the failed keyword and the
// schema object that holds it.
func (c *compiled) keyword(absolute string) (string, map[string]any) {
	_, frag, _ := strings.Cut(absolute, "#")
	tokens := splitPointer(frag)
	if len(tokens) == 0 {
		return "", nil
	}
	node := c.tree
	for _, t := range tokens[:len(tokens)-1] {
		switch n := node.(type) {
		case map[string]any:
			node = n[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(n) {
				return tokens[len(tokens)-1], nil
			}
			node = n[i]
		default:
			return tokens[len(tokens)-1], nil
		}
	}
	parent, _ := node.(map[string]any)
	return tokens[len(tokens)-1], parent
}

// pointer turns jsonschema's instance location, whose tokens are also
// URL-path-escaped and which may lack the leading slash, into RFC 6901.
func pointer(loc string) string {
	tokens := splitPointer(loc)
	if len(tokens) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

// splitPointer returns the unescaped tokens of a pointer whose tokens may be
// URL-path-escaped as jsonschema writes them.
func splitPointer(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, t := range parts {
		if u, err := url.PathUnescape(t); err == nil {
			t = u
		}
		parts[i] = unescape(t)
	}
	return parts
}

func escape(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

func unescape(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
}

func lastToken(ptr string) string {
	tokens := splitPointerRFC(ptr)
	if len(tokens) == 0 {
		return ""
	}
	return tokens[len(tokens)-1]
}

// splitPointerRFC splits an RFC 6901 pointer into unescaped tokens.
func splitPointerRFC(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, t := range parts {
		parts[i] = unescape(t)
	}
	return parts
}

// lookup returns the value at an RFC 6901 pointer in doc, or nil.
func lookup(doc any, ptr string) any {
	node := doc
	for _, t := range splitPointerRFC(ptr) {
		switch n := node.(type) {
		case map[string]any:
			node = n[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			node = n[i]
		default:
			return nil
		}
	}
	return node
}

func describeTypes(t any) string {
	var types []string
	switch t := t.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				types = append(types, s)
			}
		}
	}
	names := map[string]string{
		"object": "a mapping", "array": "a list", "string": "a string", "boolean": "a boolean",
		"integer": "an integer", "number": "a number", "null": "null",
	}
	var out []string
	for _, t := range types {
		if n, ok := names[t]; ok {
			out = append(out, n)
		} else {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return "null"
	}
	return strings.Join(out, " or ")
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func stringKeyword(parent map[string]any, k string) string {
	s, _ := parent[k].(string)
	return s
}

func intKeyword(parent map[string]any, k string) int {
	f, _ := parent[k].(float64)
	return int(f)
}
