package certs_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/certs"
)

var defaultNames = []string{"api.pingone.test", "auth.pingone.test"}

func ensure(t *testing.T, dir string, names []string) *certs.Bundle {
	t.Helper()
	b, err := certs.Ensure(dir, names)
	if err != nil {
		t.Fatalf("Ensure(%v): %v", names, err)
	}
	return b
}

// serve starts an HTTPS server with the bundle; its handler answers with the
// protocol and host it saw.
func serve(t *testing.T, b *certs.Bundle) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto+" "+r.Host)
	}))
	srv.TLS = b.TLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// client trusts only pool; a non-nil addr is dialled whatever the URL's host.
func client(pool *x509.CertPool, h2 bool, addr string) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2,
	}
	if addr != "" {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	}
	return &http.Client{Transport: tr}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestBundleServesHTTPS(t *testing.T) {
	t.Parallel()
	b := ensure(t, t.TempDir(), defaultNames)
	srv := serve(t, b)
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	cases := map[string]struct {
		reason string
		c      *http.Client
		url    string
		want   string
	}{
		"LoopbackHTTP2": {
			reason: "127.0.0.1 is covered and ALPN offers h2",
			c:      client(b.CertPool(), true, ""), url: "https://127.0.0.1:" + port + "/",
			want: "HTTP/2.0 127.0.0.1:" + port,
		},
		"LoopbackHTTP1": {
			reason: "ALPN offers http/1.1 too",
			c:      client(b.CertPool(), false, ""), url: "https://127.0.0.1:" + port + "/",
			want: "HTTP/1.1 127.0.0.1:" + port,
		},
		"Localhost": {
			reason: "localhost is always covered",
			c:      client(b.CertPool(), true, addr), url: "https://localhost/",
			want: "HTTP/2.0 localhost",
		},
		"APIName": {
			reason: "the names the official clients use, reached as a proxy would",
			c:      client(b.CertPool(), true, addr), url: "https://api.pingone.test/v1",
			want: "HTTP/2.0 api.pingone.test",
		},
		"AuthName": {
			reason: "both default names",
			c:      client(b.CertPool(), false, addr), url: "https://auth.pingone.test/env/as/token",
			want: "HTTP/1.1 auth.pingone.test",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := get(tc.c, tc.url)
			if err != nil || got != tc.want {
				t.Errorf("%s\nGET %s = %q, %v; want %q", tc.reason, tc.url, got, err, tc.want)
			}
		})
	}
}

func TestBundleRefusals(t *testing.T) {
	t.Parallel()
	b := ensure(t, t.TempDir(), defaultNames)
	srv := serve(t, b)
	addr := srv.Listener.Addr().String()

	_, err := get(client(b.CertPool(), true, addr), "https://other.pingone.test/")
	if !errors.As(err, new(x509.HostnameError)) {
		t.Errorf("uncovered name: %v, want a HostnameError", err)
	}
	_, err = get(client(nil, true, ""), "https://"+addr+"/") // system roots only
	if !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Errorf("client without the CA: %v, want an UnknownAuthorityError", err)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: b.CertPool(), MaxVersion: tls.VersionTLS11,
	}}}
	if _, err := get(old, "https://"+addr+"/"); err == nil {
		t.Errorf("TLS 1.1 client was served, want TLS 1.2 at least")
	}
}

func TestEnsureKeepsMaterial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := ensure(t, dir, defaultNames)
	if !first.NewCA || !first.NewCert {
		t.Errorf("first call: NewCA %v NewCert %v, want both", first.NewCA, first.NewCert)
	}
	files := readAll(t, dir)
	for _, names := range [][]string{defaultNames, {"auth.pingone.test"}, nil, {"API.PingOne.Test."}} {
		again := ensure(t, dir, names)
		if again.NewCA || again.NewCert {
			t.Errorf("Ensure(%v): NewCA %v NewCert %v, want neither", names, again.NewCA, again.NewCert)
		}
		if diff := changed(files, readAll(t, dir)); len(diff) > 0 {
			t.Errorf("Ensure(%v) rewrote %v", names, diff)
		}
		if !bytes.Equal(again.CAPEM, first.CAPEM) {
			t.Errorf("CAPEM changed")
		}
	}
}

func TestEnsureReissuesForNewNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := ensure(t, dir, defaultNames)
	before := readAll(t, dir)
	names := append(slices.Clone(defaultNames), "idp.example.test", "10.1.2.3")
	b := ensure(t, dir, names)
	if b.NewCA || !b.NewCert {
		t.Errorf("NewCA %v NewCert %v, want a new server certificate only", b.NewCA, b.NewCert)
	}
	if diff := changed(before, readAll(t, dir)); !slices.Equal(diff, []string{certs.CertKeyFileName, certs.CertFileName}) {
		t.Errorf("changed files %v, want the server certificate and key only", diff)
	}
	if !bytes.Equal(b.CAPEM, first.CAPEM) {
		t.Errorf("the CA changed")
	}
	want := []string{"localhost", "api.pingone.test", "auth.pingone.test", "idp.example.test", "127.0.0.1", "::1", "10.1.2.3"}
	if !slices.Equal(b.Names, want) {
		t.Errorf("Names = %v, want %v", b.Names, want)
	}
	// The new names are served.
	srv := serve(t, b)
	if _, err := get(client(b.CertPool(), true, srv.Listener.Addr().String()), "https://idp.example.test/"); err != nil {
		t.Errorf("new name: %v", err)
	}
}

func TestEnsureServerCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := ensure(t, dir, defaultNames)
	leaf := parseCert(t, filepath.Join(dir, certs.CertFileName))
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "api.pingone.test", "auth.pingone.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: b.CertPool()}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || leaf.IsCA {
		t.Errorf("server certificate usage %v IsCA %v", leaf.ExtKeyUsage, leaf.IsCA)
	}
	if !b.NotAfter.Equal(leaf.NotAfter) || time.Until(leaf.NotAfter) < 300*24*time.Hour {
		t.Errorf("NotAfter %v (file %v), want about a year ahead", b.NotAfter, leaf.NotAfter)
	}
	if b.CertFile != filepath.Join(dir, certs.CertFileName) || b.KeyFile != filepath.Join(dir, certs.CertKeyFileName) {
		t.Errorf("CertFile %q KeyFile %q", b.CertFile, b.KeyFile)
	}
	if _, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile); err != nil {
		t.Errorf("files do not load as a key pair: %v", err)
	}
}

func TestEnsureCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := ensure(t, dir, nil)
	if b.CAFile != filepath.Join(dir, certs.CAFileName) {
		t.Errorf("CAFile = %q", b.CAFile)
	}
	onDisk, _ := os.ReadFile(b.CAFile)
	if !bytes.Equal(onDisk, b.CAPEM) {
		t.Errorf("CAPEM differs from %s", b.CAFile)
	}
	ca := parseCert(t, b.CAFile)
	if ca.Subject.CommonName != "p1ctl emulator local CA" || !ca.IsCA || !ca.MaxPathLenZero {
		t.Errorf("CA subject %q IsCA %v MaxPathLenZero %v", ca.Subject.CommonName, ca.IsCA, ca.MaxPathLenZero)
	}
	pub, ok := ca.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key %T, want ECDSA P-256", ca.PublicKey)
	}
	if years := ca.NotAfter.Sub(ca.NotBefore).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
		t.Errorf("CA valid for %.2f years, want 10", years)
	}
}

func TestEnsureFileModes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	ensure(t, dir, defaultNames)
	ensure(t, dir, []string{"more.pingone.test"}) // rewrites the server files
	want := map[string]os.FileMode{
		certs.CAFileName:      0o644,
		certs.CAKeyFileName:   0o600,
		certs.CertFileName:    0o644,
		certs.CertKeyFileName: 0o600,
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, _ := e.Info()
		if m, ok := want[e.Name()]; ok && info.Mode().Perm() != m {
			t.Errorf("%s: mode %v, want %v", e.Name(), info.Mode().Perm(), m)
		}
	}
	if wantNames := []string{"ca-key.pem", "ca.pem", "server-key.pem", "server.pem"}; !slices.Equal(names, wantNames) {
		t.Errorf("files %v, want exactly %v (no temporary files left)", names, wantNames)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, %v; want 0700", info.Mode().Perm(), err)
	}
}

