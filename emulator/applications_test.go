package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

func TestApplicationUpdate(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "apps")
	body := map[string]any{"name": "web", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_POST",
		"redirectUris": []string{"https://app.example.com/cb"}, "pkceEnforcement": "S256_REQUIRED", "parTimeout": 120}
	app := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications", body)
	p := "/environments/" + envID + "/applications/" + app["id"].(string)
	secret := c.must(http.StatusOK, "GET", p+"/secret", nil)["secret"]

	// PUT is a full replace: what is left out returns to its default.
	delete(body, "pkceEnforcement")
	delete(body, "parTimeout")
	body["description"] = "now described"
	m := c.must(http.StatusOK, "PUT", p, body)
	if m["pkceEnforcement"] != "OPTIONAL" || m["parTimeout"] != float64(60) || m["description"] != "now described" {
		t.Errorf("PUT = %v", m)
	}
	if m["createdAt"] != app["createdAt"] {
		t.Errorf("createdAt changed: %v -> %v", app["createdAt"], m["createdAt"])
	}
	if got := c.must(http.StatusOK, "GET", p+"/secret", nil)["secret"]; got != secret {
		t.Error("PUT changed the client secret")
	}
	for _, field := range []string{"type", "protocol"} {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		b["type"], b["protocol"] = map[string]string{"type": "WORKER", "protocol": "SAML"}[field], body["protocol"]
		if field == "protocol" {
			b["type"], b["protocol"] = body["type"], "SAML"
		}
		r := c.do("PUT", p, b)
		if detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), field) == nil {
			t.Errorf("changing %s: %s", field, r.Body)
		}
	}
	// The system applications cannot be deleted, and have no secret.
	portal := find(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications", nil), "applications", "type", "PING_ONE_PORTAL")
	wantError(t, c.do("DELETE", "/environments/"+envID+"/applications/"+portal["id"].(string), nil), http.StatusBadRequest, "REQUEST_FAILED")
	wantError(t, c.do("GET", "/environments/"+envID+"/applications/"+portal["id"].(string)+"/secret", nil), http.StatusNotFound, "NOT_FOUND")
	r := c.do("POST", "/environments/"+envID+"/applications/"+portal["id"].(string)+"/roleAssignments", map[string]any{
		"role": map[string]any{"id": roleID(t, c, "Identity Data Admin")}, "scope": map[string]any{"id": envID, "type": "ENVIRONMENT"}})
	wantError(t, r, http.StatusBadRequest, "REQUEST_FAILED")

	// Deleting the app deletes its grants and assignments with it.
	c.must(http.StatusNoContent, "DELETE", p, nil)
	wantError(t, c.do("GET", p, nil), http.StatusNotFound, "NOT_FOUND")
	wantError(t, c.do("GET", p+"/grants", nil), http.StatusNotFound, "NOT_FOUND")
}

// TestWorkerInheritsActorRoles checks PingOne's default for workers created
// through the API: they get the creating actor's role assignments unless
// assignActorRoles is false.
func TestWorkerInheritsActorRoles(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	cases := map[string]struct {
		body map[string]any
		want int
	}{
		"Default": {map[string]any{}, 2},
		"True":    {map[string]any{"assignActorRoles": true}, 2},
		"False":   {map[string]any{"assignActorRoles": false}, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := map[string]any{"name": "inherit-" + name, "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}
			for k, v := range tc.body {
				b[k] = v
			}
			app := c.must(http.StatusCreated, "POST", "/environments/"+env.EnvironmentID+"/applications", b)
			if _, ok := app["assignActorRoles"]; ok {
				t.Error("assignActorRoles is echoed; it is POST-only")
			}
			if got, _ := app["grantTypes"].([]any); len(got) != 1 || got[0] != "CLIENT_CREDENTIALS" {
				t.Errorf("worker grantTypes = %v, want [CLIENT_CREDENTIALS]", app["grantTypes"])
			}
			ras := c.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+app["id"].(string)+"/roleAssignments", nil)
			if n := len(items(t, ras, "roleAssignments")); n != tc.want {
				t.Errorf("%d role assignments, want %d", n, tc.want)
			}
		})
	}
}

