package main

// End-to-end tests of plan, apply and outputs: the real binary (p1ctlBin,
// built by TestMain), against the emulator it starts in its own process
// (--local, over a store in a temporary directory) or, when a test must
// change live state behind p1ctl's back, against a `p1ctl emulator` process
// (startEmulator) that the test also calls through the raw apiClient.
//
// Assertions are exact substrings of the output; the render package's
// golden files pin the layout as a whole.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

const alicePassword = "Alice-Pa55-e2e!"

// gsAddrs are the addresses of manifests/examples/getting-started.yaml.
var gsAddrs = []string{"environments.qa", "populations.testers", "users.alice", "workerApps.ci-bot", "webApps.portal"}

// target says where commands go: connection flags and variables.
type target struct {
	args []string
	env  []string
}

// procTarget points commands at a `p1ctl emulator` process. Credentials go
// through variables, as the help asks; the client-side rate limit is raised
// because the emulator has none unless told.
func procTarget(p *emulatorProc) target {
	return target{
		args: []string{"--rate-limit", "2000"},
		env: []string{
			"PINGONE_CLIENT_ID=" + p.boot.ClientID, "PINGONE_CLIENT_SECRET=" + p.boot.ClientSecret,
			"PINGONE_ENVIRONMENT_ID=" + p.boot.EnvironmentID,
			"PINGONE_API_URL=" + p.boot.APIURL, "PINGONE_AUTH_URL=" + p.boot.AuthURL,
		},
	}
}

// runner runs p1ctl commands for one test: in a working directory of its
// own, against one target, with the manifests' password variables set.
type runner struct {
	t   *testing.T
	dir string // working directory; manifests and plan files go here
	tgt target
	env []string // variables every command gets, e.g. ALICE_PASSWORD=...
	// localDir is the --local store (empty for other targets).
	localDir string
}

// newLocalRunner runs commands with --local over a store of its own.
func newLocalRunner(t *testing.T, env ...string) *runner {
	t.Helper()
	local := t.TempDir()
	return &runner{t: t, dir: t.TempDir(), localDir: local,
		tgt: target{args: []string{"--local", "--local-dir", local}}, env: env}
}

// with returns a copy of r for a subtest.
func (r *runner) with(t *testing.T) *runner {
	c := *r
	c.t = t
	return &c
}

func newProcRunner(t *testing.T, p *emulatorProc, env ...string) *runner {
	t.Helper()
	return &runner{t: t, dir: t.TempDir(), tgt: procTarget(p), env: env}
}

type cliResult struct {
	args   []string
	code   int
	stdout string
	stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("$ p1ctl %s\nexit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// environ is a minimal environment, so that PINGONE_* variables of the
// shell running the tests never leak in, plus the runner's and extra.
func (r *runner) environ(extra []string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "TMPDIR=" + os.TempDir()}
	env = append(env, r.tgt.env...)
	env = append(env, r.env...)
	return append(env, extra...) // later entries win
}

// command builds p1ctl args plus the target's flags, stdin not a terminal.
func (r *runner) command(extraEnv []string, args ...string) *exec.Cmd {
	all := append(slices.Clone(args), r.tgt.args...)
	cmd := exec.CommandContext(r.t.Context(), p1ctlBin, all...)
	cmd.Env = r.environ(extraEnv)
	cmd.Dir = r.dir
	return cmd
}

// run runs p1ctl to completion.
func (r *runner) run(extraEnv []string, args ...string) cliResult {
	r.t.Helper()
	cmd := r.command(extraEnv, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := cliResult{args: cmd.Args[1:]}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		r.t.Fatalf("run p1ctl %s: %v", strings.Join(args, " "), err)
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	return res
}

// must runs p1ctl and fails the test unless it exits with want.
func (r *runner) must(want int, args ...string) cliResult {
	r.t.Helper()
	return r.mustEnv(want, nil, args...)
}

func (r *runner) mustEnv(want int, extraEnv []string, args ...string) cliResult {
	r.t.Helper()
	res := r.run(extraEnv, args...)
	if res.code != want {
		r.t.Fatalf("exit code %d, want %d\n%s", res.code, want, res)
	}
	return res
}

// outputs runs `p1ctl outputs` and decodes it.
func (r *runner) outputs(args ...string) (*outputs, cliResult) {
	r.t.Helper()
	res := r.must(0, append([]string{"outputs", "--format", "json"}, args...)...)
	var out outputs
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		r.t.Fatalf("outputs is not JSON: %v\n%s", err, res)
	}
	return &out, res
}

// writeFile writes a file into dir and returns its absolute path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readExample returns the getting-started example's text.
func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "examples", "getting-started.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit replaces each old with its new, and fails unless every old occurs
// exactly once (so a change to the example breaks the test loudly).
func edit(t *testing.T, s string, oldNew ...string) string {
	t.Helper()
	for i := 0; i < len(oldNew); i += 2 {
		if n := strings.Count(s, oldNew[i]); n != 1 {
			t.Fatalf("edit: %q occurs %d times in the manifest, want once", oldNew[i], n)
		}
		s = strings.Replace(s, oldNew[i], oldNew[i+1], 1)
	}
	return s
}

// wantContains fails for every want that out lacks.
func wantContains(t *testing.T, res cliResult, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q\n%s", w, res)
		}
	}
}

