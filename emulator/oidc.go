package emulator

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Server-side sign-on state (pingone-api.md §7). It lives in the store, so
// it survives a restart on the same data and POST /_emulator/reset clears
// it; deleting the environment deletes it. Codes and refresh tokens are
// stored under the SHA-256 of their value, never the value itself.
const (
	kindFlows         store.Kind = "_flows"
	kindCodes         store.Kind = "_codes"
	kindRefreshTokens store.Kind = "_refreshTokens"
	kindSessions      store.Kind = "_sessions"
)

// Lifetimes the reference leaves unconfirmed (§9): a flow lasts 15 minutes,
// an authorization code 60 seconds, a session (the ST cookie) 30 days.
const (
	flowTTL    = 15 * time.Minute
	codeTTL    = 60 * time.Second
	sessionTTL = 30 * 24 * time.Hour
)

// amrPassword is the id_token amr of a username/password sign-on
// (unconfirmed; ["otp"] is seen after MFA).
var amrPassword = []string{"pwd"}

// registerSignOnGrants adds the user grants to the token endpoint.
func (s *Server) registerSignOnGrants() {
	s.grants["authorization_code"] = s.authorizationCodeGrant
	s.grants["refresh_token"] = s.refreshTokenGrant
}

// tokenHash is the store id of a code or refresh token.
func tokenHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// issuer is the environment's issuer on the host the client used.
func issuer(r *http.Request, envID string) string { return authBase(r) + "/" + envID + "/as" }

// parseStamp reads a stored timeFormat time; the zero time when it is not
// one.
func parseStamp(v string) time.Time {
	t, _ := time.Parse(time.RFC3339, v)
	return t
}

// ---- discovery -------------------------------------------------------------------

// discovery serves GET /{envID}/as/.well-known/openid-configuration (and the
// same without /as): only what the emulator implements is advertised.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	if _, err := s.environment(r.Context(), envID); err != nil {
		s.writeError(w, errNotFound())
		return
	}
	iss := issuer(r, envID)
	scopes := make([]string, len(openIDScopes))
	for i, sc := range openIDScopes {
		scopes[i] = sc.name
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"end_session_endpoint":                  iss + "/signoff",
		"claims_parameter_supported":            false,
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       false,
		"require_pushed_authorization_requests": false,
		"scopes_supported":                      scopes,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "pi.flow"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
			"env", "org", "p1.region", "preferred_username", "given_name", "family_name", "name", "updated_at", "email", "email_verified"},
	})
}

// ---- codes and refresh tokens --------------------------------------------------

// grantBasis is what a code or refresh token stands for: a user's sign-on
// to a client with scopes.
type grantBasis struct {
	ClientID  string   `json:"clientId"`
	UserID    string   `json:"userId"`
	SessionID string   `json:"sessionId"`
	Scopes    []string `json:"scopes"`
	Audiences []string `json:"audiences,omitempty"`
	Policy    string   `json:"policy"`
	AuthTime  int64    `json:"authTime"`
}

// authCode is a stored authorization code, under tokenHash(code).
type authCode struct {
	grantBasis
	FlowID          string `json:"flowId"`
	RedirectURI     string `json:"redirectUri"`
	RedirectSent    bool   `json:"redirectSent"`
	Challenge       string `json:"codeChallenge,omitempty"`
	ChallengeMethod string `json:"codeChallengeMethod,omitempty"`
	Nonce           string `json:"nonce,omitempty"`
	ExpiresAt       string `json:"expiresAt"`
	Used            bool   `json:"used"`
}

// refreshGrant is a stored refresh token, under tokenHash(token).
type refreshGrant struct {
	grantBasis
	// CodeID is the code the chain started from, so that replaying that
	// code revokes the chain.
	CodeID    string `json:"codeId"`
	ExpiresAt string `json:"expiresAt"`
	// ChainExpiresAt bounds rotation: refreshTokenRollingDuration after the
	// sign-on.
	ChainExpiresAt string `json:"chainExpiresAt"`
}

