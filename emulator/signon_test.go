package emulator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

// Passwords of the sign-on fixtures. No response body, header or log line
// may ever contain them (checked when each test ends).
const (
	alicePassword = "Sign0n-Canary!pw"
	wrongPassword = "Wr0ng-Canary!pw"
	newPassword   = "Fresh-Canary!pw9"
	redirectURI   = "http://localhost:3000/callback"
)

// signOn is an environment with a user (alice) and a web app granted
// openid, profile and email, reached through a recording transport.
type signOn struct {
	t      *testing.T
	env    *emulatortest.Env
	c      *client
	envID  string
	appID  string
	secret string
	userID string
	rec    *recorder
}

// recorder keeps every response the sign-on tests receive.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var h bytes.Buffer
	resp.Header.Write(&h)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body, h.Bytes())
	rc.mu.Unlock()
	return resp, nil
}

func newSignOn(t *testing.T, opts ...emulatortest.Option) *signOn {
	t.Helper()
	var logs syncBuffer
	opts = append(opts, emulatortest.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	env := emulatortest.Start(t, opts...)
	c := newClient(t, env)
	fx := &signOn{t: t, env: env, c: c, envID: sandbox(t, c, "signon"), rec: &recorder{}}
	fx.userID = fx.user("alice", alicePassword, false)
	fx.appID, fx.secret = fx.webApp("demo-web", nil, "openid", "profile", "email")
	t.Cleanup(func() {
		fx.rec.mu.Lock()
		defer fx.rec.mu.Unlock()
		for _, b := range append(fx.rec.bodies, logs.Bytes()) {
			for _, pw := range []string{alicePassword, wrongPassword, newPassword} {
				if bytes.Contains(b, []byte(pw)) {
					t.Errorf("a password appears in a response or the log:\n%s", b)
				}
			}
		}
	})
	return fx
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// user creates an enabled user with a password in the default population.
func (fx *signOn) user(name, password string, forceChange bool) string {
	fx.t.Helper()
	u := fx.c.must(http.StatusCreated, "POST", "/environments/"+fx.envID+"/users", map[string]any{
		"username": name, "email": name + "@example.com", "name": map[string]any{"given": "Alice", "family": "Doe"},
	})
	id := u["id"].(string)
	body, _ := json.Marshal(map[string]any{"value": password, "forceChange": forceChange})
	fx.c.must(http.StatusOK, "PUT", "/environments/"+fx.envID+"/users/"+id+"/password", body,
		contentType("application/vnd.pingidentity.password.set+json"))
	return id
}

// webApp creates a WEB_APP (fields in over override the defaults) granted
// scopes of the openid resource, and returns its id and secret.
func (fx *signOn) webApp(name string, over map[string]any, scopes ...string) (id, secret string) {
	fx.t.Helper()
	body := map[string]any{"name": name, "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{redirectURI},
		"postLogoutRedirectUris": []string{"http://localhost:3000/bye"}}
	for k, v := range over {
		body[k] = v
	}
	app := fx.c.must(http.StatusCreated, "POST", "/environments/"+fx.envID+"/applications", body)
	id = app["id"].(string)
	if app["tokenEndpointAuthMethod"] != "NONE" {
		secret = fx.c.must(http.StatusOK, "GET", "/environments/"+fx.envID+"/applications/"+id+"/secret", nil)["secret"].(string)
	}
	if len(scopes) > 0 {
		res := find(fx.t, fx.c.must(http.StatusOK, "GET", "/environments/"+fx.envID+"/resources", nil), "resources", "name", "openid")
		all := fx.c.must(http.StatusOK, "GET", "/environments/"+fx.envID+"/resources/"+res["id"].(string)+"/scopes", nil)
		var refs []any
		for _, sc := range scopes {
			refs = append(refs, map[string]any{"id": find(fx.t, all, "scopes", "name", sc)["id"]})
		}
		fx.c.must(http.StatusCreated, "POST", "/environments/"+fx.envID+"/applications/"+id+"/grants",
			map[string]any{"resource": map[string]any{"id": res["id"]}, "scopes": refs})
	}
	return id, secret
}

// browser returns a client with a cookie jar that does not follow
// redirects.
func (fx *signOn) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: fx.rec, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// call sends a request and returns the response with its body read.
func (fx *signOn) call(hc *http.Client, method, u, ct string, body string, hdr ...string) response {
	fx.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		fx.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		fx.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func (fx *signOn) authURL(path string) string { return fx.env.URL + "/" + fx.envID + path }

// authorizeParams are a valid code request with PKCE S256 for verifier.
func (fx *signOn) authorizeParams(verifier string) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{"response_type": {"code"}, "client_id": {fx.appID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
}

// startFlow starts a pi.flow flow and returns its id.
func (fx *signOn) startFlow(hc *http.Client, q url.Values) string {
	fx.t.Helper()
	q.Set("response_mode", "pi.flow")
	r := fx.call(hc, "GET", fx.authURL("/as/authorize?"+q.Encode()), "", "")
	if r.Status != http.StatusOK {
		fx.t.Fatalf("authorize (pi.flow): %d %s", r.Status, r.Body)
	}
	return r.JSON(fx.t)["id"].(string)
}

const mtCheck = "application/vnd.pingidentity.usernamePassword.check+json"

// check posts usernamePassword.check to a flow.
func (fx *signOn) check(hc *http.Client, flowID, username, password string) response {
	fx.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return fx.call(hc, "POST", fx.authURL("/flows/"+flowID), mtCheck, string(b))
}

// code runs a whole pi.flow sign-on and returns the authorization code.
func (fx *signOn) code(q url.Values) string {
	fx.t.Helper()
	hc := fx.browser()
	id := fx.startFlow(hc, q)
	if r := fx.check(hc, id, "alice", alicePassword); r.Status != http.StatusOK {
		fx.t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	r := fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+id), "", "")
	if r.Status != http.StatusOK {
		fx.t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	return str(r.JSON(fx.t), "authorizeResponse.code")
}

// token posts a form to the token endpoint with HTTP Basic for the app
// (basic false: no Authorization header).
func (fx *signOn) token(form url.Values, basic bool) response {
	fx.t.Helper()
	if basic {
		return fx.tokenAs(form, fx.appID, fx.secret)
	}
	return fx.tokenAs(form, "", "")
}

// tokenAs posts a form to the token endpoint with HTTP Basic for clientID
// ("" for none).
func (fx *signOn) tokenAs(form url.Values, clientID, secret string) response {
	fx.t.Helper()
	req, _ := http.NewRequest("POST", fx.authURL("/as/token"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(clientID, secret)
	}
	resp, err := (&http.Client{Transport: fx.rec}).Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

const verifier = "a-verifier-of-at-least-43-characters-0123456789"

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
}

func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if got := r.JSON(t)["error"]; got != code {
		t.Errorf("error = %v, want %s: %s", got, code, r.Body)
	}
}

// TestSignonRedirectFlow walks the browser flow of §7.8: authorize →
// sign-on page → usernamePassword.check → resume → code → tokens →
// userinfo → signoff.
func TestSignonRedirectFlow(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	hc := fx.browser()

	r := fx.call(hc, "GET", fx.authURL("/as/authorize?"+fx.authorizeParams(verifier).Encode()), "", "")
	if r.Status != http.StatusFound {
		t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	flowID := loc.Query().Get("flowId")
	if want := fx.authURL("/signon/"); !strings.HasPrefix(loc.String(), want) || flowID == "" {
		t.Fatalf("authorize redirects to %s, want the hosted page %s?flowId=…", loc, want)
	}

	f := fx.call(hc, "GET", fx.authURL("/flows/"+flowID), "", "")
	if f.Status != http.StatusOK {
		t.Fatalf("GET flow: %d %s", f.Status, f.Body)
	}
	checkJSONContentType(t, f)
	fm := f.JSON(t)
	self := fx.authURL("/flows/" + flowID)
	want := map[string]string{
		"status": "USERNAME_PASSWORD_REQUIRED", "id": flowID, "environment.id": fx.envID,
		"_links.self.href": self, "_links.signOnPage.href": fx.authURL("/signon/?flowId=" + flowID),
		"_embedded.application.name": "demo-web", "resumeUrl": fx.authURL("/as/resume?flowId=" + flowID),
	}
	for path, v := range want {
		if got := str(fm, path); got != v {
			t.Errorf("flow %s = %q, want %q", path, got, v)
		}
	}
	// The rel's name has a dot, so get's dotted paths cannot reach it.
	if l, _ := fm["_links"].(map[string]any)["usernamePassword.check"].(map[string]any); l["href"] != self {
		t.Errorf("flow _links = %v, want usernamePassword.check at %s", fm["_links"], self)
	}
	checkTimestamps(t, fm, "createdAt", "expiresAt")
	created, _ := time.Parse(time.RFC3339, str(fm, "createdAt"))
	expires, _ := time.Parse(time.RFC3339, str(fm, "expiresAt"))
	if expires.Sub(created) != 15*time.Minute {
		t.Errorf("flow lifetime = %v, want 15m", expires.Sub(created))
	}

	// Resuming before sign-on fails.
	wantError(t, fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+flowID), "", ""), http.StatusBadRequest, "INVALID_REQUEST")

	c := fx.check(hc, flowID, "ALICE", alicePassword) // usernames are case-insensitive
	if c.Status != http.StatusOK {
		t.Fatalf("check: %d %s", c.Status, c.Body)
	}
	cm := c.JSON(t)
	if cm["status"] != "COMPLETED" || str(cm, "_embedded.user.id") != fx.userID || str(cm, "_embedded.user.username") != "alice" || str(cm, "session.id") == "" {
		t.Errorf("completed flow = %s", c.Body)
	}
	var st, stNoSS *http.Cookie
	for _, ck := range (&http.Response{Header: c.Header}).Cookies() {
		switch ck.Name {
		case "ST":
			st = ck
		case "ST-NO-SS":
			stNoSS = ck
		}
	}
	if st == nil || stNoSS == nil || st.Value != str(cm, "session.id") || st.Path != "/"+fx.envID || !st.HttpOnly ||
		st.SameSite != http.SameSiteNoneMode || st.Secure || stNoSS.SameSite != 0 {
		t.Errorf("session cookies = %v", c.Header["Set-Cookie"])
	}

	res := fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+flowID), "", "")
	if res.Status != http.StatusFound {
		t.Fatalf("resume: %d %s", res.Status, res.Body)
	}
	back, _ := url.Parse(res.Header.Get("Location"))
	code := back.Query().Get("code")
	if !strings.HasPrefix(back.String(), redirectURI+"?") || code == "" || back.Query().Get("state") != "st-123" {
		t.Fatalf("resume redirects to %s", back)
	}
	wantError(t, fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+flowID), "", ""), http.StatusBadRequest, "INVALID_REQUEST")

	tr := fx.token(codeForm(code), true)
	if tr.Status != http.StatusOK {
		t.Fatalf("token: %d %s", tr.Status, tr.Body)
	}
	tok := tr.JSON(t)
	if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) || tok["scope"] != "openid profile email" ||
		tok["id_token"] == nil || tok["refresh_token"] == nil || tr.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response = %s", tr.Body)
	}

	ui := fx.call(hc, "GET", fx.authURL("/as/userinfo"), "", "", "Authorization", "Bearer "+tok["access_token"].(string))
	if ui.Status != http.StatusOK {
		t.Fatalf("userinfo: %d %s", ui.Status, ui.Body)
	}
	um := ui.JSON(t)
	for k, v := range map[string]any{"sub": fx.userID, "preferred_username": "alice", "given_name": "Alice", "family_name": "Doe",
		"name": "Alice Doe", "email": "alice@example.com"} {
		if um[k] != v {
			t.Errorf("userinfo %s = %v, want %v", k, um[k], v)
		}
	}
	if _, ok := um["updated_at"].(float64); !ok {
		t.Errorf("userinfo updated_at = %v, want seconds", um["updated_at"])
	}

	// Sign off with the browser's cookie and the id_token; the session
	// ends, so a second flow's completed session would be separate.
	so := fx.call(hc, "GET", fx.authURL("/as/signoff?"+url.Values{"id_token_hint": {tok["id_token"].(string)},
		"post_logout_redirect_uri": {"http://localhost:3000/bye"}, "state": {"s2"}}.Encode()), "", "")
	if so.Status != http.StatusFound || so.Header.Get("Location") != "http://localhost:3000/bye?state=s2" {
		t.Errorf("signoff: %d %s %s", so.Status, so.Header.Get("Location"), so.Body)
	}
	bad := fx.call(hc, "GET", fx.authURL("/as/signoff?post_logout_redirect_uri=http://evil.example/"), "", "")
	if bad.Status != http.StatusBadRequest || bad.Header.Get("Location") != "" {
		t.Errorf("signoff to an unregistered URI: %d %s", bad.Status, bad.Header.Get("Location"))
	}
}

