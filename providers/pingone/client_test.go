package pingone_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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

const tokenRoute = "POST /{envID}/as/token"

// TestTokenCachedAndCounted checks that the token is fetched once by HTTP
// Basic (the emulator refuses any other method for the bootstrap worker)
// and reused, and that the client counts exactly the requests the emulator
// saw.
func TestTokenCachedAndCounted(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	if _, err := p.Whoami(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(e.URL + "/_emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap middleware.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if n := routeCount(snap, tokenRoute, "200"); n != 1 {
		t.Errorf("token endpoint answered 200 %d times, want 1", n)
	}
	st := p.Client().Stats()
	if st.Requests != snap.Total || st.TokenRequests != 1 || st.Retries != 0 {
		t.Errorf("Stats = %+v; the emulator saw %d requests", st, snap.Total)
	}
}

// TestForcedRefreshOn401 resets the emulator, which forgets the keys that
// signed the cached token: the next call gets a 401, renews the token once
// and succeeds.
func TestForcedRefreshOn401(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	ctx := t.Context()
	if _, err := p.List(ctx, engine.Query{Kind: engine.KindEnvironments}); err != nil {
		t.Fatal(err)
	}
	if err := e.Server.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.List(ctx, engine.Query{Kind: engine.KindEnvironments}); err != nil {
		t.Fatalf("List after the token went bad: %v", err)
	}
	snap := e.stats.Snapshot()
	if n := routeCount(snap, "GET /v1/environments", "401"); n != 1 {
		t.Errorf("GET /v1/environments answered 401 %d times, want 1", n)
	}
	if n := routeCount(snap, tokenRoute, "200"); n != 2 {
		t.Errorf("token endpoint answered 200 %d times, want 2", n)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	e := start(t)
	const canary = "Secret-Canary-7c1f"
	logs := &logBuffer{}
	p := e.provider(t, func(c *pingone.Config) { c.ClientSecret = canary; c.Logger = debugLogger(logs) })
	_, err := p.Whoami(t.Context())
	var te *pingone.TokenError
	if !errors.As(err, &te) || te.Status != http.StatusUnauthorized || te.Code != "invalid_client" {
		t.Fatalf("Whoami with a wrong secret: %v, want a 401 invalid_client TokenError", err)
	}
	if strings.Contains(err.Error(), canary) || strings.Contains(logs.String(), canary) {
		t.Errorf("the client secret leaked: %q / %q", err, logs.String())
	}
	if !strings.Contains(err.Error(), pingone.EnvClientSecret) {
		t.Errorf("error %q does not say which settings to check", err)
	}
	if n := routeCount(e.stats.Snapshot(), tokenRoute, ""); n != 1 {
		t.Errorf("a rejected client was asked for a token %d times, want 1 (no retry)", n)
	}
}

func TestAPIError(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	env := newEnv(t, p, "errs")
	create(t, p, env.ID, engine.KindPopulations, "a", map[string]any{"name": "Twice"})
	r := res(engine.KindPopulations, "b", map[string]any{"name": "Twice"})
	r.EnvID = env.ID
	_, err := p.Create(t.Context(), r)
	var ae *pingone.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("duplicate population: %v, want an *APIError", err)
	}
	if ae.Status != 400 || ae.Code != "INVALID_DATA" || ae.ID == "" || len(ae.Details) != 1 ||
		ae.Details[0].Code != "UNIQUENESS_VIOLATION" || ae.Details[0].Target != "name" || ae.Details[0].Message == "" {
		t.Errorf("APIError = %+v", ae)
	}
	if ae.Method != "POST" || ae.Route != "/environments/"+env.ID+"/populations" {
		t.Errorf("APIError names %s %s", ae.Method, ae.Route)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, ae.Details[0].Message) || !strings.Contains(msg, "400 INVALID_DATA") {
		t.Errorf("Error() = %q; want one line with status, code and the detail message", msg)
	}
	if !pingone.IsUniquenessViolation(err) || !pingone.IsInvalidData(err) || pingone.IsNotFound(err) || pingone.IsForbidden(err) {
		t.Errorf("predicates disagree with %v", err)
	}
	wrapped := fmt.Errorf("populations.b: %w", err)
	if !pingone.IsUniquenessViolation(wrapped) {
		t.Error("IsUniquenessViolation does not see through wrapping")
	}
}

// TestPasswordImport checks that a user with a password is created by one
// POST with the user-import media type, and that the password is set.
func TestPasswordImport(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t)
	env := newEnv(t, p, "pw")
	before := e.stats.Snapshot()
	r := res(engine.KindUsers, "dave", map[string]any{"username": "dave", "email": "dave@example.com"})
	r.Secrets = map[string]any{"password": map[string]any{"value": "Tr0ub4dor&3-x", "forceChange": true}}
	u := createRes(t, p, env.ID, r)
	after := e.stats.Snapshot()
	var writes int64
	for route, counts := range after.Routes {
		if strings.HasPrefix(route, "GET ") {
			continue
		}
		for st, n := range counts {
			writes += n - before.Routes[route][st]
		}
	}
	if n := routeCount(after, "POST /v1/environments/{envID}/users", "201") - routeCount(before, "POST /v1/environments/{envID}/users", "201"); n != 1 || writes != 1 {
		t.Errorf("created a user with a password in %d POSTs and %d writes, want 1 and 1", n, writes)
	}
	resp, err := e.Client.Get(e.APIURL + "/environments/" + env.ID + "/users/" + u.ID + "/password")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil || state.Status != "MUST_CHANGE_PASSWORD" {
		t.Errorf("password state %q (%v), want MUST_CHANGE_PASSWORD", state.Status, err)
	}
}

