package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"gopkg.in/yaml.v3"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/manifests"
)

func init() { register(func(f *factory) *cobra.Command { return newVerifyCmd(f, verifyRun) }) }

type verifyOptions struct {
	IO     *iostreams
	Getenv func(string) string

	Files      []string
	VarFiles   []string
	Conn       connOptions
	WebApp     string
	User       string
	ShowTokens bool
	Timeout    time.Duration
}

func newVerifyCmd(f *factory, runF func(context.Context, *verifyOptions) error) *cobra.Command {
	opts := &verifyOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "verify -f PATH... --web-app KEY --user KEY [--local | connection flags]",
		Short: "Prove that a user can sign on to a web app and get tokens",
		Long: `Verify runs the last task of PingOne's getting-started guide against the
applied environment, as a browser would, without one: an authorization
request (authorization code with PKCE S256, state and nonce) to the web
app's first redirect URI, the sign-on flow with the user's username and the
password the manifest gives, the resume to the redirect URI, the code
exchange with the app's client authentication, then the id_token's RS256
signature against the environment's JWKS and its claims (iss, aud, exp,
nonce), and userinfo.

It prints each step with its outcome and timing. Tokens are never printed
unless --show-tokens. It exits 0 when every step passes; otherwise 1, naming
the step that failed and the most likely cause in the manifest.

It changes nothing in PingOne, except what a sign-on changes (the user's
last sign-on time; a wrong password counts towards a lock-out).`,
		Example: `  # After applying the getting-started guide to the built-in emulator
  ALICE_PASSWORD='...' p1ctl apply --local --auto-approve -f manifests/examples/getting-started.yaml
  ALICE_PASSWORD='...' p1ctl verify --local -f manifests/examples/getting-started.yaml --web-app portal --user alice

  # Against a tenant, in CI, after apply
  p1ctl verify -f manifests/ --var-file ci.env --web-app portal --user alice --timeout 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Timeout <= 0 {
				return fmt.Errorf("--timeout %s: want a positive duration", opts.Timeout)
			}
			return runF(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Files, "filename", "f", nil, "manifest file or folder (repeatable)")
	fl.StringArrayVar(&opts.VarFiles, "var-file", nil, "dotenv file of variables (repeatable)")
	fl.StringVar(&opts.WebApp, "web-app", "", "key of the webApps entry to sign on to (required)")
	fl.StringVar(&opts.User, "user", "", "key of the users entry to sign on as; it needs a password in the manifest (required)")
	fl.BoolVar(&opts.ShowTokens, "show-tokens", false, "print the access, id and refresh tokens and the id_token's claims")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "give up after this long")
	opts.Conn.addFlags(fl)
	_ = cmd.MarkFlagRequired("web-app")
	_ = cmd.MarkFlagRequired("user")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml")
	return cmd
}

// verifyTarget is what verify signs on with, taken from the manifest.
type verifyTarget struct {
	app, user, env engine.Address
	webApp         *manifests.WebApp
	u              *manifests.User
	password       string
	// passwordFrom says where the password comes from without showing it,
	// e.g. "${ALICE_PASSWORD} (a.yaml:29:14)".
	passwordFrom string
	redirectURI  string
	scopes       []string
}

func verifyRun(ctx context.Context, opts *verifyOptions) error {
	if len(opts.Files) == 0 {
		return errors.New("no manifest given: add -f FILE or -f FOLDER")
	}
	res, err := manifests.Load(manifests.Options{Getenv: opts.Getenv, VarFiles: opts.VarFiles}, opts.Files...)
	if res == nil {
		return err
	}
	for _, p := range res.Problems {
		fmt.Fprintln(opts.IO.ErrOut, p.Error())
	}
	if err != nil {
		fmt.Fprintln(opts.IO.ErrOut, manifests.Summary(res.Problems))
		return &exitCodeError{code: exitError, err: err, silent: true}
	}
	tgt, err := verifyTargetOf(res.Manifest, opts.WebApp, opts.User)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	v := newVerifier(opts, tgt)
	err = v.run(ctx, res.Manifest)
	if ctx.Err() == context.DeadlineExceeded && err != nil {
		err = fmt.Errorf("%w (gave up after --timeout %s)", err, opts.Timeout)
	}
	if err != nil {
		return &exitCodeError{code: exitError, err: err}
	}
	return nil
}

// verifyTargetOf checks the --web-app and --user keys against the manifest.
func verifyTargetOf(m *manifests.Manifest, appKey, userKey string) (*verifyTarget, error) {
	wa, ok := m.WebApps[appKey]
	if !ok {
		return nil, fmt.Errorf("--web-app %q: the manifests have no webApps.%s%s", appKey, appKey, keyList("webApps", m.WebApps))
	}
	u, ok := m.Users[userKey]
	if !ok {
		return nil, fmt.Errorf("--user %q: the manifests have no users.%s%s", userKey, userKey, keyList("users", m.Users))
	}
	t := &verifyTarget{webApp: wa, u: u,
		app:  engine.Address{Kind: engine.KindWebApps, Key: appKey},
		user: engine.Address{Kind: engine.KindUsers, Key: userKey},
		env:  engine.Address{Kind: engine.KindEnvironments, Key: wa.Environment}}
	if u.Environment != wa.Environment {
		return nil, fmt.Errorf("--user %q: %s is in environments.%s, but %s is in environments.%s: they must share an environment",
			userKey, t.user, u.Environment, t.app, wa.Environment)
	}
	if u.Password == nil || u.Password.Value.Reveal() == "" {
		return nil, fmt.Errorf("--user %q: %s (%s) has no password in the manifest; verify signs on with it", userKey, t.user, u.Pos)
	}
	if len(wa.RedirectURIs) == 0 {
		return nil, fmt.Errorf("--web-app %q: %s (%s) has no redirectUris; the authorization code goes to the first one", appKey, t.app, wa.Pos)
	}
	if !slices.Contains(wa.GrantTypes, "AUTHORIZATION_CODE") {
		return nil, fmt.Errorf("--web-app %q: %s (%s) lacks grant type AUTHORIZATION_CODE, which a browser sign-on needs", appKey, t.app, wa.Pos)
	}
	switch wa.TokenEndpointAuthMethod {
	case "", "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "NONE":
	default:
		return nil, fmt.Errorf("--web-app %q: %s uses tokenEndpointAuthMethod %s; verify supports CLIENT_SECRET_BASIC, CLIENT_SECRET_POST and NONE",
			appKey, t.app, wa.TokenEndpointAuthMethod)
	}
	t.password = u.Password.Value.Reveal()
	t.passwordFrom = passwordSource(u, userKey)
	t.redirectURI = wa.RedirectURIs[0]
	t.scopes = slices.Clone(wa.Scopes)
	if !slices.Contains(t.scopes, "openid") {
		// Ask anyway: PingOne's answer (invalid_scope) is the finding.
		t.scopes = append([]string{"openid"}, t.scopes...)
	}
	return t, nil
}

func keyList[V any](kind string, m map[string]V) string {
	if len(m) == 0 {
		return " (it lists no " + kind + ")"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return " (" + kind + ": " + strings.Join(keys, ", ") + ")"
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// passwordSource names where a user's password comes from, for messages
// that must never show the password: the variables of its value and the
// value's position, e.g. "${ALICE_PASSWORD} (a.yaml:29:14)", or "the
// manifest (a.yaml:29:14)" for a literal.
func passwordSource(u *manifests.User, key string) string {
	pos := u.Pos.String()
	raw, line, col := rawPasswordValue(u.Pos.File, key)
	if line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", u.Pos.File, line, col)
	}
	var names []string
	for _, m := range varRef.FindAllStringSubmatch(raw, -1) {
		names = append(names, "${"+m[1]+"}")
	}
	if len(names) == 0 {
		return "the manifest (" + pos + ")"
	}
	return strings.Join(slices.Compact(names), ", ") + " (" + pos + ")"
}

// rawPasswordValue finds users.KEY.password.value in a manifest file and
// returns it as written, before variables are substituted.
func rawPasswordValue(file, key string) (raw string, line, col int) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", 0, 0
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return "", 0, 0
		}
		n := &doc
		for _, k := range []string{"users", key, "password", "value"} {
			if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
				n = n.Content[0]
			}
			n = mappingValue(n, k)
			if n == nil {
				break
			}
		}
		if n != nil && n.Kind == yaml.ScalarNode {
			return n.Value, n.Line, n.Column
		}
	}
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// verifier runs the sign-on steps and prints them.
type verifier struct {
	opts  *verifyOptions
	t     *verifyTarget
	http  *http.Client
	marks stepMarks

	// Found by the lookup step.
	authBase             string
	envID, appID, userID string
	secret               string
	app, user            *engine.Change

	state, nonce, verifier string
	checkURL               string // the flow's usernamePassword.check link
}

func newVerifier(opts *verifyOptions, t *verifyTarget) *verifier {
	jar, _ := cookiejar.New(nil)
	return &verifier{opts: opts, t: t, marks: newStepMarks(opts.IO, opts.Getenv),
		http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// stepFailure is why a step failed: what PingOne answered (shown on the
// step's line) and the most likely cause (the error verify ends with).
type stepFailure struct {
	answer string
	cause  string
}

func (f *stepFailure) Error() string { return f.cause }

func fail(answer, cause string, args ...any) *stepFailure {
	return &stepFailure{answer: answer, cause: fmt.Sprintf(cause, args...)}
}

// step runs fn, timing it, and prints its line: the outcome, the time and
// what it found (or what PingOne answered).
func (v *verifier) step(name string, fn func() (string, error)) error {
	start := time.Now()
	note, err := fn()
	d := time.Since(start)
	if err == nil {
		fmt.Fprintf(v.opts.IO.Out, "%s %-12s %6s  %s\n", v.marks.ok, name, stepDuration(d), note)
		return nil
	}
	var sf *stepFailure
	if !errors.As(err, &sf) {
		sf = &stepFailure{answer: err.Error(), cause: err.Error()}
	}
	fmt.Fprintf(v.opts.IO.Out, "%s %-12s %6s  %s\n", v.marks.fail, name, stepDuration(d), sf.answer)
	return fmt.Errorf("verify failed at the %s step: %s", name, sf.cause)
}

func stepDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// stepMarks are the outcome marks: ✓ and ✗ on a terminal, coloured when
// colour is on; plain ASCII elsewhere (CI logs, files).
type stepMarks struct {
	ok, fail string
	ellipsis string
}

func newStepMarks(io *iostreams, getenv func(string) string) stepMarks {
	if !io.StdoutTTY {
		return stepMarks{ok: "ok  ", fail: "FAIL", ellipsis: "..."}
	}
	if io.colorEnabled(getenv) {
		return stepMarks{ok: "\x1b[32m✓\x1b[0m", fail: "\x1b[31m✗\x1b[0m", ellipsis: "…"}
	}
	return stepMarks{ok: "✓", fail: "✗", ellipsis: "…"}
}

// short abbreviates an id for a step line.
func (v *verifier) short(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + v.marks.ellipsis
}

func (v *verifier) run(ctx context.Context, m *manifests.Manifest) error {
	out := v.opts.IO.Out
	fmt.Fprintf(out, "Verifying sign-on of %s to %s in %s\n", v.t.user, v.t.app, v.t.env)

	var conn *connection
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	if err := v.step("lookup", func() (string, error) {
		var err error
		if conn, err = connect(ctx, &v.opts.Conn, v.opts.Getenv, userAgent()); err != nil {
			return "", fail("cannot connect", "%v", err)
		}
		return v.lookup(ctx, conn, m)
	}); err != nil {
		return err
	}

	var flowID, resumeURL, code string
	var tok tokenResponse
	var provider *oidc.Provider
	var idt *oidc.IDToken
	steps := []struct {
		name string
		fn   func() (string, error)
	}{
		{"authorize", func() (n string, err error) { flowID, n, err = v.authorize(ctx); return }},
		{"flow", func() (string, error) { return v.flow(ctx, flowID) }},
		{"credentials", func() (n string, err error) { resumeURL, n, err = v.credentials(ctx, flowID); return }},
		{"resume", func() (n string, err error) { code, n, err = v.resume(ctx, flowID, resumeURL); return }},
		{"token", func() (n string, err error) { tok, n, err = v.token(ctx, code); return }},
		{"discovery", func() (n string, err error) { provider, n, err = v.discovery(ctx); return }},
		{"id_token", func() (n string, err error) { idt, n, err = v.idToken(ctx, provider, tok); return }},
		{"userinfo", func() (string, error) { return v.userinfo(ctx, provider, tok, idt) }},
	}
	for _, s := range steps {
		if err := v.step(s.name, s.fn); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Sign-on works: %s signed on to %q and got tokens.\n", v.t.u.Username, v.t.webApp.Name)
	if v.opts.ShowTokens {
		v.printTokens(tok, idt)
	} else {
		fmt.Fprintln(out, "Tokens are not shown; add --show-tokens to print them.")
	}
	return nil
}

// lookup finds the live environment, app and user by planning against the
// manifest, and reads the app's client secret.
func (v *verifier) lookup(ctx context.Context, conn *connection, m *manifests.Manifest) (string, error) {
	v.authBase = strings.TrimSuffix(conn.AuthBase, "/")
	p, err := engine.MakePlan(ctx, conn.Provider, m.Resources(), engine.Options{Targets: []engine.Address{v.t.app, v.t.user}})
	if err != nil {
		return "", fail("cannot read PingOne", "read live state: %v", err)
	}
	changes := map[engine.Address]*engine.Change{}
	for i := range p.Changes {
		changes[p.Changes[i].Addr] = &p.Changes[i]
	}
	var missing, drift []string
	for _, a := range []engine.Address{v.t.env, v.t.app, v.t.user} {
		c := changes[a]
		switch {
		case c == nil || c.ID == "" || c.Action == engine.Create:
			missing = append(missing, a.String())
		case c.Action == engine.Update || c.Action == engine.Replace:
			var paths []string
			for _, f := range c.Fields {
				paths = append(paths, f.Path)
			}
			drift = append(drift, fmt.Sprintf("%s (%s)", a, strings.Join(paths, ", ")))
		}
	}
	if len(missing) > 0 {
		return "", fail("not found: "+strings.Join(missing, ", "),
			"%s not found in PingOne: the manifest is not applied yet; run p1ctl apply first", strings.Join(missing, ", "))
	}
	v.envID, v.app, v.user = changes[v.t.env].ID, changes[v.t.app], changes[v.t.user]
	v.appID, v.userID = v.app.ID, v.user.ID
	if len(drift) > 0 {
		fmt.Fprintf(v.opts.IO.ErrOut, "Note: PingOne differs from the manifest in %s; verify tests what PingOne has (p1ctl plan shows the difference).\n",
			strings.Join(drift, "; "))
	}
	if v.authMethod() != "NONE" {
		if v.secret, err = conn.Provider.AppSecret(ctx, v.envID, v.appID); err != nil {
			return "", fail("cannot read the client secret", "read the client secret of %s: %v", v.t.app, err)
		}
	}
	return fmt.Sprintf("environment %s, client %s, user %s", v.short(v.envID), v.short(v.appID), v.short(v.userID)), nil
}

func (v *verifier) authMethod() string {
	if m := v.t.webApp.TokenEndpointAuthMethod; m != "" {
		return m
	}
	return manifests.DefaultTokenEndpointAuthMethod
}

func (v *verifier) envURL(path string) string { return v.authBase + "/" + v.envID + path }

// liveBool reads a boolean attribute of a live object, true when unknown.
func liveBool(c *engine.Change, attr string) bool {
	if c == nil || c.Live == nil {
		return true
	}
	b, ok := c.Live.Attrs[attr].(bool)
	return !ok || b
}

func liveStrings(c *engine.Change, attr string) []string {
	if c == nil || c.Live == nil {
		return nil
	}
	var out []string
	switch x := c.Live.Attrs[attr].(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = x
	}
	return out
}

// wireDoc is any JSON answer of the auth host: a flow, PingOne's error
// envelope, or an OAuth error.
type wireDoc struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	ResumeURL string `json:"resumeUrl"`
	Links     map[string]struct {
		Href string `json:"href"`
	} `json:"_links"`
	Embedded struct {
		User struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"user"`
	} `json:"_embedded"`

	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []wireDetail `json:"details"`

	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

