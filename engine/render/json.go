package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

// FormatVersion is the version of the JSON plan format. The minor version
// grows when keys are added; the major version changes when a key is
// removed, renamed or changes meaning. Consumers should accept any 1.x.
const FormatVersion = "1.0"

// JSON writes a plan for machines, as one indented JSON object:
//
//	{
//	  "format_version": "1.0",
//	  "changes": [ change, ... ],
//	  "summary": {"create": 1, "update": 1, "replace": 0, "delete": 0, "no_op": 3},
//	  "has_changes": true
//	}
//
// changes lists every resource of the plan in plan order (wave, then
// address), no-ops included, so that every managed resource and its id
// appear. A change is:
//
//	address  string  "users.alice", as in manifests, errors and logs
//	kind     string  "users": the manifest's top-level key
//	key      string  "alice": the resource's key under kind
//	action   string  "create", "update", "replace", "delete" or "no-op"
//	name     string  the natural key's value (environment name, username)
//	id       string  the PingOne id; null when the object does not exist yet
//	reason   string  why a replace or delete happens, or "" (free text)
//	fields   array   the fields that change, sorted by path; [] for a
//	                 delete or a no-op; for a create, every field the
//	                 manifest sets
//
// A field is:
//
//	path            string  dotted ("name.given"); lists are not indexed
//	old             any     the live value; null when there is none
//	new             any     the desired value; null when unknown
//	sensitive       bool    true: the value is write-only (a password), and
//	                        "old" and "new" are left out entirely
//	forces_replace  bool    the field cannot change in place
//	unknown         bool    the whole new value is known only after apply
//	unknown_of      string  with unknown: the resource it will come from,
//	                        such as "environments.qa"; absent otherwise
//	unknown_parts   array   parts of new known only after apply, as
//	                        {"pointer": "/0/scope/id", "of": "environments.qa"}
//	                        with an RFC 6901 pointer into new, where new
//	                        holds null; absent when there are none
//
// Values are JSON as PingOne takes them. Elements of set-valued fields
// (redirect URIs, grant types, scopes, roles) are sorted and deduplicated;
// object keys are sorted. The output is deterministic.
func JSON(w io.Writer, p *engine.Plan) error {
	out := jsonPlan{FormatVersion: FormatVersion, Changes: []jsonChange{}}
	if p != nil {
		s := p.Summary()
		out.Summary = jsonSummary{Create: s.Create, Update: s.Update, Replace: s.Replace, Delete: s.Delete, NoOp: s.NoOp}
		out.HasChanges = p.HasChanges()
		for _, c := range p.Changes {
			jc, err := toJSONChange(c)
			if err != nil {
				return err
			}
			out.Changes = append(out.Changes, jc)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

type jsonPlan struct {
	FormatVersion string       `json:"format_version"`
	Changes       []jsonChange `json:"changes"`
	Summary       jsonSummary  `json:"summary"`
	HasChanges    bool         `json:"has_changes"`
}

type jsonSummary struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Replace int `json:"replace"`
	Delete  int `json:"delete"`
	NoOp    int `json:"no_op"`
}

type jsonChange struct {
	Address string      `json:"address"`
	Kind    string      `json:"kind"`
	Key     string      `json:"key"`
	Action  string      `json:"action"`
	Name    string      `json:"name"`
	ID      *string     `json:"id"`
	Reason  string      `json:"reason"`
	Fields  []jsonField `json:"fields"`
}

type jsonField struct {
	Path string `json:"path"`
	// Old and New are left out (nil) for a sensitive field; a JSON null
	// is the text "null".
	Old           json.RawMessage `json:"old,omitempty"`
	New           json.RawMessage `json:"new,omitempty"`
	Sensitive     bool            `json:"sensitive"`
	ForcesReplace bool            `json:"forces_replace"`
	Unknown       bool            `json:"unknown"`
	UnknownOf     string          `json:"unknown_of,omitempty"`
	UnknownParts  []jsonUnknown   `json:"unknown_parts,omitempty"`
}

type jsonUnknown struct {
	Pointer string `json:"pointer"`
	Of      string `json:"of"`
}

func toJSONChange(c engine.Change) (jsonChange, error) {
	jc := jsonChange{
		Address: c.Addr.String(), Kind: c.Addr.Kind, Key: c.Addr.Key, Action: string(c.Action),
		Name: c.Name, Reason: c.Reason, Fields: []jsonField{},
	}
	if c.ID != "" {
		id := c.ID
		jc.ID = &id
	}
	for _, f := range fields(c) {
		jf := jsonField{Path: f.Path, Sensitive: isSensitive(f), ForcesReplace: f.ForcesReplace}
		if !jf.Sensitive {
			set := isSet(c.Addr.Kind, f.Path)
			old, _, err := jsonValue(f.Old, set)
			if err != nil {
				return jsonChange{}, fmt.Errorf("%s: %s: %w", c.Addr, f.Path, err)
			}
			nw, parts, err := jsonValue(f.New, set)
			if err != nil {
				return jsonChange{}, fmt.Errorf("%s: %s: %w", c.Addr, f.Path, err)
			}
			jf.Old, jf.New = old, nw
			if len(parts) == 1 && parts[0].Pointer == "" {
				jf.Unknown, jf.UnknownOf = true, parts[0].Of
			} else {
				jf.UnknownParts = parts
			}
		}
		jc.Fields = append(jc.Fields, jf)
	}
	return jc, nil
}

// jsonValue encodes a field's value, with nulls where parts are unknown,
// and says where those parts are. A set's elements are sorted.
func jsonValue(v any, set bool) (json.RawMessage, []jsonUnknown, error) {
	if l, ok := list(v); ok && set {
		v = sorted(l)
	}
	var parts []jsonUnknown
	known := knownParts(v, "", &parts)
	b, err := json.Marshal(known)
	if err != nil {
		return nil, nil, err
	}
	return b, parts, nil
}

// knownParts returns v, normalised, with every diff.Unknown replaced by
// nil and recorded in parts.
func knownParts(v any, ptr string, parts *[]jsonUnknown) any {
	switch x := diff.Normalize(v).(type) {
	case diff.Unknown:
		*parts = append(*parts, jsonUnknown{Pointer: ptr, Of: x.Of})
		return nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = knownParts(e, ptr+"/"+strconv.Itoa(i), parts)
		}
		return out
	case map[string]any:
		// Keys in sorted order, so parts are recorded deterministically.
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			out[k] = knownParts(x[k], ptr+"/"+pointerEscape(k), parts)
		}
		return out
	default:
		return x
	}
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func pointerEscape(k string) string { return pointerEscaper.Replace(k) }
