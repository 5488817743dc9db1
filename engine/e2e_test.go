package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/middleware"
	"github.com/p1ctl/p1ctl/emulator/store"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/manifests"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// These tests run the engine end to end: manifests -> engine -> the real
// PingOne client -> the emulator over loopback HTTP (or, where time must be
// fake, an in-process RoundTripper inside a synctest bubble).

// server is an emulator for one test or benchmark, with its counters.
type server struct {
	db    *store.DB
	stats *middleware.Stats
	url   string // origin: the auth base; url+"/v1" is the API base
	boot  emulator.Bootstrap
}

// openStore opens a store in dir ("" keeps it in memory) and closes it when
// the test ends, after every server over it has stopped.
func openStore(tb testing.TB, dir string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), dir)
	if err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// serve runs an emulator over db with traffic tr on a loopback httptest
// server until the test ends. Several servers may share one store.
func serve(tb testing.TB, db *store.DB, opts emulator.Options, tr emulator.Traffic) *server {
	tb.Helper()
	opts.Store = db
	srv, err := emulator.New(context.Background(), opts)
	if err != nil {
		tb.Fatalf("emulator.New: %v", err)
	}
	s := &server{db: db, boot: srv.Bootstrap()}
	s.stats = srv.Instrument(tr)
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// config is a client configuration for the bootstrap worker of s: no
// client-side rate limit, and retries fast enough that faults cost
// milliseconds (a 503's or 429's Retry-After: 1 is capped at 20 ms).
func (s *server) config() pingone.Config {
	return pingone.Config{
		ClientID: s.boot.ClientID, ClientSecret: s.boot.ClientSecret, EnvironmentID: s.boot.EnvironmentID,
		AuthURL: s.url, APIURL: s.url + "/v1",
		RateLimit: -1, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond,
		MaxRetryAfter: 20 * time.Millisecond,
	}
}

// provider returns a Provider signed in as the bootstrap worker; mods
// change its configuration.
func (s *server) provider(tb testing.TB, mods ...func(*pingone.Config)) *pingone.Provider {
	tb.Helper()
	cfg := s.config()
	for _, m := range mods {
		m(&cfg)
	}
	c, err := pingone.New(cfg)
	if err != nil {
		tb.Fatalf("pingone.New: %v", err)
	}
	return pingone.NewProvider(c)
}

// appSecret reads an application's client secret through the API as the
// bootstrap worker (GET …/applications/{appID}/secret).
func (s *server) appSecret(tb testing.TB, envID, appID string) string {
	tb.Helper()
	tok := s.token(tb, s.boot.EnvironmentID, s.boot.ClientID, s.boot.ClientSecret)
	req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/environments/"+envID+"/applications/"+appID+"/secret", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	var body struct {
		Secret string `json:"secret"`
	}
	doJSON(tb, req, &body)
	if body.Secret == "" {
		tb.Fatalf("application %s has no secret", appID)
	}
	return body.Secret
}

// token gets an access token by client_credentials with HTTP Basic.
func (s *server) token(tb testing.TB, envID, clientID, secret string) string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/"+envID+"/as/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	doJSON(tb, req, &body)
	return body.AccessToken
}

// doJSON sends req and decodes a 2xx JSON answer into v.
func doJSON(tb testing.TB, req *http.Request, v any) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			tb.Fatalf("%s %s: decode: %v", req.Method, req.URL.Path, err)
		}
	}
}

// fleetPassword is every generated user's password (from ${FLEET_PASSWORD});
// it satisfies the emulator's Standard password policy.
const fleetPassword = "Fl33t-Passw0rd!"

// fleet is a generated manifest: one environment named env holding pops
// populations, users users spread over them (every other one with a
// password), workers worker apps with one role each and webs web apps with
// scopes.
type fleet struct {
	env                        string
	pops, users, workers, webs int
}

// size is the number of resources of the fleet.
func (f fleet) size() int { return 1 + f.pops + f.users + f.workers + f.webs }

