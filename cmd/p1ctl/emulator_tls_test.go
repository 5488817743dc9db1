package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestEmulatorTLSOnePort runs `p1ctl emulator --tls` and reaches it the three
// ways issue 7 asks for, on the one port of the bootstrap file: as an HTTPS
// proxy for its names (how Ping's own clients are set up), directly over
// HTTPS, and over plain HTTP on loopback.
func TestEmulatorTLSOnePort(t *testing.T) {
	t.Parallel()
	p := startEmulator(t, "--in-memory", "--tls", "--tls-name", "api.pingone.test", "--tls-name", "auth.pingone.test", "--tls-name", "api.example.test")
	u, err := url.Parse(p.boot.APIURL)
	if err != nil || u.Scheme != "https" || u.Path != "/v1" {
		t.Fatalf("bootstrap apiUrl %q, want https://127.0.0.1:PORT/v1", p.boot.APIURL)
	}
	if p.boot.AuthURL != "https://"+u.Host {
		t.Errorf("bootstrap authUrl %q, want https://%s", p.boot.AuthURL, u.Host)
	}
	if filepath.Base(p.boot.CAFile) != "ca.pem" {
		t.Errorf("caFile %q, want ca.pem beside the bootstrap file", p.boot.CAFile)
	}
	pem, err := os.ReadFile(p.boot.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	tlsOnly := &tls.Config{RootCAs: roots}
	proxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: u.Host}), TLSClientConfig: tlsOnly}}
	direct := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsOnly}}

	cases := map[string]struct {
		client    *http.Client
		auth, api string
	}{
		"Proxy":          {client: proxy, auth: "https://auth.pingone.test", api: "https://api.pingone.test"},
		"ProxyExtraName": {client: proxy, auth: "https://api.example.test", api: "https://api.example.test"},
		"DirectHTTPS":    {client: direct, auth: p.boot.AuthURL, api: "https://" + u.Host},
		"PlainHTTP":      {client: direct, auth: "http://" + u.Host, api: "http://" + u.Host},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &apiClient{t: t, boot: p.boot, http: tc.client}
			req, _ := http.NewRequest("POST", tc.auth+"/"+p.boot.EnvironmentID+"/as/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(p.boot.ClientID, p.boot.ClientSecret)
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if status := c.do(req, &tok); status != http.StatusOK {
				t.Fatalf("token: status %d", status)
			}
			req, _ = http.NewRequest("GET", tc.api+"/v1/environments/"+p.boot.EnvironmentID, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			var env struct {
				Links map[string]struct{ Href string } `json:"_links"`
			}
			if status := c.do(req, &env); status != http.StatusOK {
				t.Fatalf("GET environment: status %d", status)
			}
			if got, want := env.Links["self"].Href, tc.api+"/v1/environments/"+p.boot.EnvironmentID; got != want {
				t.Errorf("self link %q, want %q", got, want)
			}
		})
	}

	// Not an open proxy.
	resp, err := proxy.Get("https://example.com/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET https://example.com/ through the emulator succeeded")
	}

	// An open, idle tunnel does not hold up a graceful stop.
	resp, err = proxy.Get("https://api.pingone.test/v1/environments")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p.stop(t, syscall.SIGTERM)
}
