package pingone_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/emulatortest"
	"github.com/p1ctl/p1ctl/emulator/middleware"
	"github.com/p1ctl/p1ctl/emulator/store"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// schemas mirror the engine's per-kind comparison rules (engine/kindinfo.go)
// for the round-trip checks.
var schemas = map[string]diff.Schema{
	engine.KindEnvironments: {},
	engine.KindPopulations:  {},
	engine.KindUsers:        {},
	engine.KindWorkerApps:   {Sets: map[string]bool{"roles": true, "grantTypes": true}},
	engine.KindWebApps: {Sets: map[string]bool{"redirectUris": true, "postLogoutRedirectUris": true, "grantTypes": true,
		"responseTypes": true, "scopes": true}},
}

// emu is an emulator under test with its request counters.
type emu struct {
	*emulatortest.Env
	stats *middleware.Stats
}

// start runs an emulator over real HTTP with stats mounted.
func start(t *testing.T, opts ...emulatortest.Option) *emu {
	t.Helper()
	e := &emu{}
	opts = append(opts, emulatortest.WithSetup(func(s *emulator.Server) { e.stats = s.Instrument(emulator.Traffic{}) }))
	e.Env = emulatortest.Start(t, opts...)
	return e
}

// config is a client configuration for the emulator at apiURL/authURL with
// the bootstrap worker's credentials, no client-side rate limit and fast
// retries.
func config(clientID, secret, envID, authURL string) pingone.Config {
	return pingone.Config{
		ClientID: clientID, ClientSecret: secret, EnvironmentID: envID,
		AuthURL: authURL, APIURL: authURL + "/v1",
		RateLimit: -1, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond,
		// Over real sockets, a 503's Retry-After: 1 would cost a second of
		// wall time; bubbles (fixture.client) honour it in full.
		MaxRetryAfter: 10 * time.Millisecond,
	}
}

// provider returns a Provider for e's bootstrap worker; mods change the
// configuration.
func (e *emu) provider(t *testing.T, mods ...func(*pingone.Config)) *pingone.Provider {
	t.Helper()
	cfg := config(e.ClientID, e.ClientSecret, e.EnvironmentID, e.URL)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := pingone.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return pingone.NewProvider(c)
}

// routeCount is how many requests the emulator answered on route with
// status ("" for any status).
func routeCount(snap middleware.Snapshot, route, status string) int64 {
	var n int64
	for st, c := range snap.Routes[route] {
		if status == "" || st == status {
			n += c
		}
	}
	return n
}

// fixture is an emulator built by hand, for faults and synctest bubbles.
type fixture struct {
	srv     *emulator.Server
	stats   *middleware.Stats
	boot    emulator.Bootstrap
	handler http.Handler
}

// clockOffset moves the server's clock past the bootstrap objects' 2024
// timestamps: a synctest bubble's clock starts in 2000, and with lag on,
// objects from "the future" would never settle.
const clockOffset = 30 * 365 * 24 * time.Hour

// newFixture opens an in-memory store and a server with traffic t. Inside
// a synctest bubble, call it from the bubble so the store's goroutines
// belong to it; it is closed at cleanup.
func newFixture(t *testing.T, opts emulator.Options, tr emulator.Traffic) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	opts.Store = db
	if opts.Clock == nil {
		opts.Clock = func() time.Time { return time.Now().Add(clockOffset) }
	}
	srv, err := emulator.New(ctx, opts)
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	f := &fixture{srv: srv, boot: srv.Bootstrap()}
	f.stats = srv.Instrument(tr)
	f.handler = srv.Handler()
	return f
}

// inProcessOrigin is the origin clients use to reach an in-process
// fixture; nothing listens there.
const inProcessOrigin = "http://127.0.0.1:9"

// client returns a client that reaches the fixture in-process (no
// sockets, so it works inside a synctest bubble).
func (f *fixture) client(t *testing.T, mods ...func(*pingone.Config)) *pingone.Client {
	t.Helper()
	cfg := config(f.boot.ClientID, f.boot.ClientSecret, f.boot.EnvironmentID, inProcessOrigin)
	cfg.HTTPClient = &http.Client{Transport: inProcess{f.handler}}
	cfg.RetryBaseDelay, cfg.RetryMaxDelay, cfg.MaxRetryAfter = 0, 0, 0 // the defaults: time is fake here
	for _, m := range mods {
		m(&cfg)
	}
	c, err := pingone.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// inProcess is an http.RoundTripper that calls a handler directly. A
// handler that drops the connection (panics with http.ErrAbortHandler, as
// the reset and timeout-after-commit faults do) is reported as a
// transport error, as a dropped TCP connection would be.
type inProcess struct{ h http.Handler }

var errConnReset = errors.New("connection reset by peer")

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
			resp, err = nil, errConnReset
		}
	}()
	t.h.ServeHTTP(rec, sr)
	if err := r.Context().Err(); err != nil {
		// The client gave up while the handler ran (the latency fault
		// returns without answering then): no response reaches it.
		return nil, err
	}
	res := rec.Result()
	res.Request = r
	return res, nil
}

// newEnv creates a SANDBOX environment through p.
func newEnv(t *testing.T, p *pingone.Provider, name string) engine.Live {
	t.Helper()
	l, err := p.Create(t.Context(), engine.Resource{Addr: engine.Address{Kind: engine.KindEnvironments, Key: name}, Name: name,
		Attrs: map[string]any{"name": name, "region": "NA", "type": "SANDBOX"}})
	if err != nil {
		t.Fatalf("create environment %s: %v", name, err)
	}
	return l
}

// findLive returns the live object of kind with id, failing the test
// unless exactly one is listed.
func findLive(t *testing.T, p *pingone.Provider, kind, envID, id string) engine.Live {
	t.Helper()
	ls, err := p.List(t.Context(), engine.Query{Kind: kind, EnvID: envID})
	if err != nil {
		t.Fatalf("List %s: %v", kind, err)
	}
	var out []engine.Live
	for _, l := range ls {
		if l.ID == id {
			out = append(out, l)
		}
	}
	if len(out) != 1 {
		t.Fatalf("List %s: %d objects with id %s, want 1", kind, len(out), id)
	}
	return out[0]
}

// checkRoundTrip fails unless live matches desired under the engine's
// comparison rules.
func checkRoundTrip(t *testing.T, kind string, desired map[string]any, live engine.Live) {
	t.Helper()
	if changes := diff.Fields(desired, live.Attrs, schemas[kind]); len(changes) > 0 {
		var b bytes.Buffer
		for _, c := range changes {
			fmt.Fprintf(&b, "  %s: live %#v, desired %#v\n", c.Path, c.Old, c.New)
		}
		t.Errorf("%s %s does not round-trip:\n%s", kind, live.Name, b.String())
	}
}

// logBuffer is a concurrency-safe sink for a debug logger.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func debugLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func res(kind, key string, attrs map[string]any) engine.Resource {
	name, _ := attrs["name"].(string)
	if kind == engine.KindUsers {
		name, _ = attrs["username"].(string)
	}
	return engine.Resource{Addr: engine.Address{Kind: kind, Key: key}, Name: name, Attrs: attrs}
}
