package pingone_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/middleware"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// faults are the failures of the reliability runs: 5xx before the handler,
// dropped connections before it, and dropped connections after a write
// committed.
var faults = middleware.Faults{Error5xx: 0.1, Reset: 0.05, TimeoutAfterCommit: 0.1}

// TestCreatesUnderFaults creates an environment and, concurrently, N
// populations, N users (half with passwords), worker apps with roles and
// web apps with scopes, against an emulator that fails or drops requests,
// for many seeds; exactly the desired objects must exist afterwards, each
// once, with the ids Create returned.
func TestCreatesUnderFaults(t *testing.T) {
	for seed := range int64(16) {
		t.Run(fmt.Sprintf("Seed%d", seed+1), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, emulator.Options{Seed: seed + 1}, emulator.Traffic{Faults: faults})
				c := f.client(t)
				checkCreates(t, pingone.NewProvider(c), 12)
				if st := c.Stats(); st.Retries == 0 {
					t.Errorf("no retries under faults: %+v", st)
				}
			})
		})
	}
}

// TestCreatesUnderFaultsHTTP is the same over real sockets, where Go's
// transport sees the dropped connections.
func TestCreatesUnderFaultsHTTP(t *testing.T) {
	for seed := range int64(2) {
		t.Run(fmt.Sprintf("Seed%d", seed+100), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, emulator.Options{Seed: seed + 100}, emulator.Traffic{Faults: faults})
			origin := httpServer(t, f)
			c, err := pingone.New(config(f.boot.ClientID, f.boot.ClientSecret, f.boot.EnvironmentID, origin))
			if err != nil {
				t.Fatal(err)
			}
			checkCreates(t, pingone.NewProvider(c), 12)
			snap := f.stats.Snapshot()
			if st := c.Stats(); routeCount(snap, "POST /v1/environments/{envID}/users", middleware.StatusReset) == 0 && st.Lookups == 0 {
				t.Logf("seed met no dropped user creates: %+v", st)
			}
		})
	}
}

