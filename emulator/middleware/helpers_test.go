package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

// newMux returns a mux and the RouteFunc the server would pass: the pattern
// the mux would choose for a request.
func newMux() (*http.ServeMux, middleware.RouteFunc) {
	mux := http.NewServeMux()
	return mux, func(r *http.Request) string {
		_, p := mux.Handler(r)
		return p
	}
}

// startServer serves h over real HTTP/1.1 on loopback until the test ends.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handler panics are on purpose
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// startHTTP2Server serves h over HTTP/2 with TLS until the test ends.
func startHTTP2Server(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// freshClient opens a new connection for every request, so that Go's
// transport never replays a request after a dropped connection.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// finished wraps h and reports on the returned channel each time a request
// has been completely handled, panics included: tests wait on it instead of
// sleeping.
func finished(h http.Handler) (http.Handler, <-chan struct{}) {
	ch := make(chan struct{}, 1024)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ch <- struct{}{} }()
		h.ServeHTTP(w, r)
	}), ch
}

// receive waits for a value on ch; the timeout only guards against a hung
// test and never paces it.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting")
		panic("unreachable")
	}
}

// do sends a request and returns the status code and body, or the error.
func do(c *http.Client, method, url string, body io.Reader) (int, []byte, http.Header, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// logLines captures a logger's JSON records, one per channel value.
type logLines chan map[string]any

func (l logLines) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		return 0, err
	}
	m["raw"] = string(p)
	l <- m
	return len(p), nil
}

func newLogger(level slog.Level) (*slog.Logger, logLines) {
	ch := make(logLines, 1024)
	return slog.New(slog.NewJSONHandler(ch, &slog.HandlerOptions{Level: level})), ch
}

// errorBody is PingOne's error envelope.
type errorBody struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// pipeListener is an in-memory network for testing/synctest bubbles: a real
// net/http server and client talking over net.Pipe, whose blocking the
// bubble can see (loopback sockets would keep it from ever becoming idle).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	srv, cli := net.Pipe()
	select {
	case l.conns <- srv:
		return cli, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves h inside the current synctest bubble and returns a client
// for it; any host name in a URL reaches h.
func servePipe(t *testing.T, h http.Handler) *http.Client {
	t.Helper()
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tr := &http.Transport{DialContext: ln.dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &http.Client{Transport: tr}
}
