package emulator_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/certs"
	"github.com/p1ctl/p1ctl/emulator/store"
)

// tlsEmulator is an emulator served as `p1ctl emulator --tls` serves it: one
// loopback port for TLS, plain HTTP and CONNECT.
type tlsEmulator struct {
	Addr  string // 127.0.0.1:PORT
	Boot  emulator.Bootstrap
	Roots *x509.CertPool // only the CA, read back from ca.pem
}

func startTLS(t *testing.T) *tlsEmulator {
	t.Helper()
	srv := newMemoryServer(t)
	srv.Instrument(emulator.Traffic{})
	bundle, err := certs.Ensure(t.TempDir(), []string{"api.pingone.test", "auth.pingone.test"})
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(bundle.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	addr, stop := serveOn(t, srv, bundle.TLSConfig(), 5*time.Second)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &tlsEmulator{Addr: addr, Boot: srv.Bootstrap(), Roots: roots}
}

// newMemoryServer is an emulator over an in-memory store.
func newMemoryServer(t *testing.T) *emulator.Server {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv, err := emulator.New(ctx, emulator.Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// serveOn serves srv on a loopback port as 'p1ctl emulator' does (TLS when
// cfg is set) and returns its address and a stop that shuts it down and
// returns Serve's error.
func serveOn(t *testing.T, srv *emulator.Server, cfg *tls.Config, grace time.Duration) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, cfg, grace) }()
	var once sync.Once
	var serveErr error
	return ln.Addr().String(), func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
}

// proxyClient is how the official clients are set up: HTTPS_PROXY is the
// emulator's port (given as Transport.Proxy: http.ProxyFromEnvironment
// caches the environment once per process) and SSL_CERT_FILE is ca.pem.
func (e *tlsEmulator) proxyClient(h2 bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:             http.ProxyURL(&url.URL{Scheme: "http", Host: e.Addr}),
		TLSClientConfig:   &tls.Config{RootCAs: e.Roots},
		ForceAttemptHTTP2: h2,
	}}
}

// directClient talks to the port itself, over TLS or plain HTTP.
func (e *tlsEmulator) directClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.Roots}}}
}

// token gets a worker token by client_credentials with HTTP Basic, as the
// official SDK does, from tokenURL.
func (e *tlsEmulator) token(t *testing.T, c *http.Client, tokenURL string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.Boot.ClientID, e.Boot.ClientSecret)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") || tok.ExpiresIn <= 0 {
		t.Fatalf("token response %+v is incomplete", tok)
	}
	return tok.AccessToken
}

func getJSON(t *testing.T, c *http.Client, token, u string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %d, body is not JSON: %v", u, resp.StatusCode, err)
	}
	return resp, m
}

func selfHref(m map[string]any) string {
	l, _ := m["_links"].(map[string]any)
	s, _ := l["self"].(map[string]any)
	h, _ := s["href"].(string)
	return h
}

func TestProxyTunnelsToEmulatorNames(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	cases := map[string]struct {
		reason string
		h2     bool
		proto  int
	}{
		"HTTP1": {reason: "a client with a custom TLS config speaks HTTP/1.1 through the tunnel", proto: 1},
		"HTTP2": {reason: "ALPN offers h2 inside the tunnel", h2: true, proto: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := e.proxyClient(tc.h2)
			tok := e.token(t, c, "https://auth.pingone.test/"+e.Boot.EnvironmentID+"/as/token")
			resp, env := getJSON(t, c, tok, "https://api.pingone.test/v1/environments/"+e.Boot.EnvironmentID)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET environment: %d %v", resp.StatusCode, env)
			}
			if resp.ProtoMajor != tc.proto {
				t.Errorf("%s: protocol HTTP/%d, want HTTP/%d", tc.reason, resp.ProtoMajor, tc.proto)
			}
			want := "https://api.pingone.test/v1/environments/" + e.Boot.EnvironmentID
			if got := selfHref(env); got != want {
				t.Errorf("self link %q, want %q (the host the client asked for)", got, want)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}
}

func TestProxyDirectTLSAndPlainOnOnePort(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	c := e.directClient()
	for _, scheme := range []string{"https", "http"} {
		t.Run(strings.ToUpper(scheme), func(t *testing.T) {
			base := scheme + "://" + e.Addr
			tok := e.token(t, c, base+"/"+e.Boot.EnvironmentID+"/as/token")
			resp, m := getJSON(t, c, tok, base+"/v1/environments/"+e.Boot.EnvironmentID)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET environment: %d %v", resp.StatusCode, m)
			}
			if got, want := selfHref(m), base+"/v1/environments/"+e.Boot.EnvironmentID; got != want {
				t.Errorf("self link %q, want %q", got, want)
			}
			if (resp.TLS != nil) != (scheme == "https") {
				t.Errorf("TLS state %v on %s", resp.TLS != nil, scheme)
			}
		})
	}
}

func TestProxyRefusesOtherTargets(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	// A listener the emulator must never reach: 127.0.0.1 is one of the
	// certificate's names, but only port 443 is tunnelled, and tunnels end
	// in the emulator anyway.
	bait, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialled := make(chan struct{}, 1)
	go func() {
		if c, err := bait.Accept(); err == nil {
			dialled <- struct{}{}
			c.Close()
		}
	}()
	t.Cleanup(func() { bait.Close() })

	for _, target := range []string{"example.com:443", "10.0.0.1:443", "api.pingone.test:80", "api.pingone.test.example.com:443", bait.Addr().String()} {
		t.Run(target, func(t *testing.T) {
			status, ct, body := rawConnect(t, e.Addr, target)
			if status != http.StatusForbidden {
				t.Errorf("CONNECT %s: status %d, want 403\n%s", target, status, body)
			}
			if !strings.HasPrefix(ct, "application/json") {
				t.Errorf("CONNECT %s: Content-Type %q, want JSON", target, ct)
			}
			if !strings.Contains(body, "not an open proxy") {
				t.Errorf("CONNECT %s: body does not say why:\n%s", target, body)
			}
		})
	}
	// Through the Go client, the refusal surfaces as an error.
	_, err = e.proxyClient(false).Get("https://example.com/")
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("GET https://example.com/ through the emulator: %v, want a refused CONNECT", err)
	}
	select {
	case <-dialled:
		t.Error("the emulator dialled the CONNECT target")
	default:
	}
}

// rawConnect sends CONNECT target on a fresh plain connection and reads the
// answer.
func rawConnect(t *testing.T, addr, target string) (status int, contentType, body string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestProxyRefusedWithoutTLS(t *testing.T) {
	t.Parallel()
	srv := newMemoryServer(t)
	addr, stop := serveOn(t, srv, nil, time.Second)
	t.Cleanup(func() { stop() })
	status, ct, body := rawConnect(t, addr, "api.pingone.test:443")
	if status != http.StatusMethodNotAllowed || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("CONNECT without TLS: %d %q\n%s", status, ct, body)
	}
}

func TestProxyShutdownClosesTunnels(t *testing.T) {
	t.Parallel()
	srv := newMemoryServer(t)
	bundle, err := certs.Ensure(t.TempDir(), []string{"api.pingone.test"})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serveOn(t, srv, bundle.TLSConfig(), time.Minute)

	// An idle tunnel with a finished request, and a connection that never
	// says anything: neither may hold up shutdown.
	c := &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: addr}),
		TLSClientConfig: &tls.Config{RootCAs: bundle.CertPool()},
	}}
	resp, err := c.Get("https://api.pingone.test/v1/environments")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The silent connection was closed by the server, not left to time out.
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent connection after shutdown: %v, want EOF", err)
	}
}
