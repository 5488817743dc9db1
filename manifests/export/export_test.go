package export_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
	"github.com/p1ctl/p1ctl/manifests"
	"github.com/p1ctl/p1ctl/manifests/export"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// canary is a secret planted in the live fixture where PingOne would have
// one; it must never appear in any output.
const canary = "CANARY-s3cr3t-9f2b"

const (
	envQA, envProd, envAdmin = "e0000000-0000-4000-8000-00000000000a", "e0000000-0000-4000-8000-00000000000b", "e0000000-0000-4000-8000-00000000000c"
	popDefault, popTesters   = "p0000000-0000-4000-8000-000000000001", "p0000000-0000-4000-8000-000000000002"
	popTesters2, popAdmins   = "p0000000-0000-4000-8000-000000000003", "p0000000-0000-4000-8000-000000000004"
)

func env(id, name, region, typ, desc string) engine.Live {
	return engine.Live{Kind: engine.KindEnvironments, ID: id, Name: name, Attrs: map[string]any{"name": name, "region": region,
		"type": typ, "description": desc, "license": map[string]any{"id": "l0000000-0000-4000-8000-000000000001"}}}
}

func pop(envID, id, name, desc string) engine.Live {
	return engine.Live{Kind: engine.KindPopulations, ID: id, EnvID: envID, Name: name, Attrs: map[string]any{"name": name, "description": desc}}
}

func user(id, username, email, popID string, enabled bool, extra map[string]any) engine.Live {
	at := map[string]any{"username": username, "email": email, "enabled": enabled, "population": map[string]any{"id": popID},
		"name":     map[string]any{"given": "", "family": "", "middle": "", "formatted": "", "honorificPrefix": "", "honorificSuffix": ""},
		"nickname": "", "title": "", "type": "", "locale": "", "preferredLanguage": "", "timezone": "", "mobilePhone": "",
		"primaryPhone": "", "externalId": "",
		// Not attributes a provider returns; planted to prove Build writes
		// only the fields it knows.
		"password": map[string]any{"value": canary}, "passwordHash": "{SSHA512}" + canary}
	for k, v := range extra {
		at[k] = v
	}
	return engine.Live{Kind: engine.KindUsers, ID: id, EnvID: envQA, Name: username, Attrs: at}
}

func role(name, typ, id string) map[string]any {
	sc := map[string]any{"type": typ}
	if id != "" {
		sc["id"] = id
	}
	return map[string]any{"role": name, "scope": sc}
}

func worker(id, name, method string, enabled bool, protected string, rs ...any) engine.Live {
	return engine.Live{Kind: engine.KindWorkerApps, ID: id, EnvID: envQA, Name: name, Protected: protected, Attrs: map[string]any{
		"name": name, "description": "", "enabled": enabled, "type": "WORKER", "tokenEndpointAuthMethod": method,
		"grantTypes": []any{"CLIENT_CREDENTIALS"}, "roles": append([]any{}, rs...), "clientSecret": canary}}
}