func wantLacks(t *testing.T, res cliResult, out string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(out, w) {
			t.Errorf("output has %q, want it absent\n%s", w, res)
		}
	}
}

// planJSON is the part of `plan --format json` the tests read.
type planJSON struct {
	FormatVersion string `json:"format_version"`
	Changes       []struct {
		Address string  `json:"address"`
		Action  string  `json:"action"`
		Name    string  `json:"name"`
		ID      *string `json:"id"`
		Fields  []struct {
			Path      string          `json:"path"`
			Old       json.RawMessage `json:"old"`
			New       json.RawMessage `json:"new"`
			Sensitive bool            `json:"sensitive"`
		} `json:"fields"`
	} `json:"changes"`
	Summary    map[string]int `json:"summary"`
	HasChanges bool           `json:"has_changes"`
}

func decodePlan(t *testing.T, res cliResult) planJSON {
	t.Helper()
	var p planJSON
	if err := json.Unmarshal([]byte(res.stdout), &p); err != nil {
		t.Fatalf("plan --format json is not JSON: %v\n%s", err, res)
	}
	return p
}

// actions maps each address of a JSON plan to its action.
func (p planJSON) actions() map[string]string {
	m := map[string]string{}
	for _, c := range p.Changes {
		m[c.Address] = c.Action
	}
	return m
}