// newCode stores a fresh authorization code and returns its value.
func (s *Server) newCode(ctx context.Context, envID string, c authCode) (string, error) {
	code := s.ids.Secret()
	c.ExpiresAt = s.now().Add(codeTTL).Format(timeFormat)
	_, err := s.db.Create(ctx, store.Object{Kind: kindCodes, ID: tokenHash(code), EnvID: envID, Doc: mustJSON(c)})
	return code, err
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
}

func serverError() *oauthError {
	return &oauthError{Status: http.StatusInternalServerError, Code: "server_error", Description: "Token could not be issued"}
}

// verifyPKCE checks a code_verifier against the challenge sent to
// authorize (RFC 7636 §4.6).
func verifyPKCE(challenge, method, verifier string) bool {
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		return constantTimeEqual(base64.RawURLEncoding.EncodeToString(sum[:]), challenge)
	}
	return constantTimeEqual(verifier, challenge)
}

// authorizationCodeGrant serves grant_type=authorization_code. The code is
// marked used in the same transaction that reads it, so two concurrent
// redemptions cannot both succeed; replaying a used code revokes the
// refresh tokens issued from it (RFC 6749 §4.1.2).
func (s *Server) authorizationCodeGrant(w http.ResponseWriter, r *http.Request, env environmentView, app tokenApp) *oauthError {
	if !slices.Contains(app.GrantTypes, "AUTHORIZATION_CODE") {
		return &oauthError{Status: http.StatusBadRequest, Code: "unauthorized_client",
			Description: "Request denied: The client is not authorized to use the authorization_code grant type"}
	}
	f := r.PostForm
	code := f.Get("code")
	if code == "" {
		return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "code is required"}
	}
	ctx := r.Context()
	id := tokenHash(code)
	var c authCode
	var replayed bool
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, err := tx.Get(ctx, kindCodes, id)
		if err != nil || o.EnvID != env.ID {
			return store.ErrNotFound
		}
		if err := json.Unmarshal(o.Doc, &c); err != nil {
			return err
		}
		if c.ClientID != app.ID {
			return store.ErrNotFound
		}
		if c.Used {
			replayed = true
			return deleteWhere(ctx, tx, kindRefreshTokens, env.ID, "codeId", id)
		}
		c.Used = true
		o.Doc = mustJSON(c)
		_, err = tx.Put(ctx, o)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalidGrant("The authorization code is not valid")
	case err != nil:
		s.log.Error("redeem code", "err", err)
		return serverError()
	case replayed:
		return invalidGrant("The authorization code has already been used")
	case !s.now().Before(parseStamp(c.ExpiresAt)):
		return invalidGrant("The authorization code has expired")
	}
	if redirect := f.Get("redirect_uri"); (c.RedirectSent || redirect != "") && redirect != c.RedirectURI {
		return invalidGrant("redirect_uri does not match the one of the authorization request")
	}
	verifier := f.Get("code_verifier")
	switch {
	case c.Challenge != "" && verifier == "":
		return invalidGrant("code_verifier is required")
	case c.Challenge != "" && !verifyPKCE(c.Challenge, c.ChallengeMethod, verifier):
		return invalidGrant("code_verifier does not match the code_challenge")
	case c.Challenge == "" && verifier != "":
		return invalidGrant("code_verifier was sent, but the authorization request had no code_challenge")
	}
	return s.issueUserTokens(w, r, env, app.ID, c.grantBasis, c.Nonce, id, "")
}

