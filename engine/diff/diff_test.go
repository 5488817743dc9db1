package diff

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFields(t *testing.T) {
	t.Parallel()
	schema := Schema{
		Sets:      map[string]bool{"redirectUris": true, "roles": true},
		Immutable: map[string]bool{"region": true},
	}
	cases := map[string]struct {
		reason  string
		desired map[string]any
		live    map[string]any
		want    []FieldChange
	}{
		"NoChange": {
			reason:  "fields equal after normalisation are not changes; server-only fields are ignored",
			desired: map[string]any{"name": "QA", "ttl": 3600, "name2": map[string]any{"given": "A"}},
			live:    map[string]any{"name": "QA", "ttl": 3600.0, "name2": map[string]any{"given": "A", "family": "B"}, "createdAt": "x"},
		},
		"ScalarChange": {
			reason:  "a changed scalar shows old and new",
			desired: map[string]any{"description": "new"},
			live:    map[string]any{"description": "old"},
			want:    []FieldChange{{Path: "description", Old: "old", New: "new"}},
		},
		"MissingLiveField": {
			reason:  "a field the live object lacks changes from nil",
			desired: map[string]any{"description": "new"},
			live:    map[string]any{},
			want:    []FieldChange{{Path: "description", New: "new"}},
		},
		"NestedLeaf": {
			reason:  "nested objects compare leaf by leaf, with dotted paths",
			desired: map[string]any{"name": map[string]any{"given": "Alice", "family": "T"}},
			live:    map[string]any{"name": map[string]any{"given": "Alicia", "family": "T"}},
			want:    []FieldChange{{Path: "name.given", Old: "Alicia", New: "Alice"}},
		},
		"NestedMissingObject": {
			reason:  "a live object without the sub-object changes every desired leaf",
			desired: map[string]any{"name": map[string]any{"given": "Alice"}},
			live:    map[string]any{},
			want:    []FieldChange{{Path: "name.given", New: "Alice"}},
		},
		"SetOrderIgnored": {
			reason:  "set fields ignore order and duplicates",
			desired: map[string]any{"redirectUris": []any{"b", "a", "a"}},
			live:    map[string]any{"redirectUris": []any{"a", "b"}},
		},
		"SetOfObjects": {
			reason:  "sets of objects compare canonically",
			desired: map[string]any{"roles": []any{map[string]any{"role": "X", "scope": map[string]any{"id": "1", "type": "ENVIRONMENT"}}}},
			live:    map[string]any{"roles": []any{map[string]any{"scope": map[string]any{"type": "ENVIRONMENT", "id": "1"}, "role": "X"}}},
		},
		"ListOrderMatters": {
			reason:  "non-set lists compare in order",
			desired: map[string]any{"order": []any{"b", "a"}},
			live:    map[string]any{"order": []any{"a", "b"}},
			want:    []FieldChange{{Path: "order", Old: []any{"a", "b"}, New: []any{"b", "a"}}},
		},
		"Immutable": {
			reason:  "a change to an immutable field forces replacement",
			desired: map[string]any{"region": "EU"},
			live:    map[string]any{"region": "NA"},
			want:    []FieldChange{{Path: "region", Old: "NA", New: "EU", ForcesReplace: true}},
		},
		"UnknownAlwaysChanges": {
			reason:  "an id known only after apply is a change",
			desired: map[string]any{"population": map[string]any{"id": Unknown{Of: "populations.testers"}}},
			live:    map[string]any{"population": map[string]any{"id": "p1"}},
			want:    []FieldChange{{Path: "population.id", Old: "p1", New: Unknown{Of: "populations.testers"}}},
		},
		"SensitiveIgnoredOnUpdate": {
			reason:  "write-only values are never compared with live",
			desired: map[string]any{"password": Sensitive{Value: "canary-123"}},
			live:    map[string]any{},
		},
		"Create": {
			reason:  "with no live object every field is a change and sensitive values hide",
			desired: map[string]any{"username": "bob", "password": Sensitive{Value: "canary-123"}, "region": "NA"},
			want: []FieldChange{
				{Path: "password", Sensitive: true},
				{Path: "region", New: "NA"},
				{Path: "username", New: "bob"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Fields(tc.desired, tc.live, schema)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nFields: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSetDelta(t *testing.T) {
	t.Parallel()
	added, removed := SetDelta([]string{"c", "a", "b"}, []any{"b", "d", "a"})
	if diff := cmp.Diff([]any{"c"}, added); diff != "" {
		t.Errorf("added: -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]any{"d"}, removed); diff != "" {
		t.Errorf("removed: -want +got:\n%s", diff)
	}
}

func TestEqualNumbers(t *testing.T) {
	t.Parallel()
	if !Equal(int64(5), 5.0, false) || Equal(5, 6, false) {
		t.Errorf("numbers must compare by value across Go types")
	}
	if !Equal([]any{}, nil, false) || !Equal(nil, map[string]any{}, true) || Equal([]any{"a"}, nil, true) {
		t.Errorf("an empty list or object must equal a missing one, and only then")
	}
}
