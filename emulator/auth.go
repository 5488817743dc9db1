package emulator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// regionTLD maps an environment's region to PingOne's top-level domain
// (pingone-api.md §1); tokens name the PingOne API of that region as their
// audience, as real tokens do.
var regionTLD = map[string]string{"NA": "com", "EU": "eu", "AP": "asia", "CA": "ca", "AU": "com.au", "SG": "sg"}

func apiAudience(region string) string {
	tld, ok := regionTLD[region]
	if !ok {
		tld = "com"
	}
	return "https://api.pingone." + tld
}

// ---- signing keys ----------------------------------------------------------

// signingKey is an environment's RS256 key. Keys are made on first use and
// kept in the store, so tokens stay valid across restarts.
type signingKey struct {
	kid   string
	envID string
	priv  *rsa.PrivateKey
}

type keyring struct {
	mu    sync.Mutex
	byEnv map[string]*signingKey
	byKid map[string]*signingKey
}

func (k *keyring) init() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.byEnv, k.byKid = map[string]*signingKey{}, map[string]*signingKey{}
}

func (k *keyring) forget() { k.init() }

type storedKey struct {
	PKCS8 string `json:"pkcs8"`
}

// signingKey returns envID's key, loading or creating it.
func (s *Server) signingKey(ctx context.Context, envID string) (*signingKey, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if key := s.keys.byEnv[envID]; key != nil {
		return key, nil
	}
	page, err := s.db.List(ctx, store.ListQuery{Kind: kindSigningKeys, EnvID: envID, Limit: 1})
	if err != nil {
		return nil, err
	}
	var key *signingKey
	if len(page.Items) > 0 {
		key, err = decodeKey(page.Items[0])
		if err != nil {
			return nil, err
		}
	} else {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		key = &signingKey{kid: s.ids.New(), envID: envID, priv: priv}
		private, _ := json.Marshal(storedKey{PKCS8: base64.StdEncoding.EncodeToString(der)})
		doc, _ := json.Marshal(map[string]string{"kid": key.kid, "createdAt": s.stamp()})
		if _, err := s.db.Create(ctx, store.Object{Kind: kindSigningKeys, ID: key.kid, EnvID: envID, Doc: doc, Private: private}); err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
	}
	s.keys.byEnv[envID], s.keys.byKid[key.kid] = key, key
	return key, nil
}

// keyByID finds a key by kid, for verifying tokens.
func (s *Server) keyByID(ctx context.Context, kid string) (*signingKey, error) {
	s.keys.mu.Lock()
	key := s.keys.byKid[kid]
	s.keys.mu.Unlock()
	if key != nil {
		return key, nil
	}
	o, err := s.db.Get(ctx, kindSigningKeys, kid)
	if err != nil {
		return nil, err
	}
	key, err = decodeKey(o)
	if err != nil {
		return nil, err
	}
	s.keys.mu.Lock()
	s.keys.byKid[kid] = key
	s.keys.mu.Unlock()
	return key, nil
}

func decodeKey(o store.Object) (*signingKey, error) {
	var sk storedKey
	if err := json.Unmarshal(o.Private, &sk); err != nil {
		return nil, fmt.Errorf("decode signing key %s: %w", o.ID, err)
	}
	der, err := base64.StdEncoding.DecodeString(sk.PKCS8)
	if err != nil {
		return nil, fmt.Errorf("decode signing key %s: %w", o.ID, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", o.ID, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not RSA", o.ID)
	}
	return &signingKey{kid: o.ID, envID: o.EnvID, priv: priv}, nil
}

// publicKey finds the verification key of a token we signed, by its kid.
func (s *Server) publicKey(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, err := s.keyByID(ctx, kid)
		if err != nil {
			return nil, err
		}
		return &key.priv.PublicKey, nil
	}
}

// sign makes an RS256 JWT with envID's key.
func (s *Server) sign(ctx context.Context, envID string, claims jwt.MapClaims) (string, error) {
	key, err := s.signingKey(ctx, envID)
	if err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = key.kid
	return tok.SignedString(key.priv)
}

// jwks serves GET /{envID}/as/jwks: the environment's public key.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	if _, err := s.db.Get(r.Context(), kindEnvironments, envID); err != nil {
		s.writeError(w, errNotFound())
		return
	}
	key, err := s.signingKey(r.Context(), envID)
	if err != nil {
		s.log.Error("signing key", "env", envID, "err", err)
		s.writeError(w, errUnexpected())
		return
	}
	pub := key.priv.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": key.kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// ---- token endpoint ----------------------------------------------------------

// oauthError is the token endpoint's error body (RFC 6749 §5.2), not the
// management envelope.
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="PingOne"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.Status, e)
}

func invalidClient(desc string) *oauthError {
	return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Request denied: " + desc}
}