func TestEnsureRepairsServerFiles(t *testing.T) {
	t.Parallel()
	cases := map[string]func(dir string) error{
		"CorruptCert": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, certs.CertFileName), []byte("junk"), 0o644)
		},
		"MissingKey": func(dir string) error { return os.Remove(filepath.Join(dir, certs.CertKeyFileName)) },
		"MismatchedKey": func(dir string) error {
			other := t.TempDir()
			ensure(t, other, nil)
			key, _ := os.ReadFile(filepath.Join(other, certs.CertKeyFileName))
			return os.WriteFile(filepath.Join(dir, certs.CertKeyFileName), key, 0o600)
		},
		"OtherCA": func(dir string) error {
			// Both CA files replaced: the server certificate no longer
			// chains to the CA and must be issued again.
			other := t.TempDir()
			ensure(t, other, nil)
			for _, f := range []string{certs.CAFileName, certs.CAKeyFileName} {
				b, _ := os.ReadFile(filepath.Join(other, f))
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
					return err
				}
			}
			return nil
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ensure(t, dir, defaultNames)
			if err := damage(dir); err != nil {
				t.Fatal(err)
			}
			b := ensure(t, dir, defaultNames)
			if !b.NewCert || b.NewCA {
				t.Errorf("NewCert %v NewCA %v, want a new server certificate only", b.NewCert, b.NewCA)
			}
			srv := serve(t, b)
			if _, err := get(client(b.CertPool(), true, srv.Listener.Addr().String()), "https://api.pingone.test/"); err != nil {
				t.Errorf("after repair: %v", err)
			}
		})
	}
}

func TestEnsureCAProblems(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		damage  func(dir string) error
		wantErr string
	}{
		"CAWithoutKey": {
			damage:  func(dir string) error { return os.Remove(filepath.Join(dir, certs.CAKeyFileName)) },
			wantErr: "ca.pem exists without ca-key.pem",
		},
		"CorruptCA": {
			damage: func(dir string) error {
				return os.WriteFile(filepath.Join(dir, certs.CAFileName), []byte("junk"), 0o644)
			},
			wantErr: "ca.pem",
		},
		"CorruptCAKey": {
			damage: func(dir string) error {
				return os.WriteFile(filepath.Join(dir, certs.CAKeyFileName), []byte("junk"), 0o600)
			},
			wantErr: "ca-key.pem",
		},
		"ServerCertAsCA": {
			damage: func(dir string) error {
				for from, to := range map[string]string{certs.CertFileName: certs.CAFileName, certs.CertKeyFileName: certs.CAKeyFileName} {
					b, _ := os.ReadFile(filepath.Join(dir, from))
					if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
						return err
					}
				}
				return nil
			},
			wantErr: "not a CA certificate",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ensure(t, dir, nil)
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			_, err := certs.Ensure(dir, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Ensure error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestEnsureFinishesInterruptedCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ensure(t, dir, nil)
	// A crash between writing the key and the certificate of a new CA.
	for _, f := range []string{certs.CAFileName, certs.CertFileName, certs.CertKeyFileName} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	b := ensure(t, dir, nil)
	if !b.NewCA || !b.NewCert {
		t.Errorf("NewCA %v NewCert %v, want both", b.NewCA, b.NewCert)
	}
}

func TestEnsureRejectsBadNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "api pingone.test", "a..b", "-x.test", "api.pingone.test/v1", "fe80::1%eth0"} {
		if _, err := certs.Ensure(t.TempDir(), []string{name}); err == nil || !strings.Contains(err.Error(), "certificate name") {
			t.Errorf("Ensure(%q) error = %v, want a bad name", name, err)
		}
	}
	if _, err := certs.Ensure(t.TempDir(), []string{"*.pingone.test", "API.PINGONE.TEST"}); err != nil {
		t.Errorf("wildcard and upper case: %v", err)
	}
}

func TestEnsureConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	cas := make([][]byte, 4)
	for i := range cas {
		wg.Go(func() {
			b, err := certs.Ensure(dir, defaultNames)
			if err != nil {
				t.Error(err)
				return
			}
			cas[i] = b.CAPEM
		})
	}
	wg.Wait()
	for _, ca := range cas[1:] {
		if !bytes.Equal(ca, cas[0]) {
			t.Errorf("concurrent calls made different CAs")
		}
	}
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, f := range []string{certs.CAFileName, certs.CAKeyFileName, certs.CertFileName, certs.CertKeyFileName} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		m[f] = b
	}
	return m
}

// changed lists the files whose contents differ, sorted.
func changed(before, after map[string][]byte) []string {
	var out []string
	for f, b := range before {
		if !bytes.Equal(b, after[f]) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func parseCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