// yaml writes the fleet as a manifest. Roles cycle through what the
// bootstrap worker may grant in an environment it created: Identity Data
// Admin for the environment, Client Application Developer for it, and
// Identity Data Admin for one population. Web apps alternate between
// setting every OIDC field and leaving token endpoint method, PKCE and
// logout URIs to their defaults.
func (f fleet) yaml() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: p1ctl/v1\nenvironments:\n  fleet:\n    name: %s\n    region: NA\n    type: SANDBOX\n"+
		"    description: Generated by engine tests\n", f.env)
	b.WriteString("populations:\n")
	for i := range f.pops {
		fmt.Fprintf(&b, "  p%02d:\n    environment: fleet\n    name: Population %02d\n    description: Generated\n", i, i)
	}
	b.WriteString("users:\n")
	for i := range f.users {
		fmt.Fprintf(&b, "  u%05d:\n    environment: fleet\n    population: p%02d\n    username: user%05d\n"+
			"    email: user%05d@example.com\n    name: {given: User, family: Number%d}\n    enabled: true\n", i, i%f.pops, i, i, i)
		if i%2 == 0 {
			b.WriteString("    password:\n      value: ${FLEET_PASSWORD}\n      forceChange: false\n")
		}
	}
	if f.workers > 0 {
		b.WriteString("workerApps:\n")
	}
	for i := range f.workers {
		fmt.Fprintf(&b, "  w%03d:\n    environment: fleet\n    name: Worker %03d\n    roles:\n", i, i)
		switch i % 3 {
		case 0:
			b.WriteString("      - role: Identity Data Admin\n        scope: {environment: fleet}\n")
		case 1:
			b.WriteString("      - role: Client Application Developer\n        scope: {environment: fleet}\n")
		default:
			fmt.Fprintf(&b, "      - role: Identity Data Admin\n        scope: {population: p%02d}\n", i%f.pops)
		}
	}
	if f.webs > 0 {
		b.WriteString("webApps:\n")
	}
	for i := range f.webs {
		fmt.Fprintf(&b, "  web%03d:\n    environment: fleet\n    name: Web %03d\n    redirectUris: [https://web%d.example.com/callback]\n", i, i, i)
		if i%2 == 0 {
			b.WriteString("    postLogoutRedirectUris: []\n    grantTypes: [AUTHORIZATION_CODE]\n    responseTypes: [CODE]\n" +
				"    tokenEndpointAuthMethod: CLIENT_SECRET_BASIC\n    pkceEnforcement: OPTIONAL\n    scopes: [openid, profile, email]\n")
		} else {
			b.WriteString("    grantTypes: [AUTHORIZATION_CODE]\n    responseTypes: [CODE]\n    scopes: [openid, profile]\n")
		}
	}
	return []byte(b.String())
}

// resources loads the fleet's manifest and returns its desired state.
func (f fleet) resources(tb testing.TB) []engine.Resource {
	tb.Helper()
	return load(tb, manifests.File{Name: "fleet.yaml", Data: f.yaml()})
}

// load loads manifests with FLEET_PASSWORD and ALICE_PASSWORD set.
func load(tb testing.TB, files ...manifests.File) []engine.Resource {
	tb.Helper()
	res, err := manifests.LoadFiles(manifests.Options{Getenv: func(k string) string {
		switch k {
		case "FLEET_PASSWORD":
			return fleetPassword
		case "ALICE_PASSWORD":
			return "Al1ce-Getting-Started!"
		}
		return ""
	}}, files...)
	if err != nil {
		tb.Fatalf("load manifest: %v", err)
	}
	return res.Manifest.Resources()
}

func addr(kind, key string) engine.Address { return engine.Address{Kind: kind, Key: key} }

