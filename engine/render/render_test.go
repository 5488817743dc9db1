package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
	"github.com/p1ctl/p1ctl/engine/render"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
// Review the diff of a rewritten golden file like code.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/render -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s: -want +got:\n%s", path, diff)
	}
}

// outputs renders a plan in every format, by golden file suffix.
func outputs(t *testing.T, p *engine.Plan) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for suffix, fn := range map[string]func(*bytes.Buffer) error{
		".txt":      func(b *bytes.Buffer) error { return render.Text(b, p, render.TextOptions{}) },
		"Color.txt": func(b *bytes.Buffer) error { return render.Text(b, p, render.TextOptions{Color: true}) },
		".json":     func(b *bytes.Buffer) error { return render.JSON(b, p) },
		".md":       func(b *bytes.Buffer) error { return render.Markdown(b, p) },
	} {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			t.Fatalf("%s: %v", suffix, err)
		}
		out[suffix] = b.Bytes()
	}
	return out
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, mk := range plans {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for suffix, got := range outputs(t, mk()) {
				// Colour is shown once, for the case with every symbol.
				if suffix == "Color.txt" && name != "Mixed" {
					continue
				}
				golden(t, name+suffix, got)
			}
		})
	}
}

func TestApplyGolden(t *testing.T) {
	t.Parallel()
	for name, mk := range results {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := render.ApplySummary(&b, mk(), render.TextOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", b.Bytes())
		})
	}
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		for _, e := range events() {
			if err := render.Event(&b, e, render.TextOptions{Color: color}); err != nil {
				t.Fatal(err)
			}
		}
		name := "Events.txt"
		if color {
			name = "EventsColor.txt"
		}
		golden(t, name, b.Bytes())
	}
}

// TestNoSecrets checks that the canary, planted in every fixture, reaches
// no output of any format.
func TestNoSecrets(t *testing.T) {
	t.Parallel()
	all := map[string]*engine.Plan{"Careless": careless()}
	for name, mk := range plans {
		all[name] = mk()
	}
	for name, p := range all {
		for suffix, got := range outputs(t, p) {
			if bytes.Contains(got, []byte(canary)) {
				t.Errorf("%s%s holds the secret canary:\n%s", name, suffix, got)
			}
			if name == "Careless" && !bytes.Contains(got, []byte("sensitive")) {
				t.Errorf("%s%s does not mark the hidden values sensitive:\n%s", name, suffix, got)
			}
		}
	}
	for name, mk := range results {
		for _, color := range []bool{false, true} {
			var b bytes.Buffer
			if err := render.ApplySummary(&b, mk(), render.TextOptions{Color: color}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), canary) {
				t.Errorf("%s holds the secret canary:\n%s", name, b.String())
			}
		}
	}
}

func TestNoColorWithoutColor(t *testing.T) {
	t.Parallel()
	for name, mk := range plans {
		for suffix, got := range outputs(t, mk()) {
			if suffix != "Color.txt" && bytes.Contains(got, []byte("\x1b")) {
				t.Errorf("%s%s holds an escape sequence:\n%q", name, suffix, got)
			}
		}
	}
	var b bytes.Buffer
	for _, e := range events() {
		_ = render.Event(&b, e, render.TextOptions{})
	}
	_ = render.ApplySummary(&b, results["ApplyFailed"](), render.TextOptions{})
	if bytes.Contains(b.Bytes(), []byte("\x1b")) {
		t.Errorf("apply output without colour holds an escape sequence (error text must be cleaned):\n%q", b.String())
	}
}

// TestDeterministic renders each plan many times: map iteration order
// must not leak into any output.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	for name, mk := range plans {
		first := outputs(t, mk())
		for range 20 {
			if diff := cmp.Diff(first, outputs(t, mk())); diff != "" {
				t.Fatalf("%s: output changed between runs: -first +later:\n%s", name, diff)
			}
		}
	}
}