// tokenApp is the part of an application the token endpoint reads.
type tokenApp struct {
	ID                      string   `json:"id"`
	Name                    string   `json:"name"`
	Type                    string   `json:"type"`
	Enabled                 bool     `json:"enabled"`
	TokenEndpointAuthMethod string   `json:"tokenEndpointAuthMethod"`
	GrantTypes              []string `json:"grantTypes"`
}

// tokenGrant handles one grant_type at the token endpoint for an
// authenticated client. client_credentials is built in; the sign-on grants
// register here too.
type tokenGrant func(w http.ResponseWriter, r *http.Request, env environmentView, app tokenApp) *oauthError

// token serves POST /{envID}/as/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	env, err := s.environment(r.Context(), r.PathValue("envID"))
	if err != nil {
		s.writeError(w, errNotFound())
		return
	}
	if mediaType(r) != "application/x-www-form-urlencoded" {
		writeOAuthError(w, &oauthError{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "Request must be application/x-www-form-urlencoded"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "Request body could not be parsed"})
		return
	}
	app, oe := s.authenticateClient(r, env.ID)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	grant := r.PostForm.Get("grant_type")
	var h tokenGrant
	switch grant {
	case "client_credentials":
		h = s.clientCredentials
	case "":
		writeOAuthError(w, &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "grant_type is required"})
		return
	default:
		h = s.grants[grant]
	}
	if h == nil {
		writeOAuthError(w, &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: fmt.Sprintf("Unsupported grant type: %s", grant)})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if oe := h(w, r, env, app); oe != nil {
		writeOAuthError(w, oe)
	}
}

// authenticateClient checks the client's credentials with exactly the
// method the application is configured for: PingOne rejects the other
// method, and clients that auto-detect the method depend on that.
func (s *Server) authenticateClient(r *http.Request, envID string) (tokenApp, *oauthError) {
	method, clientID, secret := "NONE", r.PostForm.Get("client_id"), ""
	if id, pw, ok := r.BasicAuth(); ok {
		method, clientID, secret = "CLIENT_SECRET_BASIC", id, pw
		// RFC 6749 §2.3.1: the Basic credentials are form-encoded first.
		if v, err := urlUnescape(id); err == nil {
			clientID = v
		}
		if v, err := urlUnescape(pw); err == nil {
			secret = v
		}
	} else if r.PostForm.Has("client_secret") {
		method, secret = "CLIENT_SECRET_POST", r.PostForm.Get("client_secret")
	}
	if clientID == "" {
		return tokenApp{}, invalidClient("Client authentication is required")
	}
	o, err := s.db.Get(r.Context(), kindApplications, clientID)
	if err != nil || o.EnvID != envID {
		return tokenApp{}, invalidClient("Invalid client credentials")
	}
	var app tokenApp
	if err := json.Unmarshal(o.Doc, &app); err != nil {
		return tokenApp{}, invalidClient("Invalid client credentials")
	}
	if app.TokenEndpointAuthMethod != method {
		return tokenApp{}, invalidClient("Unsupported authentication method")
	}
	if method != "NONE" {
		var sec appSecrets
		if len(o.Private) > 0 {
			json.Unmarshal(o.Private, &sec)
		}
		if !sec.matches(secret, s.now()) {
			return tokenApp{}, invalidClient("Invalid client credentials")
		}
	}
	if !app.Enabled {
		return tokenApp{}, invalidClient("Client is disabled")
	}
	return app, nil
}

func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, env environmentView, app tokenApp) *oauthError {
	if !slices.Contains(app.GrantTypes, "CLIENT_CREDENTIALS") {
		return &oauthError{Status: http.StatusBadRequest, Code: "unauthorized_client",
			Description: "Request denied: The client is not authorized to use the client_credentials grant type"}
	}
	now := s.now()
	ttl := s.opts.TokenTTL
	claims := jwt.MapClaims{
		"iss":       authBase(r) + "/" + env.ID + "/as",
		"client_id": app.ID,
		"aud":       []string{apiAudience(env.Region)},
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       s.ids.New(),
		"env":       env.ID,
		"org":       env.Organization.ID,
	}
	tok, err := s.sign(r.Context(), env.ID, claims)
	if err != nil {
		s.log.Error("sign token", "err", err)
		return &oauthError{Status: http.StatusInternalServerError, Code: "server_error", Description: "Token could not be issued"}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second),
	})
	return nil
}

// ---- callers and access rules ------------------------------------------------

// caller is the worker application a management call is made by, with the
// role assignments that are in force for it.
type caller struct {
	AppID, EnvID, OrgID string
	assignments         []grantedRole
}

type grantedRole struct {
	role      role
	scopeType string
	scopeID   string
	popEnvID  string // for POPULATION scope: the population's environment
}