// TestSignonPiFlow drives the API-only mode: JSON from authorize and resume.
func TestSignonPiFlow(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	hc := fx.browser()
	q := fx.authorizeParams(verifier)
	q.Del("redirect_uri") // optional in pi.flow mode with one registered URI
	id := fx.startFlow(hc, q)
	if r := fx.check(hc, id, "alice", alicePassword); r.Status != http.StatusOK {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	r := fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+id), "", "")
	m := r.JSON(t)
	if r.Status != http.StatusOK || m["status"] != "COMPLETED" || str(m, "authorizeResponse.code") == "" || str(m, "authorizeResponse.state") != "st-123" {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	// No redirect_uri was sent, so the token request needs none.
	form := codeForm(str(m, "authorizeResponse.code"))
	form.Del("redirect_uri")
	if tr := fx.token(form, true); tr.Status != http.StatusOK {
		t.Fatalf("token: %d %s", tr.Status, tr.Body)
	}
}

// TestOIDCLibraryAcceptsEmulator shows that a standard OIDC client
// (coreos/go-oidc with golang.org/x/oauth2) discovers the emulator,
// exchanges a code with PKCE and verifies the id_token against the JWKS.
func TestOIDCLibraryAcceptsEmulator(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	ctx := oidc.ClientContext(t.Context(), &http.Client{Transport: fx.rec})
	iss := fx.authURL("/as")
	provider, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var claims struct {
		Methods []string `json:"code_challenge_methods_supported"`
		Types   []string `json:"response_types_supported"`
	}
	if err := provider.Claims(&claims); err != nil || len(claims.Types) != 1 || claims.Types[0] != "code" {
		t.Errorf("discovery document: %v %+v", err, claims)
	}
	alt := fx.call(fx.browser(), "GET", fx.authURL("/.well-known/openid-configuration"), "", "")
	if alt.Status != http.StatusOK || alt.JSON(t)["issuer"] != iss {
		t.Errorf("discovery without /as: %d %s", alt.Status, alt.Body)
	}

	conf := oauth2.Config{ClientID: fx.appID, ClientSecret: fx.secret, Endpoint: provider.Endpoint(), RedirectURL: redirectURI,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	v := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st-123", oauth2.S256ChallengeOption(v), oidc.Nonce("n-789"))
	u, _ := url.Parse(authURL)
	q := u.Query()
	q.Set("response_mode", "pi.flow")
	hc := fx.browser()
	id := fx.startFlow(hc, q)
	fx.check(hc, id, "alice", alicePassword)
	code := str(fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+id), "", "").JSON(t), "authorizeResponse.code")

	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: fx.appID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify id_token: %v", err)
	}
	if idt.Nonce != "n-789" || idt.Subject != fx.userID || idt.Issuer != iss {
		t.Errorf("id_token nonce %q sub %q iss %q", idt.Nonce, idt.Subject, idt.Issuer)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var c map[string]any
	idt.Claims(&c)
	for k, v := range map[string]any{"acr": "Single_Factor", "preferred_username": "alice", "email": "alice@example.com",
		"given_name": "Alice", "family_name": "Doe", "env": fx.envID, "org": fx.env.OrganizationID, "p1.region": "NA"} {
		if c[k] != v {
			t.Errorf("id_token %s = %v, want %v", k, c[k], v)
		}
	}
	if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" || c["sid"] == nil || c["auth_time"] == nil {
		t.Errorf("id_token amr/sid/auth_time = %v %v %v", c["amr"], c["sid"], c["auth_time"])
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != fx.userID || info.Email != "alice@example.com" {
		t.Errorf("userinfo: %v %+v", err, info)
	}
}

