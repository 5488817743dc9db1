package middleware

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimiter answers 429 once a caller exceeds its request rate, as PingOne
// does (reference §3.6). Each caller has its own token bucket. Safe for
// concurrent use.
type RateLimiter struct {
	limit  rate.Limit
	burst  int
	errw   ErrorWriter
	caller func(*http.Request) string

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	sweepAt int // sweep idle buckets when the map grows past this
}

const minSweep = 1024

// NewRateLimiter allows each caller perSecond requests per second on average
// and burst at once (burst < 1 counts as 1). perSecond <= 0 turns limiting
// off. caller names the bucket a request draws from (nil means Caller); errw
// writes the 429 body (nil means WriteError).
func NewRateLimiter(perSecond float64, burst int, errw ErrorWriter, caller func(*http.Request) string) *RateLimiter {
	if caller == nil {
		caller = Caller
	}
	return &RateLimiter{
		limit:   rate.Limit(perSecond),
		burst:   max(burst, 1),
		errw:    errorWriterOr(errw),
		caller:  caller,
		buckets: make(map[string]*rate.Limiter),
		sweepAt: minSweep,
	}
}

// Middleware takes one token from the caller's bucket for each request that
// is not Exempt. Without a token it answers 429 with code REQUEST_LIMITED
// and Retry-After set to the whole seconds (at least 1) until a token will
// be available, and the refused request takes nothing from the bucket, so a
// client that honours Retry-After gets through. Middleware returns next
// unchanged if limiting is off.
func (rl *RateLimiter) Middleware() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if rl.limit <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			if wait := rl.reserve(rl.caller(r)); wait > 0 {
				secs := max(int64(math.Ceil(wait.Seconds())), 1)
				w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
				rl.errw(w, r, http.StatusTooManyRequests, CodeRequestLimited, MessageRequestLimited)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// reserve takes a token for who and returns 0, or returns how long until one
// is available and takes nothing.
func (rl *RateLimiter) reserve(who string) time.Duration {
	now := time.Now()
	res := rl.bucket(who, now).ReserveN(now, 1)
	if !res.OK() { // cannot happen with burst >= 1
		return time.Second
	}
	d := res.DelayFrom(now)
	if d > 0 {
		res.CancelAt(now)
	}
	return d
}

func (rl *RateLimiter) bucket(who string, now time.Time) *rate.Limiter {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	b := rl.buckets[who]
	if b == nil {
		if len(rl.buckets) >= rl.sweepAt {
			rl.sweep(now)
		}
		b = rate.NewLimiter(rl.limit, rl.burst)
		rl.buckets[who] = b
	}
	return b
}

// sweep drops buckets that have refilled completely: a full bucket behaves
// exactly like a new one, so forgetting it changes nothing for its caller.
func (rl *RateLimiter) sweep(now time.Time) {
	for who, b := range rl.buckets {
		if b.TokensAt(now) >= float64(rl.burst) {
			delete(rl.buckets, who)
		}
	}
	rl.sweepAt = max(minSweep, 2*len(rl.buckets))
}

// ParseRate parses a rate limit: "100" or "100/s" per second, "6000/m" per
// minute, "360000/h" per hour. It returns requests per second; "0" means
// off. An error is a *SpecError.
func ParseRate(s string) (float64, error) {
	bad := func(msg string) (float64, error) {
		return 0, &SpecError{Kind: "rate", Item: s, Msg: msg}
	}
	num, unit, slash := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return bad("want a number of requests, as in 100/s, 6000/m or 100")
	}
	if !(n >= 0) || math.IsInf(n, 0) {
		return bad("rate must be a finite number >= 0")
	}
	switch unit = strings.TrimSpace(unit); {
	case !slash, unit == "s":
		return n, nil
	case unit == "m":
		return n / 60, nil
	case unit == "h":
		return n / 3600, nil
	}
	return bad("unknown unit " + strconv.Quote(unit) + " (want s, m or h)")
}
