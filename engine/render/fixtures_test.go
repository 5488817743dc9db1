package render_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

// canary is a secret that no output may contain. Every fixture hides it
// where a careless renderer would find it: in the Desired resource's
// Secrets, in the Live object's attributes, and in the values of a
// Sensitive field (which the engine leaves empty, but a renderer must not
// rely on that).
const canary = "canary-s3cr3t-Value"

func addr(kind, key string) engine.Address { return engine.Address{Kind: kind, Key: key} }

func unknown(kind, key string) diff.Unknown { return diff.Unknown{Of: addr(kind, key).String()} }

// chg builds a change with the canary planted in what it was computed
// from.
func chg(a engine.Address, act engine.Action, name, id string, wave int, fields ...diff.FieldChange) engine.Change {
	c := engine.Change{Addr: a, Action: act, Name: name, ID: id, Wave: wave, Fields: fields}
	if act != engine.Delete {
		c.Desired = &engine.Resource{Addr: a, Name: name,
			Attrs:   map[string]any{"name": name},
			Secrets: map[string]any{"password": canary, "clientSecret": canary}}
	}
	if id != "" {
		c.LiveHash = "0f0f0f0f0f0f0f0f"
		c.Live = &engine.Live{Kind: a.Kind, ID: id, Name: name,
			Attrs: map[string]any{"name": name, "clientSecret": canary, "password": map[string]any{"value": canary}}}
	}
	return c
}

func fc(path string, old, new any) diff.FieldChange {
	return diff.FieldChange{Path: path, Old: old, New: new}
}

// secret is a sensitive field whose values hold the canary.
func secret(path string) diff.FieldChange {
	return diff.FieldChange{Path: path, Sensitive: true, Old: canary, New: diff.Sensitive{Value: canary}}
}

func forces(f diff.FieldChange) diff.FieldChange { f.ForcesReplace = true; return f }

func reason(c engine.Change, r string) engine.Change { c.Reason = r; return c }

func plan(cs ...engine.Change) *engine.Plan {
	return &engine.Plan{Changes: cs, Reads: 7,
		Identity: engine.Identity{AppID: "app-worker", EnvID: "env-admin", OrgID: "org-1"}}
}

const (
	envQA  = "5f1c2d3e-0000-4000-8000-00000000e0e0"
	envOld = "0d0d0d0d-0000-4000-8000-000000000old"
)

var (
	qa        = addr(engine.KindEnvironments, "qa")
	testers   = addr(engine.KindPopulations, "testers")
	alice     = addr(engine.KindUsers, "alice")
	bob       = addr(engine.KindUsers, "bob")
	ciBot     = addr(engine.KindWorkerApps, "ci-bot")
	portal    = addr(engine.KindWebApps, "portal")
	oldEnv    = addr(engine.KindEnvironments, "old")
	stalePop  = addr(engine.KindPopulations, "stale-1a2b3c4d")
	staleUser = addr(engine.KindUsers, "old-user-9f8e7d6c")
	scratch   = addr(engine.KindEnvironments, "scratch-5e5e5e5e")
)

func role(name string, scopeID any) map[string]any {
	return map[string]any{"role": name, "scope": map[string]any{"id": scopeID, "type": "ENVIRONMENT"}}
}