// TestSecretRotation checks that after a rotation with previous.expiresAt
// both secrets authenticate until then, and that DELETE drops the previous
// one at once.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	clock := emulatortest.NewClock(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	env := emulatortest.Start(t, emulatortest.WithClock(clock))
	c := newClient(t, env)
	id, oldSecret := worker(t, c, env.EnvironmentID, "rotating")
	p := "/environments/" + env.EnvironmentID + "/applications/" + id + "/secret"
	works := func(secret string) bool {
		req, _ := http.NewRequest("POST", env.TokenURL(env.EnvironmentID), strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, url.QueryEscape(secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	for name, exp := range map[string]string{
		"TooSoon":  clock.Now().Add(30 * time.Second).Format(time.RFC3339),
		"TooLate":  clock.Now().Add(31 * 24 * time.Hour).Format(time.RFC3339),
		"NotATime": "tomorrow",
	} {
		r := c.do("POST", p, map[string]any{"previous": map[string]any{"expiresAt": exp}})
		if detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), "previous.expiresAt") == nil {
			t.Errorf("%s: %s", name, r.Body)
		}
	}

	m := c.must(http.StatusOK, "POST", p, map[string]any{"previous": map[string]any{"expiresAt": clock.Now().Add(time.Hour).Format(time.RFC3339)}})
	newSecret := m["secret"].(string)
	if newSecret == oldSecret || str(m, "previous.secret") != oldSecret {
		t.Fatalf("rotation = %v", m)
	}
	if _, err := time.Parse(time.RFC3339, str(m, "previous.expiresAt")); err != nil {
		t.Errorf("previous.expiresAt: %v", err)
	}
	if !works(oldSecret) || !works(newSecret) {
		t.Error("both secrets should work before expiresAt")
	}
	clock.Advance(2 * time.Hour)
	c = c.as(env.Token(t)) // the first token has expired too
	if works(oldSecret) || !works(newSecret) {
		t.Error("only the new secret should work after expiresAt")
	}
	if _, ok := c.must(http.StatusOK, "GET", p, nil)["previous"]; ok {
		t.Error("an expired previous secret is still shown")
	}

	m = c.must(http.StatusOK, "POST", p, map[string]any{"previous": map[string]any{"expiresAt": clock.Now().Add(time.Hour).Format(time.RFC3339)}})
	c.must(http.StatusNoContent, "DELETE", p, nil)
	if works(newSecret) || !works(m["secret"].(string)) {
		t.Error("DELETE should drop the previous secret at once")
	}
	// A rotation without previous invalidates the old secret at once.
	last := m["secret"].(string)
	m = c.must(http.StatusOK, "POST", p, nil)
	if works(last) || !works(m["secret"].(string)) {
		t.Error("a plain rotation should invalidate the old secret")
	}
}