// TestNoSecretsInErrorsOrLogs fails a user import and a password set with
// canary values, with retries logged at debug level, and checks that no
// error or log line holds a password, the client secret or a token.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{Seed: 5}, emulator.Traffic{Faults: middleware.Faults{Error5xx: 0.5}})
	srv := httpServer(t, f)
	logs := &logBuffer{}
	c, err := pingone.New(func() pingone.Config {
		cfg := config(f.boot.ClientID, f.boot.ClientSecret, f.boot.EnvironmentID, srv)
		cfg.Logger = debugLogger(logs)
		return cfg
	}())
	if err != nil {
		t.Fatal(err)
	}
	p := pingone.NewProvider(c)
	env := newEnv(t, p, "canary")
	const pw = "Canary-Passw0rd-91ab!"
	r := res(engine.KindUsers, "u", map[string]any{"username": "eve", "email": "not an email"})
	r.EnvID = env.ID
	r.Secrets = map[string]any{"password": map[string]any{"value": pw}}
	_, createErr := p.Create(t.Context(), r)
	if !pingone.IsInvalidData(createErr) {
		t.Fatalf("create with a bad email: %v, want INVALID_DATA", createErr)
	}
	r.Attrs["email"] = "eve@example.com"
	u, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	r.Secrets = map[string]any{"password": map[string]any{"value": "Zq1!"}}
	_, updateErr := p.Update(t.Context(), r, u)
	if updateErr == nil {
		t.Fatal("a password that breaks the policy was accepted")
	}
	for _, text := range []string{createErr.Error(), updateErr.Error(), logs.String(), fmt.Sprintf("%v %#v", c, p)} {
		for _, secret := range []string{pw, "Zq1!", f.boot.ClientSecret, "eyJ", "Bearer"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q leaked into %q", secret, text)
			}
		}
	}
	if st := c.Stats(); st.Retries == 0 {
		t.Errorf("no retries: %+v, %+v", st, f.stats.Snapshot())
	}
	if !strings.Contains(logs.String(), "retry") {
		t.Error("retries were not logged at debug level")
	}
}