func TestE2EApplyGettingStarted(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)
	gs, err := filepath.Abs(filepath.Join("..", "..", "manifests", "examples", "getting-started.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(r.dir, "out.json")

	res := r.must(0, "apply", "--auto-approve", "-f", gs, "--outputs", outFile)
	for _, a := range gsAddrs {
		wantContains(t, res, res.stdout, a+": creating...", a+": created in ")
	}
	wantContains(t, res, res.stdout, "Apply complete: 5 created, 0 updated, 0 replaced, 0 deleted.")
	wantLacks(t, res, res.stdout+res.stderr, "\x1b[") // not a terminal: no colour, no live progress line

	fi, err := os.Stat(outFile)
	if err != nil {
		t.Fatalf("--outputs wrote no file: %v\n%s", err, res)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("--outputs file mode = %v, want 0600", fi.Mode().Perm())
	}
	var written outputs
	if b, _ := os.ReadFile(outFile); json.Unmarshal(b, &written) != nil || bytes.Contains(b, []byte("clientSecret")) {
		t.Errorf("--outputs without --include-secrets = %s, want JSON without clientSecret", b)
	}

	res = r.must(0, "plan", "--detailed-exitcode", "-f", gs)
	if res.stdout != "No changes. PingOne matches the manifest.\n" {
		t.Errorf("plan after apply: every resource should round-trip\n%s", res)
	}
	res = r.must(0, "apply", "--auto-approve", "-f", gs)
	wantContains(t, res, res.stdout, "No changes. PingOne matches the manifest.")
	wantLacks(t, res, res.stdout, "creating", "updating")

	out, res := r.outputs("-f", gs)
	wantLacks(t, res, res.stdout, "clientSecret")
	ids := flatten(out)
	if len(ids) != len(gsAddrs) {
		t.Errorf("outputs has %d resources, want %d\n%s", len(ids), len(gsAddrs), res)
	}
	envID := ""
	if o := ids["environments.qa"]; o != nil {
		envID = o.ID
		if o.Issuer != out.AuthBase+"/"+o.ID+"/as" {
			t.Errorf("environments.qa issuer = %q, want %q", o.Issuer, out.AuthBase+"/"+o.ID+"/as")
		}
	}
	for _, a := range gsAddrs {
		o := ids[a]
		if o == nil || o.ID == "" {
			t.Errorf("outputs: %s has no id\n%s", a, res)
			continue
		}
		if w := flatten(&written)[a]; w == nil || w.ID != o.ID {
			t.Errorf("apply --outputs and outputs disagree on %s: %+v and %+v", a, w, o)
		}
		if a != "environments.qa" && o.EnvironmentID != envID {
			t.Errorf("outputs: %s environmentId = %q, want %q", a, o.EnvironmentID, envID)
		}
		isApp := strings.HasPrefix(a, "workerApps.") || strings.HasPrefix(a, "webApps.")
		if isApp && o.ClientID != o.ID {
			t.Errorf("outputs: %s clientId = %q, want its id %q", a, o.ClientID, o.ID)
		}
	}

	out, res = r.outputs("--include-secrets", "-f", gs)
	for _, o := range []*outputObj{out.WorkerApps["ci-bot"], out.WebApps["portal"]} {
		if o == nil || o.ClientSecret == "" {
			t.Errorf("outputs --include-secrets lacks an app's clientSecret\n%s", res)
		}
	}

	res = r.must(0, "outputs", "--format", "dotenv", "-f", gs)
	if p := ids["webApps.portal"]; p != nil {
		wantContains(t, res, res.stdout, "WEBAPPS_PORTAL_CLIENT_ID="+p.ID+"\n", "ENVIRONMENTS_QA_ID="+envID+"\n")
	}
	wantLacks(t, res, res.stdout, "CLIENT_SECRET")
}

func TestE2EPlanShowsEdits(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)
	src := readExample(t)
	path := writeFile(t, r.dir, "gs.yaml", src)
	r.must(0, "apply", "--auto-approve", "-f", path)
	before, _ := r.outputs("-f", path)
	envID, testersID := before.Environments["qa"].ID, before.Populations["testers"].ID

	writeFile(t, r.dir, "gs.yaml", edit(t, src,
		"description: Test bed for the getting-started guide", "description: Edited test bed",
		"populations:\n", "populations:\n  admins:\n    environment: qa\n    name: Admins\n",
		"    population: testers", "    population: admins",
		"redirectUris: [https://localhost:3000/callback]", "redirectUris: [https://portal.example/callback]",
		"scope: {environment: qa}", "scope: {population: admins}",
	))

	res := r.must(2, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout,
		"p1ctl will perform the following actions:\n\n",
		`  # environments.qa will be updated in place
  ~ environments.qa {
      ~ description = "Test bed for the getting-started guide" -> "Edited test bed"
    }
`,
		`  # populations.admins will be created
  + populations.admins {
      + id   = (known after apply)
      + name = "Admins"
    }
`,
		`  # users.alice will be updated in place
  ~ users.alice {
      ~ population.id = "`+testersID+`" -> (known after apply)
    }
`,
		`  # webApps.portal will be updated in place
  ~ webApps.portal {
      ~ redirectUris = [
          + "https://portal.example/callback",
          - "https://localhost:3000/callback",
        ]
    }
`,
		`  # workerApps.ci-bot will be updated in place
  ~ workerApps.ci-bot {
      ~ roles = [
          + { role = "Identity Data Admin", scope = { id = (known after apply), type = "POPULATION" } },
          - { role = "Identity Data Admin", scope = { id = "`+envID+`", type = "ENVIRONMENT" } },
        ]
    }
`,
		"\nPlan: 1 to add, 4 to change, 0 to replace, 0 to destroy.\n")
	wantLacks(t, res, res.stdout, "populations.testers", "password", alicePassword)
	if !strings.HasSuffix(res.stdout, "Plan: 1 to add, 4 to change, 0 to replace, 0 to destroy.\n") {
		t.Errorf("the summary line should end the plan\n%s", res)
	}

	res = r.must(2, "plan", "--detailed-exitcode", "--format", "json", "-f", path)
	p := decodePlan(t, res)
	want := map[string]string{"environments.qa": "update", "populations.admins": "create", "populations.testers": "no-op",
		"users.alice": "update", "workerApps.ci-bot": "update", "webApps.portal": "update"}
	if got := p.actions(); !maps.Equal(got, want) {
		t.Errorf("JSON plan actions = %v, want %v", got, want)
	}
	if !p.HasChanges || p.Summary["create"] != 1 || p.Summary["update"] != 4 || p.Summary["no_op"] != 1 {
		t.Errorf("JSON plan summary = %v, has_changes %v", p.Summary, p.HasChanges)
	}

	res = r.must(2, "plan", "--detailed-exitcode", "--format", "markdown", "-f", path)
	if !strings.HasPrefix(res.stdout, "<!-- p1ctl plan -->\n### Plan: 1 to add, 4 to change, 0 to replace, 0 to destroy.\n") {
		t.Errorf("markdown plan should start with the marker and the summary\n%s", res)
	}

	res = r.must(0, "apply", "--auto-approve", "-f", path)
	wantContains(t, res, res.stdout, "populations.admins: created in ", "users.alice: updated in ",
		"Apply complete: 1 created, 4 updated, 0 replaced, 0 deleted.")
	res = r.must(0, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "No changes.")

	// Sets compare as sets: the same redirect URIs in another order are no
	// change.
	b, _ := os.ReadFile(path)
	writeFile(t, r.dir, "gs.yaml", edit(t, string(b),
		"redirectUris: [https://portal.example/callback]", "redirectUris: [https://portal.example/b, https://portal.example/callback]"))
	r.must(0, "apply", "--auto-approve", "-f", path)
	b, _ = os.ReadFile(path)
	writeFile(t, r.dir, "gs.yaml", edit(t, string(b),
		"redirectUris: [https://portal.example/b, https://portal.example/callback]",
		"redirectUris: [https://portal.example/callback, https://portal.example/b]",
		"scopes: [openid, profile, email]", "scopes: [email, openid, profile]"))
	res = r.must(0, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "No changes.")
}

