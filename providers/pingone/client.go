package pingone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"
)

// maxResponse bounds a response body; PingOne's largest pages (1,000 users)
// are a few MB.
const maxResponse = 64 << 20

// Client talks to PingOne's management API as a worker app. It is safe for
// concurrent use: all callers share its token, rate limiter and concurrency
// limit.
//
// Every request is retried with exponential backoff and full jitter on 429
// (honouring Retry-After), 5xx, UNEXPECTED_ERROR and network errors, up to
// MaxRetries times; a 401 renews the token once. A create (POST) whose
// outcome is unknown is not re-sent before its natural key has been looked
// up (see call.lookup).
type Client struct {
	ep         endpoints
	tokenURL   string
	hc         *http.Client
	tokens     *tokens
	limiter    *rate.Limiter // nil: no client-side limit
	sem        chan struct{}
	log        *slog.Logger
	userAgent  string
	maxRetries int
	timeout    time.Duration
	readiness  time.Duration
	baseDelay  time.Duration
	maxDelay   time.Duration
	maxRA      time.Duration

	requests, tokenRequests, retries, lookups atomic.Int64
	throttled, backoff                        atomic.Int64 // nanoseconds

	freshMu sync.Mutex
	fresh   map[string]time.Time // environments this client created, and when
	settled map[string]bool      // ENV/collection pairs that have answered 2xx
}

// Stats are a Client's counters since it was made.
type Stats struct {
	// Requests counts HTTP requests sent, token requests included (the
	// emulator's /_emulator/stats total counts the same).
	Requests int64
	// TokenRequests counts requests to the token endpoint.
	TokenRequests int64
	// Retries counts requests sent again: after a 429, a 5xx, a network
	// error, a rejected token, or inside the readiness window.
	Retries int64
	// Lookups counts natural-key look-ups made because a create's outcome
	// was unknown.
	Lookups int64
	// Throttled is the time spent waiting on the client-side rate limiter
	// or on a server's Retry-After.
	Throttled time.Duration
	// Backoff is the time spent waiting before other retries.
	Backoff time.Duration
}

// New returns a Client for cfg. It makes no request: the first call gets
// the token.
func New(cfg Config) (*Client, error) {
	ep, err := cfg.endpoints()
	if err != nil {
		return nil, err
	}
	if cfg.Concurrency < 0 {
		return nil, &ConfigError{Var: "Concurrency", Msg: "must not be negative"}
	}
	c := &Client{
		ep:         ep,
		sem:        make(chan struct{}, orDefault(cfg.Concurrency, DefaultConcurrency)),
		log:        cfg.Logger,
		userAgent:  orDefault(cfg.UserAgent, DefaultUserAgent),
		maxRetries: orDefault(cfg.MaxRetries, DefaultMaxRetries),
		timeout:    orDefault(cfg.RequestTimeout, DefaultRequestTimeout),
		readiness:  orDefault(cfg.ReadinessWindow, DefaultReadinessWindow),
		baseDelay:  orDefault(cfg.RetryBaseDelay, defaultRetryBaseDelay),
		maxDelay:   orDefault(cfg.RetryMaxDelay, defaultRetryMaxDelay),
		maxRA:      orDefault(cfg.MaxRetryAfter, defaultMaxRetryAfter),
		fresh:      map[string]time.Time{},
		settled:    map[string]bool{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.maxRetries = max(c.maxRetries, 0)
	if r := cfg.rateLimit(); r > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
	}
	base := http.DefaultTransport
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
		if hc.Transport != nil {
			base = hc.Transport
		}
	}
	hc.Transport = &countingTransport{next: base, c: c}
	c.hc = hc
	c.tokenURL = ep.auth.JoinPath(cfg.EnvironmentID, "as", "token").String()
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     c.tokenURL,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	c.tokens = newTokens(cc, hc, c.timeout, orDefault(cfg.TokenRefreshEarly, DefaultTokenRefreshEarly))
	return c, nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:      c.requests.Load(),
		TokenRequests: c.tokenRequests.Load(),
		Retries:       c.retries.Load(),
		Lookups:       c.lookups.Load(),
		Throttled:     time.Duration(c.throttled.Load()),
		Backoff:       time.Duration(c.backoff.Load()),
	}
}

// APIBase returns the management API base URL, e.g.
// https://api.pingone.com/v1.
func (c *Client) APIBase() string { return c.ep.api.String() }

// AuthBase returns the auth API base URL, e.g. https://auth.pingone.com
// (a worker's token endpoint is AuthBase/ENV/as/token).
func (c *Client) AuthBase() string { return c.ep.auth.String() }