// TestFlowFailures covers the credential check's answers.
func TestFlowFailures(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	disabled := fx.user("dora", alicePassword, false)
	fx.c.must(http.StatusOK, "PUT", "/environments/"+fx.envID+"/users/"+disabled+"/enabled", map[string]any{"enabled": false})
	hc := fx.browser()

	cases := map[string]struct {
		reason             string
		username, password string
		status             int
		code, detail       string
	}{
		"WrongPassword":   {"a wrong password is INVALID_CREDENTIALS", "alice", wrongPassword, 400, "INVALID_DATA", "INVALID_CREDENTIALS"},
		"UnknownUser":     {"an unknown user gets the same answer as a wrong password", "nobody", wrongPassword, 400, "INVALID_DATA", "INVALID_CREDENTIALS"},
		"DisabledUser":    {"a disabled user cannot sign on", "dora", alicePassword, 400, "INVALID_DATA", "ACCOUNT_NOT_USABLE"},
		"MissingPassword": {"both fields are required", "alice", "", 400, "INVALID_DATA", "REQUIRED_VALUE"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			id := fx.startFlow(hc, fx.authorizeParams(verifier))
			m := wantError(t, fx.check(hc, id, tc.username, tc.password), tc.status, tc.code)
			if d := detail(m, ""); d == nil || d["code"] != tc.detail {
				t.Errorf("%s: details = %v, want %s", tc.reason, m["details"], tc.detail)
			}
			if f := fx.call(hc, "GET", fx.authURL("/flows/"+id), "", "").JSON(t); f["status"] != "USERNAME_PASSWORD_REQUIRED" {
				t.Errorf("flow status after a failure = %v", f["status"])
			}
		})
	}

	id := fx.startFlow(hc, fx.authorizeParams(verifier))
	wantError(t, fx.call(hc, "POST", fx.authURL("/flows/"+id), "application/json", `{"username":"alice"}`),
		http.StatusUnsupportedMediaType, "INVALID_REQUEST")
	wantError(t, fx.call(hc, "GET", fx.authURL("/flows/00000000-0000-4000-8000-000000000000"), "", ""), http.StatusNotFound, "NOT_FOUND")
	wantError(t, fx.check(hc, "00000000-0000-4000-8000-000000000000", "alice", alicePassword), http.StatusNotFound, "NOT_FOUND")
	wantError(t, fx.call(hc, "GET", fx.authURL("/as/resume?flowId=00000000-0000-4000-8000-000000000000"), "", ""), http.StatusNotFound, "NOT_FOUND")
}