// describe lists a plan's changes, for failure messages.
func describe(p *engine.Plan) string {
	var b strings.Builder
	for _, c := range p.Changes {
		if c.Action == engine.NoOp {
			continue
		}
		fmt.Fprintf(&b, "  %s %s:", c.Action, c.Addr)
		for _, f := range c.Fields {
			fmt.Fprintf(&b, " %s=%v->%v", f.Path, f.Old, f.New)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestEngineRoundTrip applies the getting-started example to an empty
// organization; a second plan must find nothing to change.
func TestEngineRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	files, err := manifests.ReadFiles("../manifests/examples/getting-started.yaml")
	if err != nil {
		t.Fatal(err)
	}
	desired := load(t, files...)
	s := serve(t, openStore(t, ""), emulator.Options{Seed: 1}, emulator.Traffic{})
	p := s.provider(t)

	plan, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	if got := plan.Summary(); got != (engine.Summary{Create: len(desired)}) {
		t.Errorf("first plan: %+v, want %d creates", got, len(desired))
	}
	if err := engine.Preflight(plan); err != nil {
		t.Errorf("Preflight: %v", err)
	}
	res, err := engine.Apply(ctx, p, plan, engine.ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, o := range res.Outcomes {
		if o.Outcome != engine.Created {
			t.Errorf("%s: %s, want created", o.Addr, o.Outcome)
		}
	}
	for _, r := range desired {
		if res.IDs[r.Addr] == "" {
			t.Errorf("Result.IDs has no id for %s", r.Addr)
		}
	}

	again, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatalf("second MakePlan: %v", err)
	}
	if again.HasChanges() {
		t.Errorf("second plan has changes; every resource must round-trip:\n%s", describe(again))
	}
	if err := engine.Preflight(again); err != nil {
		t.Errorf("Preflight of the second plan: %v", err)
	}
	for _, c := range again.Changes {
		if c.ID != res.IDs[c.Addr] {
			t.Errorf("%s: planned against %s, apply created %s", c.Addr, c.ID, res.IDs[c.Addr])
		}
	}
}

// reliabilityFaults are the failures of the reliability runs: 5xx and 429
// before the handler, dropped connections before it, and dropped
// connections after a write committed.
var reliabilityFaults = middleware.Faults{Error5xx: 0.05, TooMany: 0.05, Reset: 0.02, TimeoutAfterCommit: 0.05}

// TestReliabilityUnderFaults applies ~500 resources through faults, for
// several seeds, and checks through a fault-free server over the same
// store that live state is exactly the manifest, with no duplicates. It
// allows up to three plan+apply rounds to get there and logs how many it
// took, but more than one fails the test: the client's retries and
// look-ups should absorb every fault.
//
// Each seed is one apply of about 650 requests of which ~15% fail, 5-10 s
// with -race on two shared cores, two seeds at a time. The default run does
// seeds 1-4 (10-20 s), -short seeds 1-2; soak more with
// go test ./engine -run TestReliab -args -soak 50 (seeds 1-50).
func TestReliabilityUnderFaults(t *testing.T) {
	n := 4
	switch {
	case *soak > 0:
		n = *soak
	case testing.Short():
		n = 2
	}
	f := fleet{env: "Reliability", pops: 5, users: 480, workers: 5, webs: 5}
	desired := f.resources(t)
	if len(desired) != f.size() || f.size() < 490 {
		t.Fatalf("fleet has %d resources, want %d", len(desired), f.size())
	}
	for seed := int64(1); seed <= int64(n); seed++ {
		t.Run(fmt.Sprintf("Seed%d", seed), func(t *testing.T) {
			t.Parallel()
			checkConverges(t, seed, f, desired)
		})
	}
}

// Soak settings of TestReliabilityUnderFaults (after -args).
var (
	soak       = flag.Int("soak", 0, "run TestReliabilityUnderFaults for this many seeds")
	soakFaults = flag.String("faults", "", "faults of TestReliabilityUnderFaults instead of reliabilityFaults, e.g. 5xx=0.1,reset=0.05")
	soakLag    = flag.Duration("lag", 0, "eventual-consistency lag of TestReliabilityUnderFaults")
)

func checkConverges(t *testing.T, seed int64, f fleet, desired []engine.Resource) {
	ctx := t.Context()
	db := openStore(t, "")
	faults := reliabilityFaults
	if *soakFaults != "" {
		var err error
		if faults, err = middleware.ParseFaults(*soakFaults); err != nil {
			t.Fatal(err)
		}
	}
	s := serve(t, db, emulator.Options{Seed: seed, Lag: *soakLag}, emulator.Traffic{Faults: faults})
	p := s.provider(t)

	const maxRounds = 3
	applies, converged := 0, false
	for round := 0; round <= maxRounds && !converged; round++ {
		plan, err := engine.MakePlan(ctx, p, desired, engine.Options{})
		switch {
		case err != nil:
			t.Errorf("plan %d failed under faults: %v", round+1, err)
		case !plan.HasChanges():
			converged = true
		case applies < maxRounds:
			applies++
			if err := engine.Preflight(plan); err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			if _, err := engine.Apply(ctx, p, plan, engine.ApplyOptions{}); err != nil {
				t.Errorf("apply %d (%d changes) failed under faults: %v", applies, len(plan.Changes)-plan.Summary().NoOp, err)
			}
		}
	}
	snap := s.stats.Snapshot()
	st := p.Client().Stats()
	t.Logf("seed %d: %d apply round(s); %d requests, faults: %s; client: %d retries, %d look-ups, %d token requests",
		seed, applies, snap.Total, faultCounts(snap), st.Retries, st.Lookups, st.TokenRequests)
	if !converged {
		t.Fatalf("not converged after %d applies", applies)
	}
	if applies > 1 {
		t.Errorf("needed %d applies; one should absorb the faults", applies)
	}

	// Judge through a second server over the same store, without faults,
	// and through the store itself, which shares no code with the client.
	clean := serve(t, db, emulator.Options{}, emulator.Traffic{})
	check, err := engine.MakePlan(ctx, clean.provider(t), desired, engine.Options{Prune: true})
	if err != nil {
		t.Fatalf("fault-free MakePlan: %v", err)
	}
	if check.HasChanges() {
		t.Errorf("live state differs from the manifest:\n%s", describe(check))
	}
	checkNoDuplicates(t, db, f)
}

// faultCounts sums the emulator's answers by fault outcome.
func faultCounts(snap middleware.Snapshot) string {
	n := map[string]int64{}
	for _, byStatus := range snap.Routes {
		for st, c := range byStatus {
			switch {
			case st == middleware.StatusReset, st == "429", strings.HasPrefix(st, "5"):
				n[st] += c
			}
		}
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n[k]))
	}
	return strings.Join(parts, " ")
}