// TokenURL returns the token endpoint, e.g.
// https://auth.pingone.com/ENV/as/token.
func (c *Client) TokenURL() string { return c.tokenURL }

// countingTransport counts every request that leaves the client.
type countingTransport struct {
	next http.RoundTripper
	c    *Client
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.c.requests.Add(1)
	if strings.HasSuffix(r.URL.Path, "/as/token") {
		t.c.tokenRequests.Add(1)
	}
	return t.next.RoundTrip(r)
}

// markFresh records that this client just created environment id.
func (c *Client) markFresh(id string) {
	c.freshMu.Lock()
	c.fresh[id] = time.Now()
	c.freshMu.Unlock()
}

// unsettled reports whether a 404 or 403 from collection coll of
// environment env may be PingOne catching up: the environment is one this
// client created within the readiness window, and coll has not answered
// with success yet. Once it has, its 404s and 403s are real.
func (c *Client) unsettled(env, coll string) bool {
	if env == "" || c.readiness <= 0 {
		return false
	}
	c.freshMu.Lock()
	defer c.freshMu.Unlock()
	t, ok := c.fresh[env]
	return ok && time.Since(t) < c.readiness && !c.settled[env+"/"+coll]
}

// settle records a success from collection coll of environment env.
func (c *Client) settle(env, coll string) {
	if env == "" {
		return
	}
	c.freshMu.Lock()
	defer c.freshMu.Unlock()
	if _, ok := c.fresh[env]; ok {
		c.settled[env+"/"+coll] = true
	}
}

// call is one API request.
type call struct {
	method string
	// url is a path under the API base ("/environments/ENV/users?limit=10")
	// or an absolute URL on the API host (a _links.next href).
	url string
	// body is sent as JSON; nil sends none.
	body any
	// contentType overrides application/json, e.g. the user-import type.
	contentType string
	// lookup, for a create, finds the object by its natural key. It runs
	// before a POST whose outcome is unknown is sent again, and after a
	// retry answers that the key is taken; what it finds is the result.
	lookup func(ctx context.Context) (json.RawMessage, bool, error)
}

// result is what one attempt got.
type result struct {
	status int
	header http.Header
	body   []byte
	gen    uint64 // token generation used
	err    error  // transport error, TokenError, or ctx's error
}

