package export_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/manifests/export"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// BenchmarkExport10kUsers exports an environment of 10 populations, 10,000
// users, 10 worker apps (one role each) and 10 web apps (with scopes) from
// the in-process emulator: each iteration is one `p1ctl export` run, a new
// client included. Targets: fewer than 100 API calls and under 3 s.
//
//	go test -run '^$' -bench Export -benchtime 3x ./manifests/export/
func BenchmarkExport10kUsers(b *testing.B) {
	e := emulatortest.Start(b, emulatortest.WithSeed(1))
	newProvider := func() (*pingone.Provider, *pingone.Client) {
		c, err := pingone.New(pingone.Config{ClientID: e.ClientID, ClientSecret: e.ClientSecret, EnvironmentID: e.EnvironmentID,
			AuthURL: e.URL, APIURL: e.APIURL, RateLimit: -1})
		if err != nil {
			b.Fatal(err)
		}
		return pingone.NewProvider(c), c
	}
	seed(b, newProvider)
	var calls int64
	var wall time.Duration
	for b.Loop() {
		p, c := newProvider()
		start := time.Now()
		src, err := export.Read(context.Background(), p, export.ReadOptions{Environments: []string{"Bench"}})
		if err != nil {
			b.Fatal(err)
		}
		r, err := export.Build(src, export.Options{PasswordVars: true})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(r.YAML()); n == 0 || r.Count(engine.KindUsers) != 10_000 {
			b.Fatalf("exported %d users in %d bytes", r.Count(engine.KindUsers), n)
		}
		wall += time.Since(start)
		calls += c.Stats().Requests
	}
	b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/op")
}

// seed applies the benchmark's environment through the engine.
func seed(b *testing.B, newProvider func() (*pingone.Provider, *pingone.Client)) {
	b.Helper()
	env := engine.Address{Kind: engine.KindEnvironments, Key: "bench"}
	rs := []engine.Resource{{Addr: env, Name: "Bench", Attrs: map[string]any{"name": "Bench", "region": "NA", "type": "SANDBOX"}}}
	for i := range 10 {
		name := fmt.Sprintf("Pop %d", i)
		rs = append(rs, engine.Resource{Addr: engine.Address{Kind: engine.KindPopulations, Key: fmt.Sprintf("pop-%d", i)}, Env: env,
			Name: name, Attrs: map[string]any{"name": name}})
	}
	for i := range 10_000 {
		u := fmt.Sprintf("user%05d@example.com", i)
		rs = append(rs, engine.Resource{Addr: engine.Address{Kind: engine.KindUsers, Key: fmt.Sprintf("u%d", i)}, Env: env, Name: u,
			Attrs: map[string]any{"username": u, "email": u, "enabled": true, "name": map[string]any{"given": "User", "family": fmt.Sprint(i)},
				"population": map[string]any{"id": engine.Ref{Addr: engine.Address{Kind: engine.KindPopulations, Key: fmt.Sprintf("pop-%d", i%10)}}}}})
	}
	for i := range 10 {
		name := fmt.Sprintf("Worker %d", i)
		rs = append(rs, engine.Resource{Addr: engine.Address{Kind: engine.KindWorkerApps, Key: fmt.Sprintf("w%d", i)}, Env: env, Name: name,
			Attrs: map[string]any{"name": name, "type": "WORKER", "enabled": true, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
				"roles": []any{map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": engine.Ref{Addr: env}}}}}})
		name = fmt.Sprintf("Web %d", i)
		rs = append(rs, engine.Resource{Addr: engine.Address{Kind: engine.KindWebApps, Key: fmt.Sprintf("a%d", i)}, Env: env, Name: name,
			Attrs: map[string]any{"name": name, "type": "WEB_APP", "enabled": true, "redirectUris": []any{"https://app.example/cb"},
				"grantTypes": []any{"AUTHORIZATION_CODE"}, "responseTypes": []any{"CODE"}, "scopes": []any{"openid", "profile"}}})
	}
	p, _ := newProvider()
	ctx := context.Background()
	plan, err := engine.MakePlan(ctx, p, rs, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := engine.Apply(ctx, p, plan, engine.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
}