// TestFlowLockout: the Standard policy locks the password after 5 failures
// for 900 s; a locked password is refused even when correct.
func TestFlowLockout(t *testing.T) {
	t.Parallel()
	clock := emulatortest.NewClock(time.Now())
	fx := newSignOn(t, emulatortest.WithClock(clock))
	hc := fx.browser()
	id := fx.startFlow(hc, fx.authorizeParams(verifier))
	for i := 1; i <= 4; i++ {
		m := wantError(t, fx.check(hc, id, "alice", wrongPassword), 400, "INVALID_DATA")
		if d := detail(m, ""); d["code"] != "INVALID_CREDENTIALS" {
			t.Fatalf("failure %d: %v", i, d)
		}
	}
	for i, pw := range []string{wrongPassword, alicePassword} {
		m := wantError(t, fx.check(hc, id, "alice", pw), 400, "INVALID_DATA")
		d := detail(m, "")
		if secs, _ := get(d, "innerError.secondsUntilUnlock").(float64); d["code"] != "PASSWORD_LOCKED_OUT" || secs <= 0 || secs > 900 {
			t.Errorf("attempt %d after lock-out: %v", 5+i, d)
		}
	}
	clock.Advance(901 * time.Second) // also past the flow's 15 minutes
	id = fx.startFlow(hc, fx.authorizeParams(verifier))
	if r := fx.check(hc, id, "alice", alicePassword); r.Status != http.StatusOK {
		t.Errorf("after the lock-out: %d %s", r.Status, r.Body)
	}
}