// do sends cl, retrying as the Client documents, and returns the body of
// the 2xx answer (nil for 204). Errors are *APIError for PingOne's
// answers, *TokenError, or a transport error naming method and route.
func (c *Client) do(ctx context.Context, cl call) (json.RawMessage, error) {
	u, err := c.resolve(cl.url)
	if err != nil {
		return nil, err
	}
	route := c.route(u)
	var payload []byte
	if cl.body != nil {
		if payload, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", cl.method, route, err)
		}
	}
	envID, coll := envOfPath(strings.TrimPrefix(u.Path, c.ep.api.Path))
	// A POST or DELETE that fails after it may have been sent (a dropped
	// connection, a timeout, a 5xx) may still have committed.
	mayCommit := cl.method == http.MethodPost || cl.method == http.MethodDelete
	var (
		unknown    bool // an earlier attempt may have committed
		needLookup bool // unknown, and not looked up since
		refreshed  bool // the token was renewed after a 401
		retries    int  // retries counted against maxRetries
		waits      int  // readiness retries, for their backoff
		lastErr    error
	)
	for {
		if needLookup && cl.lookup != nil {
			needLookup = false
			raw, found, err := c.lookupAfterUnknown(ctx, cl)
			if err != nil {
				return nil, fmt.Errorf("%s %s: outcome unknown, and looking it up failed: %w", cl.method, route, err)
			}
			if found {
				return raw, nil
			}
		}
		res := c.attempt(ctx, cl, u, payload)
		var wait time.Duration
		throttled := false
		switch {
		case res.err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("%s %s: %w", cl.method, route, ctx.Err())
		case res.err != nil:
			var te *TokenError
			if errors.As(res.err, &te) {
				if !te.retryable() {
					return nil, te
				}
				lastErr = te
			} else {
				// Unless it never left, the request may have reached
				// PingOne: a POST's or DELETE's outcome is now unknown.
				lastErr = fmt.Errorf("%s %s: %w", cl.method, route, transportError(res.err))
				if mayCommit && maybeSent(res.err) {
					unknown, needLookup = true, true
				}
			}
			wait = c.jitter(retries)
		case res.status >= 200 && res.status < 300:
			c.settle(envID, coll)
			if err := checkJSON(res); err != nil {
				return nil, fmt.Errorf("%s %s: %w", cl.method, route, err)
			}
			if res.status == http.StatusNoContent || len(bytes.TrimSpace(res.body)) == 0 {
				return nil, nil
			}
			return res.body, nil
		default:
			ae := decodeAPIError(res.status, res.body)
			ae.Method, ae.Route = cl.method, route
			lastErr = ae
			switch {
			case res.status == http.StatusUnauthorized && !refreshed:
				// One forced refresh: the token may have been revoked or
				// the clocks disagree about its expiry.
				refreshed = true
				c.tokens.forceRefresh(res.gen)
				c.noteRetry(cl, route, res.status, 0)
				continue
			case res.status == http.StatusTooManyRequests:
				wait, throttled = c.retryAfter(res.header)
				if !throttled {
					wait, throttled = c.jitter(retries), true
				}
			case res.status >= 500 || res.status == http.StatusRequestTimeout || ae.Code == "UNEXPECTED_ERROR":
				if mayCommit {
					unknown, needLookup = true, true
				}
				if wait, throttled = c.retryAfter(res.header); !throttled {
					wait = c.jitter(retries)
				}
			case res.status == http.StatusNotFound && cl.method == http.MethodDelete && unknown:
				return nil, nil // an earlier attempt deleted it
			case (res.status == http.StatusNotFound || res.status == http.StatusForbidden) && c.unsettled(envID, coll):
				// PingOne is still setting up the environment this client
				// just created (or the roles it got for it): wait, bounded
				// by the readiness window rather than by maxRetries.
				wait = c.readinessWait(waits)
				waits++
				c.backoff.Add(int64(wait))
				c.noteRetry(cl, route, res.status, wait)
				if err := sleep(ctx, wait); err != nil {
					return nil, fmt.Errorf("%s %s: %w", cl.method, route, err)
				}
				continue
			case unknown && cl.lookup != nil && IsUniquenessViolation(ae):
				raw, found, err := c.lookupAfterUnknown(ctx, cl)
				if err != nil {
					return nil, fmt.Errorf("%s %s: outcome unknown, and looking it up failed: %w", cl.method, route, err)
				}
				if found {
					return raw, nil
				}
				return nil, ae
			default:
				return nil, ae
			}
		}
		if retries >= c.maxRetries {
			return nil, lastErr
		}
		retries++
		if throttled {
			c.throttled.Add(int64(wait))
		} else {
			c.backoff.Add(int64(wait))
		}
		c.noteRetry(cl, route, res.status, wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", cl.method, route, err)
		}
	}
}

// accessToken returns the current access token, fetching it (with retries
// on 429, 5xx and network errors) when there is none.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	for n := 0; ; n++ {
		tok, _, err := c.tokens.token(ctx)
		if err == nil {
			return tok.AccessToken, nil
		}
		var te *TokenError
		if !errors.As(err, &te) || !te.retryable() || n >= c.maxRetries {
			return "", err
		}
		wait := c.jitter(n)
		c.retries.Add(1)
		c.backoff.Add(int64(wait))
		if err := sleep(ctx, wait); err != nil {
			return "", err
		}
	}
}

func (c *Client) lookupAfterUnknown(ctx context.Context, cl call) (json.RawMessage, bool, error) {
	c.lookups.Add(1)
	return cl.lookup(ctx)
}

func (c *Client) noteRetry(cl call, route string, status int, wait time.Duration) {
	c.retries.Add(1)
	c.log.Debug("retry", "method", cl.method, "route", route, "status", status, "wait", wait)
}

// attempt sends one request: it takes a concurrency slot, waits for the
// rate limiter, and gets a token first.
func (c *Client) attempt(ctx context.Context, cl call, u *url.URL, payload []byte) result {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return result{err: notSent{ctx.Err()}}
	}
	defer func() { <-c.sem }()
	if c.limiter != nil {
		start := time.Now()
		err := c.limiter.Wait(ctx)
		c.throttled.Add(int64(time.Since(start)))
		if err != nil {
			return result{err: notSent{err}}
		}
	}
	tok, gen, err := c.tokens.token(ctx)
	if err != nil {
		var te *TokenError
		if !errors.As(err, &te) {
			err = notSent{err}
		}
		return result{err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u.String(), body)
	if err != nil {
		return result{err: notSent{err}}
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json, application/hal+json;q=0.9")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", orDefault(cl.contentType, "application/json"))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return result{err: err, gen: gen}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		// The status came but the body did not: treat as a dropped
		// connection.
		return result{err: err, gen: gen}
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b, gen: gen}
}

