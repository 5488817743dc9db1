package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Options configure a Server. Only Store is required.
type Options struct {
	// Store keeps every object; the caller opens and closes it.
	Store *store.DB
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Seed, when not zero, makes generated ids (and the fault sequence)
	// repeat from run to run.
	Seed int64
	// ClientID and ClientSecret fix the bootstrap worker app's credentials
	// on an empty store; generated when empty.
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of access tokens; one hour when zero.
	TokenTTL time.Duration
	// Lag reproduces PingOne's eventual consistency: objects inside an
	// environment younger than Lag answer 404, and role assignments younger
	// than Lag do not authorise anything yet.
	Lag time.Duration
	// Logger receives the request log and server events; discarded when nil.
	Logger *slog.Logger
}

// Server is the emulator: an http.Handler for the PingOne auth and management
// APIs over a Store. Safe for concurrent use.
type Server struct {
	opts Options
	db   *store.DB
	now  func() time.Time
	ids  *idGen
	log  *slog.Logger
	mux  *http.ServeMux
	keys keyring

	// wrap, when set, wraps the route table with middleware (request log,
	// stats, faults, rate limit). Control endpoints bypass it.
	wrap func(http.Handler) http.Handler

	// grants are the token endpoint's grant types beyond
	// client_credentials, by grant_type.
	grants map[string]tokenGrant

	control map[string]http.Handler
	onReset func()

	// verified caches tokens whose signature was checked (see verifyToken).
	verified  sync.Map
	verifiedN atomic.Int64

	mu   sync.RWMutex
	boot Bootstrap
}

// Bootstrap is what an empty store is seeded with: the organization, its
// administrators' environment, and a worker app holding Organization Admin
// and Environment Admin at organization scope, as the getting-started guide
// has an administrator set up by hand.
type Bootstrap struct {
	OrganizationID string `json:"organizationId"`
	EnvironmentID  string `json:"environmentId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// New returns a Server over opts.Store, bootstrapping an empty store.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("emulator: Options.Store is required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts:   opts,
		db:     opts.Store,
		now:    func() time.Time { return opts.Clock().UTC() },
		ids:    newIDGen(opts.Seed),
		log:    opts.Logger,
		mux:    http.NewServeMux(),
		grants: map[string]tokenGrant{},
	}
	s.keys.init()
	s.routes()
	s.registerSignOnGrants()
	if err := s.bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("emulator: bootstrap: %w", err)
	}
	return s, nil
}

// Bootstrap returns the organization, admin environment and worker
// credentials the store was seeded with.
func (s *Server) Bootstrap() Bootstrap {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.boot
}

// Reset empties the store back to its bootstrap state (same organization,
// environment and worker credentials), so a test suite can reuse one server.
func (s *Server) Reset(ctx context.Context) error {
	if err := s.db.Reset(ctx); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	s.keys.forget()
	s.verified.Clear()
	return s.bootstrapWith(ctx, s.Bootstrap())
}

// Use sets the middleware that wraps the PingOne routes (not the control
// endpoints under /_emulator/). Call before serving.
func (s *Server) Use(wrap func(http.Handler) http.Handler) { s.wrap = wrap }

// Route returns the route pattern that serves r, such as
// "GET /v1/environments/{envID}/users", or "" when none does.
func (s *Server) Route(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	if pattern == "/" {
		return "" // the catch-all of unmatched requests
	}
	return pattern
}

// Handler serves the auth API (/{envID}/as/...), the management API
// (/v1/...) and the control endpoints (/_emulator/...) on one port.
func (s *Server) Handler() http.Handler {
	var api http.Handler = s.mux
	if s.wrap != nil {
		api = s.wrap(api)
	}
	control := s.controlHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) >= len("/_emulator/") && r.URL.Path[:len("/_emulator/")] == "/_emulator/" {
			control.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