func web(id, name string, at map[string]any) engine.Live {
	base := map[string]any{"name": name, "description": "", "enabled": true, "type": "WEB_APP", "homePageUrl": "", "loginPageUrl": "",
		"redirectUris": []any{}, "postLogoutRedirectUris": []any{}, "grantTypes": []any{"AUTHORIZATION_CODE"},
		"responseTypes": []any{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL",
		"refreshTokenDuration": float64(2592000), "refreshTokenRollingDuration": float64(15552000), "scopes": []any{},
		"secret": canary}
	for k, v := range at {
		base[k] = v
	}
	return engine.Live{Kind: engine.KindWebApps, ID: id, EnvID: envQA, Name: name, Attrs: base}
}

// fixture is an organization of three environments; QA holds one of each
// interesting case.
func fixture() *export.Source {
	return &export.Source{
		Environments: []engine.Live{
			env(envAdmin, "Administrators", "NA", "PRODUCTION", ""),
			env(envQA, "QA Sandbox", "EU", "SANDBOX", "Costs ${5} a day"),
			env(envProd, "Prod", "EU", "PRODUCTION", "Live"),
		},
		Selected: []string{envQA},
		Objects: []engine.Live{
			{Kind: engine.KindPopulations, ID: popDefault, EnvID: envQA, Name: "Default", Protected: "default population",
				Attrs: map[string]any{"name": "Default", "description": ""}},
			pop(envQA, popTesters, "Testers", "QA users"),
			pop(envQA, popTesters2, "testers!", ""),
			user("u1", "alice", "alice@example.com", popTesters, true, map[string]any{
				"name": map[string]any{"given": "Alice", "family": "Tester", "middle": "M", "formatted": "Dr. Alice M Tester",
					"honorificPrefix": "Dr.", "honorificSuffix": "III"},
				"nickname": "Al", "title": "Lead", "type": "Employee", "locale": "en-US", "preferredLanguage": "en-US, en;q=0.7",
				"timezone": "Europe/Paris", "mobilePhone": "+1 555 0100", "primaryPhone": "0123", "externalId": "007"}),
			user("u2", "Alice_B", "alice2@example.com", popDefault, false, nil),
			user("u5", "alice.b", "alice3@example.com", popTesters, true, nil),
			user("u3", "no-mail", "", popTesters, true, nil),
			user("u4", "bob@example.com", "bob@example.com", popTesters2, true, map[string]any{"title": "true"}),
			worker("w1", "CI Bot", "CLIENT_SECRET_POST", false, "",
				role("Identity Data Admin", "ENVIRONMENT", envQA), role("Identity Data Admin", "POPULATION", popTesters),
				role("Environment Admin", "ENVIRONMENT", envProd), role("Identity Data Read Only", "POPULATION", popAdmins),
				role("Organization Admin", "ORGANIZATION", "")),
			worker("w2", "p1ctl", "CLIENT_SECRET_BASIC", true, "p1ctl signs in as this worker app",
				role("Organization Admin", "ORGANIZATION", "")),
			worker("w3", "App Scoped", "CLIENT_SECRET_BASIC", true, "", role("Application Owner", "APPLICATION", "a1")),
			web("a1", "Portal", map[string]any{"redirectUris": []any{"https://b.example/cb", "https://a.example/cb"},
				"scopes": []any{"profile", "openid", "email"}}),
			web("a2", "SPA", map[string]any{"description": "Public", "enabled": false, "homePageUrl": "https://spa.example/",
				"loginPageUrl": "https://spa.example/login", "redirectUris": []any{"https://spa.example/cb"},
				"postLogoutRedirectUris": []any{"https://spa.example/"}, "grantTypes": []any{"REFRESH_TOKEN", "AUTHORIZATION_CODE"},
				"tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "S256_REQUIRED", "refreshTokenDuration": float64(3600),
				"refreshTokenRollingDuration": float64(86400), "scopes": []any{"openid"}}),
			web("a3", "Machine", map[string]any{"grantTypes": []any{"CLIENT_CREDENTIALS"}, "responseTypes": []any{}}),
		},
		Outside: []engine.Live{pop(envAdmin, popAdmins, "Admins", "")},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./manifests/export -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (rerun with -update and review the diff):\n%s", name, got)
	}
}

// load validates an exported manifest, with every password variable set.
func load(t *testing.T, r *export.Result, files ...manifests.File) *manifests.Manifest {
	t.Helper()
	getenv := func(k string) string {
		if slices.Contains(r.PasswordVars, k) {
			return "pw-" + k
		}
		return ""
	}
	res, err := manifests.LoadFiles(manifests.Options{Getenv: getenv}, files...)
	if err != nil {
		t.Fatalf("the export does not load: %v\n%s", err, files[0].Data)
	}
	for _, p := range res.Problems {
		t.Errorf("problem: %v", p)
	}
	return res.Manifest
}

// schemas mirror engine/kindinfo.go: the attributes compared as sets.
var schemas = map[string]diff.Schema{
	engine.KindWorkerApps: {Sets: map[string]bool{"roles": true, "grantTypes": true}},
	engine.KindWebApps: {Sets: map[string]bool{"redirectUris": true, "postLogoutRedirectUris": true, "grantTypes": true,
		"responseTypes": true, "scopes": true}},
}

// wantNoDrift checks that every exported resource, its references resolved
// through the ids the export read, compares equal to the live object it came
// from, as plan compares them.
func wantNoDrift(t *testing.T, src *export.Source, r *export.Result, m *manifests.Manifest) {
	t.Helper()
	ids := map[engine.Address]string{}
	for _, es := range r.Entries {
		for _, e := range es {
			ids[e.Addr] = e.ID
		}
	}
	live := map[string]engine.Live{}
	for _, l := range slices.Concat(src.Environments, src.Objects, src.Outside) {
		live[l.ID] = l
	}
	for _, res := range m.Resources() {
		l, ok := live[ids[res.Addr]]
		if !ok {
			t.Errorf("%s: no live object", res.Addr)
			continue
		}
		attrs := resolve(res.Attrs, ids).(map[string]any)
		if fcs := diff.Fields(attrs, l.Attrs, schemas[res.Addr.Kind]); len(fcs) > 0 {
			t.Errorf("%s would change: %+v", res.Addr, fcs)
		}
		if res.Name != l.Name {
			t.Errorf("%s: natural key %q, live %q", res.Addr, res.Name, l.Name)
		}
	}
}

func resolve(v any, ids map[engine.Address]string) any {
	switch x := v.(type) {
	case engine.Ref:
		return ids[x.Addr]
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolve(e, ids)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolve(e, ids)
		}
		return out
	}
	return v
}

