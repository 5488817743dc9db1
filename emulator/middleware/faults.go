package middleware

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults configures the failures the emulator injects to exercise clients'
// retry logic (issue 3, --faults). Probabilities are in [0, 1].
type Faults struct {
	// Error5xx ("5xx") answers 500, 502 or 503 (a third each) with code
	// UNEXPECTED_ERROR without running the handler; 503 carries
	// Retry-After: 1.
	Error5xx float64
	// TooMany ("429") answers 429 REQUEST_LIMITED with Retry-After: 1
	// without running the handler.
	TooMany float64
	// Reset ("reset") drops the connection without any response before the
	// handler runs.
	Reset float64
	// TimeoutAfterCommit ("timeout-after-commit") applies to POST, PUT,
	// PATCH and DELETE only: the handler runs to completion (so a write
	// commits) and then the connection is dropped without the response.
	TimeoutAfterCommit float64
	// Latency ("latency") delays every request by this much before
	// anything else happens.
	Latency time.Duration
	// Lag ("lag") is PingOne's eventual consistency, which needs domain
	// knowledge: the server implements it. This package only parses it.
	Lag time.Duration
}

// Keys of the fault specification, in the order String writes them.
const (
	fault5xx     = "5xx"
	fault429     = "429"
	faultReset   = "reset"
	faultTimeout = "timeout-after-commit"
	faultLatency = "latency"
	faultLag     = "lag"
)

var faultKeys = []string{fault5xx, fault429, faultReset, faultTimeout, faultLatency, faultLag}

// ParseFaults parses a specification such as
// "5xx=0.05,429=0.05,latency=20ms,reset=0.01,timeout-after-commit=0.02,lag=2s":
// comma-separated key=value items, keys as documented on Faults (case does
// not matter), in any order, each at most once. Probabilities must lie in [0, 1]; durations are
// Go durations and must not be negative. The empty string means no faults.
// An error is a *SpecError naming the offending item.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		bad := func(msg string) (Faults, error) {
			return Faults{}, &SpecError{Kind: "faults", Item: item, Msg: msg}
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return bad("want key=value")
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if seen[k] {
			return bad("duplicate key " + strconv.Quote(k))
		}
		seen[k] = true
		var p *float64
		var d *time.Duration
		switch k {
		case fault5xx:
			p = &f.Error5xx
		case fault429:
			p = &f.TooMany
		case faultReset:
			p = &f.Reset
		case faultTimeout:
			p = &f.TimeoutAfterCommit
		case faultLatency:
			d = &f.Latency
		case faultLag:
			d = &f.Lag
		default:
			return bad("unknown key " + strconv.Quote(k) + " (want one of " + strings.Join(faultKeys, ", ") + ")")
		}
		if p != nil {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return bad("probability " + strconv.Quote(v) + " is not a number")
			}
			if !(x >= 0 && x <= 1) { // also rejects NaN
				return bad("probability " + v + " is outside [0,1]")
			}
			*p = x
			continue
		}
		x, err := time.ParseDuration(v)
		if err != nil {
			return bad("duration " + strconv.Quote(v) + " is not a duration such as 20ms or 2s")
		}
		if x < 0 {
			return bad("duration " + v + " is negative")
		}
		*d = x
	}
	return f, nil
}

// String returns the specification ParseFaults reads back into f: non-zero
// items only, in a fixed order; "" when nothing is set.
func (f Faults) String() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + v)
	}
	for _, it := range []struct {
		k string
		p float64
	}{{fault5xx, f.Error5xx}, {fault429, f.TooMany}, {faultReset, f.Reset}, {faultTimeout, f.TimeoutAfterCommit}} {
		if it.p != 0 {
			add(it.k, strconv.FormatFloat(it.p, 'g', -1, 64))
		}
	}
	if f.Latency != 0 {
		add(faultLatency, f.Latency.String())
	}
	if f.Lag != 0 {
		add(faultLag, f.Lag.String())
	}
	return b.String()
}

// Enabled reports whether any fault is set, Lag included.
func (f Faults) Enabled() bool { return f.injects() || f.Lag != 0 }