// flatten indexes outputs by address.
func flatten(out *outputs) map[string]*outputObj {
	ids := map[string]*outputObj{}
	for kind, m := range map[string]map[string]*outputObj{"environments": out.Environments, "populations": out.Populations,
		"users": out.Users, "workerApps": out.WorkerApps, "webApps": out.WebApps} {
		for key, o := range m {
			ids[kind+"."+key] = o
		}
	}
	return ids
}

// pruneManifest manages the environment that holds the worker app p1ctl
// signs in as (TestE2EPrune creates both first), so that prune looks at
// that worker app and at the environment's default population.
const pruneManifest = `apiVersion: p1ctl/v1
environments:
  qa:
    name: Prune Sandbox
    region: NA
populations:
  testers: {environment: qa, name: Testers}
users:
  alice:
    environment: qa
    population: testers
    username: alice
    email: alice@example.com
    password: {value: "${ALICE_PASSWORD}"}
webApps:
  portal:
    environment: qa
    name: Portal
    redirectUris: [https://localhost:3000/callback]
`

const pruneBob = `  bob:
    environment: qa
    population: testers
    username: bob
    email: bob@example.com
`

func TestE2EPrune(t *testing.T) {
	t.Parallel()
	p := startEmulator(t, "--in-memory")
	// A CI worker app inside the environment the manifest manages, made
	// by the bootstrap worker (whose roles it inherits), signs p1ctl in.
	c := newAPIClient(t, p.boot)
	envID := c.createSandbox("Prune Sandbox")
	var app idOnly
	c.mustCall("POST", "/environments/"+envID+"/applications", map[string]any{"name": "CI Runner", "type": "WORKER", "enabled": true,
		"protocol": "OPENID_CONNECT", "grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, &app, 201)
	var secret struct {
		Secret string `json:"secret"`
	}
	c.mustCall("GET", "/environments/"+envID+"/applications/"+app.ID+"/secret", nil, &secret, 200)
	r := newProcRunner(t, p, "ALICE_PASSWORD="+alicePassword,
		"PINGONE_CLIENT_ID="+app.ID, "PINGONE_CLIENT_SECRET="+secret.Secret, "PINGONE_ENVIRONMENT_ID="+envID)
	path := writeFile(t, r.dir, "m.yaml", strings.Replace(pruneManifest, "webApps:\n", pruneBob+"webApps:\n", 1))
	r.must(0, "apply", "--auto-approve", "-f", path)
	out, _ := r.outputs("-f", path)
	bobID := out.Users["bob"].ID
	bobAddr := "users.bob-" + bobID[:8]

	writeFile(t, r.dir, "m.yaml", pruneManifest)
	res := r.must(0, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "No changes.")
	wantLacks(t, res, res.stdout, "bob")

	res = r.must(2, "plan", "--prune", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, `  # `+bobAddr+` will be deleted
  # not in the manifest (environment environments.qa)
  - `+bobAddr+` {
      - id       = "`+bobID+`"
      - username = "bob"
    }
`, "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy.\n")
	if n := strings.Count(res.stdout, "will be deleted"); n != 1 {
		t.Errorf("prune plans %d deletes, want only bob's\n%s", n, res)
	}
	wantLacks(t, res, res.stdout, "CI Runner", "ci-runner", "Default", "default")

	res = r.must(2, "plan", "--prune", "--detailed-exitcode", "--format", "json", "-f", path)
	for _, c := range decodePlan(t, res).Changes {
		if c.Action == "delete" && c.Address != bobAddr {
			t.Errorf("prune plans to delete %s (id %v); only %s may go", c.Address, c.ID, bobAddr)
		}
	}

	// --target narrows what is planned; a prune from part of the manifest
	// would delete the listed resources it does not see (webApps.portal
	// when targeting users.alice), so the combination is refused.
	t.Run("PruneWithTargetRefused", func(t *testing.T) {
		r := r.with(t)
		res := r.run(nil, "plan", "--prune", "--target", "users.alice", "--format", "json", "-f", path)
		if res.code != 1 {
			t.Fatalf("exit code %d, want 1\n%s", res.code, res)
		}
		wantContains(t, res, res.stderr, "--prune cannot be combined with --target")
	})

	res = r.must(0, "apply", "--prune", "--auto-approve", "-f", path)
	wantContains(t, res, res.stdout, bobAddr+": deleting... (id "+bobID+")", bobAddr+": deleted in ",
		"Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted.")
	// The worker app p1ctl signs in as is still there: it can still plan.
	res = r.must(0, "plan", "--prune", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "No changes.")
}

func TestE2EStalePlan(t *testing.T) {
	t.Parallel()
	p := startEmulator(t, "--in-memory")
	r := newProcRunner(t, p, "ALICE_PASSWORD="+alicePassword)
	src := readExample(t)
	path := writeFile(t, r.dir, "gs.yaml", src)
	r.must(0, "apply", "--auto-approve", "-f", path)
	out, _ := r.outputs("-f", path)
	envID, aliceID := out.Environments["qa"].ID, out.Users["alice"].ID
	edited := edit(t, src, "description: Test bed for the getting-started guide", "description: Edited test bed")
	writeFile(t, r.dir, "gs.yaml", edited)

	t.Run("ManifestEdited", func(t *testing.T) {
		r := r.with(t)
		res := r.must(0, "plan", "--out", "edited.json", "-f", path)
		wantContains(t, res, res.stderr, "Saved the plan to edited.json")
		writeFile(t, r.dir, "gs.yaml", edit(t, edited, "name: Portal", "name: Portal 2"))
		defer writeFile(t, r.dir, "gs.yaml", edited)
		res = r.must(1, "apply", "edited.json", "--auto-approve")
		wantContains(t, res, res.stderr, "the manifests changed since the plan in edited.json was made")
	})

	t.Run("LiveStateMoved", func(t *testing.T) {
		r := r.with(t)
		r.must(0, "plan", "--out", "plan.json", "-f", path)
		c := newAPIClient(t, p.boot)
		c.mustCall("PATCH", "/environments/"+envID+"/users/"+aliceID, map[string]any{"email": "moved@example.com"}, nil, 200)

		res := r.must(1, "apply", "plan.json", "--auto-approve")
		wantContains(t, res, res.stderr, "the saved plan is stale", "users.alice changed in PingOne since the plan was made")
		wantLacks(t, res, res.stdout, "updating", "updated")
		// Nothing was applied: the description still differs, and the plan
		// now shows the email that moved.
		res = r.must(2, "plan", "--detailed-exitcode", "-f", path)
		wantContains(t, res, res.stdout,
			`~ description = "Test bed for the getting-started guide" -> "Edited test bed"`,
			`~ email = "moved@example.com" -> "alice@example.com"`,
			"Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy.")
	})

	t.Run("Fresh", func(t *testing.T) {
		r := r.with(t)
		r.must(0, "plan", "--out", "fresh.json", "-f", path)
		res := r.must(1, "apply", "fresh.json")
		wantContains(t, res, res.stderr, "--auto-approve")
		res = r.must(0, "apply", "fresh.json", "--auto-approve")
		wantContains(t, res, res.stdout, "environments.qa: updated in ", "users.alice: updated in ",
			"Apply complete: 0 created, 2 updated, 0 replaced, 0 deleted.")
		res = r.must(0, "plan", "--detailed-exitcode", "-f", path)
		wantContains(t, res, res.stdout, "No changes.")
	})
}

// branchManifest has two independent branches: environments.qa, whose
// users.weak has a password the default policy refuses, and
// environments.broken, which names a license the organization lacks.
const branchManifest = `apiVersion: p1ctl/v1
environments:
  qa: {name: Branch Sandbox, region: NA}
  broken: {name: Broken Sandbox, region: NA, license: 3f6a1c2e-1111-4222-8333-944455556666}
populations:
  testers: {environment: qa, name: Testers}
  lost: {environment: broken, name: Lost}
users:
  alice:
    environment: qa
    population: testers
    username: alice
    email: alice@example.com
    password: {value: "${ALICE_PASSWORD}"}
  weak:
    environment: qa
    population: testers
    username: weak
    email: weak@example.com
    password: {value: "${WEAK_PASSWORD}"}
  stranded: {environment: broken, population: lost, username: stranded, email: stranded@example.com}
webApps:
  portal:
    environment: qa
    name: Portal
    redirectUris: [https://localhost:3000/callback]
`

// weakPassword is too short for the default password policy.
const weakPassword = "Xy1!"

func TestE2EFailedBranch(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword, "WEAK_PASSWORD="+weakPassword)
	path := writeFile(t, r.dir, "m.yaml", branchManifest)

	res := r.must(1, "apply", "--auto-approve", "-f", path)
	all := res.stdout + res.stderr
	for _, a := range []string{"environments.qa", "populations.testers", "users.alice", "webApps.portal"} {
		wantContains(t, res, res.stdout, a+": created in ")
	}
	wantContains(t, res, all,
		"users.weak: failed after ",
		"Error: users.weak: create: ",
		`does not satisfy the password policy "Standard"`,
		"Error: environments.broken: create: ",
		"license.id must reference a license of the organization",
		"populations.lost: skipped (depends on failed environments.broken)",
		"Skipped: users.stranded (depends on failed environments.broken",
		"Apply failed: 2 failed, 2 skipped, 4 succeeded.")
	wantLacks(t, res, all, weakPassword, alicePassword, "users.stranded: creating", "populations.lost: creating")

	res = r.must(2, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "+ users.weak {", "+ environments.broken {", "+ populations.lost {", "+ users.stranded {",
		"Plan: 4 to add, 0 to change, 0 to replace, 0 to destroy.")
	wantLacks(t, res, res.stdout, "users.alice", "webApps.portal", "populations.testers", "environments.qa ")

	// With a password the policy takes, the next apply finishes qa's branch.
	res = r.mustEnv(1, []string{"WEAK_PASSWORD=Weak-no-more-1!"}, "apply", "--auto-approve", "-f", path)
	wantContains(t, res, res.stdout, "users.weak: created in ", "Apply failed: 1 failed, 2 skipped, 1 succeeded.")
}

// interruptManifest is one environment, one population and n users.
func interruptManifest(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: p1ctl/v1\nenvironments:\n  qa: {name: Interrupt Sandbox, region: NA}\n" +
		"populations:\n  testers: {environment: qa, name: Testers}\nusers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  u%03d: {environment: qa, population: testers, username: u%03d, email: u%03d@example.com}\n", i, i, i)
	}
	return b.String()
}