// hasOrg reports whether the caller holds one of roles at organization scope.
func (c *caller) hasOrg(roles ...string) bool {
	for _, g := range c.assignments {
		if g.scopeType == scopeOrg && slices.Contains(roles, g.role.Name) {
			return true
		}
	}
	return false
}

// hasEnv reports whether the caller holds one of roles for all of envID (at
// organization scope or at envID's environment scope).
func (c *caller) hasEnv(envID string, roles ...string) bool {
	for _, g := range c.assignments {
		if !slices.Contains(roles, g.role.Name) {
			continue
		}
		if g.scopeType == scopeOrg || g.scopeType == scopeEnvironment && g.scopeID == envID {
			return true
		}
	}
	return false
}

// populations returns the populations of envID in which the caller holds
// one of roles through a population-scoped assignment.
func (c *caller) populations(envID string, roles ...string) []string {
	var out []string
	for _, g := range c.assignments {
		if g.scopeType == scopePopulation && g.popEnvID == envID && slices.Contains(roles, g.role.Name) {
			out = append(out, g.scopeID)
		}
	}
	return out
}

// canAssign reports whether the caller may grant target at the scope
// (scopeType, scopeID), where envID is the environment the scope lies in
// ("" for organization scope). PingOne requires a role that may assign the
// target role, and the target role itself, each at the same or a broader
// scope.
func (c *caller) canAssign(target role, scopeType, scopeID, envID string) bool {
	covers := func(g grantedRole) bool {
		switch g.scopeType {
		case scopeOrg:
			return true
		case scopeEnvironment:
			return scopeType != scopeOrg && g.scopeID == envID
		case scopePopulation, scopeApplication:
			return g.scopeType == scopeType && g.scopeID == scopeID
		}
		return false
	}
	var mayAssign, holds bool
	for _, g := range c.assignments {
		if !covers(g) {
			continue
		}
		if slices.Contains(g.role.CanAssign, target.Name) {
			mayAssign = true
		}
		if g.role.Name == target.Name {
			holds = true
		}
	}
	return mayAssign && holds
}

// rule decides whether a caller may make a call; envID is the {envID} of
// the route ("" when it has none).
type rule func(c *caller, envID string) bool

// orgRole allows holders of one of roles at organization scope.
func orgRole(roles ...string) rule {
	return func(c *caller, _ string) bool { return c.hasOrg(roles...) }
}

// envRole allows holders of one of roles for the route's environment.
func envRole(roles ...string) rule {
	return func(c *caller, envID string) bool { return c.hasEnv(envID, roles...) }
}

// envOrPopRole also allows population-scoped holders; the handler then
// restricts them to their populations with caller.populations.
func envOrPopRole(roles ...string) rule {
	return func(c *caller, envID string) bool {
		return c.hasEnv(envID, roles...) || len(c.populations(envID, roles...)) > 0
	}
}

// anyRole allows every authenticated caller with at least one role.
func anyRole() rule {
	return func(c *caller, _ string) bool { return len(c.assignments) > 0 }
}

// apiHandler serves an authenticated management call. It returns an error
// to be written with writeError, or nil after writing its response.
type apiHandler func(w http.ResponseWriter, r *http.Request, c *caller) *apiError

// api wraps a management handler with authentication, the {envID}
// existence and lag checks, and the access rule.
func (s *Server) api(allow rule, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, e := s.authenticate(r)
		if e == nil {
			e = s.checkEnvironment(r, c, allow)
		}
		if e == nil {
			e = h(w, r, c)
		}
		if e != nil {
			s.writeError(w, e)
		}
	})
}

func (s *Server) checkEnvironment(r *http.Request, c *caller, allow rule) *apiError {
	envID := r.PathValue("envID")
	if envID == "" {
		if !allow(c, "") {
			return errForbidden()
		}
		return nil
	}
	// A sub-resource of a missing environment answers 403, the environment
	// itself 404 (pingone-api.md §3.5).
	sub := !strings.HasSuffix(r.Pattern, "/environments/{envID}")
	env, err := s.environment(r.Context(), envID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return errUnexpected()
		}
		if sub {
			return errForbidden()
		}
		if allow(c, envID) {
			return errNotFoundID("Environment", envID)
		}
		return errForbidden()
	}
	if !allow(c, envID) {
		return errForbidden()
	}
	if sub && s.lagging(env.CreatedAt) {
		return errNotFound()
	}
	return nil
}

// lagging reports whether an object created at createdAt is still inside
// the configured eventual-consistency window.
func (s *Server) lagging(createdAt string) bool {
	if s.opts.Lag <= 0 || createdAt == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, createdAt)
	if err != nil {
		return false
	}
	// An object stamped after the clock's now (a clock set back, as in
	// tests) has settled: only [createdAt, createdAt+lag) lags.
	now := s.now()
	return !now.Before(t) && now.Before(t.Add(s.opts.Lag))
}

