package emulatortest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/store"
)

// Env is a running emulator and the credentials of its bootstrap worker.
type Env struct {
	// URL is the server's origin, http://127.0.0.1:PORT: the auth base
	// (URL/{envID}/as/token) and the origin of the API.
	URL string
	// APIURL is the management API base, URL + "/v1".
	APIURL string
	// The bootstrap organization, administrators' environment and worker
	// app (which holds Organization Admin and Environment Admin at
	// organization scope).
	OrganizationID, EnvironmentID, ClientID, ClientSecret string
	// Server is the emulator itself; Store its store.
	Server *emulator.Server
	Store  *store.DB
	// Clock is the server's clock when the Env was started WithClock.
	Clock *Clock
	// Client sends requests as the bootstrap worker: it gets tokens by
	// client_credentials with HTTP Basic, as golang.org/x/oauth2 does, and
	// renews them by the wall clock. Tests that move Clock past the token
	// lifetime should use Token and ClientWithToken instead.
	Client *http.Client
}

type config struct {
	opts  emulator.Options
	dir   string
	file  bool
	clock *Clock
	setup []func(*emulator.Server)
}

// Option configures Start.
type Option func(*config)

// WithClock runs the server on c, so that tests move time instead of
// sleeping (token expiry, lag windows, secret rotation, lock-outs).
func WithClock(c *Clock) Option {
	return func(cfg *config) { cfg.clock, cfg.opts.Clock = c, c.Now }
}

// WithLag turns on the eventual-consistency lag window.
func WithLag(d time.Duration) Option { return func(cfg *config) { cfg.opts.Lag = d } }

// WithSeed makes generated ids repeat from run to run.
func WithSeed(seed int64) Option { return func(cfg *config) { cfg.opts.Seed = seed } }

// WithTokenTTL sets the lifetime of access tokens.
func WithTokenTTL(d time.Duration) Option { return func(cfg *config) { cfg.opts.TokenTTL = d } }

// WithCredentials fixes the bootstrap worker's client id (a UUID) and
// secret.
func WithCredentials(clientID, secret string) Option {
	return func(cfg *config) { cfg.opts.ClientID, cfg.opts.ClientSecret = clientID, secret }
}

// WithFile keeps the store in a SQLite file in t.TempDir() instead of in
// memory.
func WithFile() Option { return func(cfg *config) { cfg.file = true } }

// WithDir keeps the store in dir, for tests that restart the emulator on
// the same data.
func WithDir(dir string) Option { return func(cfg *config) { cfg.dir = dir } }

// WithLogger sends the server's log to l.
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.opts.Logger = l } }

// WithSetup calls fn with the server before it serves, for instance to
// install middleware with Server.Use.
func WithSetup(fn func(*emulator.Server)) Option {
	return func(cfg *config) { cfg.setup = append(cfg.setup, fn) }
}

// Start starts an emulator for the test and stops it, closing its store,
// when the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	dir := cfg.dir
	if cfg.file && dir == "" {
		dir = t.TempDir()
	}
	// Not t.Context(): the store must outlive the test body until cleanup.
	ctx := context.Background()
	db, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatalf("emulatortest: open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	cfg.opts.Store = db
	srv, err := emulator.New(ctx, cfg.opts)
	if err != nil {
		t.Fatalf("emulatortest: %v", err)
	}
	for _, fn := range cfg.setup {
		fn(srv)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	b := srv.Bootstrap()
	e := &Env{URL: ts.URL, APIURL: ts.URL + "/v1", OrganizationID: b.OrganizationID, EnvironmentID: b.EnvironmentID,
		ClientID: b.ClientID, ClientSecret: b.ClientSecret, Server: srv, Store: db, Clock: cfg.clock}
	cc := clientcredentials.Config{ClientID: b.ClientID, ClientSecret: b.ClientSecret, TokenURL: e.TokenURL(b.EnvironmentID),
		AuthStyle: oauth2.AuthStyleInHeader}
	e.Client = cc.Client(context.WithValue(ctx, oauth2.HTTPClient, ts.Client()))
	return e
}

// TokenURL is the token endpoint of envID.
func (e *Env) TokenURL(envID string) string { return e.URL + "/" + envID + "/as/token" }

// Token gets an access token for the bootstrap worker by HTTP Basic.
func (e *Env) Token(t testing.TB) string {
	t.Helper()
	return e.TokenFor(t, e.EnvironmentID, e.ClientID, e.ClientSecret)
}

// TokenFor gets an access token by client_credentials with HTTP Basic for
// an application of envID, failing the test unless it gets one.
func (e *Env) TokenFor(t testing.TB, envID, clientID, secret string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.TokenURL(envID), strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatalf("emulatortest: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("emulatortest: token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("emulatortest: token for %s: %s %s", clientID, resp.Status, body)
	}
	return tok.AccessToken
}

// ClientWithToken returns a client that sends token as its bearer token.
func (e *Env) ClientWithToken(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// Clock is a settable clock for the server, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that stands at start until moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