type wireDetail struct {
	Code       string         `json:"code"`
	Message    string         `json:"message"`
	InnerError map[string]any `json:"innerError"`
}

// errorCode is the most specific error code of an answer: the first
// detail's code, the envelope's code or the OAuth error.
func (d *wireDoc) errorCode() string {
	switch {
	case len(d.Details) > 0 && d.Details[0].Code != "":
		return d.Details[0].Code
	case d.Code != "":
		return d.Code
	}
	return d.Error
}

func (d *wireDoc) errorText() string {
	code, msg := d.errorCode(), d.Message
	if len(d.Details) > 0 && d.Details[0].Message != "" {
		msg = d.Details[0].Message
	}
	if d.Error != "" {
		msg = d.ErrorDescription
	}
	if msg == "" {
		return code
	}
	return code + ": " + msg
}

func (v *verifier) send(ctx context.Context, method, u, contentType string, body io.Reader) (*http.Response, *wireDoc, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", userAgent())
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var d wireDoc
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		_ = json.Unmarshal(data, &d) // a body that is not JSON leaves d empty; the status speaks
	}
	return resp, &d, nil
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize starts the flow as a browser does: GET the authorization
// endpoint and read the flow id from the redirect to the sign-on page.
func (v *verifier) authorize(ctx context.Context) (flowID, note string, err error) {
	v.state, v.nonce, v.verifier = randomString(), randomString(), oauth2.GenerateVerifier()
	q := url.Values{
		"response_type": {"code"}, "client_id": {v.appID}, "redirect_uri": {v.t.redirectURI},
		"scope": {strings.Join(v.t.scopes, " ")}, "state": {v.state}, "nonce": {v.nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(v.verifier)}, "code_challenge_method": {"S256"},
	}
	resp, d, err := v.send(ctx, http.MethodGet, v.envURL("/as/authorize?"+q.Encode()), "", nil)
	if err != nil {
		return "", "", fail(err.Error(), "the authorization endpoint cannot be reached: %v", err)
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return "", "", v.authorizeFailure(fmt.Sprintf("%d %s", resp.StatusCode, d.errorText()), d.errorCode())
	}
	loc, err := resp.Location()
	if err != nil {
		return "", "", fail("redirect without a Location", "the authorization endpoint redirected nowhere")
	}
	if e := loc.Query().Get("error"); e != "" && loc.Query().Get("flowId") == "" {
		return "", "", v.authorizeFailure(e+": "+loc.Query().Get("error_description"), e)
	}
	flowID = loc.Query().Get("flowId")
	if flowID == "" {
		return "", "", fail("redirect without a flowId", "the authorization endpoint redirected to %s, not to a sign-on page with a flowId", loc.Redacted())
	}
	return flowID, "flow " + v.short(flowID) + ", sign-on page " + loc.Scheme + "://" + loc.Host + loc.Path, nil
}

