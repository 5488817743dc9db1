package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/schema"
)

// examples are the manifests in examples/, as paths for Load.
var examples = []string{
	"examples/getting-started.yaml",
	"examples/multi-file",
	"examples/complete.yaml",
}

func TestGettingStartedModel(t *testing.T) {
	t.Parallel()
	res, err := Load(Options{Getenv: testGetenv}, "examples/getting-started.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(res.Problems) != 0 {
		t.Fatalf("Load: want no problems, got %v", res.Problems)
	}
	const file = "examples/getting-started.yaml"
	want := &Manifest{
		Environments: map[string]*Environment{"qa": {
			Pos: Pos{file, 10, 3}, Name: "QA Sandbox", Region: "NA", Type: "SANDBOX",
			Description: "Test bed for the getting-started guide",
		}},
		Populations: map[string]*Population{"testers": {
			Pos: Pos{file, 16, 3}, Environment: "qa", Name: "Testers", Description: "QA users",
		}},
		Users: map[string]*User{"alice": {
			Pos: Pos{file, 21, 3}, Environment: "qa", Population: "testers", Username: "alice",
			Email: "alice@example.com", Name: UserName{Given: "Alice", Family: "Tester"}, Enabled: true,
			Password: &Password{Value: canary, ForceChange: false},
		}},
		WorkerApps: map[string]*WorkerApp{"ci-bot": {
			Pos: Pos{file, 32, 3}, Environment: "qa", Name: "CI Bot", Enabled: true,
			TokenEndpointAuthMethod: "CLIENT_SECRET_BASIC",
			Roles:                   []RoleAssignment{{Pos: Pos{file, 36, 9}, Role: "Identity Data Admin", Scope: Scope{Environment: "qa"}}},
		}},
		WebApps: map[string]*WebApp{"portal": {
			Pos: Pos{file, 39, 3}, Environment: "qa", Name: "Portal", Enabled: true,
			RedirectURIs:            []string{"https://localhost:3000/callback"},
			GrantTypes:              []string{"AUTHORIZATION_CODE"},
			ResponseTypes:           []string{"CODE"},
			TokenEndpointAuthMethod: "CLIENT_SECRET_BASIC",
			PKCEEnforcement:         "OPTIONAL",
			RefreshTokenDuration:    2592000,
			Scopes:                  []string{"openid", "profile", "email"},
		}},
	}
	if diff := cmp.Diff(want, res.Manifest); diff != "" {
		t.Errorf("getting-started.yaml: -want +got:\n%s", diff)
	}
	if got := res.Manifest.Users["alice"].Password.Value.Reveal(); got != canary {
		t.Errorf("the model must carry the password for apply: Reveal() = %q", got)
	}
	wantDeps := []Dependency{
		{From: addr(engine.KindPopulations, "testers"), To: addr(engine.KindEnvironments, "qa"), Field: "environment"},
		{From: addr(engine.KindUsers, "alice"), To: addr(engine.KindEnvironments, "qa"), Field: "environment"},
		{From: addr(engine.KindUsers, "alice"), To: addr(engine.KindPopulations, "testers"), Field: "population"},
		{From: addr(engine.KindWorkerApps, "ci-bot"), To: addr(engine.KindEnvironments, "qa"), Field: "environment"},
		{From: addr(engine.KindWorkerApps, "ci-bot"), To: addr(engine.KindEnvironments, "qa"), Field: "roles[0].scope"},
		{From: addr(engine.KindWebApps, "portal"), To: addr(engine.KindEnvironments, "qa"), Field: "environment"},
	}
	if diff := cmp.Diff(wantDeps, res.Manifest.Dependencies()); diff != "" {
		t.Errorf("Dependencies: -want +got:\n%s", diff)
	}
	wantAddrs := []engine.Address{
		addr(engine.KindEnvironments, "qa"), addr(engine.KindPopulations, "testers"), addr(engine.KindUsers, "alice"),
		addr(engine.KindWorkerApps, "ci-bot"), addr(engine.KindWebApps, "portal"),
	}
	if diff := cmp.Diff(wantAddrs, res.Manifest.Addresses()); diff != "" {
		t.Errorf("Addresses: -want +got:\n%s", diff)
	}
	waves, err := res.Manifest.Graph().Waves()
	if err != nil {
		t.Fatal(err)
	}
	wantWaves := [][]engine.Address{
		{addr(engine.KindEnvironments, "qa")},
		{addr(engine.KindPopulations, "testers"), addr(engine.KindWorkerApps, "ci-bot"), addr(engine.KindWebApps, "portal")},
		{addr(engine.KindUsers, "alice")},
	}
	if diff := cmp.Diff(wantWaves, waves); diff != "" {
		t.Errorf("Graph().Waves: -want +got:\n%s", diff)
	}
}

func addr(kind, key string) engine.Address { return engine.Address{Kind: kind, Key: key} }

// TestExamples loads every example without a single problem and compares the
// desired state to testdata/examples/<name>.json (passwords print as
// "(sensitive)"); -update rewrites those files.
func TestExamples(t *testing.T) {
	t.Parallel()
	for _, path := range examples {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := Load(Options{Getenv: testGetenv}, path)
			if err != nil {
				t.Fatalf("Load(%s): %v", path, err)
			}
			if len(res.Problems) != 0 {
				t.Fatalf("Load(%s): want no problems, got:\n%v", path, res.Problems)
			}
			got, err := json.MarshalIndent(res.Manifest, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if strings.Contains(string(got), canary) {
				t.Errorf("a password leaked into the JSON form of the model")
			}
			golden := filepath.Join("testdata", "examples", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./manifests -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s: -want +got:\n%s", golden, diff)
			}
		})
	}
}

// TestExamplesDeclareSchema checks the editor modeline of every example.
func TestExamplesDeclareSchema(t *testing.T) {
	t.Parallel()
	files, err := ReadFiles(examples...)
	if err != nil {
		t.Fatal(err)
	}
	want := "# yaml-language-server: $schema=" + schema.URL + "\n"
	for _, f := range files {
		if !strings.HasPrefix(string(f.Data), want) {
			t.Errorf("%s does not start with %q", f.Name, want)
		}
	}
}

// TestExamplesNeedTheirVariables shows that the examples hold no secret: they
// do not validate until the password variables are set.
func TestExamplesNeedTheirVariables(t *testing.T) {
	t.Parallel()
	_, err := Load(Options{}, "examples/getting-started.yaml")
	if err == nil || !strings.Contains(err.Error(), "variable ALICE_PASSWORD is not set") {
		t.Errorf("Load without ALICE_PASSWORD: error = %v, want it to name the unset variable", err)
	}
}