// injects reports whether the FaultInjector has anything to do.
func (f Faults) injects() bool {
	return f.Error5xx > 0 || f.TooMany > 0 || f.Reset > 0 || f.TimeoutAfterCommit > 0 || f.Latency > 0
}

// FaultInjector injects Faults into requests, reproducibly: given the same
// seed and the same sequence of requests it makes the same decisions. Safe
// for concurrent use; with concurrent clients the sequence is the order in
// which requests arrive.
type FaultInjector struct {
	f    Faults
	seed int64
	errw ErrorWriter

	mu  sync.Mutex
	src *rand.PCG
	rng *rand.Rand
}

// pcgStream is the second PCG seed word; the first is the user's seed.
const pcgStream = 0x70316374_6c666c74 // "p1ctlflt"

// NewFaultInjector returns an injector for f whose random draws come from a
// PCG generator seeded with seed. errw writes the error bodies (nil means
// WriteError).
func NewFaultInjector(f Faults, seed int64, errw ErrorWriter) *FaultInjector {
	src := rand.NewPCG(uint64(seed), pcgStream)
	return &FaultInjector{f: f, seed: seed, errw: errorWriterOr(errw), src: src, rng: rand.New(src)}
}

// Faults returns the faults fi injects.
func (fi *FaultInjector) Faults() Faults { return fi.f }

// Reset rewinds the generator to its seed, so that the same requests after a
// reset (POST /_emulator/reset) meet the same faults again.
func (fi *FaultInjector) Reset() {
	fi.mu.Lock()
	fi.src.Seed(uint64(fi.seed), pcgStream)
	fi.mu.Unlock()
}

// draws are the random numbers one request consumes. Every request that is
// not Exempt takes all of them, in this order, whatever the method and
// whichever faults are enabled, so that one request's outcome never shifts
// another's.
type draws struct {
	reset, e5xx, e429, timeout, pick float64
}

func (fi *FaultInjector) draw() draws {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return draws{fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64()}
}

// Middleware injects the faults into every request that is not Exempt:
// first Latency (a client that gives up meanwhile ends the request, with no
// response), then at most one of, in this order of precedence: reset, 5xx,
// 429, timeout-after-commit. Dropped connections are reported as
// http.ErrAbortHandler panics, which net/http turns into a closed HTTP/1.1
// connection or a reset HTTP/2 stream, and which Stats counts as
// StatusReset. Middleware returns next unchanged if f injects nothing.
//
// Go's http.Transport silently retries an idempotent request (GET, HEAD,
// OPTIONS) once when a reused connection drops, so a Go client may not notice
// a reset on such a request; the stats still count both attempts.
func (fi *FaultInjector) Middleware() func(http.Handler) http.Handler {
	f := fi.f
	return func(next http.Handler) http.Handler {
		if !f.injects() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			d := fi.draw()
			if f.Latency > 0 && !wait(r.Context(), f.Latency) {
				annotate(w, faultLatency, 0)
				return
			}
			switch {
			case d.reset < f.Reset:
				annotate(w, faultReset, 0)
				panic(http.ErrAbortHandler)
			case d.e5xx < f.Error5xx:
				annotate(w, fault5xx, 0)
				status := http.StatusInternalServerError
				switch {
				case d.pick >= 2.0/3:
					status = http.StatusServiceUnavailable
					w.Header().Set("Retry-After", "1")
				case d.pick >= 1.0/3:
					status = http.StatusBadGateway
				}
				fi.errw(w, r, status, CodeUnexpectedError, MessageUnexpectedError)
			case d.e429 < f.TooMany:
				annotate(w, fault429, 0)
				w.Header().Set("Retry-After", "1")
				fi.errw(w, r, http.StatusTooManyRequests, CodeRequestLimited, MessageRequestLimited)
			case d.timeout < f.TimeoutAfterCommit && mutating(r.Method):
				bw := &bufferWriter{header: make(http.Header)}
				next.ServeHTTP(bw, r)
				if bw.status == 0 {
					bw.status = http.StatusOK
				}
				annotate(w, faultTimeout, bw.status)
				panic(http.ErrAbortHandler)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// wait sleeps for d and reports whether it did so before ctx ended.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bufferWriter takes a response that will never be sent. It supports neither
// flushing nor hijacking (http.ResponseController reports ErrNotSupported).
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
