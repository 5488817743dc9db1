package pingone_test

import (
	"maps"
	"testing"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// update applies attrs to old through p and checks the result round-trips
// through Update's answer and through List.
func update(t *testing.T, p *pingone.Provider, old engine.Live, key string, attrs map[string]any) engine.Live {
	t.Helper()
	r := res(old.Kind, key, attrs)
	r.EnvID = old.EnvID
	l, err := p.Update(t.Context(), r, old)
	if err != nil {
		t.Fatalf("update %s: %v", r.Addr, err)
	}
	checkRoundTrip(t, old.Kind, attrs, l)
	listed := l
	if old.Kind == engine.KindEnvironments {
		envs, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range envs {
			if e.ID == old.ID {
				listed = e
			}
		}
	} else {
		listed = findLive(t, p, old.Kind, old.EnvID, old.ID)
	}
	checkRoundTrip(t, old.Kind, attrs, listed)
	return listed
}

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	ctx := t.Context()

	envAttrs := map[string]any{"name": "upd", "region": "NA", "type": "SANDBOX", "description": "before"}
	env, err := p.Create(ctx, res(engine.KindEnvironments, "upd", envAttrs))
	if err != nil {
		t.Fatal(err)
	}
	env = update(t, p, env, "upd", with(envAttrs, "description", "after", "name", "upd-renamed"))

	t.Run("Populations", func(t *testing.T) {
		attrs := map[string]any{"name": "Contractors", "description": "before"}
		pop := create(t, p, env.ID, engine.KindPopulations, "c", attrs)
		pop = update(t, p, pop, "c", with(attrs, "description", "after"))
		update(t, p, pop, "c", with(attrs, "description", "", "name", "Vendors"))
	})

	t.Run("Users", func(t *testing.T) {
		popA := create(t, p, env.ID, engine.KindPopulations, "a", map[string]any{"name": "A"})
		popB := create(t, p, env.ID, engine.KindPopulations, "b", map[string]any{"name": "B"})
		attrs := map[string]any{"username": "carol", "email": "carol@example.com", "nickname": "Caz",
			"name": map[string]any{"given": "Carol", "family": "Danvers"}, "enabled": true,
			"population": map[string]any{"id": popA.ID}}
		u := create(t, p, env.ID, engine.KindUsers, "carol", attrs)

		before := e.stats.Snapshot()
		// A string, a nested field, a cleared field, a bool and a reference
		// at once.
		next := with(attrs, "email", "carol@new.example.com", "nickname", "", "enabled", false,
			"name", map[string]any{"given": "Carol", "family": "Marvel"}, "population", map[string]any{"id": popB.ID})
		r := res(engine.KindUsers, "carol", next)
		r.EnvID = env.ID
		r.Secrets = map[string]any{"password": map[string]any{"value": "N3w-Passw0rd!x", "forceChange": false}}
		l, err := p.Update(ctx, r, u)
		if err != nil {
			t.Fatalf("update user: %v", err)
		}
		checkRoundTrip(t, engine.KindUsers, next, l)
		checkRoundTrip(t, engine.KindUsers, next, findLive(t, p, engine.KindUsers, env.ID, u.ID))
		after := e.stats.Snapshot()
		for _, route := range []string{
			"PATCH /v1/environments/{envID}/users/{userID}",
			"PUT /v1/environments/{envID}/users/{userID}/population",
			"PUT /v1/environments/{envID}/users/{userID}/enabled",
			"PUT /v1/environments/{envID}/users/{userID}/password",
		} {
			if n := routeCount(after, route, "200") - routeCount(before, route, "200"); n != 1 {
				t.Errorf("%s answered 200 %d times, want 1", route, n)
			}
		}

		// Nothing changed: no call.
		before = e.stats.Snapshot()
		r.Secrets = nil
		if _, err := p.Update(ctx, r, l); err != nil {
			t.Fatal(err)
		}
		if n := e.stats.Snapshot().Total - before.Total; n != 0 {
			t.Errorf("an update without changes made %d calls", n)
		}
	})

	t.Run("WorkerRoles", func(t *testing.T) {
		pop := create(t, p, env.ID, engine.KindPopulations, "w", map[string]any{"name": "W"})
		role := func(name, typ, id string) map[string]any {
			sc := map[string]any{"type": typ}
			if id != "" {
				sc["id"] = id
			}
			return map[string]any{"role": name, "scope": sc}
		}
		attrs := map[string]any{"name": "robot", "description": "v1",
			"roles": []any{role("Identity Data Admin", "ENVIRONMENT", env.ID), role("Environment Admin", "ORGANIZATION", "")}}
		w := create(t, p, env.ID, engine.KindWorkerApps, "robot", attrs)

		// Change the set: drop one, keep one, add one; and the description.
		next := with(attrs, "description", "v2", "roles", []any{
			role("Environment Admin", "ORGANIZATION", ""), role("Identity Data Admin", "POPULATION", pop.ID),
			role("Client Application Developer", "ENVIRONMENT", env.ID)})
		before := e.stats.Snapshot()
		w = update(t, p, w, "robot", next)
		after := e.stats.Snapshot()
		ra := "/v1/environments/{envID}/applications/{appID}/roleAssignments"
		if n := routeCount(after, "POST "+ra, "201") - routeCount(before, "POST "+ra, "201"); n != 2 {
			t.Errorf("created %d role assignments, want 2", n)
		}
		if n := routeCount(after, "DELETE "+ra+"/{raID}", "204") - routeCount(before, "DELETE "+ra+"/{raID}", "204"); n != 1 {
			t.Errorf("deleted %d role assignments, want 1", n)
		}
		if n := routeCount(after, "PUT /v1/environments/{envID}/applications/{appID}", "200") -
			routeCount(before, "PUT /v1/environments/{envID}/applications/{appID}", "200"); n != 1 {
			t.Errorf("PUT the application %d times, want 1", n)
		}
		// Same set in another order: no change at all.
		before = e.stats.Snapshot()
		reordered := with(next, "roles", []any{next["roles"].([]any)[2], next["roles"].([]any)[0], next["roles"].([]any)[1]})
		r := res(engine.KindWorkerApps, "robot", reordered)
		r.EnvID = env.ID
		if _, err := p.Update(ctx, r, w); err != nil {
			t.Fatal(err)
		}
		if n := e.stats.Snapshot().Total - before.Total; n != 0 {
			t.Errorf("an update with the same role set made %d calls", n)
		}
		// An unknown role is an error that names it.
		r = res(engine.KindWorkerApps, "robot", with(next, "roles", []any{role("Chief Admin", "ORGANIZATION", "")}))
		r.EnvID = env.ID
		if _, err := p.Update(ctx, r, w); err == nil {
			t.Error("an unknown role was accepted")
		}
	})

	t.Run("WebApps", func(t *testing.T) {
		attrs := map[string]any{"name": "shop", "redirectUris": []any{"https://shop.example.com/cb"},
			"grantTypes": []any{"AUTHORIZATION_CODE"}, "refreshTokenDuration": 2592000, "scopes": []any{"openid"}}
		w := create(t, p, env.ID, engine.KindWebApps, "shop", attrs)
		w = update(t, p, w, "shop", with(attrs,
			"redirectUris", []any{"https://shop.example.com/cb", "https://shop.example.com/cb2"},
			"grantTypes", []any{"AUTHORIZATION_CODE", "REFRESH_TOKEN"},
			"refreshTokenDuration", 7200, "pkceEnforcement", "REQUIRED", "description", "the shop",
			"scopes", []any{"openid", "profile", "email"}))
		before := e.stats.Snapshot()
		w = update(t, p, w, "shop", with(attrs, "refreshTokenDuration", 7200, "scopes", []any{}))
		after := e.stats.Snapshot()
		g := "DELETE /v1/environments/{envID}/applications/{appID}/grants/{grantID}"
		if n := routeCount(after, g, "204") - routeCount(before, g, "204"); n != 1 {
			t.Errorf("deleted %d grants, want 1", n)
		}
		update(t, p, w, "shop", with(attrs, "scopes", []any{"email", "openid"}))
		// Unknown scopes are an error.
		r := res(engine.KindWebApps, "shop", with(attrs, "scopes", []any{"openid", "wallet"}))
		r.EnvID = env.ID
		if _, err := p.Update(ctx, r, w); err == nil {
			t.Error("an unknown scope was accepted")
		}
	})
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	env := newEnv(t, p, "del")
	pop := create(t, p, env.ID, engine.KindPopulations, "p", map[string]any{"name": "Gone"})
	user := create(t, p, env.ID, engine.KindUsers, "u", map[string]any{"username": "gone", "email": "gone@example.com"})
	worker := create(t, p, env.ID, engine.KindWorkerApps, "w", map[string]any{"name": "gone-worker", "roles": []any{}})
	web := create(t, p, env.ID, engine.KindWebApps, "w", map[string]any{"name": "gone-web",
		"redirectUris": []any{"https://x.example.com/cb"}, "scopes": []any{"openid"}})
	for _, l := range []engine.Live{user, pop, worker, web} {
		if err := p.Delete(t.Context(), l); err != nil {
			t.Fatalf("delete %s %s: %v", l.Kind, l.Name, err)
		}
		// Again: PingOne's 404, at once, although the environment is new
		// (its readiness window is for objects it has not served yet).
		if err := p.Delete(t.Context(), l); !pingone.IsNotFound(err) {
			t.Errorf("second delete of %s %s: %v, want a 404", l.Kind, l.Name, err)
		}
		ls, err := p.List(t.Context(), engine.Query{Kind: l.Kind, EnvID: env.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ls {
			if x.ID == l.ID {
				t.Errorf("%s %s is still listed after Delete", l.Kind, l.Name)
			}
		}
	}
	if err := p.Delete(t.Context(), env); err != nil {
		t.Fatalf("delete environment: %v", err)
	}
	// Inside a deleted environment PingOne answers 403.
	if err := p.Delete(t.Context(), user); !pingone.IsNotFound(err) && !pingone.IsForbidden(err) {
		t.Errorf("second delete of a user: %v, want a 403 or 404", err)
	}
}
