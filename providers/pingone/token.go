package pingone

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokens hands out the worker's access token: fetched by client
// credentials with HTTP Basic, cached, renewed ahead of expiry, and renewed
// at once when PingOne rejects it (forceRefresh). Safe for concurrent use;
// concurrent callers share one fetch.
type tokens struct {
	base  oauth2.TokenSource // fetches a new token on every call
	early time.Duration
	// gate admits one caller at a time into the reuse source, which holds
	// a mutex while it fetches. Waiting on a channel instead lets a
	// testing/synctest bubble's clock advance while a fetch waits on a
	// slow server.
	gate chan struct{}

	mu  sync.Mutex
	ts  oauth2.TokenSource
	gen uint64 // bumped by every forced refresh
}

func newTokens(cfg *clientcredentials.Config, hc *http.Client, timeout, early time.Duration) *tokens {
	t := &tokens{base: &ccSource{cfg: cfg, hc: hc, timeout: timeout, early: early}, early: early, gate: make(chan struct{}, 1)}
	t.ts = oauth2.ReuseTokenSourceWithExpiry(nil, t.base, early)
	return t
}

// token returns a valid token and the generation it belongs to.
func (t *tokens) token(ctx context.Context) (*oauth2.Token, uint64, error) {
	select {
	case t.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-t.gate }()
	t.mu.Lock()
	ts, gen := t.ts, t.gen
	t.mu.Unlock()
	tok, err := ts.Token()
	return tok, gen, err
}

// forceRefresh drops the cached token of generation gen, so the next call
// fetches a new one. Callers that saw the same rejected token refresh once.
func (t *tokens) forceRefresh(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.gen++
		t.ts = oauth2.ReuseTokenSourceWithExpiry(nil, t.base, t.early)
	}
}

// ccSource fetches a token by client credentials on every call.
type ccSource struct {
	cfg     *clientcredentials.Config
	hc      *http.Client
	timeout time.Duration
	early   time.Duration
}

func (s *ccSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, s.hc), s.timeout)
	defer cancel()
	tok, err := s.cfg.Token(ctx)
	if err != nil {
		return nil, tokenError(err)
	}
	// The reuse source renews `early` before Expiry. For a token that lives
	// less than four times that (an emulator started with a TTL of seconds)
	// that would mean a new token per request: renew at three quarters of
	// its lifetime instead, by moving the Expiry the reuse source sees.
	if !tok.Expiry.IsZero() {
		if quarter := time.Until(tok.Expiry) / 4; quarter < s.early {
			tok.Expiry = tok.Expiry.Add(s.early - quarter)
		}
	}
	return tok, nil
}

// tokenError turns the oauth2 library's error into a TokenError, dropping
// the response body it carries.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
		if re.Response != nil {
			te.Status = re.Response.StatusCode
		}
		return te
	}
	return &TokenError{Err: err}
}

// retryable reports whether fetching a token again may succeed.
func (e *TokenError) retryable() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// claims are the parts of a worker token Whoami reads.
type claims struct {
	ClientID string `json:"client_id"`
	Env      string `json:"env"`
	Org      string `json:"org"`
}

// parseClaims decodes a JWT's payload without verifying it: the token came
// from PingOne over TLS, and PingOne verifies it on every call.
func parseClaims(jwt string) (claims, error) {
	var c claims
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return c, errors.New("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, errors.New("access token payload is not base64url")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errors.New("access token payload is not JSON")
	}
	if c.ClientID == "" || c.Env == "" || c.Org == "" {
		return c, errors.New("access token lacks client_id, env or org claims")
	}
	return c, nil
}