// TestJSONSchema checks the JSON format's promises on every case.
func TestJSONSchema(t *testing.T) {
	t.Parallel()
	all := map[string]*engine.Plan{"Careless": careless(), "Nil": nil}
	for name, mk := range plans {
		all[name] = mk()
	}
	for name, p := range all {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := render.JSON(&b, p); err != nil {
				t.Fatal(err)
			}
			var got struct {
				FormatVersion string                       `json:"format_version"`
				Changes       []map[string]json.RawMessage `json:"changes"`
				Summary       map[string]int               `json:"summary"`
				HasChanges    bool                         `json:"has_changes"`
			}
			dec := json.NewDecoder(&b)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.FormatVersion != render.FormatVersion {
				t.Errorf("format_version = %q, want %q", got.FormatVersion, render.FormatVersion)
			}
			if p == nil {
				p = &engine.Plan{}
			}
			s := p.Summary()
			want := map[string]int{"create": s.Create, "update": s.Update, "replace": s.Replace, "delete": s.Delete, "no_op": s.NoOp}
			if diff := cmp.Diff(want, got.Summary); diff != "" {
				t.Errorf("summary: -want +got:\n%s", diff)
			}
			if got.HasChanges != p.HasChanges() {
				t.Errorf("has_changes = %v, want %v", got.HasChanges, p.HasChanges())
			}
			if len(got.Changes) != len(p.Changes) {
				t.Fatalf("%d changes, want %d (no-ops included)", len(got.Changes), len(p.Changes))
			}
			for i, c := range got.Changes {
				keys := slices.Sorted(func(yield func(string) bool) {
					for k := range c {
						if !yield(k) {
							return
						}
					}
				})
				wantKeys := []string{"action", "address", "fields", "id", "key", "kind", "name", "reason"}
				if diff := cmp.Diff(wantKeys, keys); diff != "" {
					t.Errorf("change %d keys: -want +got:\n%s", i, diff)
				}
				var fields []map[string]json.RawMessage
				if err := json.Unmarshal(c["fields"], &fields); err != nil {
					t.Fatalf("change %d fields: %v", i, err)
				}
				if len(fields) != len(p.Changes[i].Fields) {
					t.Fatalf("change %d: %d fields, want %d", i, len(fields), len(p.Changes[i].Fields))
				}
				for j, f := range fields {
					var path string
					if err := json.Unmarshal(f["path"], &path); err != nil {
						t.Fatalf("change %d field %d path: %v", i, j, err)
					}
					if j > 0 && string(fields[j-1]["path"]) > string(f["path"]) {
						t.Errorf("change %d: fields not sorted by path at %s", i, path)
					}
					k := slices.IndexFunc(p.Changes[i].Fields, func(fc diff.FieldChange) bool { return fc.Path == path })
					if k < 0 {
						t.Fatalf("change %d: field %q is not in the plan", i, path)
					}
					checkField(t, fmt.Sprintf("change %d field %s", i, path), f, p.Changes[i].Fields[k])
				}
			}
		})
	}
}

func checkField(t *testing.T, where string, f map[string]json.RawMessage, fc diff.FieldChange) {
	t.Helper()
	_, hasOld := f["old"]
	_, hasNew := f["new"]
	if string(f["sensitive"]) == "true" {
		if hasOld || hasNew {
			t.Errorf("%s: sensitive, yet has old or new: %s", where, f)
		}
		return
	}
	if !hasOld || !hasNew {
		t.Errorf("%s: not sensitive, yet lacks old or new: %s", where, f)
	}
	if _, ok := fc.New.(diff.Unknown); ok {
		if string(f["new"]) != "null" || string(f["unknown"]) != "true" || string(f["unknown_of"]) == "" {
			t.Errorf("%s: an unknown value must be new null, unknown true, with unknown_of: %s", where, f)
		}
	} else if string(f["unknown"]) != "false" {
		t.Errorf("%s: unknown = %s for a known value", where, f["unknown"])
	}
}

