package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-multierror"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/graph"
)

func TestResolvePlain(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in   string
		want any
	}{
		"Empty":       {"", nil},
		"Tilde":       {"~", nil},
		"Null":        {"Null", nil},
		"True":        {"TRUE", true},
		"False":       {"false", false},
		"Yes":         {"yes", "yes"},
		"On":          {"on", "on"},
		"Int":         {"-42", int64(-42)},
		"LeadingZero": {"007", int64(7)},
		"Hex":         {"0x1F", int64(31)},
		"Octal":       {"0o17", int64(15)},
		"Float":       {"1.5e3", 1500.0},
		"DotFloat":    {".5", 0.5},
		"Inf":         {".inf", ".inf"},
		"NaN":         {".nan", ".nan"},
		"Overflow":    {"1e999", "1e999"},
		"HugeInt":     {"99999999999999999999", 1e20},
		"Date":        {"2024-01-02", "2024-01-02"},
		"Version":     {"1.2.3", "1.2.3"},
		"Dash":        {"-", "-"},
		"Word":        {"testers", "testers"},
		"SignInside":  {"1-2", "1-2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, resolvePlain(tc.in)); diff != "" {
				t.Errorf("resolvePlain(%q): -want +got:\n%s", tc.in, diff)
			}
		})
	}
}

func load(t *testing.T, text string, env map[string]string) (*Result, error) {
	t.Helper()
	return LoadFiles(Options{Getenv: func(k string) string { return env[k] }}, File{Name: "m.yaml", Data: []byte(text)})
}

func messages(res *Result) []string {
	var out []string
	for _, p := range res.Problems {
		out = append(out, p.Error())
	}
	return out
}

func TestLoadCases(t *testing.T) {
	t.Parallel()
	const base = "apiVersion: p1ctl/v1\nenvironments:\n  qa: {name: QA, region: NA}\n"
	cases := map[string]struct {
		reason string
		in     string
		env    map[string]string
		want   []string
	}{
		"EmptyFile": {
			reason: "a file with no document is valid and empty",
			in:     "# just a comment\n",
		},
		"TrailingSeparator": {
			reason: "empty documents between separators are skipped",
			in:     "---\n" + base + "---\n---\n",
		},
		"TypedVariable": {
			reason: "a plain scalar gets its type after substitution; a quoted one stays a string",
			in:     base + "webApps:\n  w:\n    environment: qa\n    name: W\n    enabled: ${OFF}\n    redirectUris: [\"https://${HOST}/cb\"]\n    refreshTokenDuration: ${SECS}\n    grantTypes: [AUTHORIZATION_CODE, REFRESH_TOKEN]\n",
			env:    map[string]string{"OFF": "false", "HOST": "example.com", "SECS": "3600"},
		},
		"SecondSyntaxErrorDocumentKeepsFirst": {
			reason: "documents before a syntax error are still checked",
			in:     "apiVersion: p1ctl/v1\nbogus: 1\n---\nx: [\n",
			want: []string{
				`m.yaml:2:1: bogus: unknown field "bogus"`,
				`m.yaml:4:1: yaml: did not find expected node content`,
			},
		},
		"AliasBomb": {
			reason: "nested aliases stop at a budget instead of exhausting memory",
			in: "apiVersion: p1ctl/v1\nx-a: &a [1,1,1,1,1,1,1,1,1,1]\nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n" +
				"x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
				"x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nx-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
			want: []string{"m.yaml:6:31: x-e: aliases expand to more than 100000 nodes"},
		},
		"MergeBomb": {
			reason: "nested merge keys stop at the same budget",
			in: "apiVersion: p1ctl/v1\nx-a: &a {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n" +
				"x-b: &b {<<: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]}\nx-c: &c {<<: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]}\n" +
				"x-d: &d {<<: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]}\nx-e: &e {<<: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]}\n" +
				"x-f: &f {<<: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]}\nx-g: &g {<<: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]}\n" +
				"x-h: &h {<<: [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]}\nx-i: &i {<<: [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]}\n",
			want: []string{"m.yaml:6:18: x-e: aliases expand to more than 100000 nodes"},
		},
		"ScalarAlias": {
			reason: "an alias to a scalar is its value",
			in:     "apiVersion: p1ctl/v1\nenvironments:\n  qa: {name: &n QA, region: NA}\n  qa2: {name: *n, region: EU}\n",
			want:   []string{`m.yaml:4:15: environments.qa2: name "QA" is already used by environments.qa (m.yaml:3:3): environment names are unique in the organization`},
		},
		"ComplexKey": {
			reason: "a mapping used as a key is refused",
			in:     "apiVersion: p1ctl/v1\n? [a]\n: b\n",
			want:   []string{"m.yaml:2:3: manifest: a mapping key must be a plain value, not a mapping or a list"},
		},
		"Cycle": {
			reason: "an alias inside its own anchor is refused",
			in:     "apiVersion: p1ctl/v1\nx-a: &a [*a]\n",
			want:   []string{"m.yaml:2:10: x-a: alias *a refers to a node that contains it"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := load(t, tc.in, tc.env)
			if diff := cmp.Diff(tc.want, messages(res)); diff != "" {
				t.Errorf("%s\nproblems: -want +got:\n%s", tc.reason, diff)
			}
			checkPositions(t, res.Problems)
			if (err != nil) != (len(tc.want) > 0) {
				t.Errorf("%s\nerror = %v", tc.reason, err)
			}
		})
	}
}

