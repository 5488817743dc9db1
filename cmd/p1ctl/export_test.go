package main

// End-to-end tests of export: the real binary against the emulator, and the
// exported manifest planned back to no changes.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/manifests/export"
)

// exportCanaries are values that must never appear in an export: the
// password the example sets and the apps' client secrets.
func exportSecrets(t *testing.T, r *runner, gs string) []string {
	t.Helper()
	out, _ := r.outputs("--include-secrets", "-f", gs)
	secrets := []string{alicePassword}
	for _, o := range []*outputObj{out.WorkerApps["ci-bot"], out.WebApps["portal"]} {
		if o == nil || o.ClientSecret == "" {
			t.Fatalf("outputs --include-secrets gave no client secret")
		}
		secrets = append(secrets, o.ClientSecret)
	}
	return secrets
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExportE2EGettingStarted(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)
	gs, err := filepath.Abs(filepath.Join("..", "..", "manifests", "examples", "getting-started.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r.must(0, "apply", "--auto-approve", "-f", gs)
	secrets := exportSecrets(t, r, gs)

	t.Run("RoundTrip", func(t *testing.T) {
		r := r.with(t)
		res := r.must(0, "export", "--environment", "QA Sandbox", "-o", "out.yaml")
		wantContains(t, res, res.stderr, "Exported 5 resources", "to out.yaml")
		out := readFile(t, filepath.Join(r.dir, "out.yaml"))
		wantContains(t, res, out, "# yaml-language-server: $schema=", "apiVersion: p1ctl/v1\n", "  qa-sandbox: # id: ",
			"    scope: {environment: qa-sandbox}\n", "    username: alice\n", "    scopes: [email, openid, profile]\n")
		wantLacks(t, res, out, "password:", "enabled: true", "CLIENT_SECRET_BASIC", "OPTIONAL", "SANDBOX", "Default")
		wantLacks(t, res, out+res.stdout+res.stderr, secrets...)
		plan := r.must(0, "plan", "-f", "out.yaml", "--detailed-exitcode")
		if plan.stdout != "No changes. PingOne matches the manifest.\n" {
			t.Errorf("plan of the export:\n%s", plan)
		}
		// Deterministic: a second export is the same bytes.
		again := r.must(0, "export", "--environment", "QA Sandbox")
		if again.stdout != out {
			t.Errorf("a second export differs:\n%s\n---\n%s", out, again.stdout)
		}
	})

	t.Run("PasswordVars", func(t *testing.T) {
		r := r.with(t)
		res := r.must(0, "export", "--environment", "QA Sandbox", "--password-vars", "-o", "pw.yaml")
		wantContains(t, res, res.stderr, "Set these variables", "  PASSWORD_ALICE\n")
		out := readFile(t, filepath.Join(r.dir, "pw.yaml"))
		wantContains(t, res, out, "    password:\n      value: ${PASSWORD_ALICE}\n")
		wantLacks(t, res, out+res.stdout+res.stderr, secrets...)
		missing := r.must(1, "plan", "-f", "pw.yaml")
		wantContains(t, missing, missing.stderr, "variable PASSWORD_ALICE is not set")
		plan := r.mustEnv(0, []string{"PASSWORD_ALICE=" + alicePassword}, "plan", "-f", "pw.yaml", "--detailed-exitcode")
		wantContains(t, plan, plan.stdout, "No changes.")
	})

	t.Run("Split", func(t *testing.T) {
		r := r.with(t)
		r.must(0, "export", "--environment", "QA Sandbox", "--split", "m")
		names := []string{"00-environments.yaml", "10-populations.yaml", "20-users.yaml", "30-worker-apps.yaml", "40-web-apps.yaml"}
		for _, n := range names {
			out := readFile(t, filepath.Join(r.dir, "m", n))
			if !strings.HasPrefix(out, "# yaml-language-server: $schema=") || !strings.Contains(out, "\napiVersion: p1ctl/v1\n") {
				t.Errorf("%s is not a complete manifest:\n%s", n, out)
			}
		}
		r.must(0, "plan", "-f", "m", "--detailed-exitcode")
		refused := r.must(1, "export", "--environment", "QA Sandbox", "--split", "m")
		wantContains(t, refused, refused.stderr, "already exists; add --force to overwrite")
		before := readFile(t, filepath.Join(r.dir, "m", names[0]))
		r.must(0, "export", "--environment", "QA Sandbox", "--split", "m", "--force")
		if after := readFile(t, filepath.Join(r.dir, "m", names[0])); after != before {
			t.Errorf("a forced re-export changed %s", names[0])
		}
		entries, _ := os.ReadDir(filepath.Join(r.dir, "m"))
		if len(entries) != len(names) {
			t.Errorf("split folder holds %d files, want %d (no temporary files left)", len(entries), len(names))
		}
	})

	t.Run("RefuseOverwrite", func(t *testing.T) {
		r := r.with(t)
		writeFile(t, r.dir, "keep.yaml", "mine\n")
		res := r.must(1, "export", "--environment", "QA Sandbox", "-o", "keep.yaml")
		wantContains(t, res, res.stderr, "keep.yaml already exists; add --force to overwrite")
		if got := readFile(t, filepath.Join(r.dir, "keep.yaml")); got != "mine\n" {
			t.Errorf("the file was overwritten: %q", got)
		}
		r.must(0, "export", "--environment", "QA Sandbox", "-o", "keep.yaml", "--force")
		r.must(0, "plan", "-f", "keep.yaml", "--detailed-exitcode")
	})

	t.Run("KindsAndExclude", func(t *testing.T) {
		r := r.with(t)
		res := r.must(0, "export", "--environment", "QA Sandbox", "--kinds", "users,webApps", "--exclude", "webApps.port*")
		wantContains(t, res, res.stdout, "users:\n  alice:", "populations:\n  # Kept because users.alice refers to it.\n  testers:")
		wantLacks(t, res, res.stdout, "workerApps:", "webApps:", "portal")
		writeFile(t, r.dir, "part.yaml", res.stdout)
		r.must(0, "plan", "-f", "part.yaml", "--detailed-exitcode")
	})

	t.Run("Errors", func(t *testing.T) {
		r := r.with(t)
		cases := map[string]struct {
			args []string
			want string
		}{
			"UnknownEnvironment": {args: []string{"--environment", "Nope"}, want: `no environment is named or has the id "Nope"; the organization has "Administrators", "QA Sandbox"`},
			"NoEnvironment":      {args: nil, want: "no environment given"},
			"UnknownKind":        {args: []string{"--environment", "QA Sandbox", "--kinds", "groups"}, want: `--kinds: unknown kind "groups"`},
			"BadGlob":            {args: []string{"--environment", "QA Sandbox", "--exclude", "users.["}, want: `--exclude "users.["`},
			"OutputAndSplit":     {args: []string{"--environment", "QA Sandbox", "-o", "a.yaml", "--split", "d"}, want: "exclude each other"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				res := r.with(t).must(1, append([]string{"export"}, tc.args...)...)
				wantContains(t, res, res.stderr, tc.want)
			})
		}
	})
}

// TestExportE2ERawAPI builds an environment by raw API calls, with every
// field a manifest supports set to a value other than PingOne's default,
// exports it and plans the export back against it.
func TestExportE2ERawAPI(t *testing.T) {
	t.Parallel()
	p := startEmulator(t, "--in-memory")
	c := newAPIClient(t, p.boot)
	otherID := c.createSandbox("Other Env")
	var e idOnly
	c.mustCall("POST", "/environments", map[string]any{"name": "Raw Env", "region": "NA", "type": "PRODUCTION",
		"description": "Made by hand ${not-a-var}", "license": map[string]any{"id": licenseOf(t, c, otherID)}}, &e, 201)
	envID := e.ID

	var pop, pop2, otherPop idOnly
	c.mustCall("POST", "/environments/"+envID+"/populations", map[string]any{"name": "Staff Team", "description": "People"}, &pop, 201)
	c.mustCall("POST", "/environments/"+envID+"/populations", map[string]any{"name": "staff-team"}, &pop2, 201)
	c.mustCall("POST", "/environments/"+otherID+"/populations", map[string]any{"name": "Partners"}, &otherPop, 201)

	var u idOnly
	c.mustCall("POST", "/environments/"+envID+"/users", map[string]any{
		"username": "Carol.Smith@example.com", "email": "carol@example.com", "population": map[string]string{"id": pop.ID},
		"name": map[string]string{"given": "Carol", "middle": "Q", "family": "Smith", "formatted": "Carol Q. Smith",
			"honorificPrefix": "Dr.", "honorificSuffix": "PhD"},
		"nickname": "Caz", "title": "Vice President", "type": "Contractor", "locale": "fr-FR", "preferredLanguage": "fr-FR, en;q=0.5",
		"timezone": "Europe/Paris", "mobilePhone": "+33 6 00 00 00 00", "primaryPhone": "0123456789", "externalId": "00042",
	}, &u, 201)
	c.mustCall("PUT", "/environments/"+envID+"/users/"+u.ID+"/enabled", map[string]any{"enabled": false}, nil, 200)
	c.mustCall("POST", "/environments/"+envID+"/users", map[string]any{"username": "dave", "email": "dave@example.com",
		"population": map[string]string{"id": pop2.ID}}, nil, 201)

	var worker idOnly
	c.mustCall("POST", "/environments/"+envID+"/applications", map[string]any{"name": "Sync Worker", "description": "Syncs",
		"enabled": false, "type": "WORKER", "protocol": "OPENID_CONNECT", "tokenEndpointAuthMethod": "CLIENT_SECRET_POST",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "assignActorRoles": false}, &worker, 201)
	roleIDs := rolesByName(t, c)
	for _, ra := range []struct{ role, typ, id string }{
		{"Identity Data Admin", "ENVIRONMENT", envID},
		{"Identity Data Admin", "POPULATION", pop.ID},
		{"Identity Data Admin", "POPULATION", otherPop.ID},
		{"Environment Admin", "ENVIRONMENT", otherID},
		{"Environment Admin", "ORGANIZATION", p.boot.OrganizationID},
	} {
		c.mustCall("POST", "/environments/"+envID+"/applications/"+worker.ID+"/roleAssignments", map[string]any{
			"role": map[string]string{"id": roleIDs[ra.role]}, "scope": map[string]string{"type": ra.typ, "id": ra.id}}, nil, 201)
	}

	var web idOnly
	c.mustCall("POST", "/environments/"+envID+"/applications", map[string]any{"name": "Public SPA", "description": "A public client",
		"enabled": false, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "homePageUrl": "https://spa.example/",
		"loginPageUrl": "https://spa.example/login", "redirectUris": []string{"https://spa.example/cb", "https://spa.example/cb2"},
		"postLogoutRedirectUris": []string{"https://spa.example/bye"}, "grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"},
		"responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "NONE", "pkceEnforcement": "S256_REQUIRED",
		"refreshTokenDuration": 3600, "refreshTokenRollingDuration": 86400}, &web, 201)
	grantOpenID(t, c, envID, web.ID, "openid", "profile", "phone")
	var web2 idOnly
	c.mustCall("POST", "/environments/"+envID+"/applications", map[string]any{"name": "Implicit", "type": "WEB_APP", "enabled": true,
		"protocol": "OPENID_CONNECT", "redirectUris": []string{"https://imp.example/cb"}, "grantTypes": []string{"IMPLICIT"},
		"responseTypes": []string{"TOKEN", "ID_TOKEN"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, &web2, 201)
	var workerSecret struct {
		Secret string `json:"secret"`
	}
	c.mustCall("GET", "/environments/"+envID+"/applications/"+worker.ID+"/secret", nil, &workerSecret, 200)

	r := newProcRunner(t, p)
	res := r.must(0, "export", "--environment", envID, "-o", "raw.yaml")
	out := readFile(t, filepath.Join(r.dir, "raw.yaml"))
	wantContains(t, res, out,
		"    type: PRODUCTION\n", "    description: Made by hand $${not-a-var}\n",
		"  staff-team: # id: ", "  staff-team-2: # id: ",
		"  carol-smith-example-com: # id: ", "    enabled: false\n", "    externalId: \"00042\"\n",
		"    tokenEndpointAuthMethod: CLIENT_SECRET_POST\n",
		"        scope: {organization: true}\n", "        scope: {population: partners}\n", "        scope: {environment: other-env}\n",
		"  other-env: # id: "+otherID+"\n    name: Other Env\n    region: NA\n    existing: true\n",
		"    tokenEndpointAuthMethod: NONE\n", "    pkceEnforcement: S256_REQUIRED\n", "    refreshTokenDuration: 3600\n",
		"    refreshTokenRollingDuration: 86400\n", "    scopes: [openid, phone, profile]\n",
		"    grantTypes: [IMPLICIT]\n    responseTypes: [ID_TOKEN, TOKEN]\n")
	wantLacks(t, res, out+res.stderr, workerSecret.Secret, p.boot.ClientSecret, c.token)
	plan := r.must(0, "plan", "-f", "raw.yaml", "--detailed-exitcode")
	wantContains(t, plan, plan.stdout, "No changes.")
}

func licenseOf(t *testing.T, c *apiClient, envID string) string {
	t.Helper()
	var e struct {
		License idOnly `json:"license"`
	}
	c.mustCall("GET", "/environments/"+envID, nil, &e, 200)
	return e.License.ID
}

func rolesByName(t *testing.T, c *apiClient) map[string]string {
	t.Helper()
	var rs struct {
		Embedded struct {
			Roles []struct{ ID, Name string } `json:"roles"`
		} `json:"_embedded"`
	}
	c.mustCall("GET", "/roles", nil, &rs, 200)
	out := map[string]string{}
	for _, r := range rs.Embedded.Roles {
		out[r.Name] = r.ID
	}
	return out
}

// grantOpenID grants an app scopes of the environment's openid resource.
func grantOpenID(t *testing.T, c *apiClient, envID, appID string, names ...string) {
	t.Helper()
	var res struct {
		Embedded struct {
			Resources []struct{ ID, Name string } `json:"resources"`
		} `json:"_embedded"`
	}
	c.mustCall("GET", "/environments/"+envID+"/resources", nil, &res, 200)
	var openid string
	for _, r := range res.Embedded.Resources {
		if r.Name == "openid" {
			openid = r.ID
		}
	}
	var scopes struct {
		Embedded struct {
			Scopes []struct{ ID, Name string } `json:"scopes"`
		} `json:"_embedded"`
	}
	c.mustCall("GET", "/environments/"+envID+"/resources/"+openid+"/scopes", nil, &scopes, 200)
	var ids []map[string]string
	for _, s := range scopes.Embedded.Scopes {
		for _, n := range names {
			if s.Name == n {
				ids = append(ids, map[string]string{"id": s.ID})
			}
		}
	}
	c.mustCall("POST", "/environments/"+envID+"/applications/"+appID+"/grants",
		map[string]any{"resource": map[string]string{"id": openid}, "scopes": ids}, nil, 201)
}

func TestExportProgress(t *testing.T) {
	t.Parallel()
	steps := []export.Step{{Kind: "users", EnvName: "QA Sandbox"}, {Kind: "users", EnvName: "QA Sandbox", Done: true, Count: 10000}}
	cases := map[string]struct {
		tty  bool
		want string
	}{
		"Terminal":    {tty: true, want: "\r\x1b[Kreading users in QA Sandbox…\r\x1b[Kreading users in QA Sandbox… 10000\r\x1b[K"},
		"NotTerminal": {tty: false, want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			io, _, _, errOut := testStreams()
			io.StderrTTY = tc.tty
			p := newExportProgress(io, time.Hour, func() int64 { return 0 }) // no redraw during the test
			for _, s := range steps {
				p.step(s)
			}
			p.stop()
			if got := errOut.String(); got != tc.want {
				t.Errorf("progress on stderr = %q, want %q", got, tc.want)
			}
		})
	}
}
