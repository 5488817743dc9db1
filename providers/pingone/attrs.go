package pingone

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/p1ctl/p1ctl/engine/diff"
)

// object is a decoded PingOne object.
type object map[string]any

func decodeObject(raw json.RawMessage, what string) (object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", what, err)
	}
	if o == nil {
		return nil, fmt.Errorf("%s: empty answer", what)
	}
	return o, nil
}

func (o object) str(k string) string {
	s, _ := o[k].(string)
	return s
}

// ref returns the id of a relationship {"id": ...}.
func (o object) ref(k string) string {
	m, _ := o[k].(map[string]any)
	s, _ := m["id"].(string)
	return s
}

func (o object) id() string { return o.str("id") }

// attr kinds of the fields each kind manages.
const (
	aString = iota
	aBool
	aNumber
	aList
	aRef
)

type field struct {
	name string
	kind int
}

// project copies the managed fields of o into the shape of a Resource's
// Attrs: absent strings are "", absent lists empty, references {"id": …}.
// A manifest that sets a field to "" then equals PingOne leaving it out.
func project(o object, fields []field) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, ok := o[f.name]
		switch f.kind {
		case aString:
			s, _ := v.(string)
			out[f.name] = s
		case aBool:
			b, _ := v.(bool)
			out[f.name] = b
		case aNumber:
			if ok && v != nil {
				out[f.name] = v
			}
		case aList:
			l, _ := v.([]any)
			if l == nil {
				l = []any{}
			}
			out[f.name] = l
		case aRef:
			out[f.name] = map[string]any{"id": o.ref(f.name)}
		}
	}
	return out
}

// changedKeys returns the top-level attributes of desired that differ from
// live, compared as plans compare them.
func changedKeys(desired, live map[string]any, s diff.Schema) map[string]bool {
	out := map[string]bool{}
	for _, fc := range diff.Fields(desired, live, s) {
		k, _, _ := strings.Cut(fc.Path, ".")
		out[k] = true
	}
	return out
}

// without returns a copy of m without keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// stringList reads a JSON-shaped list of strings.
func stringList(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of strings, got an element of type %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

// readOnly are attributes PingOne computes; they are dropped from a read
// object before it is sent back in a PUT.
var readOnly = []string{"_links", "_embedded", "id", "environment", "organization", "createdAt", "updatedAt",
	"userCount", "status", "billOfMaterials", "softDeletedAt", "hardDeleteAllowedAt", "hardDeletedAllowedAt"}

// overlay returns cur (a read object) with read-only attributes dropped and
// set applied: PingOne's PUT replaces the whole object, so the attributes
// the manifest does not manage are sent back as they are. An empty string
// leaves the attribute out, which clears it.
func overlay(cur object, set map[string]any) map[string]any {
	out := without(cur, readOnly...)
	for k, v := range set {
		if s, ok := v.(string); ok && s == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}