// TestMarkdownLimit checks that a plan too large for one pull-request
// comment still fits in one, and says that it was cut.
func TestMarkdownLimit(t *testing.T) {
	t.Parallel()
	p := &engine.Plan{}
	for i := range 3000 {
		a := engine.Address{Kind: engine.KindUsers, Key: fmt.Sprintf("user-%04d", i)}
		p.Changes = append(p.Changes, engine.Change{Addr: a, Action: engine.Create, Name: a.Key, Wave: 2,
			Fields: []diff.FieldChange{{Path: "username", New: a.Key}, {Path: "email", New: a.Key + "@example.com"}}})
	}
	var b bytes.Buffer
	if err := render.Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 65536 {
		t.Errorf("comment is %d bytes, over GitHub's limit of 65536", b.Len())
	}
	for _, want := range []string{"Plan: 3000 to add", "more |", "too large for one comment", "users.user-0000"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("comment lacks %q", want)
		}
	}
	if n := strings.Count(b.String(), "<details>"); n != strings.Count(b.String(), "</details>") {
		t.Errorf("unbalanced <details>: %d opened", n)
	}
}

type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	p := plans["Mixed"]()
	for name, err := range map[string]error{
		"Text":         render.Text(failWriter{}, p, render.TextOptions{}),
		"JSON":         render.JSON(failWriter{}, p),
		"Markdown":     render.Markdown(failWriter{}, p),
		"ApplySummary": render.ApplySummary(failWriter{}, results["ApplyComplete"](), render.TextOptions{}),
		"Event":        render.Event(failWriter{}, events()[0], render.TextOptions{}),
	} {
		if !errors.Is(err, errWrite) {
			t.Errorf("%s: got %v, want the writer's error", name, err)
		}
	}
	if err := render.ApplySummary(&bytes.Buffer{}, nil, render.TextOptions{}); err == nil {
		t.Error("ApplySummary(nil) = nil error, want one")
	}
}

// TestListLayout pins how lists that are not sets change: on one line when
// both sides are short and flat, old then new over several lines otherwise.
func TestListLayout(t *testing.T) {
	t.Parallel()
	long := []any{"https://one.example.com/a/long/path", "https://two.example.com/another/long/path"}
	cases := map[string]struct {
		reason string
		f      diff.FieldChange
		want   string
	}{
		"Short": {
			reason: "short flat lists change on one line",
			f:      diff.FieldChange{Path: "tags", Old: []any{"a"}, New: []any{"a", "b"}},
			want:   `      ~ tags = ["a"] -> ["a", "b"]` + "\n",
		},
		"Long": {
			reason: "a list too long for one line shows old, then new, element by element",
			f:      diff.FieldChange{Path: "tags", Old: []any{"a"}, New: long},
			want: `      ~ tags = ["a"] -> [
            "https://one.example.com/a/long/path",
            "https://two.example.com/another/long/path",
        ]
`,
		},
		"Objects": {
			reason: "lists of objects never fit on one line",
			f:      diff.FieldChange{Path: "tags", Old: []any{map[string]any{"k": 1}}, New: []any{}},
			want: `      ~ tags = [
            { k = 1 },
        ] -> []
`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := &engine.Plan{Changes: []engine.Change{{Addr: alice, Action: engine.Update, ID: "user-aaaa", Fields: []diff.FieldChange{tc.f}}}}
			var b bytes.Buffer
			if err := render.Text(&b, p, render.TextOptions{}); err != nil {
				t.Fatal(err)
			}
			start := strings.Index(b.String(), "users.alice {\n") + len("users.alice {\n")
			end := strings.LastIndex(b.String(), "    }\n")
			if diff := cmp.Diff(tc.want, b.String()[start:end]); diff != "" {
				t.Errorf("%s\nText: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