// authorizeFailure names the likely cause of an authorization error.
func (v *verifier) authorizeFailure(answer, code string) error {
	app, file := v.t.app, v.t.webApp.Pos
	switch {
	case !liveBool(v.app, "enabled") && !v.t.webApp.Enabled:
		return fail(answer, "%s is disabled: the manifest sets enabled: false (%s)", app, file)
	case !liveBool(v.app, "enabled"):
		return fail(answer, "%s is disabled in PingOne: run p1ctl apply to enable it as the manifest says", app)
	case code == "invalid_scope":
		if !slices.Contains(v.t.webApp.Scopes, "openid") {
			return fail(answer, "%s is not granted the openid scope: add openid to its scopes (%s) and run p1ctl apply", app, file)
		}
		return fail(answer, "PingOne did not grant %s the scopes %s: run p1ctl apply so that its grant matches the manifest",
			app, strings.Join(v.t.scopes, " "))
	case code == "unsupported_response_type":
		return fail(answer, "%s does not allow response type CODE: add CODE to its responseTypes (%s) and run p1ctl apply", app, file)
	case code == "unauthorized_client":
		return fail(answer, "%s does not allow the authorization code grant in PingOne: check its grantTypes (%s) and run p1ctl apply", app, file)
	case code == "NOT_FOUND" || code == "invalid_client":
		return fail(answer, "PingOne does not know client %s of %s: run p1ctl apply first", v.appID, app)
	case !slices.Contains(liveStrings(v.app, "redirectUris"), v.t.redirectURI):
		return fail(answer, "redirect URI %s is not registered for %s in PingOne: run p1ctl apply (the manifest lists it at %s)",
			v.t.redirectURI, app, file)
	}
	return fail(answer, "the authorization request for %s was refused; check its redirectUris, scopes and enabled (%s)", app, file)
}

