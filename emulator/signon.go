package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Session cookies (pingone-api.md §7.4). ST-NO-SS is the twin without
// SameSite for browsers that mishandle SameSite=None; over plain http such
// browsers also drop ST (SameSite=None needs Secure), so the emulator reads
// either.
const (
	cookieSession     = "ST"
	cookieSessionNoSS = "ST-NO-SS"
)

func setSessionCookies(w http.ResponseWriter, r *http.Request, envID, sessionID string) {
	secure := r.TLS != nil
	age := int(sessionTTL / time.Second)
	http.SetCookie(w, &http.Cookie{Name: cookieSession, Value: sessionID, Path: "/" + envID, MaxAge: age,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteNoneMode})
	http.SetCookie(w, &http.Cookie{Name: cookieSessionNoSS, Value: sessionID, Path: "/" + envID, MaxAge: age,
		HttpOnly: true, Secure: secure})
}

func clearSessionCookies(w http.ResponseWriter, r *http.Request, envID string) {
	for _, name := range []string{cookieSession, cookieSessionNoSS} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/" + envID, MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil})
	}
}

// sessionCookie returns the session id the browser sent, or "".
func sessionCookie(r *http.Request) string {
	for _, name := range []string{cookieSession, cookieSessionNoSS} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// ---- authorize -------------------------------------------------------------------

// authorize serves GET and form POST /{envID}/as/authorize (§7.2). Problems
// with the client or its redirect URI are answered here (an error page, or
// JSON for API clients) and never redirected; later problems go back to
// the redirect URI as OAuth errors (or as JSON in pi.flow mode).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	if r.Method == http.MethodPost && mediaType(r) != "application/x-www-form-urlencoded" {
		s.authorizePage(w, r, errUnsupportedMedia(r.Header.Get("Content-Type")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.authorizePage(w, r, errRequest("The request could not be completed. The authorization request could not be parsed."))
		return
	}
	q := r.Form
	if _, err := s.environment(ctx, envID); err != nil {
		s.authorizePage(w, r, errNotFound())
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		s.authorizePage(w, r, errRequest("client_id is required."))
		return
	}
	ao, err := s.db.Get(ctx, kindApplications, clientID)
	var app application
	if err == nil {
		err = json.Unmarshal(ao.Doc, &app)
	}
	if err != nil || ao.EnvID != envID {
		s.authorizePage(w, r, errRequest("client_id does not name an application of this environment."))
		return
	}
	mode := q.Get("response_mode")
	redirect, sent := q.Get("redirect_uri"), q.Has("redirect_uri")
	switch {
	case sent && !slices.Contains(app.RedirectURIs, redirect):
		s.authorizePage(w, r, errRequest("redirect_uri is not one of the application's registered redirect URIs."))
		return
	case !sent && mode == "pi.flow" && len(app.RedirectURIs) == 1:
		redirect = app.RedirectURIs[0]
	case !sent:
		s.authorizePage(w, r, errRequest("redirect_uri is required."))
		return
	}

	state := q.Get("state")
	fail := func(code, desc string) { s.authorizeError(w, r, mode, redirect, state, code, desc) }
	if mode != "" && mode != "query" && mode != "pi.flow" {
		fail("invalid_request", "Unsupported response_mode: "+mode+" (the emulator supports query and pi.flow)")
		return
	}
	if app.Enabled == nil || !*app.Enabled {
		fail("unauthorized_client", "The application is disabled")
		return
	}
	if rt := q.Get("response_type"); rt != "code" {
		if rt == "" {
			fail("invalid_request", "response_type is required")
		} else {
			fail("unsupported_response_type", "Unsupported response_type: "+rt+" (the emulator supports code)")
		}
		return
	}
	if !slices.Contains(app.GrantTypes, "AUTHORIZATION_CODE") || !slices.Contains(app.ResponseTypes, "CODE") {
		fail("unauthorized_client", "The application is not allowed the authorization_code grant with response type code")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		fail("invalid_scope", "scope is required")
		return
	}
	granted, err := s.grantedScopes(ctx, envID, app.ID)
	if err != nil {
		s.log.Error("granted scopes", "err", err)
		fail("server_error", "The request could not be completed")
		return
	}
	var audiences []string
	for _, sc := range scopes {
		aud, ok := granted[sc]
		if !ok {
			fail("invalid_scope", "The application has no grant for scope "+sc)
			return
		}
		if aud != "" && !slices.Contains(audiences, aud) {
			audiences = append(audiences, aud)
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && method == "" {
		method = "plain"
	}
	switch {
	case challenge == "" && app.PKCEEnforcement != "OPTIONAL" && app.PKCEEnforcement != "":
		fail("invalid_request", "code_challenge is required (pkceEnforcement "+app.PKCEEnforcement+")")
		return
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge_method was sent without code_challenge")
		return
	case challenge != "" && method != "S256" && method != "plain":
		fail("invalid_request", "Unsupported code_challenge_method: "+method)
		return
	case challenge != "" && method != "S256" && app.PKCEEnforcement == "S256_REQUIRED":
		fail("invalid_request", "code_challenge_method must be S256 (pkceEnforcement S256_REQUIRED)")
		return
	case challenge != "" && (len(challenge) < 43 || len(challenge) > 128):
		fail("invalid_request", "code_challenge must be 43 to 128 characters long")
		return
	}
	if slices.Contains(strings.Fields(q.Get("prompt")), "none") {
		// The emulator keeps no single sign-on across flows.
		fail("login_required", "The user must sign on")
		return
	}

	policy, err := s.signOnPolicyName(ctx, envID, app.ID)
	if err != nil {
		s.log.Error("sign-on policy", "err", err)
		fail("server_error", "The request could not be completed")
		return
	}
	now := s.now()
	st := flowState{ID: s.ids.New(), AppID: app.ID, AppName: app.Name, Policy: policy, Status: flowUsernamePassword,
		CreatedAt: now.Format(timeFormat), ExpiresAt: now.Add(flowTTL).Format(timeFormat)}
	req := flowRequest{RedirectURI: redirect, RedirectSent: sent, ResponseMode: mode, State: state, Nonce: q.Get("nonce"),
		Scopes: scopes, Audiences: audiences, Challenge: challenge, ChallengeMethod: method, LoginHint: q.Get("login_hint"),
		FormToken: s.ids.Secret()}
	if challenge == "" {
		req.ChallengeMethod = ""
	}
	if _, err := s.db.Create(ctx, store.Object{Kind: kindFlows, ID: st.ID, EnvID: envID, Doc: mustJSON(st), Private: mustJSON(req)}); err != nil {
		s.log.Error("store flow", "err", err)
		fail("server_error", "The request could not be completed")
		return
	}
	if mode == "pi.flow" {
		writeFlow(w, r, envID, st, nil)
		return
	}
	target := signOnPageURL(r, envID, st.ID)
	if app.LoginPageURL != "" {
		target = withQuery(app.LoginPageURL, url.Values{"flowId": {st.ID}})
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// signOnPolicyName is the policy that governs the app's sign-on: its
// first-priority assignment, else the environment's default. It becomes
// the tokens' acr.
func (s *Server) signOnPolicyName(ctx context.Context, envID, appID string) (string, error) {
	page, err := s.db.List(ctx, store.ListQuery{Kind: kindSOPAssignments, EnvID: envID, ParentID: appID})
	if err != nil {
		return "", err
	}
	var best *sopAssignment
	for _, o := range page.Items {
		var a sopAssignment
		if json.Unmarshal(o.Doc, &a) == nil && (best == nil || a.Priority < best.Priority) {
			best = &a
		}
	}
	var o store.Object
	found := false
	if best != nil {
		o, err = s.db.Get(ctx, kindSignOnPolicies, best.SignOnPolicy.ID)
		found = err == nil
	}
	if !found {
		if o, found, err = defaultOf(ctx, s.db, kindSignOnPolicies, envID); err != nil {
			return "", err
		}
	}
	if !found {
		return defaultSignOnPolicy, nil
	}
	var p signOnPolicy
	json.Unmarshal(o.Doc, &p)
	return p.Name, nil
}

// withQuery adds params to the query of raw, keeping what it has.
func withQuery(raw string, params url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// authorizeError sends an OAuth error to a validated redirect URI, or as
// JSON in pi.flow mode.
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, mode, redirect, state, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	if mode == "pi.flow" {
		status := http.StatusBadRequest
		if code == "server_error" {
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc, "state": state})
		return
	}
	http.Redirect(w, r, withQuery(redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {state}}), http.StatusFound)
}

// wantsHTML reports whether the caller is a browser rather than an API
// client.
func wantsHTML(r *http.Request) bool {
	return r.FormValue("response_mode") != "pi.flow" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// authorizePage answers an authorization request that cannot be sent back
// to the client: an error page for browsers, the error envelope otherwise.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request, e *apiError) {
	if wantsHTML(r) {
		s.renderMessage(w, e.Status, "Sign-on request not valid", e.Message)
		return
	}
	s.writeError(w, e)
}

// ---- resume ----------------------------------------------------------------------

// resume serves GET /{envID}/as/resume?flowId=: a COMPLETED flow, once,
// becomes an authorization code for the client.
func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	id := r.URL.Query().Get("flowId")
	if id == "" {
		s.writeError(w, errRequest("flowId is required."))
		return
	}
	f, e := s.loadFlow(ctx, envID, id)
	if e != nil {
		s.writeError(w, e)
		return
	}
	if f.Status != flowCompleted {
		s.writeError(w, errRequest("The request could not be completed. The flow is not COMPLETED (status "+f.Status+")."))
		return
	}
	if _, err := s.db.Get(ctx, kindSessions, f.SessionID); err != nil {
		s.writeError(w, errRequest("The request could not be completed. The flow's session has ended."))
		return
	}
	st, err := s.updateFlow(ctx, f.ID, func(st *flowState) error {
		if st.Resumed {
			return errRequest("The request could not be completed. The flow has already been resumed.")
		}
		st.Resumed = true
		return nil
	})
	if err != nil {
		s.writeError(w, s.fail(err, ""))
		return
	}
	code, err := s.newCode(ctx, envID, authCode{
		grantBasis: grantBasis{ClientID: st.AppID, UserID: st.UserID, SessionID: st.SessionID, Scopes: f.req.Scopes,
			Audiences: f.req.Audiences, Policy: st.Policy, AuthTime: st.AuthTime},
		FlowID: st.ID, RedirectURI: f.req.RedirectURI, RedirectSent: f.req.RedirectSent,
		Challenge: f.req.Challenge, ChallengeMethod: f.req.ChallengeMethod, Nonce: f.req.Nonce,
	})
	if err != nil {
		s.writeError(w, s.fail(err, ""))
		return
	}
	if f.req.ResponseMode == "pi.flow" {
		writeFlow(w, r, envID, st, &authorizeResponse{Code: code, State: f.req.State})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, withQuery(f.req.RedirectURI, url.Values{"code": {code}, "state": {f.req.State}}), http.StatusFound)
}

// ---- signoff ---------------------------------------------------------------------

// signoff serves GET /{envID}/as/signoff: it ends the browser's session
// (and the one named by id_token_hint's sid), then returns to
// post_logout_redirect_uri when the hinted client registered it.
func (s *Server) signoff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	if _, err := s.environment(ctx, envID); err != nil {
		s.writeError(w, errNotFound())
		return
	}
	q := r.URL.Query()
	var hint jwt.MapClaims
	if raw := q.Get("id_token_hint"); raw != "" {
		// An expired hint still names its client and session.
		tok, err := jwt.Parse(raw, s.publicKey(ctx), jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
		if err != nil {
			s.signoffPage(w, r, http.StatusBadRequest, "id_token_hint is not a valid ID token of this environment.")
			return
		}
		hint, _ = tok.Claims.(jwt.MapClaims)
		if env, _ := hint["env"].(string); env != envID {
			s.signoffPage(w, r, http.StatusBadRequest, "id_token_hint is not a valid ID token of this environment.")
			return
		}
	}
	for _, sid := range []string{sessionCookie(r), str(hint["sid"])} {
		if sid == "" {
			continue
		}
		if o, err := s.db.Get(ctx, kindSessions, sid); err == nil && o.EnvID == envID {
			if err := s.db.Delete(ctx, kindSessions, sid); err != nil && !errors.Is(err, store.ErrNotFound) {
				s.log.Error("end session", "err", err)
			}
		}
	}
	clearSessionCookies(w, r, envID)

	post := q.Get("post_logout_redirect_uri")
	if post == "" {
		s.signoffPage(w, r, http.StatusOK, "You have signed off.")
		return
	}
	aud, _ := hint.GetAudience()
	registered := false
	for _, clientID := range aud {
		if o, err := s.db.Get(ctx, kindApplications, clientID); err == nil && o.EnvID == envID {
			var app application
			json.Unmarshal(o.Doc, &app)
			registered = registered || slices.Contains(app.PostLogoutRedirectURIs, post)
		}
	}
	if !registered {
		s.signoffPage(w, r, http.StatusBadRequest,
			"You have signed off, but post_logout_redirect_uri is not registered for the application named by id_token_hint.")
		return
	}
	http.Redirect(w, r, withQuery(post, url.Values{"state": {q.Get("state")}}), http.StatusFound)
}

func (s *Server) signoffPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.renderMessage(w, status, "Sign off", msg)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