// plans are the golden cases, by name.
var plans = map[string]func() *engine.Plan{
	"NoChanges": func() *engine.Plan {
		return plan(
			chg(qa, engine.NoOp, "QA Sandbox", envQA, 0),
			chg(testers, engine.NoOp, "Testers", "pop-1111", 1),
			chg(alice, engine.NoOp, "alice", "user-aaaa", 2),
		)
	},
	"CreateEverything": func() *engine.Plan {
		return plan(
			chg(qa, engine.Create, "QA Sandbox", "", 0,
				fc("description", nil, "Test bed"), fc("name", nil, "QA Sandbox"),
				fc("region", nil, "NA"), fc("type", nil, "SANDBOX")),
			chg(testers, engine.Create, "Testers", "", 1,
				fc("description", nil, "QA users"), fc("name", nil, "Testers")),
			chg(ciBot, engine.Create, "CI Bot", "", 1,
				fc("enabled", nil, true),
				fc("grantTypes", nil, []any{"CLIENT_CREDENTIALS"}),
				fc("name", nil, "CI Bot"),
				fc("roles", nil, []any{role("Identity Data Admin", unknown(engine.KindEnvironments, "qa")), role("Environment Admin", unknown(engine.KindEnvironments, "qa"))}),
				fc("tokenEndpointAuthMethod", nil, "CLIENT_SECRET_BASIC"),
				fc("type", nil, "WORKER")),
			chg(portal, engine.Create, "Portal", "", 1,
				fc("grantTypes", nil, []string{"REFRESH_TOKEN", "AUTHORIZATION_CODE"}),
				fc("name", nil, "Portal"),
				fc("pkceEnforcement", nil, "OPTIONAL"),
				fc("postLogoutRedirectUris", nil, []any{}),
				fc("redirectUris", nil, []any{"https://portal.qa.example.com/oauth2/callback", "https://localhost:3000/callback", "https://portal.qa.example.com/silent-renew"}),
				fc("refreshTokenDuration", nil, 2592000),
				fc("responseTypes", nil, []any{"CODE"}),
				fc("scopes", nil, []any{"profile", "openid", "email"}),
				fc("tokenEndpointAuthMethod", nil, "CLIENT_SECRET_BASIC"),
				fc("type", nil, "WEB_APP")),
			chg(alice, engine.Create, "alice", "", 2,
				fc("email", nil, "alice@example.com"),
				fc("enabled", nil, true),
				fc("name.family", nil, "Tester"),
				fc("name.given", nil, "Alice"),
				secret("password"),
				fc("population.id", nil, unknown(engine.KindPopulations, "testers")),
				fc("username", nil, "alice")),
		)
	},
	"UpdateFields": func() *engine.Plan {
		return plan(
			chg(qa, engine.NoOp, "QA Sandbox", envQA, 0),
			chg(addr(engine.KindPopulations, "ops"), engine.Update, "Ops | Night `shift`", "pop-2222", 1,
				fc("description", "On call", "Runs ```sh fences``` and <b>tags</b> | pipes"),
				fc("name", "Ops", "Ops | Night `shift`")),
			chg(alice, engine.Update, "alice", "user-aaaa", 2,
				fc("email", "a@old.example", "alice@example.com"),
				fc("enabled", false, true),
				fc("name.given", "Al", "Alice"),
				fc("nickname", nil, "Ali"),
				fc("population.id", "pop-1111", "pop-2222")),
			reason(chg(bob, engine.Update, "bob", "user-bbbb", 2, secret("password")),
				"write-only values are re-set (--reset-passwords)"),
			chg(ciBot, engine.Update, "CI Bot", "app-cccc", 1,
				fc("roles",
					[]any{role("Identity Data Admin", envQA), role("Client Application Developer", envQA)},
					[]any{role("Environment Admin", envQA), role("Identity Data Admin", envQA)})),
			chg(portal, engine.Update, "Portal", "app-dddd", 1,
				fc("description", nil, "Customer portal"),
				fc("redirectUris", []any{"https://old.example/cb", "https://a.example/cb"}, []any{"https://a.example/cb", "https://b.example/cb"}),
				fc("refreshTokenDuration", 3600.0, 7200),
				fc("scopes", []any{"openid"}, []any{"openid", "profile"})),
		)
	},
	"Replace": func() *engine.Plan {
		return plan(
			reason(chg(oldEnv, engine.Replace, "Old", envOld, 0,
				fc("description", "Legacy", "Moved to the EU"),
				forces(fc("region", "NA", "EU"))),
				"region cannot change in place"),
			chg(addr(engine.KindPopulations, "movers"), engine.Create, "Movers", "", 1,
				fc("name", nil, "Movers")),
			reason(chg(addr(engine.KindWebApps, "legacy"), engine.Replace, "Legacy", "app-eeee", 1,
				forces(fc("type", "WEB_APP", "SINGLE_PAGE_APP"))),
				"type cannot change in place"),
		)
	},
	"Prune": func() *engine.Plan {
		return plan(
			chg(qa, engine.NoOp, "QA Sandbox", envQA, 0),
			reason(chg(staleUser, engine.Delete, "Old.User", "9f8e7d6c-0000-4000-8000-000000000001", 4),
				"not in the manifest (environment environments.qa)"),
			reason(chg(stalePop, engine.Delete, "Stale", "1a2b3c4d-0000-4000-8000-000000000002", 5),
				"not in the manifest (environment environments.qa)"),
			reason(chg(scratch, engine.Delete, "Scratch", "5e5e5e5e-0000-4000-8000-000000000003", 7),
				"not in the manifest"),
		)
	},
	"Mixed": func() *engine.Plan {
		return plan(
			reason(chg(oldEnv, engine.Replace, "Old", envOld, 0, forces(fc("region", "NA", "EU"))),
				"region cannot change in place"),
			chg(qa, engine.Create, "QA Sandbox", "", 0,
				fc("description", nil, "Test bed"), fc("name", nil, "QA Sandbox"), fc("region", nil, "NA")),
			chg(testers, engine.NoOp, "Testers", "pop-1111", 1),
			chg(portal, engine.Update, "Portal", "app-dddd", 1,
				fc("redirectUris", []any{"https://old.example/cb", "https://a.example/cb"}, []any{"https://a.example/cb", "https://b.example/cb"})),
			chg(alice, engine.Update, "alice", "user-aaaa", 2,
				fc("email", "a@old.example", "alice@example.com"), fc("name.given", "Al", "Alice")),
			chg(bob, engine.Create, "bob", "", 2,
				secret("password"),
				fc("population.id", nil, unknown(engine.KindPopulations, "testers")),
				fc("username", nil, "bob")),
			reason(chg(stalePop, engine.Delete, "Stale", "1a2b3c4d-0000-4000-8000-000000000002", 5),
				"not in the manifest (environment environments.qa)"),
		)
	},
}