func TestE2EInterrupt(t *testing.T) {
	t.Parallel()
	const users = 200
	p := startEmulator(t, "--in-memory", "--faults", "latency=20ms")
	r := newProcRunner(t, p)
	path := writeFile(t, r.dir, "m.yaml", interruptManifest(users))

	cmd := r.command(nil, "apply", "--auto-approve", "--parallelism", "2", "-f", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	created, signalled := 0, false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !strings.Contains(sc.Text(), ": created in ") {
			continue
		}
		created++
		if !signalled {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	res := cliResult{args: cmd.Args[1:], stdout: out.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("apply after SIGINT: %v, want a non-zero exit\n%s", err, res)
	}
	res.code = ee.ExitCode()
	if res.code != 1 {
		t.Errorf("apply after SIGINT exited %d, want 1\n%s", res.code, res)
	}
	wantContains(t, res, res.stdout, ": not started (apply interrupted)", "Apply interrupted: ")
	if created == 0 || created >= users+2 {
		t.Fatalf("%d created before the interrupt took effect; want some but not all\n%s", created, res)
	}
	started := strings.Count(res.stdout, ": creating...")
	if started != created {
		t.Errorf("%d changes started but %d finished: calls in flight should finish\n%s", started, created, res)
	}

	res = r.must(0, "apply", "--auto-approve", "--parallelism", "8", "-f", path)
	wantContains(t, res, res.stdout, fmt.Sprintf("Apply complete: %d created, 0 updated, 0 replaced, 0 deleted.", users+2-created))
	res = r.must(0, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "No changes.")

	c := newAPIClient(t, p.boot)
	var envs struct {
		Embedded struct {
			Environments []struct{ ID, Name string } `json:"environments"`
		} `json:"_embedded"`
	}
	c.mustCall("GET", "/environments?filter="+url.QueryEscape(`name sw "Interrupt Sandbox"`), nil, &envs, 200)
	if len(envs.Embedded.Environments) != 1 {
		t.Fatalf("%d environments named Interrupt Sandbox, want 1", len(envs.Embedded.Environments))
	}
	names := map[string]int{}
	next := "/environments/" + envs.Embedded.Environments[0].ID + "/users?limit=1000"
	for next != "" {
		var page struct {
			Links struct {
				Next *struct{ Href string } `json:"next"`
			} `json:"_links"`
			Embedded struct {
				Users []struct{ Username string } `json:"users"`
			} `json:"_embedded"`
		}
		c.mustCall("GET", next, nil, &page, 200)
		for _, u := range page.Embedded.Users {
			names[u.Username]++
		}
		next = ""
		if page.Links.Next != nil {
			next = strings.TrimPrefix(page.Links.Next.Href, p.boot.APIURL)
		}
	}
	if len(names) != users {
		t.Errorf("%d users after the interrupted and the completing apply, want %d", len(names), users)
	}
	for n, k := range names {
		if k > 1 {
			t.Errorf("user %s exists %d times", n, k)
		}
	}
}

// recorder is a PingOne that counts requests, for commands that must not
// contact anything.
func recorder(t *testing.T) (target, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "not expected", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return target{env: []string{
		"PINGONE_CLIENT_ID=6f1c1f5e-0000-4000-8000-000000000001", "PINGONE_CLIENT_SECRET=never-used",
		"PINGONE_ENVIRONMENT_ID=6f1c1f5e-0000-4000-8000-000000000002",
		"PINGONE_API_URL=" + srv.URL + "/v1", "PINGONE_AUTH_URL=" + srv.URL,
	}}, &hits
}

func TestE2ENoTarget(t *testing.T) {
	t.Parallel()
	gs, _ := filepath.Abs(filepath.Join("..", "..", "manifests", "examples", "getting-started.yaml"))
	cases := map[string][]string{
		"Plan":    {"plan", "-f", gs},
		"Apply":   {"apply", "--auto-approve", "-f", gs},
		"Outputs": {"outputs", "-f", gs},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := &runner{t: t, dir: t.TempDir(), env: []string{"ALICE_PASSWORD=" + alicePassword}}
			res := r.must(1, args...)
			wantContains(t, res, res.stderr, "PINGONE_CLIENT_ID", "PINGONE_CLIENT_SECRET", "PINGONE_ENVIRONMENT_ID", "--local")
			if _, err := os.Stat(filepath.Join(r.dir, ".p1ctl")); err == nil {
				t.Errorf("%s without a target created .p1ctl in the working directory", name)
			}
		})
	}
}