// notSent wraps the failure of a request that never left the client.
type notSent struct{ err error }

func (e notSent) Error() string { return e.err.Error() }
func (e notSent) Unwrap() error { return e.err }

// maybeSent reports whether a request that failed with err may have
// reached the server: not when it failed before it was sent, or when the
// connection could not be made.
func maybeSent(err error) bool {
	var ns notSent
	if errors.As(err, &ns) {
		return false
	}
	var oe *net.OpError
	return !(errors.As(err, &oe) && oe.Op == "dial")
}

// checkJSON accepts application/json, application/hal+json and other
// +json answers.
func checkJSON(res result) error {
	if len(bytes.TrimSpace(res.body)) == 0 {
		return nil
	}
	ct := res.header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == "application/json" || mt == "application/hal+json" || strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("unexpected response Content-Type %q", ct)
	}
	return nil
}

// transportError drops the URL a *url.Error repeats (its query may hold a
// filter value) and keeps the cause.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// jitter is exponential backoff with full jitter: a random wait between 0
// and base·2^n, capped.
func (c *Client) jitter(n int) time.Duration {
	d := c.maxDelay
	if n < 30 {
		d = min(c.baseDelay<<n, c.maxDelay)
	}
	return rand.N(d + 1)
}

// readinessWait backs off from half a second to 4 s while an environment
// settles.
func (c *Client) readinessWait(n int) time.Duration {
	d := min(500*time.Millisecond<<min(n, 3), 4*time.Second)
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped.
func (c *Client) retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	} else {
		return 0, false
	}
	return min(max(d, 0), c.maxRA), true
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resolve turns a call's url into an absolute URL on the API host. An
// absolute URL (a next link) must be on that host, so the token never goes
// elsewhere.
func (c *Client) resolve(s string) (*url.URL, error) {
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("link %q: %w", s, err)
		}
		if u.Scheme != c.ep.api.Scheme || u.Host != c.ep.api.Host {
			return nil, fmt.Errorf("link to %s://%s is not on the API host %s", u.Scheme, u.Host, c.ep.api.Host)
		}
		return u, nil
	}
	path, query, _ := strings.Cut(s, "?")
	u := *c.ep.api
	u.Path = c.ep.api.Path + path
	u.RawPath = ""
	u.RawQuery = query
	return &u, nil
}

// route is a request's path under the API base, for errors and logs.
func (c *Client) route(u *url.URL) string {
	return strings.TrimPrefix(u.Path, c.ep.api.Path)
}

// envOfPath returns ENV and COLL of /environments/ENV/COLL/...; COLL is
// "" for the environment itself.
func envOfPath(p string) (env, coll string) {
	rest, ok := strings.CutPrefix(p, "/environments/")
	if !ok {
		return "", ""
	}
	env, rest, _ = strings.Cut(rest, "/")
	coll, _, _ = strings.Cut(rest, "/")
	return env, coll
}

// page is one page of a HAL collection.
type page struct {
	Links struct {
		Next *struct {
			Href string `json:"href"`
		} `json:"next"`
	} `json:"_links"`
	Embedded map[string]json.RawMessage `json:"_embedded"`
}

// list calls fn for every item of the collection at path (with query q),
// following _links.next verbatim.
func (c *Client) list(ctx context.Context, path string, q url.Values, name string, fn func(json.RawMessage) error) error {
	next := path
	if len(q) > 0 {
		next += "?" + q.Encode()
	}
	seen := map[string]bool{}
	for next != "" {
		if seen[next] {
			return fmt.Errorf("GET %s: the next link repeats a page", path)
		}
		seen[next] = true
		body, err := c.do(ctx, call{method: http.MethodGet, url: next})
		if err != nil {
			return err
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			return fmt.Errorf("GET %s: decode page: %w", path, err)
		}
		var items []json.RawMessage
		if raw, ok := p.Embedded[name]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return fmt.Errorf("GET %s: decode _embedded.%s: %w", path, name, err)
			}
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		next = ""
		if p.Links.Next != nil && len(items) > 0 {
			next = p.Links.Next.Href
		}
	}
	return nil
}

// get reads one object into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	body, err := c.do(ctx, call{method: http.MethodGet, url: path})
	if err != nil {
		return err
	}
	return decode(body, v, "GET "+path)
}

func decode(body []byte, v any, what string) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: decode response: %w", what, err)
	}
	return nil
}

// filterValue quotes s for a SCIM filter.
func filterValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