// TestPaging lists 2,500 users in three pages of 1,000 by following
// _links.next.
func TestPaging(t *testing.T) {
	t.Parallel()
	e := start(t)
	p := e.provider(t, func(c *pingone.Config) { c.Concurrency = 16 })
	env := newEnv(t, p, "paging")
	const n = 2500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("user%04d", i)
			r := res(engine.KindUsers, name, map[string]any{"username": name, "email": name + "@example.com"})
			r.EnvID = env.ID
			if _, err := p.Create(t.Context(), r); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.stats.Reset()
	users, err := p.List(t.Context(), engine.Query{Kind: engine.KindUsers, EnvID: env.ID})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range users {
		seen[u.Name] = true
	}
	if len(users) != n || len(seen) != n {
		t.Errorf("listed %d users (%d distinct), want %d", len(users), len(seen), n)
	}
	if got := routeCount(e.stats.Snapshot(), "GET /v1/environments/{envID}/users", "200"); got != 3 {
		t.Errorf("listing %d users took %d pages, want 3", n, got)
	}
}

// ---- time-dependent behaviour, in synctest bubbles ------------------------

// TestRetryAfter429 runs against the emulator's rate limiter (1 request per
// second): every refused request is retried after its Retry-After, and the
// wait shows as throttled time.
func TestRetryAfter429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{}, emulator.Traffic{RateLimit: 1, Burst: 1})
		c := f.client(t)
		p := pingone.NewProvider(c)
		start := time.Now()
		for range 3 {
			if _, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
				t.Fatalf("List: %v", err)
			}
		}
		snap := f.stats.Snapshot()
		limited := routeCount(snap, "GET /v1/environments", "429")
		st := c.Stats()
		if limited == 0 || st.Retries != limited {
			t.Errorf("%d answers were 429 and the client retried %d times", limited, st.Retries)
		}
		// Token + 3 lists at 1/s: the last list goes out no sooner than 3 s
		// after the first request.
		if elapsed := time.Since(start); elapsed < 3*time.Second {
			t.Errorf("3 lists took %v at 1 request/s, want >= 3s", elapsed)
		}
		if st.Throttled < time.Duration(limited)*time.Second {
			t.Errorf("throttled %v after %d Retry-After: 1 answers", st.Throttled, limited)
		}
	})
}

// TestClientRateLimit checks that the client-side limiter keeps under the
// server's limit, so nothing is refused.
func TestClientRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{}, emulator.Traffic{RateLimit: 10, Burst: 10})
		c := f.client(t, func(cfg *pingone.Config) { cfg.RateLimit = 5 })
		p := pingone.NewProvider(c)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := routeCount(f.stats.Snapshot(), "GET /v1/environments", "429"); n != 0 {
			t.Errorf("%d requests were refused", n)
		}
		if st := c.Stats(); st.Throttled == 0 {
			t.Errorf("Stats %+v show no time waiting on the limiter", st)
		}
	})
}

// TestRetry5xxAndResets checks that 5xx answers and dropped connections on
// reads are retried, and that every retry matches one failed request.
func TestRetry5xxAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{Seed: 3}, emulator.Traffic{Faults: middleware.Faults{Error5xx: 0.3, Reset: 0.1}})
		c := f.client(t)
		p := pingone.NewProvider(c)
		for range 20 {
			if _, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
				t.Fatalf("List: %v", err)
			}
		}
		snap := f.stats.Snapshot()
		var failed int64
		for _, counts := range snap.Routes {
			for st, n := range counts {
				if st == middleware.StatusReset || strings.HasPrefix(st, "5") {
					failed += n
				}
			}
		}
		st := c.Stats()
		if failed == 0 || st.Retries != failed || st.Requests != snap.Total {
			t.Errorf("Stats %+v; the emulator failed %d of %d requests", st, failed, snap.Total)
		}
	})
}