// authenticate verifies the bearer token (signature, expiry, audience) and
// loads the calling application with its role assignments.
func (s *Server) authenticate(r *http.Request) (*caller, *apiError) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return nil, errBadToken()
	}
	raw := strings.TrimSpace(h[7:])
	ctx := r.Context()
	claims, err := s.verifyToken(ctx, raw)
	if err != nil {
		return nil, errBadToken()
	}
	envID, _ := claims["env"].(string)
	appID, _ := claims["client_id"].(string)
	env, err := s.environment(ctx, envID)
	if err != nil || appID == "" {
		return nil, errBadToken()
	}
	aud, err := claims.GetAudience()
	if err != nil || !slices.Contains(aud, apiAudience(env.Region)) {
		return nil, errBadToken()
	}
	app, err := s.db.Get(ctx, kindApplications, appID)
	if err != nil || app.EnvID != envID {
		return nil, errBadToken()
	}
	var ta tokenApp
	if json.Unmarshal(app.Doc, &ta) != nil || !ta.Enabled {
		return nil, errBadToken()
	}
	c := &caller{AppID: appID, EnvID: envID, OrgID: env.Organization.ID}
	if c.assignments, err = s.rolesOf(ctx, envID, appID, true); err != nil {
		return nil, errUnexpected()
	}
	return c, nil
}

// verifiedToken is a token whose signature has been checked.
type verifiedToken struct {
	claims jwt.MapClaims
	exp    time.Time
	iat    time.Time
}

// maxVerified bounds the cache of verified tokens.
const maxVerified = 4096

// verifyToken checks a token's signature, expiry and issue time. A
// signature, once verified, is remembered (RSA verification dominated the
// cost of a call); expiry is checked on every use against the clock.
func (s *Server) verifyToken(ctx context.Context, raw string) (jwt.MapClaims, error) {
	now := s.now()
	if v, ok := s.verified.Load(raw); ok {
		vt := v.(verifiedToken)
		if now.Before(vt.exp) && !now.Before(vt.iat) {
			return vt.claims, nil
		}
		s.verified.Delete(raw)
		return nil, errors.New("token expired")
	}
	tok, err := jwt.Parse(raw, s.publicKey(ctx),
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		return nil, err
	}
	claims, _ := tok.Claims.(jwt.MapClaims)
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, errors.New("token without expiry")
	}
	vt := verifiedToken{claims: claims, exp: exp.Time}
	if iat, err := claims.GetIssuedAt(); err == nil && iat != nil {
		vt.iat = iat.Time
	}
	if s.verifiedN.Add(1) > maxVerified {
		s.verified.Clear()
		s.verifiedN.Store(1)
	}
	s.verified.Store(raw, vt)
	return claims, nil
}

// rolesOf loads an application's role assignments. With lag set, it leaves
// out assignments younger than the lag window, as PingOne does for a while
// after a grant.
func (s *Server) rolesOf(ctx context.Context, envID, appID string, applyLag bool) ([]grantedRole, error) {
	page, err := s.db.List(ctx, store.ListQuery{Kind: kindRoleAssignments, EnvID: envID, ParentID: appID})
	if err != nil {
		return nil, err
	}
	out := make([]grantedRole, 0, len(page.Items))
	for _, o := range page.Items {
		var ra roleAssignment
		if err := json.Unmarshal(o.Doc, &ra); err != nil {
			return nil, err
		}
		if applyLag && s.lagging(ra.CreatedAt) {
			continue
		}
		rl, ok := roleByID(ra.Role.ID)
		if !ok {
			continue
		}
		g := grantedRole{role: rl, scopeType: ra.Scope.Type, scopeID: ra.Scope.ID}
		if g.scopeType == scopePopulation {
			if p, err := s.db.Get(ctx, kindPopulations, g.scopeID); err == nil {
				g.popEnvID = p.EnvID
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// environmentView is the part of an environment the server's plumbing reads.
type environmentView struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Region       string `json:"region"`
	Type         string `json:"type"`
	CreatedAt    string `json:"createdAt"`
	Organization ref    `json:"organization"`
}

func (s *Server) environment(ctx context.Context, id string) (environmentView, error) {
	if id == "" {
		return environmentView{}, fmt.Errorf("environment: %w", store.ErrNotFound)
	}
	o, err := s.db.Get(ctx, kindEnvironments, id)
	if err != nil {
		return environmentView{}, err
	}
	var env environmentView
	if err := json.Unmarshal(o.Doc, &env); err != nil {
		return environmentView{}, err
	}
	return env, nil
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
