package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p1ctl/p1ctl/emulator/middleware"
)

func TestParseFaults(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason string
		in     string
		want   middleware.Faults
	}{
		"Empty": {reason: "no spec means no faults", in: ""},
		"Issue3": {
			reason: "the example from the issue",
			in:     "5xx=0.05,429=0.05,latency=20ms,reset=0.01,timeout-after-commit=0.02,lag=2s",
			want: middleware.Faults{Error5xx: 0.05, TooMany: 0.05, Latency: 20 * time.Millisecond,
				Reset: 0.01, TimeoutAfterCommit: 0.02, Lag: 2 * time.Second},
		},
		"Spaces": {
			reason: "blanks around items, keys and values and a trailing comma are fine",
			in:     " 5XX = 1 , reset=0 ,",
			want:   middleware.Faults{Error5xx: 1},
		},
		"Bounds": {reason: "0 and 1 are valid probabilities", in: "429=1,reset=0", want: middleware.Faults{TooMany: 1}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := middleware.ParseFaults(tc.in)
			if err != nil {
				t.Fatalf("%s\nParseFaults(%q): %v", tc.reason, tc.in, err)
			}
			if got != tc.want {
				t.Errorf("%s\nParseFaults(%q) = %+v, want %+v", tc.reason, tc.in, got, tc.want)
			}
		})
	}
}

func TestParseFaultsErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason   string
		in       string
		wantItem string
		wantMsg  string
	}{
		"UnknownKey":   {reason: "typos are named", in: "5xx=0.1,rest=0.1", wantItem: "rest=0.1", wantMsg: `unknown key "rest"`},
		"NoValue":      {reason: "an item needs =", in: "reset", wantItem: "reset", wantMsg: "want key=value"},
		"TooLikely":    {reason: "probabilities are at most 1", in: "429=1.5", wantItem: "429=1.5", wantMsg: "outside [0,1]"},
		"Negative":     {reason: "probabilities are at least 0", in: "reset=-0.1", wantItem: "reset=-0.1", wantMsg: "outside [0,1]"},
		"NaN":          {reason: "NaN is no probability", in: "5xx=NaN", wantItem: "5xx=NaN", wantMsg: "outside [0,1]"},
		"NotANumber":   {reason: "percentages are not accepted", in: "5xx=5%", wantItem: "5xx=5%", wantMsg: "not a number"},
		"BadDuration":  {reason: "durations need a unit", in: "latency=20", wantItem: "latency=20", wantMsg: "not a duration"},
		"NegativeLag":  {reason: "durations are not negative", in: "lag=-2s", wantItem: "lag=-2s", wantMsg: "negative"},
		"DuplicateKey": {reason: "each key once", in: "reset=0.1,reset=0.2", wantItem: "reset=0.2", wantMsg: "duplicate"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := middleware.ParseFaults(tc.in)
			var se *middleware.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("%s\nParseFaults(%q) error = %v, want a *SpecError", tc.reason, tc.in, err)
			}
			if se.Kind != "faults" || se.Item != tc.wantItem || !strings.Contains(se.Msg, tc.wantMsg) {
				t.Errorf("%s\nParseFaults(%q) error = %+v, want item %q and message containing %q",
					tc.reason, tc.in, se, tc.wantItem, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), tc.wantItem) {
				t.Errorf("%s\nerror text %q does not name the item %q", tc.reason, err, tc.wantItem)
			}
		})
	}
}

func TestFaultsStringRoundTrips(t *testing.T) {
	t.Parallel()
	for _, f := range []middleware.Faults{
		{},
		{Error5xx: 0.05, TooMany: 0.05, Reset: 0.01, TimeoutAfterCommit: 0.02, Latency: 20 * time.Millisecond, Lag: 2 * time.Second},
		{TooMany: 1},
		{Error5xx: 1.0 / 3, Latency: 1500 * time.Microsecond},
		{Lag: time.Hour + time.Nanosecond},
	} {
		got, err := middleware.ParseFaults(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", f.String(), got, err, f)
		}
	}
	const canonical = "5xx=0.05,429=0.05,reset=0.01,timeout-after-commit=0.02,latency=20ms,lag=2s"
	f, _ := middleware.ParseFaults(canonical)
	if f.String() != canonical {
		t.Errorf("String() = %q, want %q", f.String(), canonical)
	}
}

func TestFaultsEnabled(t *testing.T) {
	t.Parallel()
	for f, want := range map[middleware.Faults]bool{
		{}:                      false,
		{Reset: 0.1}:            true,
		{Latency: time.Second}:  true,
		{Lag: time.Second}:      true,
		{TimeoutAfterCommit: 1}: true,
	} {
		if f.Enabled() != want {
			t.Errorf("%+v.Enabled() = %v, want %v", f, !want, want)
		}
	}
}