func TestExportGolden(t *testing.T) {
	cases := map[string]struct {
		reason string
		opts   export.Options
	}{
		"Full":         {reason: "every field, collisions, references outside the export, left-out objects"},
		"PasswordVars": {reason: "users get password placeholders", opts: export.Options{PasswordVars: true}},
		"KindsUsers": {reason: "only users, with the populations they need",
			opts: export.Options{Kinds: []string{engine.KindUsers}, NoIDs: true}},
		"Exclude": {reason: "excluded users and apps are left out; a needed population is kept",
			opts: export.Options{Exclude: []string{"users.alice*", "webApps.*", "populations.testers"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			src := fixture()
			r, err := export.Build(src, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			out := r.YAML()
			golden(t, name+".yaml", append(out, []byte("# warnings:\n# "+strings.Join(r.Warnings, "\n# ")+"\n")...))
			m := load(t, r, manifests.File{Name: name + ".yaml", Data: out})
			wantNoDrift(t, src, r, m)
			if bytes.Contains(out, []byte(canary)) {
				t.Errorf("%s: the output holds the secret canary", tc.reason)
			}
			again, _ := export.Build(fixture(), tc.opts)
			if !bytes.Equal(again.YAML(), out) {
				t.Errorf("%s: a second export differs", tc.reason)
			}
		})
	}
}

func TestExportSplit(t *testing.T) {
	src := fixture()
	r, err := export.Build(src, export.Options{PasswordVars: true})
	if err != nil {
		t.Fatal(err)
	}
	files := r.Split()
	var mf []manifests.File
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		golden(t, filepath.Join("Split", f.Name), f.Data)
		if !bytes.HasPrefix(f.Data, []byte("# yaml-language-server: $schema=")) || !bytes.Contains(f.Data, []byte("\napiVersion: p1ctl/v1\n")) {
			t.Errorf("%s is not a complete document:\n%s", f.Name, f.Data)
		}
		mf = append(mf, manifests.File{Name: f.Name, Data: f.Data})
	}
	want := []string{"00-environments.yaml", "10-populations.yaml", "20-users.yaml", "30-worker-apps.yaml", "40-web-apps.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Split: -want +got:\n%s", diff)
	}
	m := load(t, r, mf...)
	wantNoDrift(t, src, r, m)
	single := load(t, r, manifests.File{Name: "one.yaml", Data: r.YAML()})
	if diff := cmp.Diff(single.Addresses(), m.Addresses()); diff != "" {
		t.Errorf("split and single exports hold different resources: -single +split:\n%s", diff)
	}
}

func TestKey(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"Plain":       {"Testers", "testers"},
		"Spaces":      {"QA Sandbox", "qa-sandbox"},
		"Email":       {"Bob.Smith@Example.com", "bob-smith-example-com"},
		"Trim":        {"  --Hello, World!-- ", "hello-world"},
		"Digits":      {"007", "007"},
		"NoLetters":   {"日本", "user"},
		"AccentsDrop": {"Zoë", "zo"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := export.Key(tc.in, "user"); got != tc.want {
				t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestExportKeyCollisions(t *testing.T) {
	src := &export.Source{
		Environments: []engine.Live{env(envQA, "QA", "NA", "SANDBOX", "")},
		Selected:     []string{envQA},
		Objects: []engine.Live{
			pop(envQA, "p3", "Team 2", ""), pop(envQA, "p2", "team", ""), pop(envQA, "p1", "Team", ""),
			pop(envQA, "p4", "TEAM", ""), pop(envQA, "p5", "!!!", ""),
		},
	}
	r, err := export.Build(src, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range r.Entries[engine.KindPopulations] {
		got[e.ID] = e.Addr.Key
	}
	// Sorted by name, then id: "!!!", "TEAM", "Team", "Team 2", "team".
	want := map[string]string{"p5": "population", "p4": "team", "p1": "team-2", "p3": "team-2-2", "p2": "team-3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys by id: -want +got:\n%s", diff)
	}
	// Stable: the order PingOne lists them in does not matter.
	slices.Reverse(src.Objects)
	r2, _ := export.Build(src, export.Options{})
	if !bytes.Equal(r.YAML(), r2.YAML()) {
		t.Errorf("keys depend on list order:\n%s\n---\n%s", r.YAML(), r2.YAML())
	}
	load(t, r, manifests.File{Name: "c.yaml", Data: r.YAML()})
}

func TestExportBadOptions(t *testing.T) {
	cases := map[string]struct {
		opts export.Options
		want string
	}{
		"UnknownKind": {opts: export.Options{Kinds: []string{"groups"}}, want: `unknown kind "groups"`},
		"BadGlob":     {opts: export.Options{Exclude: []string{"users.["}}, want: `exclude "users.["`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := export.Build(fixture(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