func TestE2ENotATerminal(t *testing.T) {
	t.Parallel()
	tgt, hits := recorder(t)
	r := &runner{t: t, dir: t.TempDir(), tgt: tgt, env: []string{"ALICE_PASSWORD=" + alicePassword}}
	path := writeFile(t, r.dir, "gs.yaml", readExample(t))
	res := r.must(1, "apply", "-f", path)
	wantContains(t, res, res.stderr, "apply needs --auto-approve when it cannot ask (no terminal)")
	if n := hits.Load(); n != 0 {
		t.Errorf("apply that cannot ask made %d requests, want none", n)
	}
}

func TestE2EInvalidManifest(t *testing.T) {
	t.Parallel()
	tgt, hits := recorder(t)
	r := &runner{t: t, dir: t.TempDir(), tgt: tgt, env: []string{"ALICE_PASSWORD=" + alicePassword}}
	bad := edit(t, readExample(t), "    population: testers", "    population: tester", "    email: alice@", "    emial: alice@")
	path := writeFile(t, r.dir, "bad.yaml", bad)
	at := func(s string, off int) string { // FILE:LINE:COL of the offset off into s
		i := strings.Index(bad, s) + off
		line := strings.Count(bad[:i], "\n") + 1
		return fmt.Sprintf("%s:%d:%d", path, line, i-strings.LastIndex(bad[:i], "\n"))
	}
	for _, args := range [][]string{{"plan", "-f", path}, {"apply", "--auto-approve", "-f", path}, {"plan", "--format", "json", "-f", path}} {
		res := r.must(1, args...)
		wantContains(t, res, res.stderr,
			at("population: tester ", len("population: "))+`: users.alice: unknown population "tester" (did you mean "testers"?)`+"\n",
			at("emial:", 0)+`: users.alice: unknown field "emial" (did you mean "email"?)`+"\n")
		if res.stdout != "" {
			t.Errorf("an invalid manifest should print nothing on stdout\n%s", res)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("commands on an invalid manifest made %d requests, want none", n)
	}
}

func TestE2ESecretsNeverShown(t *testing.T) {
	t.Parallel()
	const (
		aliceCanary = "Canary-Pa55-xyzzy!"
		bobCanary   = "Canary-B0b-plugh?"
		// failCanary breaks the default policy (no upper case, no digit), so
		// that an error about it is printed.
		failCanary = "canary-plover-frotz"
	)
	canaries := []string{aliceCanary, bobCanary, failCanary}
	r := newLocalRunner(t, "ALICE_PASSWORD="+aliceCanary, "BOB_PASSWORD="+bobCanary)
	src := edit(t, readExample(t), "workerApps:\n", `  bob:
    environment: qa
    population: testers
    username: bob
    email: bob@example.com
    password: {value: "${BOB_PASSWORD}", forceChange: true}
workerApps:
`)
	path := writeFile(t, r.dir, "gs.yaml", src)

	type shown struct {
		what string
		text string
	}
	var seen []shown
	record := func(what string, res cliResult) {
		seen = append(seen, shown{what + ": " + strings.Join(res.args, " "), res.stdout + res.stderr})
	}
	readFile := func(what, name string) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		seen = append(seen, shown{what, string(b)})
	}

	for _, f := range []string{"text", "json", "markdown"} {
		res := r.must(2, "plan", "--detailed-exitcode", "--format", f, "-f", path)
		wantContains(t, res, res.stdout, "sensitive")
		record("plan before apply", res)
	}
	res := r.must(0, "plan", "--out", "plan.json", "-f", path)
	record("plan --out", res)
	readFile("saved plan", filepath.Join(r.dir, "plan.json"))
	res = r.must(0, "apply", "plan.json", "--auto-approve", "--outputs", "out.json")
	record("apply", res)
	readFile("--outputs", filepath.Join(r.dir, "out.json"))

	out, _ := r.outputs("--include-secrets", "-f", path)
	appSecrets := []string{out.WorkerApps["ci-bot"].ClientSecret, out.WebApps["portal"].ClientSecret}
	if slices.Contains(appSecrets, "") {
		t.Fatalf("outputs --include-secrets gave no secret: %+v %+v", out.WorkerApps["ci-bot"], out.WebApps["portal"])
	}
	res = r.must(0, "apply", "--auto-approve", "-f", path, "--outputs", "secrets.json", "--include-secrets")
	record("apply without changes", res)
	if b, _ := os.ReadFile(filepath.Join(r.dir, "secrets.json")); !bytes.Contains(b, []byte(appSecrets[1])) {
		t.Errorf("--outputs --include-secrets lacks the web app's secret: %s", b)
	}

	for _, f := range []string{"json", "dotenv"} {
		record("outputs", r.must(0, "outputs", "--format", f, "-f", path))
	}
	for _, f := range []string{"text", "json", "markdown"} {
		res := r.must(2, "plan", "--reset-passwords", "--detailed-exitcode", "--format", f, "-f", path)
		wantContains(t, res, res.stdout, "password")
		record("plan --reset-passwords", res)
	}
	res = r.must(0, "plan", "--reset-passwords", "--out", "reset.json", "-f", path)
	record("plan --reset-passwords --out", res)
	readFile("saved plan with --reset-passwords", filepath.Join(r.dir, "reset.json"))

	res = r.mustEnv(1, []string{"BOB_PASSWORD=" + failCanary}, "apply", "--reset-passwords", "--auto-approve", "-f", path)
	wantContains(t, res, res.stdout+res.stderr, "users.bob", "password policy")
	record("failing apply", res)
	res = r.mustEnv(1, []string{"BOB_PASSWORD=" + failCanary}, "apply", "reset.json", "--auto-approve")
	record("failing apply of a saved plan", res)

	for _, s := range seen {
		for _, c := range canaries {
			if strings.Contains(s.text, c) {
				t.Errorf("%s shows the password %q:\n%s", s.what, c, s.text)
			}
		}
		for _, c := range appSecrets {
			if strings.Contains(s.text, c) {
				t.Errorf("%s shows an app's client secret:\n%s", s.what, s.text)
			}
		}
	}
	// The --local emulator logs nowhere; its store keeps password hashes
	// only, never a password as given.
	filepath.WalkDir(r.localDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds the password %q in clear", p, c)
			}
		}
		return nil
	})
}

