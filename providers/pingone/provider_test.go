package pingone_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

func TestWhoami(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	id, err := p.Whoami(t.Context())
	if err != nil {
		t.Fatalf("Whoami: %v", err)
	}
	if id.AppID != e.ClientID || id.EnvID != e.EnvironmentID || id.OrgID != e.OrganizationID {
		t.Errorf("Whoami = %+v, want app %s env %s org %s", id, e.ClientID, e.EnvironmentID, e.OrganizationID)
	}
	for _, role := range []string{"Organization Admin", "Environment Admin"} {
		if !slices.Contains(id.Grants, engine.Grant{Role: role, ScopeType: "ORGANIZATION", ScopeID: e.OrganizationID}) {
			t.Errorf("Whoami grants %+v lack %s at organization scope", id.Grants, role)
		}
	}
}

// TestRoundTrip creates one object of each kind and checks that List
// returns attributes that equal the desired ones under the engine's rules,
// and that Create's answer does too.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	ctx := t.Context()
	envAttrs := map[string]any{"name": "rt", "region": "EU", "type": "SANDBOX", "description": "round trip"}
	env, err := p.Create(ctx, res(engine.KindEnvironments, "rt", envAttrs))
	if err != nil {
		t.Fatalf("create environment: %v", err)
	}
	checkRoundTrip(t, engine.KindEnvironments, envAttrs, env)
	envs, err := p.List(ctx, engine.Query{Kind: engine.KindEnvironments})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range envs {
		if l.ID == env.ID {
			checkRoundTrip(t, engine.KindEnvironments, envAttrs, l)
			if lic, _ := l.Attrs["license"].(map[string]any); lic["id"] == "" {
				t.Errorf("environment has no license: %v", l.Attrs)
			}
		}
	}

	popAttrs := map[string]any{"name": "Staff", "description": "people who work here"}
	pop := create(t, p, env.ID, engine.KindPopulations, "staff", popAttrs)

	userAttrs := map[string]any{
		"username": "Alice", "email": "alice@example.com",
		"name":     map[string]any{"given": "Alice", "family": "Liddell", "middle": "P", "formatted": "Alice P Liddell", "honorificPrefix": "Ms", "honorificSuffix": "PhD"},
		"nickname": "Al", "title": "Engineer", "type": "Employee", "locale": "en-GB", "preferredLanguage": "en",
		"timezone": "Europe/London", "mobilePhone": "+44 7700 900123", "primaryPhone": "+44 20 7946 0000",
		"externalId": "E-1", "enabled": false, "population": map[string]any{"id": pop.ID},
	}
	r := res(engine.KindUsers, "alice", userAttrs)
	r.Secrets = map[string]any{"password": map[string]any{"value": "Correct-Horse-9!", "forceChange": true}}
	createRes(t, p, env.ID, r)

	workerAttrs := map[string]any{"name": "ci-worker", "description": "CI", "enabled": true, "type": "WORKER",
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
		"roles": []any{
			map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": env.ID}},
			map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "POPULATION", "id": pop.ID}},
			map[string]any{"role": "Environment Admin", "scope": map[string]any{"type": "ORGANIZATION"}},
		}}
	create(t, p, env.ID, engine.KindWorkerApps, "ci", workerAttrs)

	webAttrs := map[string]any{"name": "portal", "description": "the portal", "enabled": true, "type": "WEB_APP",
		"homePageUrl": "https://portal.example.com", "loginPageUrl": "https://portal.example.com/login",
		"redirectUris":           []any{"https://portal.example.com/cb", "http://localhost:3000/cb"},
		"postLogoutRedirectUris": []any{"https://portal.example.com/bye"},
		"grantTypes":             []any{"REFRESH_TOKEN", "AUTHORIZATION_CODE"}, "responseTypes": []any{"CODE"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_POST", "pkceEnforcement": "S256_REQUIRED",
		"refreshTokenDuration": 3600, "refreshTokenRollingDuration": 86400,
		"scopes": []any{"profile", "openid", "email"}}
	web := create(t, p, env.ID, engine.KindWebApps, "portal", webAttrs)

	// Minimal manifests round-trip too: PingOne's defaults are not drift.
	create(t, p, env.ID, engine.KindWebApps, "min", map[string]any{"name": "min-web",
		"redirectUris": []any{"https://min.example.com/cb"}})
	create(t, p, env.ID, engine.KindWorkerApps, "min", map[string]any{"name": "min-worker", "roles": []any{}})
	create(t, p, env.ID, engine.KindUsers, "min", map[string]any{"username": "bob", "email": "bob@example.com"})

	secret, err := p.AppSecret(ctx, env.ID, web.ID)
	if err != nil || secret == "" {
		t.Errorf("AppSecret = %q, %v; want a secret", secret, err)
	}

	// Kinds list only their own types; the built-ins are protected.
	pops, err := p.List(ctx, engine.Query{Kind: engine.KindPopulations, EnvID: env.ID})
	if err != nil {
		t.Fatal(err)
	}
	var protected []string
	for _, l := range pops {
		if l.Protected != "" {
			protected = append(protected, l.Name)
		}
	}
	if !slices.Equal(protected, []string{"Default"}) {
		t.Errorf("protected populations = %v, want [Default]", protected)
	}
	webs, _ := p.List(ctx, engine.Query{Kind: engine.KindWebApps, EnvID: env.ID})
	workers, _ := p.List(ctx, engine.Query{Kind: engine.KindWorkerApps, EnvID: env.ID})
	if len(webs) != 2 || len(workers) != 2 {
		t.Errorf("listed %d web apps and %d worker apps, want 2 and 2 (system apps left out)", len(webs), len(workers))
	}
}

// create makes a resource of kind in envID and checks its round trip
// through Create's answer and through List.
func create(t *testing.T, p *pingone.Provider, envID, kind, key string, attrs map[string]any) engine.Live {
	t.Helper()
	return createRes(t, p, envID, res(kind, key, attrs))
}

func createRes(t *testing.T, p *pingone.Provider, envID string, r engine.Resource) engine.Live {
	t.Helper()
	r.EnvID = envID
	l, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatalf("create %s: %v", r.Addr, err)
	}
	if l.Kind != r.Addr.Kind || l.EnvID != envID || l.ID == "" || !strings.EqualFold(l.Name, r.Name) {
		t.Errorf("create %s = %+v: wrong kind, environment, id or name", r.Addr, l)
	}
	checkRoundTrip(t, r.Addr.Kind, r.Attrs, l)
	checkRoundTrip(t, r.Addr.Kind, r.Attrs, findLive(t, p, r.Addr.Kind, envID, l.ID))
	return l
}