// refreshTokenGrant serves grant_type=refresh_token. Tokens rotate: the one
// presented is deleted and a new one issued, so each is usable once.
func (s *Server) refreshTokenGrant(w http.ResponseWriter, r *http.Request, env environmentView, app tokenApp) *oauthError {
	if !slices.Contains(app.GrantTypes, "REFRESH_TOKEN") {
		return &oauthError{Status: http.StatusBadRequest, Code: "unauthorized_client",
			Description: "Request denied: The client is not authorized to use the refresh_token grant type"}
	}
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "refresh_token is required"}
	}
	ctx := r.Context()
	var g refreshGrant
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, err := tx.Get(ctx, kindRefreshTokens, tokenHash(raw))
		if err != nil || o.EnvID != env.ID {
			return store.ErrNotFound
		}
		if err := json.Unmarshal(o.Doc, &g); err != nil {
			return err
		}
		if g.ClientID != app.ID {
			return store.ErrNotFound
		}
		return tx.Delete(ctx, kindRefreshTokens, o.ID)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalidGrant("The refresh token is not valid")
	case err != nil:
		s.log.Error("redeem refresh token", "err", err)
		return serverError()
	case !s.now().Before(parseStamp(g.ExpiresAt)):
		return invalidGrant("The refresh token has expired")
	}
	if v := r.PostForm.Get("scope"); v != "" {
		narrowed := strings.Fields(v)
		for _, sc := range narrowed {
			if !slices.Contains(g.Scopes, sc) {
				return &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope", Description: "scope " + sc + " was not granted"}
			}
		}
		g.Scopes = narrowed
	}
	return s.issueUserTokens(w, r, env, app.ID, g.grantBasis, "", g.CodeID, g.ChainExpiresAt)
}