// careless is not a golden case: it breaks the engine's promises on
// purpose (a diff.Sensitive inside a list, a Sensitive flag on a value
// that is present) to show the renderers hide secrets anyway.
func careless() *engine.Plan {
	return plan(
		chg(bob, engine.Create, "bob", "", 0,
			fc("passwords", nil, []any{diff.Sensitive{Value: canary}}),
			fc("credentials", nil, map[string]any{"secret": diff.Sensitive{Value: canary}}),
			diff.FieldChange{Path: "password", Sensitive: true, New: canary}),
		chg(alice, engine.Update, "alice", "user-aaaa", 0,
			diff.FieldChange{Path: "password", Old: canary, New: canary, Sensitive: true},
			fc("tokens", []any{"a"}, []any{"a", diff.Sensitive{Value: canary}})),
	)
}

// apiError stands in for *pingone.APIError, which render must not import.
type apiError struct {
	Status       int
	Code, Detail string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Detail) }

func resErr(a engine.Address, op engine.Action, err error) error {
	return &engine.ResourceError{Addr: a, Op: op, Err: err}
}

// results are the golden apply results, by name.
var results = map[string]func() *engine.Result{
	"ApplyComplete": func() *engine.Result {
		return &engine.Result{
			Outcomes: []engine.ChangeOutcome{
				{Addr: qa, Action: engine.Create, Outcome: engine.Created, ID: envQA},
				{Addr: testers, Action: engine.Create, Outcome: engine.Created, ID: "pop-1111"},
				{Addr: portal, Action: engine.Update, Outcome: engine.Updated, ID: "app-dddd"},
				{Addr: alice, Action: engine.Create, Outcome: engine.Created, ID: "user-aaaa"},
				{Addr: stalePop, Action: engine.Delete, Outcome: engine.Deleted, ID: "1a2b3c4d"},
			},
			IDs:  map[engine.Address]string{qa: envQA, alice: "user-aaaa"},
			Live: map[engine.Address]engine.Live{alice: {ID: "user-aaaa", Attrs: map[string]any{"password": canary}}},
		}
	},
	"ApplyFailed": func() *engine.Result {
		return &engine.Result{
			Outcomes: []engine.ChangeOutcome{
				{Addr: qa, Action: engine.Create, Outcome: engine.Created, ID: envQA},
				{Addr: testers, Action: engine.Create, Outcome: engine.Failed,
					Err: resErr(testers, engine.Create, &apiError{400, "INVALID_DATA", "name: must not contain \x1b[31m control characters"})},
				{Addr: ciBot, Action: engine.Create, Outcome: engine.Failed,
					Err: resErr(ciBot, engine.Create, fmt.Errorf("assign role Identity Data Admin: %w",
						&apiError{403, "ACCESS_FAILED", "the actor lacks the permission\nrequired for this scope"}))},
				{Addr: alice, Action: engine.Create, Outcome: engine.Skipped, Because: []engine.Address{testers}},
				{Addr: bob, Action: engine.Create, Outcome: engine.Skipped, Because: []engine.Address{testers}},
				{Addr: portal, Action: engine.Update, Outcome: engine.Updated, ID: "app-dddd"},
				{Addr: stalePop, Action: engine.Delete, Outcome: engine.NotStarted, ID: "1a2b3c4d"},
			},
			Live: map[engine.Address]engine.Live{portal: {ID: "app-dddd", Attrs: map[string]any{"clientSecret": canary}}},
		}
	},
	"ApplyInterrupted": func() *engine.Result {
		return &engine.Result{
			Outcomes: []engine.ChangeOutcome{
				{Addr: qa, Action: engine.Create, Outcome: engine.Created, ID: envQA},
				{Addr: testers, Action: engine.Create, Outcome: engine.NotStarted},
				{Addr: alice, Action: engine.Create, Outcome: engine.NotStarted},
			},
		}
	},
}

