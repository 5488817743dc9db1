package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

// chain is the server's middleware stack with a route table of its own.
func chain(t *testing.T, f middleware.Faults, level slog.Level) (*http.ServeMux, http.Handler, logLines) {
	t.Helper()
	mux, route := newMux()
	l, lines := newLogger(level)
	stats := middleware.NewStats()
	mux.Handle("/_emulator/stats", stats)
	h := middleware.Logger(l, route, nil)(
		stats.Middleware(route)(
			middleware.NewFaultInjector(f, 1, nil).Middleware()(
				middleware.NewRateLimiter(1000, 1000, nil, nil).Middleware()(mux))))
	return mux, h, lines
}

func TestLoggerFields(t *testing.T) {
	t.Parallel()
	mux, h, lines := chain(t, middleware.Faults{}, slog.LevelInfo)
	mux.HandleFunc("GET /v1/environments/{envID}/users", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("0123456789"))
	})
	srv := startServer(t, h)

	req, _ := http.NewRequest("GET", srv.URL+"/v1/environments/e1/users?filter=username%20eq%20%22a%22", nil)
	req.SetBasicAuth("client-9", "secret")
	req.Header.Set(middleware.TransactionHeader, "tx-1 <script>")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := receive(t, lines)
	want := map[string]any{
		"level":          "INFO",
		"msg":            "request",
		"method":         "GET",
		"route":          "GET /v1/environments/{envID}/users",
		"path":           "/v1/environments/e1/users",
		"status":         200.0,
		"caller":         "client-9",
		"bytes":          10.0,
		"transaction_id": "tx-1__script_",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if d, ok := got["duration"].(float64); !ok || d <= 0 {
		t.Errorf("duration = %v, want a positive number", got["duration"])
	}
	for _, k := range []string{"fault", "outcome", "unsent_status"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s present on an ordinary request: %v", k, got[k])
		}
	}
}

func TestLoggerLevelsAndOutcomes(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason string
		faults middleware.Faults
		method string
		path   string
		want   map[string]any
	}{
		"ServerError": {
			reason: "5xx is a warning",
			method: "GET", path: "/v1/fail",
			want: map[string]any{"level": "WARN", "status": 500.0, "route": "GET /v1/fail"},
		},
		"NotFound": {
			reason: "4xx is information; no route is unmatched",
			method: "GET", path: "/v1/nowhere",
			want: map[string]any{"level": "INFO", "status": 404.0, "route": middleware.Unmatched},
		},
		"Control": {
			reason: "control endpoints are debug",
			method: "GET", path: "/_emulator/stats",
			want: map[string]any{"level": "DEBUG", "status": 200.0, "route": "/_emulator/stats"},
		},
		"Panic": {
			reason: "a panicking handler is an error",
			method: "GET", path: "/v1/panic",
			want: map[string]any{"level": "ERROR", "status": 0.0, "outcome": "panic"},
		},
		"Reset": {
			reason: "a reset fault drops the connection",
			faults: middleware.Faults{Reset: 1},
			method: "POST", path: "/v1/things",
			want: map[string]any{"level": "WARN", "status": 0.0, "outcome": "reset", "fault": "reset"},
		},
		"TimeoutAfterCommit": {
			reason: "the log keeps the status the client never got",
			faults: middleware.Faults{TimeoutAfterCommit: 1},
			method: "POST", path: "/v1/things",
			want: map[string]any{"level": "WARN", "status": 0.0, "outcome": "reset",
				"fault": "timeout-after-commit", "unsent_status": 201.0},
		},
		"Injected429": {
			reason: "injected errors name their fault",
			faults: middleware.Faults{TooMany: 1},
			method: "GET", path: "/v1/fail",
			want: map[string]any{"level": "INFO", "status": 429.0, "fault": "429"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mux, h, lines := chain(t, tc.faults, slog.LevelDebug)
			mux.HandleFunc("GET /v1/fail", func(w http.ResponseWriter, r *http.Request) {
				middleware.WriteError(w, r, 500, middleware.CodeUnexpectedError, "boom")
			})
			mux.HandleFunc("GET /v1/panic", func(http.ResponseWriter, *http.Request) { panic("bug") })
			mux.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
			srv := startServer(t, h)
			_, _, _, _ = do(freshClient(), tc.method, srv.URL+tc.path, strings.NewReader("{}"))
			got := receive(t, lines)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s\n%s = %v, want %v (line %s)", tc.reason, k, got[k], v, got["raw"])
				}
			}
		})
	}
}

func TestLoggerNeverLogsSecrets(t *testing.T) {
	t.Parallel()
	const canary = "CANARY7f3e9"
	mux, h, lines := chain(t, middleware.Faults{}, slog.LevelDebug)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session="+canary)
		_, _ = fmt.Fprint(w, `{"access_token":"`+canary+`"}`)
	})
	srv := startServer(t, h)
	c := srv.Client()

	send := func(name string, mk func() *http.Request) {
		t.Helper()
		resp, err := c.Do(mk())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		line := receive(t, lines)
		if raw := line["raw"].(string); strings.Contains(raw, canary) {
			t.Errorf("%s: the log holds the canary: %s", name, raw)
		}
	}
	send("BasicSecret", func() *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/env/as/token", strings.NewReader("grant_type=client_credentials"))
		r.SetBasicAuth("client-1", canary)
		return r
	})
	send("BearerToken", func() *http.Request {
		r, _ := http.NewRequest("GET", srv.URL+"/v1/environments", nil)
		r.Header.Set("Authorization", "Bearer "+jwt(`{"client_id":"client-1","secret":"`+canary+`"}`, canary))
		return r
	})
	send("FormSecret", func() *http.Request {
		form := url.Values{"client_id": {"client-1"}, "client_secret": {canary}}
		r, _ := http.NewRequest("POST", srv.URL+"/env/as/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	})
	send("QueryAndHeaders", func() *http.Request {
		r, _ := http.NewRequest("GET", srv.URL+"/env/as/authorize?client_secret="+canary+"&access_token="+canary, nil)
		r.Header.Set("Cookie", "session="+canary)
		r.Header.Set("X-Api-Key", canary)
		r.Header.Set("Authorization", "Bearer "+canary)
		return r
	})
	send("JSONBody", func() *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/v1/environments/e/users", strings.NewReader(`{"password":"`+canary+`"}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	})
}

func TestLoggerDefaults(t *testing.T) {
	t.Parallel()
	l, lines := newLogger(slog.LevelInfo)
	h := middleware.Logger(l, nil, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv := startServer(t, h)
	if _, _, _, err := do(srv.Client(), "GET", srv.URL+"/", nil); err != nil {
		t.Fatal(err)
	}
	line := receive(t, lines)
	if d := time.Duration(line["duration"].(float64)); d <= 0 || d > time.Minute {
		t.Errorf("duration = %v", d)
	}
	if line["route"] != middleware.Unmatched || line["caller"] != "127.0.0.1" {
		t.Errorf("route %v caller %v, want unmatched and the loopback address", line["route"], line["caller"])
	}
}