// flow reads the flow and expects it to ask for a username and password.
func (v *verifier) flow(ctx context.Context, flowID string) (string, error) {
	resp, d, err := v.send(ctx, http.MethodGet, v.envURL("/flows/"+url.PathEscape(flowID)), "", nil)
	if err != nil {
		return "", fail(err.Error(), "the flow cannot be read: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fail(fmt.Sprintf("%d %s", resp.StatusCode, d.errorText()), "the flow the authorization request started cannot be read")
	}
	if d.Status != "USERNAME_PASSWORD_REQUIRED" {
		return "", fail(d.Status, "the flow asks for %s; verify completes only the username and password of the default sign-on policy", d.Status)
	}
	if _, ok := d.Links["usernamePassword.check"]; !ok {
		return "", fail(d.Status+" without a usernamePassword.check link", "the flow offers no way to submit a username and password")
	}
	v.checkURL = d.Links["usernamePassword.check"].Href
	return d.Status, nil
}

// credentials submits the user's username and the manifest's password.
func (v *verifier) credentials(ctx context.Context, flowID string) (resumeURL, note string, err error) {
	body, _ := json.Marshal(map[string]string{"username": v.t.u.Username, "password": v.t.password})
	resp, d, err := v.send(ctx, http.MethodPost, v.checkURL, "application/vnd.pingidentity.usernamePassword.check+json", strings.NewReader(string(body)))
	if err != nil {
		return "", "", fail(err.Error(), "the credentials cannot be submitted: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", v.credentialsFailure(d)
	}
	switch d.Status {
	case "COMPLETED":
	case "MUST_CHANGE_PASSWORD", "PASSWORD_EXPIRED":
		return "", "", v.credentialsFailure(&wireDoc{Code: d.Status})
	default:
		return "", "", fail(d.Status, "after the password, the flow asks for %s; verify completes only username and password sign-on", d.Status)
	}
	resumeURL = d.ResumeURL
	if resumeURL == "" {
		resumeURL = v.envURL("/as/resume?flowId=" + url.QueryEscape(flowID))
	}
	who := v.t.u.Username
	if d.Embedded.User.ID != "" && d.Embedded.User.ID != v.userID {
		return "", "", fail("signed on as user "+d.Embedded.User.ID,
			"PingOne signed %s on as user %s, not as %s (%s)", who, d.Embedded.User.ID, v.t.user, v.userID)
	}
	return resumeURL, "COMPLETED as " + who, nil
}

func (v *verifier) credentialsFailure(d *wireDoc) error {
	user, pos := v.t.user, v.t.u.Pos
	answer := d.errorText()
	switch d.errorCode() {
	case "INVALID_CREDENTIALS":
		if !liveBool(v.user, "enabled") {
			return v.disabled(answer)
		}
		return fail(answer, "%s cannot sign on with the password in %s: it does not match the password in PingOne. "+
			"Was it applied? p1ctl sets a password when it creates the user; to set it again, run p1ctl apply --reset-passwords",
			user, v.t.passwordFrom)
	case "ACCOUNT_NOT_USABLE", "USER_DISABLED", "ACCOUNT_DISABLED":
		return v.disabled(answer)
	case "PASSWORD_LOCKED_OUT":
		wait := ""
		if len(d.Details) > 0 {
			if s, ok := d.Details[0].InnerError["secondsUntilUnlock"].(float64); ok {
				wait = fmt.Sprintf("; it unlocks in %ds", int(s))
			}
		}
		return fail(answer, "%s is locked out after too many wrong passwords%s. Check the password in %s", user, wait, v.t.passwordFrom)
	case "NO_PASSWORD":
		return fail(answer, "%s has no password in PingOne: run p1ctl apply --reset-passwords to set the one in %s", user, v.t.passwordFrom)
	case "MUST_CHANGE_PASSWORD", "PASSWORD_EXPIRED":
		return fail(answer, "%s must change its password before it can sign on (password.forceChange at %s?); "+
			"verify does not change passwords: set forceChange: false and run p1ctl apply --reset-passwords", user, pos)
	case "NOT_FOUND":
		return fail(answer, "the sign-on flow expired or is unknown; run verify again")
	}
	if !liveBool(v.user, "enabled") {
		return v.disabled(answer)
	}
	return fail(answer, "%s could not sign on with the password in %s", user, v.t.passwordFrom)
}

func (v *verifier) disabled(answer string) error {
	if !v.t.u.Enabled {
		return fail(answer, "%s is disabled: the manifest sets enabled: false (%s); a disabled user cannot sign on", v.t.user, v.t.u.Pos)
	}
	return fail(answer, "%s is disabled in PingOne, though the manifest enables it: run p1ctl apply", v.t.user)
}

// resume follows the completed flow back to the app and takes the code
// from the redirect, checking state.
func (v *verifier) resume(ctx context.Context, flowID, resumeURL string) (code, note string, err error) {
	resp, d, err := v.send(ctx, http.MethodGet, resumeURL, "", nil)
	if err != nil {
		return "", "", fail(err.Error(), "the resume endpoint cannot be reached: %v", err)
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return "", "", fail(fmt.Sprintf("%d %s", resp.StatusCode, d.errorText()), "resuming the completed flow did not redirect to %s", v.t.redirectURI)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", "", fail("redirect without a Location", "resuming the flow redirected nowhere")
	}
	want, _ := url.Parse(v.t.redirectURI)
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path {
		return "", "", fail("redirected to "+loc.Scheme+"://"+loc.Host+loc.Path,
			"resuming the flow redirected to %s://%s%s, not to the redirect URI %s", loc.Scheme, loc.Host, loc.Path, v.t.redirectURI)
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fail(e+": "+q.Get("error_description"), "PingOne redirected to %s with error %s", v.t.redirectURI, e)
	}
	if q.Get("state") != v.state {
		return "", "", fail("state does not match", "the redirect to %s carries another state than the request sent", v.t.redirectURI)
	}
	if code = q.Get("code"); code == "" {
		return "", "", fail("no code", "the redirect to %s carries no authorization code", v.t.redirectURI)
	}
	return code, "code to " + v.t.redirectURI + ", state matches", nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// token exchanges the code, authenticating as the app's
// tokenEndpointAuthMethod says, with the PKCE verifier.
func (v *verifier) token(ctx context.Context, code string) (tokenResponse, string, error) {
	var tok tokenResponse
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {v.t.redirectURI},
		"code_verifier": {v.verifier}}
	method := v.authMethod()
	switch method {
	case "CLIENT_SECRET_POST":
		form.Set("client_id", v.appID)
		form.Set("client_secret", v.secret)
	case "NONE":
		form.Set("client_id", v.appID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.envURL("/as/token"), strings.NewReader(form.Encode()))
	if err != nil {
		return tok, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent())
	if method == "CLIENT_SECRET_BASIC" {
		req.SetBasicAuth(url.QueryEscape(v.appID), url.QueryEscape(v.secret))
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return tok, "", fail(err.Error(), "the token endpoint cannot be reached: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tok, "", fail(err.Error(), "read the token response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var d wireDoc
		_ = json.Unmarshal(data, &d)
		answer := fmt.Sprintf("%d %s", resp.StatusCode, d.errorText())
		switch d.errorCode() {
		case "invalid_client":
			return tok, "", fail(answer, "PingOne refused %s's client authentication (%s): the app's tokenEndpointAuthMethod or secret in PingOne "+
				"differs from the manifest (%s); run p1ctl apply", v.t.app, method, v.t.webApp.Pos)
		case "invalid_grant":
			return tok, "", fail(answer, "PingOne refused the authorization code: the PKCE code_verifier, the redirect URI or the code "+
				"itself did not match (pkceEnforcement %s)", v.t.webApp.PKCEEnforcement)
		case "unauthorized_client":
			return tok, "", fail(answer, "%s may not use the authorization code grant: check its grantTypes (%s) and run p1ctl apply", v.t.app, v.t.webApp.Pos)
		case "invalid_scope":
			return tok, "", fail(answer, "%s is not granted the scopes %s: check its scopes (%s) and run p1ctl apply",
				v.t.app, strings.Join(v.t.scopes, " "), v.t.webApp.Pos)
		}
		return tok, "", fail(answer, "the code exchange failed")
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		return tok, "", fail("no access_token", "the token response carries no access token")
	}
	if tok.IDToken == "" {
		return tok, "", fail("no id_token", "the token response carries no id_token: is openid among %s's scopes (%s)?", v.t.app, v.t.webApp.Pos)
	}
	kinds := "access and id token"
	if tok.RefreshToken != "" {
		kinds += ", refresh token"
	}
	return tok, fmt.Sprintf("%s, PKCE S256; %s, expires in %ds", strings.ToLower(method), kinds, tok.ExpiresIn), nil
}

// discovery reads the environment's OpenID Provider configuration and
// checks that its issuer is the environment's.
func (v *verifier) discovery(ctx context.Context) (*oidc.Provider, string, error) {
	issuer := v.envURL("/as")
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.http), issuer)
	if err != nil {
		return nil, "", fail(err.Error(), "the OpenID configuration at %s/.well-known/openid-configuration is not usable", issuer)
	}
	return p, "issuer " + issuer, nil
}

// idToken checks the id_token's signature against the JWKS and its iss,
// aud, exp and nonce claims.
func (v *verifier) idToken(ctx context.Context, p *oidc.Provider, tok tokenResponse) (*oidc.IDToken, string, error) {
	idt, err := p.Verifier(&oidc.Config{ClientID: v.appID}).Verify(oidc.ClientContext(ctx, v.http), tok.IDToken)
	if err != nil {
		return nil, "", fail(err.Error(), "the id_token is not valid for client %s", v.appID)
	}
	if idt.Nonce != v.nonce {
		return nil, "", fail("nonce does not match", "the id_token's nonce is not the one the authorization request sent")
	}
	if idt.Subject != v.userID {
		return nil, "", fail("sub "+idt.Subject, "the id_token is for subject %s, not %s (%s)", idt.Subject, v.t.user, v.userID)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, "", fail(err.Error(), "the id_token's at_hash does not match the access token")
		}
	}
	return idt, "RS256 signature, iss, aud, exp, nonce; sub " + v.short(idt.Subject), nil
}

// userinfo reads the user's claims with the access token.
func (v *verifier) userinfo(ctx context.Context, p *oidc.Provider, tok tokenResponse, idt *oidc.IDToken) (string, error) {
	ui, err := p.UserInfo(oidc.ClientContext(ctx, v.http), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer"}))
	if err != nil {
		return "", fail(err.Error(), "userinfo refused the access token")
	}
	if ui.Subject != idt.Subject {
		return "", fail("sub "+ui.Subject, "userinfo is about subject %s, the id_token about %s", ui.Subject, idt.Subject)
	}
	var c struct {
		PreferredUsername string `json:"preferred_username"`
	}
	_ = ui.Claims(&c)
	note := "sub " + v.short(ui.Subject)
	if c.PreferredUsername != "" {
		note += ", preferred_username " + c.PreferredUsername
	}
	if ui.Email != "" {
		note += ", email " + ui.Email
	}
	return note, nil
}

func (v *verifier) printTokens(tok tokenResponse, idt *oidc.IDToken) {
	out := v.opts.IO.Out
	fmt.Fprintf(out, "\naccess_token: %s\nid_token: %s\n", tok.AccessToken, tok.IDToken)
	if tok.RefreshToken != "" {
		fmt.Fprintf(out, "refresh_token: %s\n", tok.RefreshToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err == nil {
		b, _ := json.MarshalIndent(claims, "", "  ")
		fmt.Fprintf(out, "id_token claims: %s\n", b)
	}
}
