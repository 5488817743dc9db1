package render

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

// isSet reports whether a field is a list whose order carries no meaning,
// shown element by element.
func isSet(kind, path string) bool { return engine.IsSet(kind, path) }

// keyAttr names the attribute that holds a kind's natural key, shown in a
// delete's block next to the id.
func keyAttr(kind string) string {
	if kind == engine.KindUsers {
		return "username"
	}
	return "name"
}

// maxInline is the widest list printed on one line.
const maxInline = 72

const (
	knownAfterApply = "(known after apply)"
	sensitive       = "(sensitive)"
)

// value formats a JSON-shaped value on one line: strings quoted as Go
// quotes them, numbers and booleans bare, lists in brackets, objects as
// "{ key = value, ... }" with sorted keys.
func value(v any) string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case diff.Unknown:
		b.WriteString(knownAfterApply)
	case diff.Sensitive:
		b.WriteString(sensitive)
	case string:
		b.WriteString(strconv.Quote(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		b.WriteString(number(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{ ")
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(key(k))
			b.WriteString(" = ")
			writeValue(b, x[k])
		}
		b.WriteString(" }")
	default:
		// Other numbers, typed slices and maps: normalise once. What is
		// still not JSON-shaped is printed as Go prints it.
		if n := diff.Normalize(v); !sameType(n, v) {
			writeValue(b, n)
			return
		}
		fmt.Fprintf(b, "%v", v)
	}
}

func sameType(a, b any) bool { return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b) }

// number prints whole numbers without a fraction or exponent.
func number(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// key prints an object key bare when it is a plain identifier, quoted
// otherwise.
func key(k string) string {
	if k == "" {
		return `""`
	}
	for i, r := range k {
		if !(r == '_' || r == '-' && i > 0 || unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) && i > 0) {
			return strconv.Quote(k)
		}
	}
	return k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// list returns v as a list (normalised), and whether it is one.
func list(v any) ([]any, bool) {
	l, ok := diff.Normalize(v).([]any)
	return l, ok
}

// sorted returns the elements of a set-valued list in canonical order,
// without duplicates.
func sorted(l []any) []any {
	out, _ := diff.SetDelta(l, nil)
	if out == nil {
		out = []any{}
	}
	return out
}

// inline reports whether a value fits on one line: anything but a list
// that holds objects or lists, or whose one-line form is too wide.
func inline(v any) bool {
	l, ok := list(v)
	if !ok {
		return true
	}
	for _, e := range l {
		switch diff.Normalize(e).(type) {
		case []any, map[string]any:
			return false
		}
	}
	return len(value(l)) <= maxInline
}

// clean makes text that did not come from us (error messages, reasons,
// names) safe for a terminal: control characters other than newline are
// escaped, so they cannot move the cursor or change colours.
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\n' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029')
}

// hasSensitive reports whether a diff.Sensitive hides anywhere inside v.
// The engine never puts one in a FieldChange, but a renderer that trusted
// that would print a password the day it did.
func hasSensitive(v any) bool {
	switch x := v.(type) {
	case diff.Sensitive:
		return true
	case []any:
		return slices.ContainsFunc(x, hasSensitive)
	case map[string]any:
		for _, e := range x {
			if hasSensitive(e) {
				return true
			}
		}
	}
	return false
}

// isSensitive reports whether a field's values must not be shown.
func isSensitive(f diff.FieldChange) bool {
	return f.Sensitive || hasSensitive(f.Old) || hasSensitive(f.New)
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

// oneLine is clean(s) folded onto one line.
func oneLine(s string) string { return clean(lineBreaks.Replace(s)) }
