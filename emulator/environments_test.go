package emulator_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

func TestEnvironmentCreateDefaults(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	// license.id may be left out when the organization has one ACTIVE
	// license; the bill of materials defaults to PING_ONE_BASE.
	m := c.must(http.StatusCreated, "POST", "/environments", map[string]any{"name": "eu", "region": "EU", "type": "SANDBOX"})
	envID := m["id"].(string)
	if str(m, "license.id") != activeLicense(t, c) {
		t.Errorf("license = %v", m["license"])
	}
	bom := c.must(http.StatusOK, "GET", "/environments/"+envID+"/billOfMaterials", nil)
	if diff := cmp.Diff("PING_ONE_BASE", str(bom, "products.0.type")); diff != "" {
		t.Errorf("default product: %s", diff)
	}
	api := find(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources", nil), "resources", "name", "PingOne API")
	if api["audience"] != "https://api.pingone.eu" || api["type"] != "PINGONE_API" {
		t.Errorf("PingOne API resource in EU = %v", api)
	}
	scopes := c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources/"+api["id"].(string)+"/scopes", nil)
	find(t, scopes, "scopes", "name", "p1:read:user")
	find(t, scopes, "scopes", "name", "p1:update:user")
	pps := c.must(http.StatusOK, "GET", "/environments/"+envID+"/passwordPolicies", nil)
	var names []string
	for _, p := range items(t, pps, "passwordPolicies") {
		names = append(names, p["name"].(string))
		if p["default"] == true && p["name"] != "Standard" {
			t.Errorf("default password policy is %v", p["name"])
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"Basic", "Passphrase", "Standard"}, names); diff != "" {
		t.Errorf("password policies: -want +got:\n%s", diff)
	}
	std := find(t, pps, "passwordPolicies", "name", "Standard")
	if get(std, "lockout.failureCount") != float64(5) || get(std, "lockout.durationSeconds") != float64(900) || get(std, "length.min") != float64(8) {
		t.Errorf("Standard policy = %v", std)
	}
	// The license counts the environment.
	lics := c.must(http.StatusOK, "GET", "/organizations/"+env.OrganizationID+"/licenses", nil)
	if n := find(t, lics, "licenses", "id", str(m, "license.id"))["assignedEnvironmentsCount"]; n != float64(2) {
		t.Errorf("assignedEnvironmentsCount = %v, want 2", n)
	}
}

// TestEnvironmentCreatorRoles checks the roles a worker gets for the
// environments it creates (pingone-api.md §4): Identity Data Admin and
// Client Application Developer, and Environment Admin unless it holds it
// at organization scope.
func TestEnvironmentCreatorRoles(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	admin := newClient(t, env)
	// A worker with only Organization Admin: nobody may grant Organization
	// Admin (§4 "can assign"), so it inherits the bootstrap worker's roles
	// (assignActorRoles defaults to true) and loses Environment Admin.
	app := admin.must(http.StatusCreated, "POST", "/environments/"+env.EnvironmentID+"/applications", map[string]any{
		"name": "org-only", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT", "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"})
	orgID := app["id"].(string)
	ras := admin.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+orgID+"/roleAssignments", nil)
	if n := len(items(t, ras, "roleAssignments")); n != 2 {
		t.Fatalf("the new worker inherited %d assignments, want 2: %v", n, ras)
	}
	for _, ra := range items(t, ras, "roleAssignments") {
		if roleName(t, admin, str(ra, "role.id")) == "Environment Admin" {
			admin.must(http.StatusNoContent, "DELETE", "/environments/"+env.EnvironmentID+"/applications/"+orgID+"/roleAssignments/"+ra["id"].(string), nil)
		}
	}
	orgSecret := admin.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+orgID+"/secret", nil)["secret"].(string)
	org := admin.as(env.TokenFor(t, env.EnvironmentID, orgID, orgSecret))

	cases := map[string]struct {
		reason string
		c      *client
		appID  string
		want   []string
	}{
		"OrgAdminOnly": {"no Environment Admin at organization scope: gets it for the new environment", org, orgID,
			[]string{"Client Application Developer", "Environment Admin", "Identity Data Admin"}},
		"Bootstrap": {"holds Environment Admin at organization scope already", admin, env.ClientID,
			[]string{"Client Application Developer", "Identity Data Admin"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			envID := tc.c.must(http.StatusCreated, "POST", "/environments", map[string]any{"name": "by-" + name, "region": "NA", "type": "SANDBOX"})["id"].(string)
			ras := admin.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+tc.appID+"/roleAssignments", nil)
			var got []string
			for _, ra := range items(t, ras, "roleAssignments") {
				if str(ra, "scope.id") == envID {
					got = append(got, roleName(t, admin, str(ra, "role.id")))
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: -want +got:\n%s", tc.reason, diff)
			}
			// With those roles the creator manages the environment's users.
			tc.c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "u", "email": "u@example.com"})
			// Deleting the environment removes the assignments scoped to it.
			tc.c.must(http.StatusNoContent, "DELETE", "/environments/"+envID, nil)
			ras = admin.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+tc.appID+"/roleAssignments", nil)
			for _, ra := range items(t, ras, "roleAssignments") {
				if str(ra, "scope.id") == envID {
					t.Errorf("assignment %v outlived its environment", ra)
				}
			}
			// The Organization Admin still sees it is gone (404, not 403).
			wantError(t, tc.c.do("GET", "/environments/"+envID, nil), http.StatusNotFound, "NOT_FOUND")
		})
	}
}