// issueUserTokens answers the token endpoint for a user grant: an access
// token, an id_token when openid was granted, and a refresh token when the
// app has the REFRESH_TOKEN grant. chainExpiresAt is "" for a new chain.
func (s *Server) issueUserTokens(w http.ResponseWriter, r *http.Request, env environmentView, appID string, g grantBasis,
	nonce, codeID, chainExpiresAt string) *oauthError {
	ctx := r.Context()
	uo, err := s.db.Get(ctx, kindUsers, g.UserID)
	var u user
	if err == nil {
		err = json.Unmarshal(uo.Doc, &u)
	}
	if err != nil || uo.EnvID != env.ID || !u.Enabled {
		return invalidGrant("The user cannot sign on")
	}
	ao, err := s.db.Get(ctx, kindApplications, appID)
	var app application
	if err == nil {
		err = json.Unmarshal(ao.Doc, &app)
	}
	if err != nil {
		return invalidGrant("The client is not valid")
	}

	now := s.now()
	ttl := s.opts.TokenTTL
	iss := issuer(r, env.ID)
	scope := strings.Join(g.Scopes, " ")
	access := jwt.MapClaims{
		"iss": iss, "sub": u.ID, "aud": append([]string{appID}, g.Audiences...), "client_id": appID,
		"scope": scope, "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": s.ids.New(),
		"sid": g.SessionID, "auth_time": g.AuthTime, "acr": g.Policy, "amr": amrPassword,
		"env": env.ID, "org": env.Organization.ID,
	}
	at, err := s.sign(ctx, env.ID, access)
	if err != nil {
		s.log.Error("sign token", "err", err)
		return serverError()
	}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(ttl / time.Second), "scope": scope}

	if slices.Contains(g.Scopes, "openid") {
		sum := sha256.Sum256([]byte(at))
		id := jwt.MapClaims{
			"iss": iss, "sub": u.ID, "aud": appID, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
			"auth_time": g.AuthTime, "acr": g.Policy, "amr": amrPassword, "sid": g.SessionID,
			"at_hash": base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]),
			"env":     env.ID, "org": env.Organization.ID, "p1.region": env.Region,
		}
		if nonce != "" {
			id["nonce"] = nonce
		}
		for k, v := range userClaims(u, g.Scopes) {
			id[k] = v
		}
		idt, err := s.sign(ctx, env.ID, id)
		if err != nil {
			s.log.Error("sign id_token", "err", err)
			return serverError()
		}
		resp["id_token"] = idt
	}

	if slices.Contains(app.GrantTypes, "REFRESH_TOKEN") {
		if chainExpiresAt == "" {
			rolling := defaultRollingTTL
			if app.RefreshTokenRollingDuration != nil {
				rolling = *app.RefreshTokenRollingDuration
			}
			chainExpiresAt = time.Unix(g.AuthTime, 0).UTC().Add(time.Duration(rolling) * time.Second).Format(timeFormat)
		}
		life := 2592000
		if app.RefreshTokenDuration != nil {
			life = *app.RefreshTokenDuration
		}
		exp := now.Add(time.Duration(life) * time.Second)
		if chain := parseStamp(chainExpiresAt); chain.Before(exp) {
			exp = chain
		}
		rt := s.ids.Secret()
		rg := refreshGrant{grantBasis: g, CodeID: codeID, ExpiresAt: exp.Format(timeFormat), ChainExpiresAt: chainExpiresAt}
		if _, err := s.db.Create(ctx, store.Object{Kind: kindRefreshTokens, ID: tokenHash(rt), EnvID: env.ID, Doc: mustJSON(rg)}); err != nil {
			s.log.Error("store refresh token", "err", err)
			return serverError()
		}
		resp["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// userClaims are the profile and email claims the granted scopes release.
func userClaims(u user, scopes []string) map[string]any {
	out := map[string]any{}
	if slices.Contains(scopes, "profile") {
		out["preferred_username"] = u.Username
		if n := u.Name; n != nil {
			if n.Given != "" {
				out["given_name"] = n.Given
			}
			if n.Family != "" {
				out["family_name"] = n.Family
			}
			name := n.Formatted
			if name == "" {
				name = strings.TrimSpace(n.Given + " " + n.Family)
			}
			if name != "" {
				out["name"] = name
			}
		}
		if t := parseStamp(u.UpdatedAt); !t.IsZero() {
			out["updated_at"] = t.Unix()
		}
	}
	if slices.Contains(scopes, "email") && u.Email != "" {
		out["email"] = u.Email
		out["email_verified"] = u.EmailVerified
	}
	return out
}

// ---- userinfo --------------------------------------------------------------------

// userinfo serves GET and POST /{envID}/as/userinfo for a user access token
// of the environment that carries the openid scope.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	deny := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusUnauthorized, oauthError{Code: "invalid_token", Description: desc})
	}
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="PingOne"`)
		writeJSON(w, http.StatusUnauthorized, oauthError{Code: "invalid_request", Description: "A bearer access token is required"})
		return
	}
	ctx := r.Context()
	claims, err := s.verifyToken(ctx, strings.TrimSpace(h[7:]))
	if err != nil {
		deny("The access token is invalid or has expired")
		return
	}
	sub, _ := claims["sub"].(string)
	env, _ := claims["env"].(string)
	scope, _ := claims["scope"].(string)
	scopes := strings.Fields(scope)
	if env != envID || sub == "" || !slices.Contains(scopes, "openid") {
		deny("The access token is not a user token of this environment with the openid scope")
		return
	}
	o, err := s.db.Get(ctx, kindUsers, sub)
	var u user
	if err == nil {
		err = json.Unmarshal(o.Doc, &u)
	}
	if err != nil || o.EnvID != envID {
		deny("The user no longer exists")
		return
	}
	out := userClaims(u, scopes)
	out["sub"] = u.ID
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// grantedScopes maps each scope name the application holds a grant for to
// the audience of its resource ("" for the openid resource).
func (s *Server) grantedScopes(ctx context.Context, envID, appID string) (map[string]string, error) {
	page, err := s.db.List(ctx, store.ListQuery{Kind: kindGrants, EnvID: envID, ParentID: appID})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, o := range page.Items {
		var g grant
		if err := json.Unmarshal(o.Doc, &g); err != nil {
			return nil, err
		}
		ro, err := s.db.Get(ctx, kindResources, g.Resource.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		res := readResource(ro)
		aud := res.Audience
		if res.Type == "OPENID_CONNECT" {
			aud = ""
		}
		for _, sc := range g.Scopes {
			so, err := s.db.Get(ctx, kindScopes, sc.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			var doc scope
			json.Unmarshal(so.Doc, &doc)
			out[doc.Name] = aud
		}
	}
	return out, nil
}