// TestFlowExpired: a flow is gone 15 minutes after authorize; a code 60 s
// after resume.
func TestFlowExpired(t *testing.T) {
	t.Parallel()
	clock := emulatortest.NewClock(time.Now())
	fx := newSignOn(t, emulatortest.WithClock(clock))
	hc := fx.browser()
	id := fx.startFlow(hc, fx.authorizeParams(verifier))
	clock.Advance(15*time.Minute + time.Second)
	wantError(t, fx.call(hc, "GET", fx.authURL("/flows/"+id), "", ""), http.StatusNotFound, "NOT_FOUND")
	wantError(t, fx.check(hc, id, "alice", alicePassword), http.StatusNotFound, "NOT_FOUND")

	code := fx.code(fx.authorizeParams(verifier))
	clock.Advance(61 * time.Second)
	wantOAuthError(t, fx.token(codeForm(code), true), http.StatusBadRequest, "invalid_grant")
}

// TestAuthorizeErrors: problems with the client or redirect URI are shown,
// never redirected; later problems go to the redirect URI.
func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	noGrant, _ := fx.webApp("no-grant", nil)
	pkce, _ := fx.webApp("pkce", map[string]any{"pkceEnforcement": "REQUIRED"}, "openid")
	s256, _ := fx.webApp("s256", map[string]any{"pkceEnforcement": "S256_REQUIRED"}, "openid")
	off, _ := fx.webApp("off", map[string]any{"enabled": false}, "openid")
	params := func(client string, change func(url.Values)) url.Values {
		q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"s"}}
		if change != nil {
			change(q)
		}
		return q
	}
	cases := map[string]struct {
		reason string
		q      url.Values
		status int
		error  string // the OAuth error sent to the redirect URI; "" for an error page
	}{
		"UnknownClient":      {"an unknown client is not redirected", params("00000000-0000-4000-8000-000000000000", nil), 400, ""},
		"MissingClient":      {"client_id is required", params("", nil), 400, ""},
		"WrongRedirect":      {"an unregistered redirect URI is never redirected to", params(fx.appID, func(q url.Values) { q.Set("redirect_uri", "http://evil.example/cb") }), 400, ""},
		"RedirectPrefix":     {"redirect URIs match exactly", params(fx.appID, func(q url.Values) { q.Set("redirect_uri", redirectURI+"/x") }), 400, ""},
		"MissingRedirect":    {"redirect_uri is required outside pi.flow", params(fx.appID, func(q url.Values) { q.Del("redirect_uri") }), 400, ""},
		"ResponseTypeToken":  {"only code is supported", params(fx.appID, func(q url.Values) { q.Set("response_type", "token") }), 302, "unsupported_response_type"},
		"NoOpenIDGrant":      {"scopes need a grant on the openid resource", params(noGrant, nil), 302, "invalid_scope"},
		"UngrantedScope":     {"every scope must be granted", params(fx.appID, func(q url.Values) { q.Set("scope", "openid address") }), 302, "invalid_scope"},
		"PKCERequired":       {"pkceEnforcement REQUIRED needs a challenge", params(pkce, nil), 302, "invalid_request"},
		"S256Required":       {"S256_REQUIRED refuses plain", params(s256, func(q url.Values) { q.Set("code_challenge", verifier); q.Set("code_challenge_method", "plain") }), 302, "invalid_request"},
		"DisabledApp":        {"a disabled app cannot sign users on", params(off, nil), 302, "unauthorized_client"},
		"PromptNone":         {"there is no single sign-on session to reuse", params(fx.appID, func(q url.Values) { q.Set("prompt", "none") }), 302, "login_required"},
		"FragmentMode":       {"only query and pi.flow response modes", params(fx.appID, func(q url.Values) { q.Set("response_mode", "fragment") }), 302, "invalid_request"},
		"UnknownPKCEMethod":  {"S256 or plain", params(fx.appID, func(q url.Values) { q.Set("code_challenge", verifier); q.Set("code_challenge_method", "S512") }), 302, "invalid_request"},
		"ShortCodeChallenge": {"RFC 7636 length", params(fx.appID, func(q url.Values) { q.Set("code_challenge", "short") }), 302, "invalid_request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := fx.call(fx.browser(), "GET", fx.authURL("/as/authorize?"+tc.q.Encode()), "", "", "Accept", "text/html")
			if r.Status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.reason, r.Status, tc.status, r.Body)
			}
			loc := r.Header.Get("Location")
			if tc.error == "" {
				if loc != "" || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s: want an error page, got Location %q, %s", tc.reason, loc, r.Header.Get("Content-Type"))
				}
				return
			}
			u, _ := url.Parse(loc)
			if !strings.HasPrefix(loc, redirectURI+"?") || u.Query().Get("error") != tc.error || u.Query().Get("state") != "s" ||
				u.Query().Get("error_description") == "" {
				t.Errorf("%s: Location = %s, want error %s", tc.reason, loc, tc.error)
			}
		})
	}
	// API clients get the error envelope before the redirect URI is known,
	// and OAuth JSON in pi.flow mode after.
	wantError(t, fx.call(fx.browser(), "GET", fx.authURL("/as/authorize?"+params("", nil).Encode()), "", ""), 400, "INVALID_REQUEST")
	q := params(noGrant, nil)
	q.Set("response_mode", "pi.flow")
	wantOAuthError(t, fx.call(fx.browser(), "GET", fx.authURL("/as/authorize?"+q.Encode()), "", ""), 400, "invalid_scope")
	// A form POST works like GET.
	r := fx.call(fx.browser(), "POST", fx.authURL("/as/authorize"), "application/x-www-form-urlencoded", fx.authorizeParams(verifier).Encode())
	if r.Status != http.StatusFound {
		t.Errorf("POST authorize: %d %s", r.Status, r.Body)
	}
}

