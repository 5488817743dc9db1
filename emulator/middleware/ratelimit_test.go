package middleware_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in   string
		want float64
	}{
		"Bare":      {"100", 100},
		"PerSecond": {"100/s", 100},
		"PerMinute": {"6000/m", 100},
		"PerHour":   {"36/h", 0.01},
		"Fraction":  {"0.5/s", 0.5},
		"Off":       {"0", 0},
		"Spaces":    {" 60 / m ", 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := middleware.ParseRate(tc.in)
			if err != nil || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in      string
		wantMsg string
	}{
		"Empty":       {"", "want a number"},
		"Word":        {"fast", "want a number"},
		"Negative":    {"-1/s", ">= 0"},
		"Infinite":    {"inf", "finite"},
		"NaN":         {"NaN/s", ">= 0"},
		"UnknownUnit": {"10/d", `unknown unit "d"`},
		"EmptyUnit":   {"10/", `unknown unit ""`},
		"LongUnit":    {"10/min", `unknown unit "min"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := middleware.ParseRate(tc.in)
			var se *middleware.SpecError
			if !errors.As(err, &se) || se.Kind != "rate" || se.Item != tc.in || !strings.Contains(se.Msg, tc.wantMsg) {
				t.Errorf("ParseRate(%q) error = %v, want a rate SpecError containing %q", tc.in, err, tc.wantMsg)
			}
		})
	}
}

// limited serves an app that answers 204 behind a rate limiter, in the
// current synctest bubble.
func limited(t *testing.T, perSecond float64, burst int) *http.Client {
	t.Helper()
	rl := middleware.NewRateLimiter(perSecond, burst, nil, nil)
	return servePipe(t, rl.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
}

// get sends GET path as the client id who (Basic auth) and returns the
// status and the Retry-After header.
func get(t *testing.T, c *http.Client, who, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://emulator"+path, nil)
	req.SetBasicAuth(who, "secret")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		var e errorBody
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code != "REQUEST_LIMITED" ||
			!strings.Contains(e.Message, "exceeded the request rate limit") || e.ID == "" {
			t.Errorf("429 body %+v (%v), want a REQUEST_LIMITED envelope", e, err)
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

type hit struct {
	status     int
	retryAfter string
}

func TestRateLimiterAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := limited(t, 1, 2)
		var got []hit
		send := func() {
			s, ra := get(t, c, "app-1", "/v1/environments")
			got = append(got, hit{s, ra})
		}
		send() // burst
		send() // burst
		send() // empty: refused
		send() // refused again: refusals take no tokens
		time.Sleep(time.Second)
		send() // one token back
		send() // empty again
		want := []hit{{204, ""}, {204, ""}, {429, "1"}, {429, "1"}, {204, ""}, {429, "1"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
}

func TestRateLimiterRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := limited(t, 0.4, 1) // a token every 2.5s
		var got []hit
		send := func() {
			s, ra := get(t, c, "app-1", "/v1/environments")
			got = append(got, hit{s, ra})
		}
		send()
		send() // 2.5s to wait: 3
		time.Sleep(2 * time.Second)
		send() // 0.5s to wait: 1
		time.Sleep(500 * time.Millisecond)
		send()
		want := []hit{{204, ""}, {429, "3"}, {429, "1"}, {204, ""}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})
}

func TestRateLimiterIsPerCaller(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := limited(t, 1, 1)
		if s, _ := get(t, c, "app-1", "/v1/roles"); s != 204 {
			t.Fatalf("first request: %d", s)
		}
		if s, _ := get(t, c, "app-1", "/v1/roles"); s != 429 {
			t.Errorf("app-1 again: %d, want 429", s)
		}
		if s, _ := get(t, c, "app-2", "/v1/roles"); s != 204 {
			t.Errorf("app-2: %d, want 204 (its own bucket)", s)
		}
		// Control endpoints are never limited.
		for range 3 {
			if s, _ := get(t, c, "app-1", "/_emulator/stats"); s != 204 {
				t.Errorf("control endpoint: %d, want 204", s)
			}
		}
	})
}

func TestRateLimiterOff(t *testing.T) {
	t.Parallel()
	next := http.NotFoundHandler()
	for _, rate := range []float64{0, -1} {
		h := middleware.NewRateLimiter(rate, 1, nil, nil).Middleware()(next)
		if reflect.ValueOf(h).Pointer() != reflect.ValueOf(next).Pointer() {
			t.Errorf("rate %v: Middleware wrapped next, want limiting off", rate)
		}
	}
}

func TestRateLimiterOverHTTP(t *testing.T) {
	t.Parallel()
	// A rate so low that no token comes back during the test.
	rl := middleware.NewRateLimiter(0.001, 3, nil, func(*http.Request) string { return "everyone" })
	srv := startServer(t, rl.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	var codes []int
	for range 5 {
		status, _, hdr, err := do(srv.Client(), "GET", srv.URL+"/v1/environments", nil)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, status)
		if status == 429 && hdr.Get("Retry-After") != "1000" {
			t.Errorf("Retry-After = %q, want 1000", hdr.Get("Retry-After"))
		}
	}
	if want := []int{200, 200, 200, 429, 429}; !reflect.DeepEqual(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
}

func BenchmarkRateLimiter(b *testing.B) {
	rl := middleware.NewRateLimiter(1e9, 1e9, nil, nil)
	h := rl.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "/v1/environments", nil)
	req.SetBasicAuth("app", "secret")
	w := httptest.NewRecorder()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