// faultServer serves, behind the fault injector, a handler that counts its
// calls: "POST /v1/things" answers 201, anything else 200.
func faultServer(t *testing.T, f middleware.Faults, http2 bool) (*httptest.Server, *atomic.Int64, <-chan struct{}) {
	t.Helper()
	var calls atomic.Int64
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	h, done := finished(middleware.NewFaultInjector(f, 42, nil).Middleware()(app))
	if http2 {
		return startHTTP2Server(t, h), &calls, done
	}
	return startServer(t, h), &calls, done
}

func TestFaultResetDropsConnectionBeforeHandler(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("HTTP2=%v", h2), func(t *testing.T) {
			t.Parallel()
			srv, calls, done := faultServer(t, middleware.Faults{Reset: 1}, h2)
			c := freshClient()
			if h2 {
				c = srv.Client()
			}
			for _, m := range []string{"GET", "POST"} {
				status, _, _, err := do(c, m, srv.URL+"/v1/things", strings.NewReader("{}"))
				if err == nil {
					t.Errorf("%s: status %d, want a client error", m, status)
				}
				receive(t, done)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("handler ran %d times, want 0", n)
			}
			// The server survives, and control endpoints are never faulted.
			resp, err := c.Get(srv.URL + "/_emulator/health")
			if err != nil {
				t.Fatalf("control endpoint: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || h2 != (resp.ProtoMajor == 2) {
				t.Errorf("control endpoint: %d over %s, want 200 (HTTP/2: %v)", resp.StatusCode, resp.Proto, h2)
			}
		})
	}
}

func TestFault5xx(t *testing.T) {
	t.Parallel()
	srv, calls, _ := faultServer(t, middleware.Faults{Error5xx: 1}, false)
	seen := map[int]int{}
	for range 30 {
		status, body, hdr, err := do(srv.Client(), "POST", srv.URL+"/v1/things", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		seen[status]++
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil || e.Code != middleware.CodeUnexpectedError || e.ID == "" || e.Message == "" {
			t.Errorf("body %s (%v), want an UNEXPECTED_ERROR envelope", body, err)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if ra := hdr.Get("Retry-After"); (status == http.StatusServiceUnavailable) != (ra == "1") {
			t.Errorf("status %d with Retry-After %q; want Retry-After: 1 on 503 only", status, ra)
		}
	}
	for _, s := range []int{500, 502, 503} {
		if seen[s] == 0 {
			t.Errorf("never saw %d in %v", s, seen)
		}
	}
	if len(seen) != 3 {
		t.Errorf("statuses %v, want only 500, 502, 503", seen)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times, want 0", n)
	}
}

func TestFault429(t *testing.T) {
	t.Parallel()
	srv, calls, _ := faultServer(t, middleware.Faults{TooMany: 1}, false)
	status, body, hdr, err := do(srv.Client(), "GET", srv.URL+"/v1/things", nil)
	if err != nil || status != http.StatusTooManyRequests {
		t.Fatalf("got %d, %v; want 429", status, err)
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Code != "REQUEST_LIMITED" {
		t.Errorf("body %s, want code REQUEST_LIMITED", body)
	}
	if ra := hdr.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want 1", ra)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times, want 0", n)
	}
}

func TestFaultTimeoutAfterCommit(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("HTTP2=%v", h2), func(t *testing.T) {
			t.Parallel()
			srv, calls, done := faultServer(t, middleware.Faults{TimeoutAfterCommit: 1}, h2)
			c := freshClient()
			if h2 {
				c = srv.Client()
			}
			for i, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				status, _, _, err := do(c, m, srv.URL+"/v1/things", strings.NewReader("{}"))
				if err == nil {
					t.Errorf("%s: status %d, want a client error", m, status)
				}
				receive(t, done)
				// The write happened although the client saw none of it.
				if n := calls.Load(); n != int64(i+1) {
					t.Errorf("%s: handler ran %d times in all, want %d", m, n, i+1)
				}
			}
			// Reads are never dropped by this fault.
			status, _, _, err := do(c, "GET", srv.URL+"/v1/things", nil)
			if err != nil || status != http.StatusOK {
				t.Errorf("GET: %d, %v; want 200", status, err)
			}
		})
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const latency = 20 * time.Millisecond
		var calls atomic.Int64
		app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
		stats := middleware.NewStats()
		h := stats.Middleware(func(*http.Request) string { return "GET /v1/x" })(
			middleware.NewFaultInjector(middleware.Faults{Latency: latency}, 1, nil).Middleware()(app))
		c := servePipe(t, h)

		start := time.Now()
		status, _, _, err := do(c, "GET", "http://emulator/v1/x", nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET: %d, %v", status, err)
		}
		if d := time.Since(start); d != latency {
			t.Errorf("request took %v, want %v", d, latency)
		}

		// A client that gives up during the delay ends the request: the
		// handler never runs.
		ctx, cancel := context.WithTimeout(t.Context(), latency/2)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://emulator/v1/x", nil)
		if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("impatient client: %v, want DeadlineExceeded", err)
		}
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Errorf("handler ran %d times, want 1", n)
		}
		want := map[string]int64{"200": 1, middleware.StatusCanceled: 1}
		if got := stats.Snapshot().Routes["GET /v1/x"]; !reflect.DeepEqual(got, want) {
			t.Errorf("stats = %v, want %v", got, want)
		}
	})
}

