package diff

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// Unknown is a desired value that exists only after apply, such as the id of
// a resource still to be created. It always differs from a live value.
type Unknown struct {
	// Of names what the value will come from, e.g. "environments.qa".
	Of string
}

// Sensitive is a write-only desired value (a password). Its content is never
// compared, returned in a FieldChange, or printed.
type Sensitive struct {
	Value any
}

// Schema says how to compare the fields of one kind of object. Paths are
// dotted ("name.given"); a field that holds a list is named without an index.
type Schema struct {
	// Sets are list fields whose order carries no meaning (redirect URIs,
	// grant types, scopes, roles).
	Sets map[string]bool
	// Immutable fields cannot change in place: a change forces replacement.
	Immutable map[string]bool
}

// FieldChange is one field that differs.
type FieldChange struct {
	Path string
	// Old is the live value; nil when the live object lacks the field or
	// when there is no live object.
	Old any
	// New is the desired value: a JSON-shaped value, an Unknown, or nil when
	// Sensitive.
	New any
	// Sensitive means the values must be shown as "(sensitive)".
	Sensitive bool
	// ForcesReplace means the field cannot change in place.
	ForcesReplace bool
}

// Fields compares the fields desired sets with live. Both are JSON-shaped
// (string, bool, float64 or int, []any, map[string]any). Nested objects are
// compared field by field; lists as a whole (as sets where the schema says
// so). The result is sorted by path. Sensitive desired values are never
// compared: they appear only when live is nil (a create).
func Fields(desired, live map[string]any, s Schema) []FieldChange {
	var out []FieldChange
	walk("", desired, live, live == nil, s, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func walk(prefix string, desired, live map[string]any, creating bool, s Schema, out *[]FieldChange) {
	for k, dv := range desired {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		var lv any
		if live != nil {
			lv = live[k]
		}
		switch d := dv.(type) {
		case Sensitive:
			if creating {
				*out = append(*out, FieldChange{Path: path, Sensitive: true})
			}
		case map[string]any:
			lm, _ := lv.(map[string]any)
			if lm == nil && !creating {
				// The live object lacks the whole sub-object: every desired
				// leaf is a change from nothing.
				walk(path, d, map[string]any{}, false, s, out)
				continue
			}
			walk(path, d, lm, creating, s, out)
		case Unknown:
			*out = append(*out, FieldChange{Path: path, Old: lv, New: d, ForcesReplace: s.Immutable[path] && !creating})
		default:
			if !creating && Equal(dv, lv, s.Sets[path]) {
				continue
			}
			*out = append(*out, FieldChange{Path: path, Old: lv, New: dv, ForcesReplace: s.Immutable[path] && !creating})
		}
	}
}

// Equal compares two JSON-shaped values; asSet compares lists without
// regard to order (and to duplicates). Numbers compare by value whatever
// their Go type, so 3600 (int) equals 3600.0 (float64 from JSON).
func Equal(a, b any, asSet bool) bool {
	a, b = Normalize(a), Normalize(b)
	if isEmpty(a) && isEmpty(b) {
		return true
	}
	if asSet {
		if al, ok := a.([]any); ok {
			if bl, ok := b.([]any); ok {
				return cmp.Equal(setKeys(al), setKeys(bl))
			}
		}
	}
	return cmp.Equal(a, b)
}

// Normalize turns numbers into float64 and typed slices and maps into
// []any and map[string]any, so values from YAML and from JSON compare
// equal. A nil list or map equals an empty one.
func Normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float32:
		return float64(x)
	case uint:
		return float64(x)
	case uint64:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Normalize(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	}
	return v
}

// isEmpty reports whether v is nil, an empty list or an empty object:
// PingOne leaves empty lists out of its answers, so [] in a manifest must
// equal a missing field.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// setKeys renders each element canonically and sorts, deduplicated.
func setKeys(l []any) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(l))
	for _, e := range l {
		k := canonical(e)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// canonical is a stable text form of a JSON-shaped value (keys sorted).
func canonical(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "%q:", k)
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			fmt.Fprintf(b, "%d", int64(x))
		} else {
			fmt.Fprintf(b, "%g", x)
		}
	case string:
		fmt.Fprintf(b, "%q", x)
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

// SetDelta returns the elements only in desired (added) and only in live
// (removed) of two lists compared as sets, in canonical order. Renderers
// use it to show set changes element by element.
func SetDelta(desired, live any) (added, removed []any) {
	dl, _ := Normalize(desired).([]any)
	ll, _ := Normalize(live).([]any)
	inLive := map[string]bool{}
	for _, e := range ll {
		inLive[canonical(e)] = true
	}
	inDesired := map[string]bool{}
	for _, e := range dl {
		inDesired[canonical(e)] = true
	}
	for _, e := range sortedUnique(dl) {
		if !inLive[canonical(e)] {
			added = append(added, e)
		}
	}
	for _, e := range sortedUnique(ll) {
		if !inDesired[canonical(e)] {
			removed = append(removed, e)
		}
	}
	return added, removed
}

func sortedUnique(l []any) []any {
	seen := map[string]bool{}
	var out []any
	for _, e := range l {
		if k := canonical(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return canonical(out[i]) < canonical(out[j]) })
	return out
}
