package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

// Traffic configures the middleware between clients and the route table:
// faults and rate limiting. The zero value injects nothing and limits
// nothing.
type Traffic struct {
	Faults    middleware.Faults
	RateLimit float64 // requests per second per caller; <= 0 is off
	Burst     int     // bucket size; defaults to max(1, RateLimit)
}

// Instrument wires the standard middleware around the route table, in the
// order request log, stats, faults, rate limit (authentication and role
// checks run inside the routes), mounts GET/DELETE /_emulator/stats, and
// clears the stats on /_emulator/reset. It returns the stats so that callers
// (benchmarks, tests) can read them directly.
func (s *Server) Instrument(t Traffic) *middleware.Stats {
	stats := middleware.NewStats()
	burst := t.Burst
	if burst <= 0 {
		burst = max(1, int(t.RateLimit))
	}
	errw := s.writeErrorStatus
	chain := []func(http.Handler) http.Handler{
		middleware.Logger(s.log, s.Route, middleware.Caller),
		stats.Middleware(s.Route),
	}
	fi := middleware.NewFaultInjector(t.Faults, s.opts.Seed, errw)
	chain = append(chain, fi.Middleware()) // the identity when no fault is set
	if t.RateLimit > 0 {
		chain = append(chain, middleware.NewRateLimiter(t.RateLimit, burst, errw, middleware.Caller).Middleware())
	}
	s.Use(func(h http.Handler) http.Handler {
		for i := len(chain) - 1; i >= 0; i-- {
			h = chain[i](h)
		}
		return h
	})
	s.HandleControl("/_emulator/stats", stats)
	s.OnReset(func() { stats.Reset(); fi.Reset() })
	return stats
}

// Serve serves s on ln until ctx ends, then shuts down gracefully,
// letting requests in flight finish for up to grace and closing every
// connection still open after that.
//
// With a tlsConfig, one port does it all (issue 7): a connection that starts
// with a TLS handshake is served over TLS (HTTP/1.1, or h2 when tlsConfig
// offers it), any other as plain HTTP, and a plain-HTTP CONNECT to one of
// the certificate's names on port 443 opens a tunnel in which the emulator
// terminates TLS itself, so clients whose HTTPS_PROXY is this port reach it
// as https://api.pingone.test. CONNECT to any other target is refused; the
// emulator never dials out. Without a tlsConfig every CONNECT is refused.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, grace time.Duration) error {
	var sniff *sniffListener
	if tlsConfig != nil {
		// http.Server adds h2 to the config it is given; keep the caller's.
		tlsConfig = tlsConfig.Clone()
		sniff = newSniffListener(ln, tlsConfig)
		ln = sniff
	}
	hs := &http.Server{
		Handler:           s.withTunnels(s.Handler(), tlsConfig, sniff),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// Serve (not ServeTLS): the sniffing listener hands over *tls.Conn
		// values, and http.Server finishes their handshakes. TLSConfig is
		// set so that it configures h2 for them.
		TLSConfig: tlsConfig,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close() // requests still running past grace, tunnels included
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