// checkNoDuplicates counts, in the store, environments per name, and in the
// fleet's environment populations per name, users per username,
// applications per name, role assignments per (application, role, scope)
// and grants per (application, resource), and the fleet's totals.
func checkNoDuplicates(t *testing.T, db *store.DB, f fleet) {
	t.Helper()
	ctx := t.Context()
	list := func(kind, envID string) []map[string]any {
		page, err := db.List(ctx, store.ListQuery{Kind: store.Kind(kind), EnvID: envID})
		if err != nil {
			t.Fatalf("store: list %s: %v", kind, err)
		}
		out := make([]map[string]any, len(page.Items))
		for i, o := range page.Items {
			if err := json.Unmarshal(o.Doc, &out[i]); err != nil {
				t.Fatalf("store: %s %s: %v", kind, o.ID, err)
			}
			out[i]["@parent"] = o.ParentID
			out[i]["@private"] = len(o.Private) > 0 && string(o.Private) != "null"
		}
		return out
	}
	str := func(m map[string]any, path ...string) string {
		var v any = m
		for _, k := range path {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		s, _ := v.(string)
		return s
	}
	dups := func(what string, docs []map[string]any, key func(map[string]any) string) map[string]int {
		n := map[string]int{}
		for _, d := range docs {
			n[key(d)]++
		}
		for k, c := range n {
			if c > 1 {
				t.Errorf("%s %q exists %d times", what, k, c)
			}
		}
		return n
	}
	envs := dups("environment", list("environments", ""), func(d map[string]any) string { return str(d, "name") })
	if envs[f.env] != 1 {
		t.Fatalf("%d environments named %q, want 1", envs[f.env], f.env)
	}
	var envID string
	for _, d := range list("environments", "") {
		if str(d, "name") == f.env {
			envID = str(d, "id")
		}
	}
	pops := dups("population", list("populations", envID), func(d map[string]any) string { return str(d, "name") })
	userDocs := list("users", envID)
	users := dups("user", userDocs, func(d map[string]any) string { return strings.ToLower(str(d, "username")) })
	for _, u := range userDocs {
		// The fleet gives even-numbered users a password: write-only, so
		// only the store can tell that it was set.
		var i int
		fmt.Sscanf(str(u, "username"), "user%d", &i)
		if has := u["@private"] == true; has != (i%2 == 0) {
			t.Errorf("user %s: password set is %v, want %v", str(u, "username"), has, i%2 == 0)
		}
	}
	apps := list("applications", envID)
	dups("application", apps, func(d map[string]any) string { return str(d, "name") })
	ras := dups("role assignment", list("roleAssignments", envID), func(d map[string]any) string {
		return str(d, "@parent") + " " + str(d, "role", "id") + " " + str(d, "scope", "type") + " " + str(d, "scope", "id")
	})
	grants := dups("grant", list("grants", envID), func(d map[string]any) string {
		return str(d, "@parent") + " " + str(d, "resource", "id")
	})
	workers, webs := 0, 0
	for _, a := range apps {
		switch {
		case str(a, "type") == "WORKER":
			workers++
		case str(a, "type") == "WEB_APP":
			webs++
		}
	}
	got := fmt.Sprintf("%d populations, %d users, %d worker apps, %d web apps, %d role assignments, %d grants",
		len(pops), len(users), workers, webs, len(ras), len(grants))
	want := fmt.Sprintf("%d populations, %d users, %d worker apps, %d web apps, %d role assignments, %d grants",
		f.pops+1, f.users, f.workers, f.webs, f.workers, f.webs) // +1: the Default population
	if got != want {
		t.Errorf("the environment holds %s; want %s", got, want)
	}
}

// TestEngineTokenExpiryMidApply applies ~300 users to an emulator whose
// tokens live 3 s, at parallelism 4, slowly enough that the apply spans
// several token lifetimes (7-8 s): through a client limited to 40 requests
// a second, or through 100 ms of server latency per request. It runs in a
// synctest bubble with an in-process RoundTripper, so those seconds are
// fake and cost no wall time under -race. ServerClockJumps also moves the
// server's clock an hour ahead mid-apply: tokens the client still trusts
// are refused (401) and the one forced refresh must renew them.
//
// ServerLatency relies on the client waiting for a token renewal on a
// channel: a goroutine waiting on a sync.Mutex is not durably blocked, so
// while one renewal sleeps in the latency fault the bubble's clock would
// never move and the test would hang.
func TestEngineTokenExpiryMidApply(t *testing.T) {
	cases := map[string]struct {
		rate    float64
		latency time.Duration
		jump    bool
	}{
		"RefreshBeforeExpiry": {rate: 40},
		"ServerLatency":       {rate: -1, latency: 100 * time.Millisecond},
		"ServerClockJumps":    {rate: 40, jump: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var skew atomic.Int64
				db := openStore(t, "")
				srv, err := emulator.New(context.Background(), emulator.Options{Store: db, Seed: 7, TokenTTL: 3 * time.Second,
					Clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
				if err != nil {
					t.Fatal(err)
				}
				stats := srv.Instrument(emulator.Traffic{Faults: middleware.Faults{Latency: tc.latency}})
				boot := srv.Bootstrap()
				c, err := pingone.New(pingone.Config{ClientID: boot.ClientID, ClientSecret: boot.ClientSecret,
					EnvironmentID: boot.EnvironmentID, AuthURL: inProcessOrigin, APIURL: inProcessOrigin + "/v1",
					RateLimit: tc.rate, HTTPClient: &http.Client{Transport: inProcess{srv.Handler()}}})
				if err != nil {
					t.Fatal(err)
				}
				p := pingone.NewProvider(c)
				desired := fleet{env: "Tokens", pops: 3, users: 300, workers: 2, webs: 2}.resources(t)
				plan, err := engine.MakePlan(t.Context(), p, desired, engine.Options{})
				if err != nil {
					t.Fatalf("MakePlan: %v", err)
				}
				start := time.Now()
				var done atomic.Int64
				_, err = engine.Apply(t.Context(), p, plan, engine.ApplyOptions{Parallelism: 4, OnEvent: func(e engine.Event) {
					if e.Phase == engine.Finished && done.Add(1) == 150 && tc.jump {
						skew.Store(int64(time.Hour))
					}
				}})
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				elapsed := time.Since(start)
				st := c.Stats()
				unauthorized := int64(0)
				for _, byStatus := range stats.Snapshot().Routes {
					unauthorized += byStatus["401"]
				}
				t.Logf("apply took %v of fake time: %d token requests, %d requests answered 401, %d retries",
					elapsed, st.TokenRequests, unauthorized, st.Retries)
				if elapsed < 6*time.Second {
					t.Errorf("the apply took %v, less than two token lifetimes", elapsed)
				}
				if st.TokenRequests < 2 {
					t.Errorf("%d token requests over %v with 3 s tokens, want several", st.TokenRequests, elapsed)
				}
				if tc.jump && unauthorized == 0 {
					t.Errorf("the server's clock jumped an hour, yet no request was refused")
				}
				again, err := engine.MakePlan(t.Context(), p, desired, engine.Options{})
				if err != nil {
					t.Fatalf("MakePlan after the apply: %v", err)
				}
				if again.HasChanges() {
					t.Errorf("plan after the apply has changes:\n%s", describe(again))
				}
			})
		})
	}
}