// TestRetriesBounded checks that without retries a 5xx is returned as an
// APIError at once.
func TestRetriesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{Seed: 11}, emulator.Traffic{Faults: middleware.Faults{Error5xx: 0.5}})
		c := f.client(t, func(cfg *pingone.Config) { cfg.MaxRetries = 2 })
		p := pingone.NewProvider(c)
		var err error
		for range 50 {
			if _, err = p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
				break
			}
		}
		var ae *pingone.APIError
		var te *pingone.TokenError
		switch {
		case errors.As(err, &ae):
			if ae.Status < 500 || ae.Code != "UNEXPECTED_ERROR" {
				t.Errorf("after the retries: %v, want the 5xx", err)
			}
		case errors.As(err, &te):
			if te.Status < 500 {
				t.Errorf("after the retries: %v, want the 5xx", err)
			}
		default:
			t.Fatalf("50 lists at 50%% failure with 2 retries each never failed: %v", err)
		}
		if st := c.Stats(); st.Requests != f.stats.Snapshot().Total {
			t.Errorf("Stats %+v disagree with the emulator's %d requests", st, f.stats.Snapshot().Total)
		}
	})
}

// TestRequestTimeout checks that each attempt is bounded by
// RequestTimeout, and the number of attempts by MaxRetries.
func TestRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{}, emulator.Traffic{Faults: middleware.Faults{Latency: time.Minute}})
		c := f.client(t, func(cfg *pingone.Config) { cfg.RequestTimeout, cfg.MaxRetries = 2*time.Second, 2 })
		start := time.Now()
		_, err := pingone.NewProvider(c).List(t.Context(), engine.Query{Kind: engine.KindEnvironments})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("List against a server that never answers: %v, want a deadline error", err)
		}
		// 3 attempts of 2 s plus backoff (at most 250 ms + 500 ms).
		if elapsed := time.Since(start); elapsed < 6*time.Second || elapsed > 7*time.Second {
			t.Errorf("gave up after %v, want 3 attempts of 2 s", elapsed)
		}
		if st := c.Stats(); st.Requests != 3 {
			t.Errorf("Stats %+v, want 3 requests", st)
		}
	})
}

// TestTokenRefreshBeforeExpiry checks that tokens are renewed ahead of
// expiry, so no call meets an expired token: at 3/4 of a short lifetime,
// and 2 minutes early for an hour-long one.
func TestTokenRefreshBeforeExpiry(t *testing.T) {
	cases := map[string]struct {
		ttl, stay, renewBy time.Duration
	}{
		"Seconds": {ttl: 8 * time.Second, stay: 5 * time.Second, renewBy: 7 * time.Second},
		"Hour":    {ttl: time.Hour, stay: 57 * time.Minute, renewBy: 59 * time.Minute},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, emulator.Options{TokenTTL: tc.ttl}, emulator.Traffic{})
				c := f.client(t)
				p := pingone.NewProvider(c)
				list := func() {
					t.Helper()
					if _, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
						t.Fatal(err)
					}
				}
				list()
				time.Sleep(tc.stay)
				list()
				if n := c.Stats().TokenRequests; n != 1 {
					t.Errorf("after %v of a %v token: %d token requests, want 1", tc.stay, tc.ttl, n)
				}
				time.Sleep(tc.renewBy - tc.stay)
				list()
				time.Sleep(tc.ttl) // well past the first token's expiry
				list()
				if n := c.Stats().TokenRequests; n != 3 {
					t.Errorf("%d token requests, want 3", n)
				}
				if n := routeCount(f.stats.Snapshot(), "GET /v1/environments", "401"); n != 0 {
					t.Errorf("%d calls met an expired token", n)
				}
			})
		})
	}
}

// TestTokenTTLUnderLoad runs many calls across several token lifetimes of
// 3 s: none fails.
func TestTokenTTLUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, emulator.Options{TokenTTL: 3 * time.Second}, emulator.Traffic{})
		c := f.client(t)
		p := pingone.NewProvider(c)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 20 {
					time.Sleep(time.Duration(300+w*70+i) * time.Millisecond)
					if _, err := p.List(t.Context(), engine.Query{Kind: engine.KindEnvironments}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := routeCount(f.stats.Snapshot(), "GET /v1/environments", "401"); n != 0 {
			t.Errorf("%d calls met an expired token", n)
		}
	})
}

// httpServer serves the fixture over a real loopback socket and returns
// its origin.
func httpServer(t *testing.T, f *fixture) string {
	t.Helper()
	ts := httptest.NewServer(f.handler)
	t.Cleanup(ts.Close)
	return ts.URL
}
