package manifests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/engine"
)

func TestResourcesGettingStarted(t *testing.T) {
	t.Parallel()
	const canary = "canary-Pa55word!"
	res, err := Load(Options{Getenv: func(k string) string {
		if k == "ALICE_PASSWORD" {
			return canary
		}
		return ""
	}}, "examples/getting-started.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := res.Manifest.Resources()
	qa := engine.Address{Kind: engine.KindEnvironments, Key: "qa"}
	testers := engine.Address{Kind: engine.KindPopulations, Key: "testers"}
	want := []engine.Resource{
		{Addr: qa, Name: "QA Sandbox", Attrs: map[string]any{"name": "QA Sandbox", "region": "NA", "type": "SANDBOX",
			"description": "Test bed for the getting-started guide"}},
		{Addr: testers, Env: qa, Name: "Testers", Attrs: map[string]any{"name": "Testers", "description": "QA users"}},
		{Addr: engine.Address{Kind: engine.KindUsers, Key: "alice"}, Env: qa, Name: "alice",
			Attrs: map[string]any{"username": "alice", "email": "alice@example.com", "enabled": true,
				"name":       map[string]any{"given": "Alice", "family": "Tester"},
				"population": map[string]any{"id": engine.Ref{Addr: testers}}},
			Secrets: map[string]any{"password": map[string]any{"value": canary, "forceChange": false}}},
		{Addr: engine.Address{Kind: engine.KindWorkerApps, Key: "ci-bot"}, Env: qa, Name: "CI Bot",
			Attrs: map[string]any{"name": "CI Bot", "type": "WORKER", "enabled": true, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
				"roles": []any{map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": engine.Ref{Addr: qa}}}}}},
		{Addr: engine.Address{Kind: engine.KindWebApps, Key: "portal"}, Env: qa, Name: "Portal",
			Attrs: map[string]any{"name": "Portal", "type": "WEB_APP", "enabled": true,
				"redirectUris": []any{"https://localhost:3000/callback"}, "postLogoutRedirectUris": []any{},
				"grantTypes": []any{"AUTHORIZATION_CODE"}, "responseTypes": []any{"CODE"},
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "pkceEnforcement": "OPTIONAL",
				"scopes": []any{"openid", "profile", "email"}, "refreshTokenDuration": 2592000}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resources: -want +got:\n%s", diff)
	}
	for _, r := range got {
		if strings.Contains(fmt.Sprint(r.Attrs), canary) {
			t.Errorf("%s: the password reached Attrs", r.Addr)
		}
	}
}