// inProcessOrigin is the origin clients use to reach an in-process server;
// nothing listens there.
const inProcessOrigin = "http://127.0.0.1:9"

// inProcess is an http.RoundTripper that calls a handler directly, so that
// it works inside a synctest bubble. A handler that drops the connection
// (panics with http.ErrAbortHandler) is reported as a transport error.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	sr := r.Clone(r.Context())
	sr.Host = r.URL.Host
	sr.RequestURI = r.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:40000"
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			resp, err = nil, errors.New("connection reset by peer")
		}
	}()
	t.h.ServeHTTP(rec, sr)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = r
	return res, nil
}

// TestEnginePreflightMissingRole signs in as a worker app that holds only
// Identity Data Admin for one environment and plans a new environment:
// Preflight must name the resource and the role it lacks.
func TestEnginePreflightMissingRole(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := serve(t, openStore(t, ""), emulator.Options{Seed: 4}, emulator.Traffic{})
	admin := s.provider(t)

	// The limited worker app, made with the engine as a manifest would.
	setup := load(t, manifests.File{Name: "setup.yaml", Data: []byte(`apiVersion: p1ctl/v1
environments:
  data: {name: Data, region: NA, type: SANDBOX}
workerApps:
  limited:
    environment: data
    name: Limited
    roles:
      - role: Identity Data Admin
        scope: {environment: data}
`)})
	plan, err := engine.MakePlan(ctx, admin, setup, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Apply(ctx, admin, plan, engine.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	envID, appID := res.IDs[addr(engine.KindEnvironments, "data")], res.IDs[addr(engine.KindWorkerApps, "limited")]
	secret := s.appSecret(t, envID, appID)
	limited := s.provider(t, func(c *pingone.Config) { c.ClientID, c.ClientSecret, c.EnvironmentID = appID, secret, envID })

	desired := load(t, manifests.File{Name: "new.yaml", Data: []byte(`apiVersion: p1ctl/v1
environments:
  staging: {name: Staging, region: NA, type: SANDBOX}
populations:
  testers: {environment: staging, name: Testers}
`)})
	plan, err = engine.MakePlan(ctx, limited, desired, engine.Options{})
	if err != nil {
		t.Fatalf("MakePlan as the limited app: %v", err)
	}
	if got := plan.Identity.Grants; len(got) != 1 || got[0].Role != "Identity Data Admin" || got[0].ScopeID != envID {
		t.Errorf("Identity.Grants = %+v, want Identity Data Admin for %s only", got, envID)
	}
	err = engine.Preflight(plan)
	if err == nil {
		t.Fatal("Preflight passed a plan that creates an environment without Organization Admin")
	}
	var pe *engine.PlanError
	if !errors.As(err, &pe) || pe.Addr != addr(engine.KindEnvironments, "staging") {
		t.Errorf("Preflight: %v; want a *PlanError for environments.staging", err)
	}
	for _, want := range []string{"environments.staging", "Organization Admin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Preflight error %q does not name %q", err, want)
		}
	}
}

