package middleware_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

// jwt builds an unsigned-looking JWT with the given claims JSON and a
// signature part of sig.
func jwt(claims, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"k1"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte(sig))
}

func TestCaller(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason string
		req    func() *http.Request
		want   string
	}{
		"Basic": {
			reason: "the client id of HTTP Basic, never the secret",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/env/as/token", nil)
				r.SetBasicAuth("8f1c6a2e-client", "s3cret")
				return r
			},
			want: "8f1c6a2e-client",
		},
		"BasicFormEncoded": {
			reason: "RFC 6749 form-encodes the client id inside Basic",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/env/as/token", nil)
				r.SetBasicAuth("my%20app", "s3cret")
				return r
			},
			want: "my app",
		},
		"BearerClientID": {
			reason: "the client_id claim of a worker token",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/environments", nil)
				r.Header.Set("Authorization", "Bearer "+jwt(`{"client_id":"worker-1","sub":"someone"}`, "sig"))
				return r
			},
			want: "worker-1",
		},
		"BearerSub": {
			reason: "sub when there is no client_id",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/environments", nil)
				r.Header.Set("Authorization", "bearer "+jwt(`{"sub":"user-7"}`, "sig"))
				return r
			},
			want: "user-7",
		},
		"BearerOpaque": {
			reason: "a token that is no JWT falls back to the address",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/environments", nil)
				r.Header.Set("Authorization", "Bearer not-a-jwt")
				return r
			},
			want: "192.0.2.1",
		},
		"BearerWrongType": {
			reason: "a claim of the wrong type is ignored",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/environments", nil)
				r.Header.Set("Authorization", "Bearer "+jwt(`{"client_id":42}`, "sig"))
				return r
			},
			want: "192.0.2.1",
		},
		"FormPost": {
			reason: "client_secret_post names the client in the form",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/env/as/token",
					strings.NewReader("grant_type=client_credentials&client_id=poster&client_secret=s3cret"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
				return r
			},
			want: "poster",
		},
		"JSONPost": {
			reason: "a JSON body is not looked at",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/v1/environments", strings.NewReader(`{"client_id":"x"}`))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			want: "192.0.2.1",
		},
		"IPv6": {
			reason: "the remote address without its port",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/environments", nil)
				r.RemoteAddr = "[::1]:5555"
				return r
			},
			want: "::1",
		},
		"Long": {
			reason: "identities are cut",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/environments", nil)
				r.SetBasicAuth(strings.Repeat("a", 500), "s")
				return r
			},
			want: strings.Repeat("a", 128),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := middleware.Caller(tc.req()); got != tc.want {
				t.Errorf("%s\nCaller = %q, want %q", tc.reason, got, tc.want)
			}
		})
	}
}

func TestCallerLeavesFormBodyIntact(t *testing.T) {
	t.Parallel()
	const body = "grant_type=client_credentials&client_id=poster&client_secret=s3cret"
	var got string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if who := middleware.Caller(r); who != "poster" {
			t.Errorf("Caller = %q", who)
		}
		if who := middleware.Caller(r); who != "poster" { // twice, as log and rate limit do
			t.Errorf("second Caller = %q", who)
		}
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
	})
	srv := startServer(t, h)
	resp, err := srv.Client().Post(srv.URL+"/env/as/token", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != body {
		t.Errorf("handler read %q, want %q", got, body)
	}
}