func checkCreates(t *testing.T, p *pingone.Provider, n int) {
	t.Helper()
	ctx := t.Context()
	env := newEnv(t, p, "reliable")
	envs, err := p.List(ctx, engine.Query{Kind: engine.KindEnvironments})
	if err != nil {
		t.Fatal(err)
	}
	if got := countNamed(envs, "reliable"); got != 1 {
		t.Fatalf("%d environments named reliable, want 1", got)
	}

	var mu sync.Mutex
	created := map[string]engine.Live{} // kind/name -> live
	var wg sync.WaitGroup
	run := func(r engine.Resource) {
		wg.Go(func() {
			r.EnvID = env.ID
			l, err := p.Create(ctx, r)
			if err != nil {
				t.Errorf("create %s: %v", r.Addr, err)
				return
			}
			mu.Lock()
			created[r.Addr.Kind+"/"+strings.ToLower(r.Name)] = l
			mu.Unlock()
		})
	}
	for i := range n {
		run(res(engine.KindPopulations, fmt.Sprint(i), map[string]any{"name": fmt.Sprintf("pop-%02d", i)}))
		u := res(engine.KindUsers, fmt.Sprint(i), map[string]any{"username": fmt.Sprintf("User-%02d", i),
			"email": fmt.Sprintf("u%02d@example.com", i)})
		if i%2 == 0 {
			u.Secrets = map[string]any{"password": map[string]any{"value": fmt.Sprintf("Str0ng-Pass-%02d!", i)}}
		}
		run(u)
	}
	for i := range 3 {
		run(res(engine.KindWorkerApps, fmt.Sprint(i), map[string]any{"name": fmt.Sprintf("worker-%d", i),
			"roles": []any{
				map[string]any{"role": "Identity Data Admin", "scope": map[string]any{"type": "ENVIRONMENT", "id": env.ID}},
				map[string]any{"role": "Client Application Developer", "scope": map[string]any{"type": "ENVIRONMENT", "id": env.ID}},
			}}))
		run(res(engine.KindWebApps, fmt.Sprint(i), map[string]any{"name": fmt.Sprintf("web-%d", i),
			"redirectUris": []any{"https://app.example.com/cb"}, "scopes": []any{"openid", "profile"}}))
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	want := map[string]int{engine.KindPopulations: n + 1, engine.KindUsers: n, engine.KindWorkerApps: 3, engine.KindWebApps: 3}
	for kind, count := range want {
		ls, err := p.List(ctx, engine.Query{Kind: kind, EnvID: env.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != count {
			t.Errorf("%d %s exist, want %d", len(ls), kind, count)
		}
		for _, l := range ls {
			if l.Protected != "" {
				continue
			}
			c, ok := created[kind+"/"+strings.ToLower(l.Name)]
			switch {
			case !ok:
				t.Errorf("%s %q exists but was not created", kind, l.Name)
			case c.ID != l.ID:
				t.Errorf("%s %q: Create returned id %s, PingOne has %s", kind, l.Name, c.ID, l.ID)
			default:
				r := res(kind, "", c.Attrs)
				checkRoundTrip(t, kind, r.Attrs, l) // what Create said is what List says
			}
		}
	}
}

func countNamed(ls []engine.Live, name string) int {
	n := 0
	for _, l := range ls {
		if l.Name == name {
			n++
		}
	}
	return n
}

// TestLag creates an environment on an emulator that, like PingOne, needs
// a few seconds before objects inside a new environment and the roles its
// creator gets for it are in force; children created at once succeed
// after waiting. Without a readiness window they fail.
func TestLag(t *testing.T) {
	t.Run("Ready", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, emulator.Options{Lag: 3 * time.Second}, emulator.Traffic{})
			c := f.client(t)
			p := pingone.NewProvider(c)
			start := time.Now()
			env := newEnv(t, p, "laggy")
			// Users first: they need Identity Data Admin, which the creator
			// got with the environment (403 until it is in force); then a
			// population (404 until the environment is).
			var wg sync.WaitGroup
			for _, r := range []engine.Resource{
				res(engine.KindUsers, "u", map[string]any{"username": "u", "email": "u@example.com"}),
				res(engine.KindPopulations, "p", map[string]any{"name": "P"}),
			} {
				r.EnvID = env.ID
				wg.Go(func() {
					if _, err := p.Create(t.Context(), r); err != nil {
						t.Errorf("create %s: %v", r.Addr, err)
					}
				})
			}
			wg.Wait()
			create(t, p, env.ID, engine.KindWebApps, "w", map[string]any{"name": "w",
				"redirectUris": []any{"https://w.example.com/cb"}, "scopes": []any{"openid"}})
			if elapsed := time.Since(start); elapsed < 3*time.Second {
				t.Errorf("done after %v, before the 3 s lag", elapsed)
			}
			snap := f.stats.Snapshot()
			notFound := routeCount(snap, "POST /v1/environments/{envID}/populations", "404")
			forbidden := routeCount(snap, "POST /v1/environments/{envID}/users", "403")
			if notFound == 0 || forbidden == 0 {
				t.Errorf("the lag produced %d 404s on populations and %d 403s on users; want both", notFound, forbidden)
			}
		})
	})
	t.Run("NoWindow", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, emulator.Options{Lag: 3 * time.Second}, emulator.Traffic{})
			p := pingone.NewProvider(f.client(t, func(c *pingone.Config) { c.ReadinessWindow = -1 }))
			env := newEnv(t, p, "laggy")
			r := res(engine.KindPopulations, "p", map[string]any{"name": "P"})
			r.EnvID = env.ID
			if _, err := p.Create(t.Context(), r); !pingone.IsNotFound(err) {
				t.Errorf("create inside a lagging environment without a readiness window: %v, want a 404", err)
			}
		})
	})
}

// TestDeleteUnderFaults deletes objects through dropped connections: an
// unanswered DELETE that committed counts as done.
func TestDeleteUnderFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{Seed: 42}, emulator.Traffic{
			Faults: middleware.Faults{TimeoutAfterCommit: 0.5, Error5xx: 0.1}})
		p := pingone.NewProvider(f.client(t))
		env := newEnv(t, p, "deletes")
		var ls []engine.Live
		for i := range 10 {
			ls = append(ls, create(t, p, env.ID, engine.KindUsers, fmt.Sprint(i),
				map[string]any{"username": fmt.Sprintf("d%d", i), "email": "d@example.com"}))
		}
		for _, l := range ls {
			if err := p.Delete(t.Context(), l); err != nil {
				t.Errorf("delete %s: %v", l.Name, err)
			}
		}
		left, err := p.List(t.Context(), engine.Query{Kind: engine.KindUsers, EnvID: env.ID})
		if err != nil || len(left) != 0 {
			t.Errorf("after deleting every user: %d left (%v)", len(left), err)
		}
		if n := routeCount(f.stats.Snapshot(), "DELETE /v1/environments/{envID}/users/{userID}", middleware.StatusReset); n == 0 {
			t.Log("no DELETE was dropped after committing with this seed")
		}
	})
}