// TestEngineApplyFailureSkipsDependents makes two creates fail: a
// population whose name is taken out of band after planning (with users in
// it), and a user whose password the policy refuses. The users of the
// population are skipped because of it; the other branch is created; the
// error has one *ResourceError per failed address.
func TestEngineApplyFailureSkipsDependents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := serve(t, openStore(t, ""), emulator.Options{Seed: 5}, emulator.Traffic{})
	p := s.provider(t)
	base := []byte(`apiVersion: p1ctl/v1
environments:
  qa: {name: QA, region: NA, type: SANDBOX}
`)
	env := load(t, manifests.File{Name: "env.yaml", Data: base})
	plan, err := engine.MakePlan(ctx, p, env, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Apply(ctx, p, plan, engine.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	envID := res.IDs[addr(engine.KindEnvironments, "qa")]

	desired := load(t, manifests.File{Name: "all.yaml", Data: append(base, `populations:
  staff: {environment: qa, name: Staff}
  contractors: {environment: qa, name: Contractors}
users:
  ann: {environment: qa, population: staff, username: ann, email: ann@example.com}
  bob: {environment: qa, population: staff, username: bob, email: bob@example.com}
  cat: {environment: qa, population: contractors, username: cat, email: cat@example.com}
  dan:
    environment: qa
    population: contractors
    username: dan
    email: dan@example.com
    password: {value: "${DAN_PASSWORD:-short}"}
webApps:
  portal: {environment: qa, name: Portal, redirectUris: [https://portal.example.com/cb], scopes: [openid]}
`...)})
	plan, err = engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else creates Staff between plan and apply.
	if _, err := p.Create(ctx, engine.Resource{Addr: addr(engine.KindPopulations, "other"), EnvID: envID, Name: "Staff",
		Attrs: map[string]any{"name": "Staff"}}); err != nil {
		t.Fatal(err)
	}

	res, err = engine.Apply(ctx, p, plan, engine.ApplyOptions{})
	if err == nil {
		t.Fatal("Apply succeeded; want two failures")
	}
	got := map[engine.Address]engine.ChangeOutcome{}
	for _, o := range res.Outcomes {
		got[o.Addr] = o
	}
	staff, dan := addr(engine.KindPopulations, "staff"), addr(engine.KindUsers, "dan")
	want := map[engine.Address]engine.Outcome{
		staff: engine.Failed, dan: engine.Failed,
		addr(engine.KindUsers, "ann"): engine.Skipped, addr(engine.KindUsers, "bob"): engine.Skipped,
		addr(engine.KindPopulations, "contractors"): engine.Created, addr(engine.KindUsers, "cat"): engine.Created,
		addr(engine.KindWebApps, "portal"): engine.Created,
	}
	for a, w := range want {
		if got[a].Outcome != w {
			t.Errorf("%s: %q, want %q", a, got[a].Outcome, w)
		}
	}
	for _, a := range []engine.Address{addr(engine.KindUsers, "ann"), addr(engine.KindUsers, "bob")} {
		if !slices.Equal(got[a].Because, []engine.Address{staff}) {
			t.Errorf("%s skipped because of %v, want [%s]", a, got[a].Because, staff)
		}
	}
	var me *multierror.Error
	if !errors.As(err, &me) {
		t.Fatalf("Apply error is %T, want a *multierror.Error", err)
	}
	var failed []engine.Address
	for _, e := range me.Errors {
		var re *engine.ResourceError
		var ae *pingone.APIError
		if !errors.As(e, &re) || !errors.As(e, &ae) {
			t.Errorf("entry %v is not a *ResourceError wrapping a *pingone.APIError", e)
			continue
		}
		if re.Op != engine.Create || ae.Status != http.StatusBadRequest {
			t.Errorf("%s: op %s, status %d; want create, 400", re.Addr, re.Op, ae.Status)
		}
		failed = append(failed, re.Addr)
	}
	slices.SortFunc(failed, engine.Address.Compare)
	if !slices.Equal(failed, []engine.Address{staff, dan}) {
		t.Errorf("errors name %v, want one each for [%s %s]\n%v", failed, staff, dan, err)
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("the apply error shows the password: %v", err)
	}
}

// TestEnginePlanMatchIsLinear plans n users that all exist already and
// counts MakePlan's allocations per user. Matching desired to live by
// natural key must index the live objects once per collection: a scan of
// every live user for every desired one is n² NaturalKey calls, which for
// the 10,000 users of BenchmarkPlanUpToDate cost over a second. Mixed-case
// usernames make each NaturalKey call allocate, so the scan shows up as
// ~n allocations per user. The provider is in memory: only the engine is
// measured.
func TestEnginePlanMatchIsLinear(t *testing.T) { // not parallel: AllocsPerRun counts every goroutine's allocations
	const n = 1000
	envAddr := addr(engine.KindEnvironments, "e")
	desired := []engine.Resource{{Addr: envAddr, Name: "E", Attrs: map[string]any{"name": "E"}}}
	fp := &memProvider{live: map[string][]engine.Live{
		engine.KindEnvironments: {{Kind: engine.KindEnvironments, ID: "env-1", Name: "E", Attrs: map[string]any{"name": "E"}}}}}
	for i := range n {
		name := fmt.Sprintf("User%05d", i)
		attrs := map[string]any{"username": name}
		desired = append(desired, engine.Resource{Addr: addr(engine.KindUsers, fmt.Sprint(i)), Env: envAddr, Name: name, Attrs: attrs})
		fp.live[engine.KindUsers] = append(fp.live[engine.KindUsers],
			engine.Live{Kind: engine.KindUsers, ID: fmt.Sprint("user-", i), EnvID: "env-1", Name: name, Attrs: attrs})
	}
	allocs := testing.AllocsPerRun(1, func() {
		plan, err := engine.MakePlan(context.Background(), fp, desired, engine.Options{})
		if err != nil || plan.HasChanges() {
			t.Fatalf("MakePlan: %v", err)
		}
	})
	if perUser := allocs / n; perUser > n/4 {
		t.Errorf("MakePlan of %d existing users allocates %.0f times per user: matching is quadratic", n, perUser)
	} else {
		t.Logf("MakePlan of %d existing users: %.0f allocations per user", n, perUser)
	}
}

// memProvider is an in-memory engine.Provider holding live objects by kind.
type memProvider struct{ live map[string][]engine.Live }

func (m *memProvider) Whoami(context.Context) (engine.Identity, error) {
	return engine.Identity{AppID: "app", EnvID: "admin", OrgID: "org",
		Grants: []engine.Grant{{Role: "Organization Admin", ScopeType: "ORGANIZATION", ScopeID: "org"}}}, nil
}

func (m *memProvider) List(_ context.Context, q engine.Query) ([]engine.Live, error) {
	var out []engine.Live
	for _, l := range m.live[q.Kind] {
		if l.EnvID == q.EnvID {
			out = append(out, l)
		}
	}
	return out, nil
}

func (m *memProvider) Create(_ context.Context, r engine.Resource) (engine.Live, error) {
	return engine.Live{Kind: r.Addr.Kind, ID: "new-" + r.Addr.String(), EnvID: r.EnvID, Name: r.Name, Attrs: r.Attrs}, nil
}

func (m *memProvider) Update(_ context.Context, r engine.Resource, old engine.Live) (engine.Live, error) {
	old.Attrs = r.Attrs
	return old, nil
}

func (m *memProvider) Delete(context.Context, engine.Live) error { return nil }

// TestEnginePreflightRoleItCannotGrant plans, as the bootstrap worker
// (Organization Admin and Environment Admin for the organization), a worker
// app holding Identity Data Read Only. PingOne lets an actor assign only
// roles it holds itself at the same or a broader scope, and the bootstrap
// worker does not hold that one anywhere, so the apply fails with 403;
// Preflight must say so before anything is applied.
func TestEnginePreflightRoleItCannotGrant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := serve(t, openStore(t, ""), emulator.Options{Seed: 6}, emulator.Traffic{})
	p := s.provider(t)
	desired := load(t, manifests.File{Name: "reader.yaml", Data: []byte(`apiVersion: p1ctl/v1
environments:
  audit: {name: Audit, region: NA, type: SANDBOX}
workerApps:
  reader:
    environment: audit
    name: Reader
    roles:
      - role: Identity Data Read Only
        scope: {environment: audit}
`)})
	plan, err := engine.MakePlan(ctx, p, desired, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	preErr := engine.Preflight(plan)
	_, applyErr := engine.Apply(ctx, p, plan, engine.ApplyOptions{})
	var ae *pingone.APIError
	if !errors.As(applyErr, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("Apply: %v; the emulator should refuse the assignment with 403", applyErr)
	}
	if preErr == nil || !strings.Contains(preErr.Error(), "workerApps.reader") || !strings.Contains(preErr.Error(), "Identity Data Read Only") {
		t.Errorf("Preflight: %v; the apply then failed with %v.\n"+
			"Preflight must name workerApps.reader and the role Identity Data Read Only, which the worker app cannot grant", preErr, applyErr)
	}
}
