package pingone_test

import (
	"testing"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// TestRequestCosts pins down what each operation costs in requests, as the
// emulator counts them, once the token, the role table and the openid
// scopes are cached.
func TestRequestCosts(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	ctx := t.Context()
	if _, err := p.Whoami(ctx); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, p, "costs")
	// Warm the caches: roles (by a role assignment) and the openid scopes.
	create(t, p, env.ID, engine.KindWorkerApps, "warm", map[string]any{"name": "warm", "roles": []any{
		map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": env.ID}}}})
	create(t, p, env.ID, engine.KindWebApps, "warm", map[string]any{"name": "warm-web",
		"redirectUris": []any{"https://w.example.com/cb"}, "scopes": []any{"openid"}})

	cost := func(name string, want int64, op func() error) {
		t.Helper()
		before := e.stats.Snapshot().Total
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := e.stats.Snapshot().Total - before
		t.Logf("%-40s %d requests", name, got)
		if got != want {
			t.Errorf("%s cost %d requests, want %d", name, got, want)
		}
	}
	mk := func(kind string, attrs map[string]any, secrets map[string]any) func() error {
		return func() error {
			r := res(kind, "x", attrs)
			r.EnvID, r.Secrets = env.ID, secrets
			_, err := p.Create(ctx, r)
			return err
		}
	}
	cost("Whoami", 1, func() error { _, err := p.Whoami(ctx); return err })
	cost("create environment (license cached)", 1, mk(engine.KindEnvironments,
		map[string]any{"name": "costs-2", "region": "NA", "type": "SANDBOX"}, nil))
	cost("create population", 1, mk(engine.KindPopulations, map[string]any{"name": "P"}, nil))
	cost("create user", 1, mk(engine.KindUsers, map[string]any{"username": "u1", "email": "u@example.com"}, nil))
	cost("create user with password", 1, mk(engine.KindUsers, map[string]any{"username": "u2", "email": "u@example.com"},
		map[string]any{"password": map[string]any{"value": "Pa55-word-long!"}}))
	cost("create disabled user", 2, mk(engine.KindUsers, map[string]any{"username": "u3", "email": "u@example.com", "enabled": false}, nil))
	cost("create worker app with 2 roles", 3, mk(engine.KindWorkerApps, map[string]any{"name": "w2", "roles": []any{
		map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": env.ID}},
		map[string]any{"role": "Client Application Developer", "scope": map[string]any{"type": "ENVIRONMENT", "id": env.ID}},
	}}, nil))
	cost("create web app with scopes", 2, mk(engine.KindWebApps, map[string]any{"name": "web2",
		"redirectUris": []any{"https://w.example.com/cb"}, "scopes": []any{"openid", "email"}}, nil))
	cost("create web app without scopes", 1, mk(engine.KindWebApps, map[string]any{"name": "web3",
		"redirectUris": []any{"https://w.example.com/cb"}}, nil))

	list := func(kind string) func() error {
		return func() error { _, err := p.List(ctx, engine.Query{Kind: kind, EnvID: env.ID}); return err }
	}
	cost("list environments", 1, func() error { _, err := p.List(ctx, engine.Query{Kind: engine.KindEnvironments}); return err })
	cost("list populations", 1, list(engine.KindPopulations))
	cost("list 3 users", 1, list(engine.KindUsers))
	cost("list 2 worker apps (1 + 1 per app)", 3, list(engine.KindWorkerApps))
	cost("list 3 web apps (1 + 1 per app)", 4, list(engine.KindWebApps))

	u := findLive(t, p, engine.KindUsers, env.ID, mustCreate(t, p, env.ID, engine.KindUsers, map[string]any{"username": "u4", "email": "u@example.com"}).ID)
	cost("update user email", 1, func() error {
		r := res(engine.KindUsers, "u4", map[string]any{"username": "u4", "email": "new@example.com"})
		r.EnvID = env.ID
		_, err := p.Update(ctx, r, u)
		return err
	})
	pop := findLive(t, p, engine.KindPopulations, env.ID, mustCreate(t, p, env.ID, engine.KindPopulations, map[string]any{"name": "Q"}).ID)
	cost("update population (GET + PUT)", 2, func() error {
		r := res(engine.KindPopulations, "q", map[string]any{"name": "Q", "description": "d"})
		r.EnvID = env.ID
		_, err := p.Update(ctx, r, pop)
		return err
	})
	cost("delete population", 1, func() error { return p.Delete(ctx, pop) })
}

func mustCreate(t *testing.T, p *pingone.Provider, envID, kind string, attrs map[string]any) engine.Live {
	t.Helper()
	r := res(kind, "x", attrs)
	r.EnvID = envID
	l, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
