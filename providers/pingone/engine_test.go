package pingone_test

import (
	"slices"
	"testing"

	"github.com/p1ctl/p1ctl/engine"
)

// TestEnginePlanApplyPlan drives the engine with the Provider: plan and
// apply a desired state from nothing, then plan again, which must find
// nothing to change; then change a few fields and see exactly those
// planned.
func TestEnginePlanApplyPlan(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	ctx := t.Context()
	envAddr := engine.Address{Kind: engine.KindEnvironments, Key: "dev"}
	popAddr := engine.Address{Kind: engine.KindPopulations, Key: "staff"}
	child := func(kind, key, name string, attrs map[string]any) engine.Resource {
		return engine.Resource{Addr: engine.Address{Kind: kind, Key: key}, Env: envAddr, Name: name, Attrs: attrs}
	}
	desired := []engine.Resource{
		{Addr: envAddr, Name: "engine-dev", Attrs: map[string]any{"name": "engine-dev", "region": "NA", "type": "SANDBOX",
			"description": "made by the engine"}},
		child(engine.KindPopulations, "staff", "Staff", map[string]any{"name": "Staff"}),
		func() engine.Resource {
			r := child(engine.KindUsers, "alice", "alice", map[string]any{"username": "alice", "email": "alice@example.com",
				"name": map[string]any{"given": "Alice"}, "population": map[string]any{"id": engine.Ref{Addr: popAddr}}})
			r.Secrets = map[string]any{"password": map[string]any{"value": "An0ther-Secret!", "forceChange": false}}
			return r
		}(),
		child(engine.KindWorkerApps, "ci", "ci", map[string]any{"name": "ci", "roles": []any{
			map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": engine.Ref{Addr: envAddr}}},
			map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "POPULATION", "id": engine.Ref{Addr: popAddr}}},
		}}),
		child(engine.KindWebApps, "portal", "portal", map[string]any{"name": "portal", "enabled": true,
			"redirectUris": []any{"https://portal.example.com/cb"}, "grantTypes": []any{"AUTHORIZATION_CODE", "REFRESH_TOKEN"},
			"responseTypes": []any{"CODE"}, "scopes": []any{"openid", "profile", "email"}}),
	}
	plan, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if s := plan.Summary(); s.Create != len(desired) {
		t.Fatalf("plan from nothing: %+v, want %d creates", s, len(desired))
	}
	if err := engine.Preflight(plan); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if _, err := engine.Apply(ctx, p, plan, engine.ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v", err)
	}

	e.stats.Reset()
	again, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatalf("second plan: %v", err)
	}
	for _, c := range again.Changes {
		if c.Action != engine.NoOp {
			t.Errorf("after apply, %s plans %s: %+v", c.Addr, c.Action, c.Fields)
		}
	}
	t.Logf("an up-to-date plan cost %d requests", e.stats.Snapshot().Total)

	desired[0].Attrs["description"] = "changed"
	desired[2].Attrs["email"] = "alice@new.example.com"
	desired[4].Attrs["scopes"] = []any{"openid"}
	third, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatalf("third plan: %v", err)
	}
	var changed []string
	for _, c := range third.Changes {
		for _, f := range c.Fields {
			changed = append(changed, c.Addr.String()+"."+f.Path)
		}
	}
	slices.Sort(changed)
	want := []string{"environments.dev.description", "users.alice.email", "webApps.portal.scopes"}
	if len(changed) != len(want) {
		t.Fatalf("changes %v, want %v", changed, want)
	}
	for i := range want {
		if changed[i] != want[i] {
			t.Errorf("changes %v, want %v", changed, want)
			break
		}
	}
	if _, err := engine.Apply(ctx, p, third, engine.ApplyOptions{}); err != nil {
		t.Fatalf("apply changes: %v", err)
	}
	fourth, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fourth.HasChanges() {
		t.Errorf("after applying the changes the plan still has %+v", fourth.Summary())
	}
}