// TestAuthorizationCodeGrant covers the code exchange's checks.
func TestAuthorizationCodeGrant(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)

	t.Run("WrongVerifier", func(t *testing.T) {
		f := codeForm(fx.code(fx.authorizeParams(verifier)))
		f.Set("code_verifier", strings.Repeat("x", 43))
		wantOAuthError(t, fx.token(f, true), 400, "invalid_grant")
	})
	t.Run("MissingVerifier", func(t *testing.T) {
		f := codeForm(fx.code(fx.authorizeParams(verifier)))
		f.Del("code_verifier")
		wantOAuthError(t, fx.token(f, true), 400, "invalid_grant")
	})
	t.Run("PlainPKCE", func(t *testing.T) {
		q := fx.authorizeParams(verifier)
		q.Set("code_challenge", verifier)
		q.Set("code_challenge_method", "plain")
		if r := fx.token(codeForm(fx.code(q)), true); r.Status != 200 {
			t.Errorf("plain PKCE: %d %s", r.Status, r.Body)
		}
	})
	t.Run("RedirectMismatch", func(t *testing.T) {
		f := codeForm(fx.code(fx.authorizeParams(verifier)))
		f.Set("redirect_uri", "http://localhost:3000/other")
		wantOAuthError(t, fx.token(f, true), 400, "invalid_grant")
	})
	t.Run("UnknownCode", func(t *testing.T) {
		wantOAuthError(t, fx.token(codeForm("nope"), true), 400, "invalid_grant")
	})
	t.Run("WrongAuthMethod", func(t *testing.T) {
		f := codeForm(fx.code(fx.authorizeParams(verifier)))
		f.Set("client_id", fx.appID)
		f.Set("client_secret", fx.secret)
		wantOAuthError(t, fx.token(f, false), 401, "invalid_client")
	})
	t.Run("OtherClient", func(t *testing.T) {
		other, secret := fx.webApp("other", nil, "openid")
		code := fx.code(fx.authorizeParams(verifier))
		wantOAuthError(t, fx.tokenAs(codeForm(code), other, secret), 400, "invalid_grant")
	})
	t.Run("ReuseRevokesRefreshToken", func(t *testing.T) {
		code := fx.code(fx.authorizeParams(verifier))
		first := fx.token(codeForm(code), true)
		if first.Status != 200 {
			t.Fatalf("first use: %d %s", first.Status, first.Body)
		}
		wantOAuthError(t, fx.token(codeForm(code), true), 400, "invalid_grant")
		rt := first.JSON(t)["refresh_token"].(string)
		wantOAuthError(t, fx.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true), 400, "invalid_grant")
	})
	t.Run("PublicClient", func(t *testing.T) {
		id, _ := fx.webApp("spa", map[string]any{"type": "SINGLE_PAGE_APP", "tokenEndpointAuthMethod": "NONE",
			"grantTypes": []string{"AUTHORIZATION_CODE"}, "pkceEnforcement": "S256_REQUIRED"}, "openid", "profile", "email")
		q := fx.authorizeParams(verifier)
		q.Set("client_id", id)
		f := codeForm(fx.code(q))
		f.Set("client_id", id)
		r := fx.token(f, false)
		if r.Status != 200 || r.JSON(t)["refresh_token"] != nil {
			t.Errorf("public client: %d %s", r.Status, r.Body)
		}
	})
}

