package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

func TestStatsCountsByRouteAndStatus(t *testing.T) {
	t.Parallel()
	stats := middleware.NewStats()
	mux, route := newMux()
	mux.HandleFunc("GET /v1/environments/{envID}/users", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"count":0}`)
	})
	mux.HandleFunc("POST /v1/environments/{envID}/users", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /v1/limited", func(w http.ResponseWriter, r *http.Request) {
		middleware.WriteError(w, r, http.StatusTooManyRequests, middleware.CodeRequestLimited, "slow down")
	})
	mux.HandleFunc("GET /v1/silent", func(http.ResponseWriter, *http.Request) {})
	mux.Handle("/_emulator/stats", stats)
	srv := startServer(t, stats.Middleware(route)(mux))
	c := srv.Client()

	reqs := []struct{ method, path string }{
		{"GET", "/v1/environments/e1/users"},
		{"GET", "/v1/environments/e2/users?limit=2"},
		{"POST", "/v1/environments/e1/users"},
		{"GET", "/v1/limited"},
		{"GET", "/v1/silent"},
		{"GET", "/v1/nowhere"},                  // 404
		{"DELETE", "/v1/environments/e1/users"}, // 405
		{"GET", "/_emulator/stats"},             // control: not counted
		{"GET", "/_emulator/health"},            // control, even when unrouted
	}
	for _, rq := range reqs {
		if _, _, _, err := do(c, rq.method, srv.URL+rq.path, nil); err != nil {
			t.Fatalf("%s %s: %v", rq.method, rq.path, err)
		}
	}

	status, body, hdr, err := do(c, "GET", srv.URL+"/_emulator/stats", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET stats: %d, %v", status, err)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got middleware.Snapshot
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	want := middleware.Snapshot{Total: 7, Routes: map[string]map[string]int64{
		"GET /v1/environments/{envID}/users":  {"200": 2},
		"POST /v1/environments/{envID}/users": {"201": 1},
		"GET /v1/limited":                     {"429": 1},
		"GET /v1/silent":                      {"200": 1},
		middleware.Unmatched:                  {"404": 1, "405": 1},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(stats.Snapshot(), want) {
		t.Errorf("Snapshot() = %+v, want %+v", stats.Snapshot(), want)
	}

	if status, _, _, err := do(c, "DELETE", srv.URL+"/_emulator/stats", nil); err != nil || status != http.StatusNoContent {
		t.Fatalf("DELETE stats: %d, %v; want 204", status, err)
	}
	_, body, _, _ = do(c, "GET", srv.URL+"/_emulator/stats", nil)
	if got, want := strings.TrimSpace(string(body)), `{"total":0,"routes":{}}`; got != want {
		t.Errorf("after reset: %s, want %s", got, want)
	}
	if status, _, _, _ := do(c, "PUT", srv.URL+"/_emulator/stats", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("PUT stats: %d, want 405", status)
	}
}

func TestStatsCountsBeforeClientSeesResponse(t *testing.T) {
	t.Parallel()
	stats := middleware.NewStats()
	mux, route := newMux()
	release := make(chan struct{})
	mux.HandleFunc("GET /v1/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		http.NewResponseController(w).Flush()
		<-release
	})
	srv := startServer(t, stats.Middleware(route)(mux))

	resp, err := srv.Client().Get(srv.URL + "/v1/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The client has the status while the handler is still running.
	if got := stats.Snapshot().Routes["GET /v1/slow"]["202"]; got != 1 {
		t.Errorf("count while the handler runs = %d, want 1", got)
	}
	close(release)
	_, _ = io.Copy(io.Discard, resp.Body)
	if got := stats.Snapshot().Total; got != 1 {
		t.Errorf("total = %d, want 1 (counted once)", got)
	}
}

func TestStatsCountsResponsesWithoutStatus(t *testing.T) {
	t.Parallel()
	stats := middleware.NewStats()
	mux, route := newMux()
	started := make(chan struct{}, 1)
	mux.HandleFunc("POST /v1/things", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /v1/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("GET /v1/wait", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	resets := middleware.NewFaultInjector(middleware.Faults{Reset: 1}, 1, nil)
	faulty := http.NewServeMux()
	faulty.Handle("/v1/things", resets.Middleware()(mux))
	faulty.Handle("/", mux)
	h, done := finished(stats.Middleware(route)(faulty))
	srv := startServer(t, h)
	c := freshClient()

	for _, path := range []string{"/v1/panic", "/v1/abort"} {
		if _, _, _, err := do(c, "GET", srv.URL+path, nil); err == nil {
			t.Errorf("GET %s: no error, want a dropped connection", path)
		}
		receive(t, done)
	}
	if _, _, _, err := do(c, "POST", srv.URL+"/v1/things", strings.NewReader("{}")); err == nil {
		t.Errorf("POST with reset fault: no error")
	}
	receive(t, done)

	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/wait", nil)
		_, err := c.Do(req)
		errs <- err
	}()
	receive(t, started)
	cancel()
	if err := receive(t, errs); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled request: %v, want context.Canceled", err)
	}
	receive(t, done)

	want := map[string]map[string]int64{
		"GET /v1/panic":   {middleware.StatusPanic: 1},
		"GET /v1/abort":   {middleware.StatusReset: 1},
		"POST /v1/things": {middleware.StatusReset: 1},
		"GET /v1/wait":    {middleware.StatusCanceled: 1},
	}
	if got := stats.Snapshot().Routes; !reflect.DeepEqual(got, want) {
		t.Errorf("routes:\n got %v\nwant %v", got, want)
	}
}

func TestStatsConcurrent(t *testing.T) {
	t.Parallel()
	stats := middleware.NewStats()
	mux, route := newMux()
	mux.HandleFunc("GET /v1/environments/{envID}/users", func(w http.ResponseWriter, r *http.Request) {})
	srv := startServer(t, stats.Middleware(route)(mux))
	const clients, each = 8, 50
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range each {
				if status, _, _, err := do(srv.Client(), "GET", srv.URL+"/v1/environments/e/users", nil); err != nil || status != 200 {
					t.Errorf("GET: %d, %v", status, err)
				}
			}
		})
	}
	wg.Wait()
	snap := stats.Snapshot()
	if snap.Total != clients*each || snap.Routes["GET /v1/environments/{envID}/users"]["200"] != clients*each {
		t.Errorf("snapshot = %+v, want %d requests", snap, clients*each)
	}
}

func TestStatsNilRouteUsesPattern(t *testing.T) {
	t.Parallel()
	stats := middleware.NewStats()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/roles", func(http.ResponseWriter, *http.Request) {})
	srv := startServer(t, stats.Middleware(nil)(mux))
	for _, p := range []string{"/v1/roles", "/v1/nope"} {
		if _, _, _, err := do(srv.Client(), "GET", srv.URL+p, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]int64{"GET /v1/roles": {"200": 1}, middleware.Unmatched: {"404": 1}}
	if got := stats.Snapshot().Routes; !reflect.DeepEqual(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
}

func BenchmarkStats(b *testing.B) {
	stats := middleware.NewStats()
	mux, route := newMux()
	mux.HandleFunc("GET /v1/environments/{envID}/users", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	h := stats.Middleware(route)(mux)
	req := httptest.NewRequest("GET", "/v1/environments/e/users", nil)
	w := httptest.NewRecorder()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func BenchmarkStatsParallel(b *testing.B) {
	stats := middleware.NewStats()
	h := stats.Middleware(func(*http.Request) string { return "GET /v1/x" })(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/v1/x", nil)
		w := httptest.NewRecorder()
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}
