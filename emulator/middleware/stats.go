package middleware

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// Status keys for responses that have no HTTP status code.
const (
	// StatusReset counts requests whose connection was dropped without a
	// response: the reset and timeout-after-commit faults, and any handler
	// that panics with http.ErrAbortHandler.
	StatusReset = "reset"
	// StatusPanic counts handlers that panicked with anything else (a bug;
	// net/http drops the connection and logs the stack).
	StatusPanic = "panic"
	// StatusCanceled counts requests whose client went away before any
	// response was written (for example while the latency fault waited).
	StatusCanceled = "canceled"
	// StatusHijacked counts requests whose handler took over the connection.
	StatusHijacked = "hijacked"
)

// Internal codes for the keys above.
const (
	codeReset = -1 - iota
	codePanic
	codeCanceled
	codeHijacked
)

type statKey struct {
	route  string
	status int
}

// Stats counts responses by route and status. It is safe for concurrent use;
// counting takes one mutex and one map update per request.
type Stats struct {
	mu     sync.Mutex
	total  int64
	counts map[statKey]int64
}

// NewStats returns empty counters.
func NewStats() *Stats { return &Stats{counts: make(map[statKey]int64)} }

// Snapshot is the JSON document GET /_emulator/stats serves:
//
//	{"total": 3, "routes": {"GET /v1/environments/{envID}/users": {"200": 2, "429": 1}}}
//
// Status keys are decimal codes or one of StatusReset, StatusPanic,
// StatusCanceled and StatusHijacked.
type Snapshot struct {
	Total  int64                       `json:"total"`
	Routes map[string]map[string]int64 `json:"routes"`
}

// Middleware counts every response that passes through it, except for
// Exempt requests. Each request is counted exactly once, under its route
// (Unmatched if none) and its status.
//
// A response is counted when its status is committed, before any of it
// reaches the client, so a client that has seen a response always finds it
// in a later snapshot. Responses without a status are counted when the
// handler returns or panics (see the Status constants).
func (s *Stats) Middleware(route RouteFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			counted := false
			count := func(status int) {
				if !counted {
					counted = true
					s.add(routeOf(route, r), status)
				}
			}
			rec := &Recorder{w: w, onCommit: count}
			returned := false
			defer func() {
				if returned {
					return
				}
				v := recover()
				if v == http.ErrAbortHandler {
					count(codeReset)
				} else {
					count(codePanic)
				}
				panic(v)
			}()
			next.ServeHTTP(rec, r)
			returned = true
			switch {
			case counted:
			case rec.hijacked:
				count(codeHijacked)
			case r.Context().Err() != nil:
				count(codeCanceled)
			default:
				count(http.StatusOK) // net/http sends an implicit 200
			}
		})
	}
}

func (s *Stats) add(route string, status int) {
	k := statKey{route, status}
	s.mu.Lock()
	s.total++
	s.counts[k]++
	s.mu.Unlock()
}

// Snapshot returns a copy of the counters.
func (s *Stats) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Total: s.total, Routes: make(map[string]map[string]int64)}
	for k, n := range s.counts {
		m := snap.Routes[k.route]
		if m == nil {
			m = make(map[string]int64)
			snap.Routes[k.route] = m
		}
		m[statusKey(k.status)] = n
	}
	return snap
}

// Reset sets every counter to zero.
func (s *Stats) Reset() {
	s.mu.Lock()
	s.total = 0
	clear(s.counts)
	s.mu.Unlock()
}

// ServeHTTP serves the control endpoint: GET (and HEAD) answer the Snapshot
// as JSON, DELETE resets the counters and answers 204, anything else 405.
func (s *Stats) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		body, err := json.Marshal(s.Snapshot())
		if err != nil { // maps of strings and ints: cannot happen
			WriteError(w, r, http.StatusInternalServerError, CodeUnexpectedError, MessageUnexpectedError)
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(body, '\n'))
	case http.MethodDelete:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, HEAD, DELETE")
		WriteError(w, r, http.StatusMethodNotAllowed, "INVALID_REQUEST", "The request could not be completed. Method "+r.Method+" is not supported for this resource.")
	}
}

func statusKey(code int) string {
	switch code {
	case codeReset:
		return StatusReset
	case codePanic:
		return StatusPanic
	case codeCanceled:
		return StatusCanceled
	case codeHijacked:
		return StatusHijacked
	}
	return strconv.Itoa(code)
}