func TestGrantsAndResources(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "grants")
	app := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications", map[string]any{
		"name": "web", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
		"responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{"https://a.example/cb"}})
	grants := "/environments/" + envID + "/applications/" + app["id"].(string) + "/grants"
	resources := c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources", nil)
	openid := find(t, resources, "resources", "name", "openid")["id"].(string)
	api := find(t, resources, "resources", "name", "PingOne API")["id"].(string)
	openidScope := find(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources/"+openid+"/scopes", nil), "scopes", "name", "openid")["id"].(string)
	apiScope := find(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources/"+api+"/scopes", nil), "scopes", "name", "p1:read:user")["id"].(string)

	custom := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/resources", map[string]any{"name": "orders", "audience": "https://api.orders.example"})
	if custom["type"] != "CUSTOM" || custom["accessTokenValiditySeconds"] != float64(3600) || custom["introspectEndpointAuthMethod"] != "CLIENT_SECRET_BASIC" {
		t.Errorf("custom resource = %v", custom)
	}
	customID := custom["id"].(string)
	sc := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/resources/"+customID+"/scopes", map[string]any{"name": "orders:read"})
	scID := sc["id"].(string)

	bad := map[string]struct {
		body   any
		target string
	}{
		"ScopeOfAnotherResource": {map[string]any{"resource": map[string]any{"id": openid}, "scopes": []any{map[string]any{"id": apiScope}}}, "scopes"},
		"UnknownResource":        {map[string]any{"resource": map[string]any{"id": "00000000-0000-4000-8000-000000000000"}, "scopes": []any{map[string]any{"id": openidScope}}}, "resource.id"},
		"NoScopes":               {map[string]any{"resource": map[string]any{"id": openid}}, "scopes"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			r := c.do("POST", grants, tc.body)
			if detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), tc.target) == nil {
				t.Errorf("no detail on %s: %s", tc.target, r.Body)
			}
		})
	}
	g := c.must(http.StatusCreated, "POST", grants, map[string]any{"resource": map[string]any{"id": openid}, "scopes": []any{map[string]any{"id": openidScope}}})
	r := c.do("POST", grants, map[string]any{"resource": map[string]any{"id": openid}, "scopes": []any{map[string]any{"id": openidScope}}})
	if d := detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), "resource.id"); d == nil || d["code"] != "UNIQUENESS_VIOLATION" {
		t.Errorf("second grant on a resource: %s", r.Body)
	}
	cg := c.must(http.StatusCreated, "POST", grants, map[string]any{"resource": map[string]any{"id": customID}, "scopes": []any{map[string]any{"id": scID}}})
	c.must(http.StatusOK, "GET", grants+"/"+g["id"].(string), nil)
	if n := len(items(t, c.must(http.StatusOK, "GET", grants, nil), "grants")); n != 2 {
		t.Errorf("%d grants, want 2", n)
	}

	// Built-ins cannot be deleted; deleting a custom resource's last granted
	// scope removes the grant.
	wantError(t, c.do("DELETE", "/environments/"+envID+"/resources/"+openid, nil), http.StatusBadRequest, "REQUEST_FAILED")
	wantError(t, c.do("DELETE", "/environments/"+envID+"/resources/"+openid+"/scopes/"+openidScope, nil), http.StatusBadRequest, "REQUEST_FAILED")
	c.must(http.StatusNoContent, "DELETE", "/environments/"+envID+"/resources/"+customID+"/scopes/"+scID, nil)
	wantError(t, c.do("GET", grants+"/"+cg["id"].(string), nil), http.StatusNotFound, "NOT_FOUND")

	// Resource validation.
	for name, tc := range map[string]struct {
		body   map[string]any
		target string
	}{
		"PingOneAudience": {map[string]any{"name": "x", "audience": "https://api.pingone.com"}, "audience"},
		"Lifetime":        {map[string]any{"name": "y", "accessTokenValiditySeconds": 10}, "accessTokenValiditySeconds"},
		"Duplicate":       {map[string]any{"name": "orders"}, "name"},
		"BuiltInType":     {map[string]any{"name": "z", "type": "OPENID_CONNECT"}, "type"},
	} {
		r := c.do("POST", "/environments/"+envID+"/resources", tc.body)
		if detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), tc.target) == nil {
			t.Errorf("%s: no detail on %s: %s", name, tc.target, r.Body)
		}
	}
	// PingOne API sub-scopes.
	c.must(http.StatusCreated, "POST", "/environments/"+envID+"/resources/"+api+"/scopes",
		map[string]any{"name": "p1:read:user:profile", "schemaAttributes": []string{"name.given", "email"}})
	wantError(t, c.do("POST", "/environments/"+envID+"/resources/"+api+"/scopes", map[string]any{"name": "p1:delete:everything"}),
		http.StatusBadRequest, "INVALID_DATA")
}