// TestRefreshRotation: each refresh token works once and yields a new one.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	tok := fx.token(codeForm(fx.code(fx.authorizeParams(verifier))), true).JSON(t)
	rt1 := tok["refresh_token"].(string)
	r := fx.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, true)
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	rt2, _ := r.JSON(t)["refresh_token"].(string)
	if rt2 == "" || rt2 == rt1 || r.JSON(t)["id_token"] == nil {
		t.Errorf("refresh response = %s", r.Body)
	}
	wantOAuthError(t, fx.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}, true), 400, "invalid_grant")
	narrowed := fx.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}, "scope": {"openid"}}, true)
	if narrowed.Status != 200 || narrowed.JSON(t)["scope"] != "openid" {
		t.Errorf("narrowed refresh: %d %s", narrowed.Status, narrowed.Body)
	}
}

// TestUserinfoRejects: userinfo needs a valid user token of the
// environment.
func TestUserinfoRejects(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	hc := fx.browser()
	for name, tok := range map[string]string{"NoToken": "", "Garbage": "Bearer x.y.z", "WorkerToken": "Bearer " + fx.env.Token(t)} {
		t.Run(name, func(t *testing.T) {
			var hdr []string
			if tok != "" {
				hdr = []string{"Authorization", tok}
			}
			r := fx.call(hc, "GET", fx.authURL("/as/userinfo"), "", "", hdr...)
			if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("status %d, WWW-Authenticate %q", r.Status, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

var urlPattern = regexp.MustCompile(`(?i)(?:https?:)?//[^\s"'<>]+`)

// TestSignonPage: the hosted page is accessible, self-contained, shows
// errors and sends the browser on after a successful sign-on.
func TestSignonPage(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	hc := fx.browser()
	q := fx.authorizeParams(verifier)
	q.Set("login_hint", "alice")
	r := fx.call(hc, "GET", fx.authURL("/as/authorize?"+q.Encode()), "", "")
	page := r.Header.Get("Location")
	flowID, _ := url.Parse(page)
	p := fx.call(hc, "GET", page, "", "")
	body := string(p.Body)
	if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", p.Status, p.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="en">`, `id="username"`, `id="password"`, `id="signOnButton"`, `id="error" role="alert"`,
		`<label for="username">`, `<label for="password">`, `autocomplete="username"`, `autocomplete="current-password"`,
		`demo-web`, `value="alice"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "<script") {
		t.Errorf("CSP %q; page has script: %v", csp, strings.Contains(body, "<script"))
	}
	for _, u := range urlPattern.FindAllString(body, -1) {
		if !strings.HasPrefix(u, fx.env.URL+"/") {
			t.Errorf("page refers to an external URL %s", u)
		}
	}
	token := regexp.MustCompile(`name="formToken" value="([^"]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatal("page has no form token")
	}
	submit := func(pw, formToken string) response {
		f := url.Values{"flowId": {flowID.Query().Get("flowId")}, "formToken": {formToken}, "username": {"alice"}, "password": {pw}}
		return fx.call(hc, "POST", fx.authURL("/signon/"), "application/x-www-form-urlencoded", f.Encode())
	}
	bad := submit(wrongPassword, token[1])
	if bad.Status != 400 || !strings.Contains(string(bad.Body), "Incorrect username or password.") || !strings.Contains(string(bad.Body), `value="alice"`) {
		t.Errorf("failed POST: %d %s", bad.Status, bad.Body)
	}
	if forged := submit(alicePassword, "forged"); forged.Status != 400 || forged.Header.Get("Location") != "" {
		t.Errorf("forged form token: %d", forged.Status)
	}
	ok := submit(alicePassword, token[1])
	if ok.Status != http.StatusSeeOther || ok.Header.Get("Location") != fx.authURL("/as/resume?flowId="+flowID.Query().Get("flowId")) {
		t.Fatalf("successful POST: %d %s", ok.Status, ok.Header.Get("Location"))
	}
	res := fx.call(hc, "GET", ok.Header.Get("Location"), "", "")
	if loc := res.Header.Get("Location"); res.Status != 302 || !strings.Contains(loc, "code=") {
		t.Errorf("resume after the page: %d %s", res.Status, loc)
	}
	gone := fx.call(hc, "GET", fx.authURL("/signon/?flowId=00000000-0000-4000-8000-000000000000"), "", "")
	if gone.Status != 404 || !strings.Contains(string(gone.Body), "expired") {
		t.Errorf("page for an unknown flow: %d", gone.Status)
	}
}

// TestSignonMustChangePassword: a password set with forceChange leads to
// MUST_CHANGE_PASSWORD, and password.reset completes the flow.
func TestSignonMustChangePassword(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	fx.user("bob", alicePassword, true)
	hc := fx.browser()
	id := fx.startFlow(hc, fx.authorizeParams(verifier))
	r := fx.check(hc, id, "bob", alicePassword)
	m := r.JSON(t)
	if r.Status != 200 || m["status"] != "MUST_CHANGE_PASSWORD" {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	if l, _ := m["_links"].(map[string]any)["password.reset"].(map[string]any); l["href"] != fx.authURL("/flows/"+id) {
		t.Errorf("links = %v", m["_links"])
	}
	wantError(t, fx.call(hc, "GET", fx.authURL("/as/resume?flowId="+id), "", ""), 400, "INVALID_REQUEST")
	const mtReset = "application/vnd.pingidentity.password.reset+json"
	body, _ := json.Marshal(map[string]string{"currentPassword": wrongPassword, "newPassword": newPassword})
	wantError(t, fx.call(hc, "POST", fx.authURL("/flows/"+id), mtReset, string(body)), 400, "INVALID_DATA")
	body, _ = json.Marshal(map[string]string{"currentPassword": alicePassword, "newPassword": newPassword})
	r = fx.call(hc, "POST", fx.authURL("/flows/"+id), mtReset, string(body))
	if r.Status != 200 || r.JSON(t)["status"] != "COMPLETED" {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	id2 := fx.startFlow(hc, fx.authorizeParams(verifier))
	if r := fx.check(hc, id2, "bob", newPassword); r.Status != 200 || r.JSON(t)["status"] != "COMPLETED" {
		t.Errorf("sign-on with the new password: %d %s", r.Status, r.Body)
	}
}

// TestSignonResetClearsFlows: flows live in the store, which
// /_emulator/reset empties.
func TestSignonResetClearsFlows(t *testing.T) {
	t.Parallel()
	fx := newSignOn(t)
	hc := fx.browser()
	id := fx.startFlow(hc, fx.authorizeParams(verifier))
	if err := fx.env.Server.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantError(t, fx.call(hc, "GET", fx.authURL("/flows/"+id), "", ""), http.StatusNotFound, "NOT_FOUND")
}