func roleName(t testing.TB, c *client, id string) string {
	t.Helper()
	return find(t, c.must(http.StatusOK, "GET", "/roles", nil), "roles", "id", id)["name"].(string)
}

func TestEnvironmentListAndFilter(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	admin := newClient(t, env)
	a := sandbox(t, admin, "alpha")
	sandbox(t, admin, "beta")
	// A worker with a role in "alpha" only sees "alpha".
	wID, wSecret := worker(t, admin, a, "alpha-worker", roleGrant{"Identity Data Admin", "ENVIRONMENT", a})
	w := admin.as(env.TokenFor(t, a, wID, wSecret))

	names := func(m map[string]any) []string {
		var out []string
		for _, e := range items(t, m, "environments") {
			out = append(out, e["name"].(string))
		}
		return out
	}
	cases := map[string]struct {
		reason string
		c      *client
		query  string
		want   []string
	}{
		"All":            {"an organization-scoped caller sees all", admin, "", []string{"Administrators", "alpha", "beta"}},
		"EnvScoped":      {"an environment-scoped caller sees its own", w, "", []string{"alpha"}},
		"NameSw":         {"name sw", admin, `name sw "AL"`, []string{"alpha"}},
		"IDEq":           {"id eq", admin, `id eq "` + a + `"`, []string{"alpha"}},
		"And":            {"and", admin, `name sw "b" and status eq "ACTIVE"`, []string{"beta"}},
		"Organization":   {"organization.id eq", admin, `organization.id eq "` + env.OrganizationID + `"`, []string{"Administrators", "alpha", "beta"}},
		"LicenseNoMatch": {"license.id eq", admin, `license.id eq "00000000-0000-4000-8000-000000000000"`, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := "/environments"
			if tc.query != "" {
				p += "?filter=" + url.QueryEscape(tc.query)
			}
			m := tc.c.must(http.StatusOK, "GET", p, nil)
			if diff := cmp.Diff(tc.want, names(m)); diff != "" {
				t.Errorf("%s: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
	t.Run("OrIsRefused", func(t *testing.T) {
		t.Parallel()
		r := admin.do("GET", "/environments?filter="+url.QueryEscape(`name sw "a" or name sw "b"`), nil)
		wantError(t, r, http.StatusBadRequest, "INVALID_DATA")
	})
	t.Run("Paging", func(t *testing.T) {
		t.Parallel()
		m := admin.must(http.StatusOK, "GET", "/environments?limit=2&expand=billOfMaterials", nil)
		if len(items(t, m, "environments")) != 2 || m["count"] != float64(3) || str(m, "_links.next.href") == "" {
			t.Fatalf("first page = %v", m)
		}
		if get(items(t, m, "environments")[1], "billOfMaterials.products") == nil {
			t.Error("expand=billOfMaterials did not expand")
		}
		m = admin.must(http.StatusOK, "GET", str(m, "_links.next.href"), nil)
		if len(items(t, m, "environments")) != 1 || str(m, "_links.next.href") != "" {
			t.Errorf("last page = %v", m)
		}
	})
}

func TestEnvironmentUpdate(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "before")
	p := "/environments/" + envID

	m := c.must(http.StatusOK, "PUT", p, map[string]any{"name": "after", "region": "NA", "type": "SANDBOX", "description": "changed"})
	if m["name"] != "after" || m["description"] != "changed" {
		t.Errorf("PUT = %v", m)
	}
	// A full replace clears what is left out.
	m = c.must(http.StatusOK, "PUT", p, map[string]any{"name": "after", "region": "NA", "type": "SANDBOX"})
	if _, ok := m["description"]; ok {
		t.Errorf("description survived a PUT without it: %v", m)
	}
	wantErrTarget := func(r response, target string) {
		t.Helper()
		if detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), target) == nil {
			t.Errorf("no detail on %s: %s", target, r.Body)
		}
	}
	wantErrTarget(c.do("PUT", p, map[string]any{"name": "after", "region": "EU", "type": "SANDBOX"}), "region")
	wantErrTarget(c.do("PUT", p, map[string]any{"name": "after", "region": "NA", "type": "PRODUCTION"}), "type")
	wantErrTarget(c.do("PUT", p, map[string]any{"name": "Administrators", "region": "NA", "type": "SANDBOX"}), "name")

	bom := c.must(http.StatusOK, "PUT", p+"/billOfMaterials", map[string]any{"products": []any{
		map[string]any{"type": "PING_ONE_BASE"}, map[string]any{"type": "PING_ONE_MFA", "description": "MFA"}}})
	if str(bom, "products.1.type") != "PING_ONE_MFA" || str(bom, "products.1.description") != "MFA" {
		t.Errorf("BOM = %v", bom)
	}
	wantErrTarget(c.do("PUT", p+"/billOfMaterials", map[string]any{"products": []any{map[string]any{"type": "PING_NOPE"}}}), "products.type")
	wantErrTarget(c.do("PUT", p+"/billOfMaterials", map[string]any{"products": []any{}}), "products")
}

// TestReset checks that POST /_emulator/reset brings the store back to its
// bootstrap state, with the same credentials and a fresh environment seed.
func TestReset(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	sandbox(t, c, "temporary")
	resp, err := http.Post(env.URL+"/_emulator/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	c = newClient(t, env)
	envs := items(t, c.must(http.StatusOK, "GET", "/environments", nil), "environments")
	if len(envs) != 1 || envs[0]["id"] != env.EnvironmentID {
		t.Errorf("after reset: %v", envs)
	}
	find(t, c.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/populations", nil), "populations", "name", "Default")
}
