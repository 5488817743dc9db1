package emulator_test

// A real browser signs on through the emulator: headless Chromium, driven
// with chromedp, opens the authorization URL, fills the hosted sign-on page
// and lands on a redirect URI that this test serves; the test exchanges the
// code and verifies the id_token with go-oidc, a standard OpenID Connect
// client library (pingone-api.md §7).

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite testdata/signon-page.png from the browser test")

const screenshotPath = "testdata/signon-page.png"

// chromiumPath finds Debian's chromium. Missing, the browser tests skip,
// except in CI (CI set), which must run them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; CI must run the browser tests (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium is not installed; the browser tests need Debian's chromium package")
	return ""
}

// browser starts a headless Chromium for the test, with a fresh profile, and
// returns a chromedp context bounded by a deadline.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile := t.TempDir() // removed after the browser exits: cleanups run last-in first-out
	ctx, cancelTimeout := context.WithTimeout(t.Context(), 60*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(800, 720),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for Chromium to exit
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// text returns the text of the element sel selects, waiting for it.
func text[S chromedp.Selectable](t *testing.T, bctx context.Context, sel S) string {
	t.Helper()
	s, err := chromedp.Run(bctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read the text of %v: %v", sel, err)
	}
	return s
}

// callback is the web app's redirect URI, served by the test: it records
// the first authorization response it receives.
type callback struct {
	srv  *httptest.Server
	once sync.Once
	got  chan url.Values
}

func newCallback(t *testing.T) *callback {
	cb := &callback{got: make(chan url.Values, 1)}
	cb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		cb.once.Do(func() { cb.got <- r.URL.Query() })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!DOCTYPE html><title>Signed on</title><p id=done>Signed on.</p>"))
	}))
	t.Cleanup(cb.srv.Close)
	return cb
}

func (cb *callback) uri() string { return cb.srv.URL + "/callback" }

// signOnApp is a web app in a new environment, and a user that may sign on
// to it.
type signOnApp struct {
	envID, clientID, secret, userID string
	username, password              string
	issuer                          string
}

// newSignOnApp creates, through the management API, an environment, a
// population, a user with a password (import media type), a WEB_APP whose
// redirect URI is redirectURI, and its grant of openid, profile and email.
func newSignOnApp(t *testing.T, env *emulatortest.Env, redirectURI string) signOnApp {
	t.Helper()
	c := newClient(t, env)
	a := signOnApp{username: "alice", password: "Br0wser-Pa55!"}
	a.envID = sandbox(t, c, "browser")
	a.issuer = env.URL + "/" + a.envID + "/as"
	base := "/environments/" + a.envID
	pop := c.must(http.StatusCreated, "POST", base+"/populations", map[string]any{"name": "Browser testers"})
	u := c.must(http.StatusCreated, "POST", base+"/users", map[string]any{
		"username": a.username, "email": "alice@example.com", "name": map[string]any{"given": "Alice", "family": "Browser"},
		"population": map[string]any{"id": pop["id"]},
		"password":   map[string]any{"value": a.password, "forceChange": false},
	}, contentType("application/vnd.pingidentity.user.import+json"))
	a.userID = u["id"].(string)
	app := c.must(http.StatusCreated, "POST", base+"/applications", map[string]any{
		"name": "Browser Portal", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{redirectURI},
		"pkceEnforcement": "S256_REQUIRED",
	})
	a.clientID = app["id"].(string)
	a.secret = c.must(http.StatusOK, "GET", base+"/applications/"+a.clientID+"/secret", nil)["secret"].(string)
	res := find(t, c.must(http.StatusOK, "GET", base+"/resources", nil), "resources", "name", "openid")
	scopes := c.must(http.StatusOK, "GET", base+"/resources/"+res["id"].(string)+"/scopes", nil)
	var grant []any
	for _, name := range []string{"openid", "profile", "email"} {
		grant = append(grant, map[string]any{"id": find(t, scopes, "scopes", "name", name)["id"]})
	}
	c.must(http.StatusCreated, "POST", base+"/applications/"+a.clientID+"/grants",
		map[string]any{"resource": map[string]any{"id": res["id"]}, "scopes": grant})
	return a
}