// outcomes sends n POSTs, one connection each, and describes each outcome
// as the client saw it.
func outcomes(t *testing.T, f middleware.Faults, seed int64, n int) []string {
	t.Helper()
	fi := middleware.NewFaultInjector(f, seed, nil)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	h, done := finished(fi.Middleware()(app))
	srv := startServer(t, h)
	c := freshClient()
	var out []string
	for range n {
		status, _, _, err := do(c, "POST", srv.URL+"/v1/things", strings.NewReader("{}"))
		receive(t, done)
		if err != nil {
			out = append(out, "error")
		} else {
			out = append(out, fmt.Sprint(status))
		}
	}
	return out
}

func TestFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	f := middleware.Faults{Error5xx: 0.2, TooMany: 0.2, Reset: 0.1, TimeoutAfterCommit: 0.1}
	const n = 150
	a, b, other := outcomes(t, f, 7, n), outcomes(t, f, 7, n), outcomes(t, f, 8, n)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different outcomes:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, other) {
		t.Errorf("seeds 7 and 8 gave the same %d outcomes", n)
	}
	kinds := map[string]bool{}
	for _, o := range a {
		kinds[o] = true
	}
	for _, k := range []string{"201", "429", "500", "502", "503", "error"} {
		if !kinds[k] {
			t.Errorf("outcome %s never happened in %v", k, a)
		}
	}
}

func TestFaultInjectorResetReplays(t *testing.T) {
	t.Parallel()
	f := middleware.Faults{Error5xx: 0.5}
	fi := middleware.NewFaultInjector(f, 3, nil)
	h := fi.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	run := func() []int {
		var codes []int
		for range 40 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
			codes = append(codes, w.Code)
		}
		return codes
	}
	first := run()
	fi.Reset()
	if again := run(); !reflect.DeepEqual(first, again) {
		t.Errorf("after Reset:\n%v\nwant\n%v", again, first)
	}
}

func TestFaultProbabilities(t *testing.T) {
	t.Parallel()
	f := middleware.Faults{Error5xx: 0.1, TooMany: 0.15, Reset: 0.05, TimeoutAfterCommit: 0.2}
	const n = 2000
	var ran bool
	h := middleware.NewFaultInjector(f, 99, nil).Middleware()(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true; w.WriteHeader(http.StatusCreated) }))
	count := map[string]int{}
	for range n {
		ran = false
		w := httptest.NewRecorder()
		func() {
			defer func() {
				if v := recover(); v != nil {
					if v != http.ErrAbortHandler {
						t.Fatalf("panic %v", v)
					}
					if ran {
						count["timeout"]++
					} else {
						count["reset"]++
					}
				}
			}()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/v1/things", strings.NewReader("{}")))
			switch w.Code {
			case 500, 502, 503:
				count["5xx"]++
			default:
				count[fmt.Sprint(w.Code)]++
			}
		}()
	}
	// Faults take precedence in the order reset, 5xx, 429, timeout.
	left := 1.0
	expect := map[string]float64{}
	for _, it := range []struct {
		k string
		p float64
	}{{"reset", f.Reset}, {"5xx", f.Error5xx}, {"429", f.TooMany}, {"timeout", f.TimeoutAfterCommit}} {
		expect[it.k] = left * it.p
		left -= left * it.p
	}
	expect["201"] = left
	for k, p := range expect {
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if got := float64(count[k]); math.Abs(got-mean) > 5*sd {
			t.Errorf("%s: %v of %d, want about %.0f (±%.0f)", k, got, n, mean, 5*sd)
		}
	}
}

func TestFaultsLeaveExemptRequestsAlone(t *testing.T) {
	t.Parallel()
	all := middleware.Faults{Error5xx: 1, TooMany: 1, Reset: 1, TimeoutAfterCommit: 1}
	h := middleware.NewFaultInjector(all, 1, nil).Middleware()(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, req := range []*http.Request{
		httptest.NewRequest("POST", "/_emulator/reset", nil),
		httptest.NewRequest("GET", "/_emulator", nil),
		httptest.NewRequest("CONNECT", "api.pingone.test:443", nil),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusTeapot {
			t.Errorf("%s %s: %d, want the handler's 418", req.Method, req.URL, w.Code)
		}
	}
}

func TestFaultsOffIsNoOp(t *testing.T) {
	t.Parallel()
	next := http.NotFoundHandler()
	h := middleware.NewFaultInjector(middleware.Faults{Lag: time.Second}, 1, nil).Middleware()(next)
	if reflect.ValueOf(h).Pointer() != reflect.ValueOf(next).Pointer() {
		t.Errorf("Middleware wrapped next although only lag (which the server implements) is set")
	}
}