// events is an apply's progress, in the order OnEvent reports it.
func events() []engine.Event {
	return []engine.Event{
		{Addr: qa, Action: engine.Create, Phase: engine.Started},
		{Addr: qa, Action: engine.Create, Phase: engine.Finished, Outcome: engine.Created, ID: envQA, Duration: 1840 * time.Millisecond},
		{Addr: testers, Action: engine.Create, Phase: engine.Started},
		{Addr: portal, Action: engine.Update, Phase: engine.Started, ID: "app-dddd"},
		{Addr: portal, Action: engine.Update, Phase: engine.Finished, Outcome: engine.Updated, ID: "app-dddd", Duration: 95 * time.Millisecond},
		{Addr: testers, Action: engine.Create, Phase: engine.Finished, Outcome: engine.Failed, Duration: 2140 * time.Millisecond,
			Err: resErr(testers, engine.Create, &apiError{409, "UNIQUENESS_VIOLATION", "a population named Testers exists"})},
		{Addr: alice, Action: engine.Create, Phase: engine.Finished, Outcome: engine.Skipped},
		{Addr: oldEnv, Action: engine.Replace, Phase: engine.Started, ID: envOld},
		{Addr: oldEnv, Action: engine.Replace, Phase: engine.Finished, Outcome: engine.Replaced, ID: "0e0e0e0e-new", Duration: 65 * time.Second},
		{Addr: stalePop, Action: engine.Delete, Phase: engine.Started, ID: "1a2b3c4d"},
		{Addr: stalePop, Action: engine.Delete, Phase: engine.Finished, Outcome: engine.Deleted, ID: "1a2b3c4d", Duration: 120 * time.Millisecond},
		{Addr: bob, Action: engine.Create, Phase: engine.Finished, Outcome: engine.NotStarted},
		{Addr: ciBot, Action: engine.Create, Phase: engine.Finished, Outcome: engine.Failed, Duration: 300 * time.Millisecond,
			Err: errors.New("context deadline exceeded")},
	}
}