// A saved plan names its manifests and, with --local, its store; apply
// FILE should find both wherever it runs, without the flags given again.
func TestE2EPlanFileElsewhere(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason string
		// apply runs in another working directory, and/or without the
		// --local flags.
		otherDir, noFlags bool
	}{
		"OtherDirectory": {reason: "-f gs.yaml was relative to the directory plan ran in", otherDir: true},
		"LocalDirRemembered": {reason: "the plan was made with --local --local-dir DIR; apply FILE must use the same store",
			noFlags: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)
			writeFile(t, r.dir, "gs.yaml", readExample(t))
			r.must(0, "plan", "--out", "plan.json", "-f", "gs.yaml")
			planFile := filepath.Join(r.dir, "plan.json")
			a := r.with(t)
			if tc.otherDir {
				a.dir = t.TempDir()
			}
			if tc.noFlags {
				a.tgt = target{}
			}
			res := a.run(nil, "apply", planFile, "--auto-approve")
			if res.code != 0 {
				t.Fatalf("%s: apply of the saved plan exited %d, want 0\n%s", tc.reason, res.code, res)
			}
			wantContains(t, res, res.stdout, "Apply complete: 5 created, 0 updated, 0 replaced, 0 deleted.")
		})
	}
}

// The manifest reference documents tokenEndpointAuthMethod NONE for web
// apps (a public client, with S256 PKCE), and validate accepts it; apply
// must be able to make such an app.
func TestE2EPublicWebApp(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t)
	path := writeFile(t, r.dir, "m.yaml", `apiVersion: p1ctl/v1
environments:
  qa: {name: Public Sandbox, region: NA}
webApps:
  spa:
    environment: qa
    name: SPA
    redirectUris: [https://localhost:3000/callback]
    tokenEndpointAuthMethod: NONE
    pkceEnforcement: S256_REQUIRED
`)
	v := r.with(t)
	v.tgt = target{} // validate takes no connection flags
	v.must(0, "validate", "-f", path)
	res := r.run(nil, "apply", "--auto-approve", "-f", path)
	if res.code != 0 {
		t.Fatalf("apply of a documented public web app exited %d\n%s", res.code, res)
	}
	res = r.must(0, "plan", "--detailed-exitcode", "-f", path)
	wantContains(t, res, res.stdout, "No changes.")
	out, res := r.outputs("--include-secrets", "-f", path)
	if o := out.WebApps["spa"]; o == nil || o.ClientID == "" || o.ClientSecret != "" {
		t.Errorf("outputs --include-secrets for a public client: %+v, want a client id and no secret\n%s", o, res)
	}
}