func TestTypedVariableModel(t *testing.T) {
	t.Parallel()
	res, err := load(t, "apiVersion: p1ctl/v1\nenvironments:\n  qa: {name: QA, region: NA}\n"+
		"webApps:\n  w:\n    environment: qa\n    name: W\n    enabled: ${OFF}\n    redirectUris: [\"https://${HOST}/cb\"]\n    refreshTokenDuration: ${SECS}\n    grantTypes: [AUTHORIZATION_CODE, REFRESH_TOKEN]\n",
		map[string]string{"OFF": "false", "HOST": "example.com", "SECS": "3600"})
	if err != nil {
		t.Fatal(err)
	}
	w := res.Manifest.WebApps["w"]
	if w.Enabled || w.RefreshTokenDuration != 3600 || w.RedirectURIs[0] != "https://example.com/cb" {
		t.Errorf("substituted values: enabled=%v refreshTokenDuration=%d redirectUris=%v", w.Enabled, w.RefreshTokenDuration, w.RedirectURIs)
	}
}

func TestErrorIsMultierror(t *testing.T) {
	t.Parallel()
	res, err := load(t, "apiVersion: p1ctl/v1\nusers:\n  a: {}\n", nil)
	var me *multierror.Error
	if !errors.As(err, &me) {
		t.Fatalf("error = %T, want *multierror.Error", err)
	}
	if len(me.Errors) != len(res.Problems) {
		t.Errorf("multierror has %d entries, want one per problem (%d)", len(me.Errors), len(res.Problems))
	}
	var p Problem
	if !errors.As(me.Errors[0], &p) || p.Addr != "users.a" {
		t.Errorf("entries are Problems: got %#v", me.Errors[0])
	}
	want := strings.Join(messages(res), "\n")
	if err.Error() != want {
		t.Errorf("Error() = %q, want one problem per line %q", err.Error(), want)
	}
}

func TestWarningsAloneAreNoError(t *testing.T) {
	t.Parallel()
	res, err := load(t, "apiVersion: p1ctl/v1\nenvironments:\n  qa: {name: QA, region: NA}\npopulations:\n  p: {environment: qa, name: P}\n"+
		"users:\n  u: {environment: qa, population: p, username: u, email: u@example.com, password: {value: "+canary+"}}\n", nil)
	if err != nil {
		t.Fatalf("a warning must not make Load fail: %v", err)
	}
	if got := Summary(res.Problems); got != "1 warning" {
		t.Errorf("Summary = %q, want %q", got, "1 warning")
	}
	for _, p := range res.Problems {
		if strings.Contains(p.Error(), canary) {
			t.Errorf("the literal password leaked into %q", p.Error())
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	u := &User{Username: "alice", Password: &Password{Value: canary}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if got := fmt.Sprintf(format, *u.Password); strings.Contains(got, canary) {
			t.Errorf("fmt %s of a Password shows the secret: %s", format, got)
		}
		if got := fmt.Sprintf(format, u.Password.Value); strings.Contains(got, canary) {
			t.Errorf("fmt %s of a Secret shows it: %s", format, got)
		}
	}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) {
		t.Errorf("JSON of a user shows the secret: %s", b)
	}
}

func TestReadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yml", "apiVersion: p1ctl/v1\n")
	write("a.yaml", "apiVersion: p1ctl/v1\n")
	write("notes.txt", "not a manifest")
	write("sub/c.yaml", "apiVersion: p1ctl/v1\n")
	write("empty/readme.md", "")

	files, err := ReadFiles(dir, filepath.Join(dir, "a.yaml"), filepath.Join(dir, "sub", "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Name)
		names = append(names, filepath.ToSlash(rel))
	}
	want := []string{"a.yaml", "b.yml", "sub/c.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("a folder gives its *.yaml and *.yml files in name order, not its subfolders; a file named twice is read once: -want +got:\n%s", diff)
	}
	for _, bad := range []string{filepath.Join(dir, "missing.yaml"), filepath.Join(dir, "empty")} {
		if _, err := ReadFiles(bad); err == nil {
			t.Errorf("ReadFiles(%s): want an error", bad)
		}
	}
	if _, err := ReadFiles(); err == nil {
		t.Errorf("ReadFiles(): want an error for no path")
	}
}

func TestVarFileOption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env1, env2 := filepath.Join(dir, "1.env"), filepath.Join(dir, "2.env")
	if err := os.WriteFile(env1, []byte("REGION=NA\nNAME=first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env2, []byte("NAME=second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := LoadFiles(Options{VarFiles: []string{env1, env2}, Getenv: func(k string) string {
		if k == "REGION" {
			return "EU"
		}
		return ""
	}}, File{Name: "m.yaml", Data: []byte("apiVersion: p1ctl/v1\nenvironments:\n  qa:\n    name: ${NAME}\n    region: ${REGION}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Environments["qa"]; e.Name != "second" || e.Region != "EU" {
		t.Errorf("later var files win and the environment beats them: name=%q region=%q", e.Name, e.Region)
	}
	if _, err := LoadFiles(Options{VarFiles: []string{filepath.Join(dir, "missing.env")}}); err == nil {
		t.Errorf("a missing var file must be an error")
	}
}

func TestCycleProblems(t *testing.T) {
	t.Parallel()
	// No manifest of this version can hold a cycle, so feed the check a graph.
	g := graph.New(engine.Address.Compare)
	a, b := addr(engine.KindUsers, "a"), addr(engine.KindPopulations, "b")
	g.AddEdge(a, b)
	g.AddEdge(b, a)
	got := cycleProblems(g, func(x engine.Address) Pos { return Pos{File: "m.yaml", Line: len(x.Key), Col: 3} })
	want := []Problem{{File: "m.yaml", Line: 1, Col: 3, Addr: "populations.b", Msg: "dependency cycle: populations.b -> users.a -> populations.b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cycleProblems: -want +got:\n%s", diff)
	}
}