// oauthConfig is the app as an OAuth client, with endpoints from discovery.
func (a signOnApp) oauthConfig(p *oidc.Provider, redirectURI string) oauth2.Config {
	return oauth2.Config{ClientID: a.clientID, ClientSecret: a.secret, Endpoint: p.Endpoint(), RedirectURL: redirectURI,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

func TestBrowserSignOn(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	cb := newCallback(t)
	app := newSignOnApp(t, env, cb.uri())
	bctx := browser(t)

	// A standard OIDC client accepts the discovery document.
	provider, err := oidc.NewProvider(t.Context(), app.issuer)
	if err != nil {
		t.Fatalf("go-oidc rejects the discovery document: %v", err)
	}
	conf := app.oauthConfig(provider, cb.uri())
	verifier, state, nonce := oauth2.GenerateVerifier(), "st-"+oauth2.GenerateVerifier()[:16], "n-"+oauth2.GenerateVerifier()[:16]
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))

	if err := chromedp.Do(bctx, chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID("username"))); err != nil {
		t.Fatalf("open the sign-on page: %v", err)
	}
	appName := text(t, bctx, chromedp.ID("applicationName"))
	label := text(t, bctx, chromedp.CSS(`label[for="password"]`))
	if appName != "Browser Portal" || label != "Password" {
		t.Errorf("sign-on page shows app %q and label %q, want %q and %q", appName, label, "Browser Portal", "Password")
	}
	if *updateScreenshot {
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", screenshotPath, len(png))
	}
	err = chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("username"), app.username),
		chromedp.SendKeys(chromedp.ID("password"), app.password),
		chromedp.Click(chromedp.ID("signOnButton")),
	)
	if err != nil {
		t.Fatalf("fill the sign-on page: %v", err)
	}
	var got url.Values
	select {
	case got = <-cb.got:
	case <-bctx.Done():
		t.Fatalf("the browser never reached the redirect URI: %v", bctx.Err())
	}
	if got.Get("state") != state || got.Get("code") == "" || got.Get("error") != "" {
		t.Fatalf("redirect URI received %v, want a code and state %q", got, state)
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("the browser did not show the redirect URI's page: %v", err)
	}
	landed, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(landed, cb.uri()+"?") {
		t.Errorf("browser is at %s, want the redirect URI %s", landed, cb.uri())
	}

	// The app's back end: the code for tokens (HTTP Basic, PKCE), then the
	// id_token's signature and claims.
	tok, err := conf.Exchange(t.Context(), got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: app.clientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("go-oidc rejects the id_token: %v", err)
	}
	if idt.Nonce != nonce || idt.Subject != app.userID || idt.Issuer != app.issuer {
		t.Errorf("id_token nonce %q, sub %q, iss %q; want %q, %q, %q", idt.Nonce, idt.Subject, idt.Issuer, nonce, app.userID, app.issuer)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || claims.PreferredUsername != app.username || claims.Email != "alice@example.com" {
		t.Errorf("id_token claims %+v (%v), want preferred_username %q and email", claims, err, app.username)
	}
	ui, err := provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != app.userID {
		t.Errorf("userinfo = %+v, %v; want sub %s", ui, err, app.userID)
	}
	// The code is single-use.
	if _, err := conf.Exchange(t.Context(), got.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Error("the code was exchanged twice")
	}
}

func TestBrowserSignOnFails(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	cb := newCallback(t)
	app := newSignOnApp(t, env, cb.uri())
	bctx := browser(t)

	provider, err := oidc.NewProvider(t.Context(), app.issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := app.oauthConfig(provider, cb.uri())
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oidc.Nonce("nonce-1"))

	if err := chromedp.Do(bctx, chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID("username"))); err != nil {
		t.Fatalf("open the sign-on page: %v", err)
	}
	before := text(t, bctx, chromedp.ID("error"))
	err = chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("username"), app.username),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.ID("signOnButton")),
		chromedp.WaitVisible(chromedp.CSS("#error:not(:empty)")),
	)
	if err != nil {
		t.Fatalf("sign on with a wrong password: %v", err)
	}
	after := text(t, bctx, chromedp.ID("error"))
	username, err := chromedp.Run(bctx, chromedp.Value(chromedp.ID("username")))
	if err != nil {
		t.Fatal(err)
	}
	attr, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.ID("password"), "aria-invalid"))
	if err != nil {
		t.Fatal(err)
	}
	invalid := attr.Value
	if strings.TrimSpace(before) != "" {
		t.Errorf("#error before submitting = %q, want empty", before)
	}
	if !strings.Contains(after, "Incorrect username or password") {
		t.Errorf("#error after a wrong password = %q, want it to say the username or password is incorrect", after)
	}
	if strings.Contains(after, "not-the-password") {
		t.Error("#error shows the password")
	}
	if username != app.username || invalid != "true" {
		t.Errorf("after the error: username field %q, password aria-invalid %q; want %q kept and \"true\"", username, invalid, app.username)
	}
	select {
	case got := <-cb.got:
		t.Errorf("a failed sign-on reached the redirect URI with %v", got)
	default:
	}

	// An unregistered redirect URI never leaves the emulator: the browser
	// gets an error page, not a redirect.
	bad := strings.Replace(authURL, url.QueryEscape(cb.uri()), url.QueryEscape(cb.srv.URL+"/elsewhere"), 1)
	if err := chromedp.Do(bctx, chromedp.Navigate(bad)); err != nil {
		t.Fatal(err)
	}
	body := text(t, bctx, chromedp.CSS("body"))
	if !strings.Contains(body, "redirect_uri") {
		t.Errorf("authorize with an unregistered redirect URI shows %q, want an error about redirect_uri", body)
	}
	select {
	case got := <-cb.got:
		t.Errorf("an unregistered redirect URI was followed: %v", got)
	default:
	}
}
