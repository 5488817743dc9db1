package emulator_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

// TestGettingStarted walks the management steps of PingOne's getting-started
// guide exactly as a curl user would, checking status codes, headers and
// body shapes against pingone-api.md.
func TestGettingStarted(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)

	// Step 1: a worker token by HTTP Basic (pingone-api.md §2).
	form := strings.NewReader("grant_type=client_credentials")
	req, _ := http.NewRequest("POST", env.URL+"/"+env.EnvironmentID+"/as/token", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(env.ClientID, env.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	c := &client{t: t, env: env, token: tok["access_token"].(string)}

	// Step 2: the organization's licenses; pick the ACTIVE one.
	lics := c.must(http.StatusOK, "GET", "/organizations/"+env.OrganizationID+"/licenses", nil)
	licID := activeLicense(t, c)
	if lics["count"] == nil || lics["size"] == nil {
		t.Errorf("collection without count/size: %v", lics)
	}

	// Step 3: create a SANDBOX environment with a bill of materials.
	r := c.do("POST", "/environments", map[string]any{
		"name": "getting-started", "description": "Dev env", "region": "NA", "type": "SANDBOX",
		"license":         map[string]any{"id": licID},
		"billOfMaterials": map[string]any{"products": []any{map[string]any{"type": "PING_ONE_BASE"}}},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create environment: %d %s", r.Status, r.Body)
	}
	checkJSONContentType(t, r)
	envDoc := r.JSON(t)
	envID := envDoc["id"].(string)
	if got := r.Header.Get("Location"); got != env.APIURL+"/environments/"+envID {
		t.Errorf("Location = %q", got)
	}
	checkSelf(t, env, envDoc, "/environments/"+envID)
	checkTimestamps(t, envDoc)
	wantEnv := map[string]any{"name": "getting-started", "description": "Dev env", "type": "SANDBOX", "region": "NA",
		"status": "ACTIVE", "organization": map[string]any{"id": env.OrganizationID}, "license": map[string]any{"id": licID}}
	for k, v := range wantEnv {
		if diff := cmp.Diff(v, envDoc[k]); diff != "" {
			t.Errorf("environment %s: -want +got:\n%s", k, diff)
		}
	}
	if str(envDoc, "billOfMaterials.products.0.type") != "PING_ONE_BASE" || !uuidPattern.MatchString(str(envDoc, "billOfMaterials.products.0.id")) {
		t.Errorf("create response lacks the bill of materials: %v", envDoc["billOfMaterials"])
	}
	got := c.must(http.StatusOK, "GET", "/environments/"+envID, nil)
	if _, ok := got["billOfMaterials"]; ok {
		t.Error("GET environment without expand shows billOfMaterials")
	}
	bom := c.must(http.StatusOK, "GET", "/environments/"+envID+"/billOfMaterials", nil)
	checkSelf(t, env, bom, "/environments/"+envID+"/billOfMaterials")

	// Step 4: the default population, then a new one.
	pops := c.must(http.StatusOK, "GET", "/environments/"+envID+"/populations", nil)
	def := find(t, pops, "populations", "name", "Default")
	if def["default"] != true || def["description"] != "Automatically created population." || str(def, "theme.id") == "" {
		t.Errorf("default population = %v", def)
	}
	r = c.do("POST", "/environments/"+envID+"/populations", map[string]any{"name": "Customers", "description": "Customer identities"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create population: %d %s", r.Status, r.Body)
	}
	pop := r.JSON(t)
	popID := pop["id"].(string)
	checkSelf(t, env, pop, "/environments/"+envID+"/populations/"+popID)
	checkTimestamps(t, pop)
	if pop["default"] != false || pop["userCount"] != float64(0) || str(pop, "theme.id") == "" || str(pop, "environment.id") != envID {
		t.Errorf("population = %s", r.Body)
	}
	if r.Header.Get("Location") != str(pop, "_links.self.href") {
		t.Errorf("Location %q differs from self", r.Header.Get("Location"))
	}

	// Step 5: a user in it, then its password.
	r = c.do("POST", "/environments/"+envID+"/users", map[string]any{
		"username": "alice", "email": "alice@example.com", "name": map[string]any{"given": "Alice", "family": "Doe"},
		"population": map[string]any{"id": popID},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	u := r.JSON(t)
	userID := u["id"].(string)
	checkSelf(t, env, u, "/environments/"+envID+"/users/"+userID)
	checkTimestamps(t, u)
	wantUser := map[string]any{"username": "alice", "email": "alice@example.com", "enabled": true, "mfaEnabled": false,
		"population": map[string]any{"id": popID}, "environment": map[string]any{"id": envID},
		"account": map[string]any{"canAuthenticate": true, "status": "OK"}, "lifecycle": map[string]any{"status": "ACCOUNT_OK"},
		"identityProvider": map[string]any{"type": "PING_ONE"}, "verifyStatus": "NOT_INITIATED",
		"name": map[string]any{"given": "Alice", "family": "Doe"}}
	for k, v := range wantUser {
		if diff := cmp.Diff(v, u[k]); diff != "" {
			t.Errorf("user %s: -want +got:\n%s", k, diff)
		}
	}
	st := c.must(http.StatusOK, "PUT", "/environments/"+envID+"/users/"+userID+"/password",
		`{"value":"Sup3r-Secret!pass","forceChange":false}`, contentType("application/vnd.pingidentity.password.set+json"))
	if st["status"] != "OK" || str(st, "user.id") != userID || str(st, "passwordPolicy.id") == "" {
		t.Errorf("password state = %v", st)
	}
	if strings.Contains(string(c.do("GET", "/environments/"+envID+"/users/"+userID, nil).Body), "Sup3r") {
		t.Error("the password shows in the user")
	}
	if got := c.must(http.StatusOK, "GET", "/environments/"+envID+"/users/"+userID+"/enabled", nil); got["enabled"] != true {
		t.Errorf("GET enabled = %v", got)
	}

	// Step 6: an OIDC web app, its defaults and its secret.
	r = c.do("POST", "/environments/"+envID+"/applications", map[string]any{
		"name": "demo-web", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
		"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{"http://localhost:3000/callback"},
		"pkceEnforcement": "OPTIONAL",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	app := r.JSON(t)
	appID := app["id"].(string)
	checkTimestamps(t, app)
	checkSelf(t, env, app, "/environments/"+envID+"/applications/"+appID)
	defaults := map[string]any{"protocol": "OPENID_CONNECT", "pkceEnforcement": "OPTIONAL", "parRequirement": "OPTIONAL",
		"parTimeout": float64(60), "refreshTokenDuration": float64(2592000), "refreshTokenRollingDuration": float64(15552000),
		"additionalRefreshTokenReplayProtectionEnabled": true, "allowWildcardInRedirectUris": false,
		"requestScopesForMultipleResourcesEnabled": false, "opSessionCheckEnabled": false,
		"devicePollingInterval": float64(5), "deviceTimeout": float64(600), "enabled": true}
	read := c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications/"+appID, nil)
	for k, v := range defaults {
		if diff := cmp.Diff(v, app[k]); diff != "" {
			t.Errorf("created app %s: -want +got:\n%s", k, diff)
		}
		if diff := cmp.Diff(v, read[k]); diff != "" {
			t.Errorf("read app %s: -want +got:\n%s", k, diff)
		}
	}
	if _, ok := app["clientSecret"]; ok {
		t.Error("the create response carries the secret")
	}
	list := c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications", nil)
	for _, a := range items(t, list, "applications") {
		if a["protocol"] != "OPENID_CONNECT" {
			t.Errorf("listed application %v has protocol %v", a["name"], a["protocol"])
		}
	}
	find(t, list, "applications", "type", "PING_ONE_PORTAL")
	find(t, list, "applications", "type", "PING_ONE_SELF_SERVICE")
	sec := c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications/"+appID+"/secret", nil)
	if s, _ := sec["secret"].(string); len(s) < 32 || str(sec, "environment.id") != envID {
		t.Errorf("secret = %v", sec)
	}

	// Step 7: the openid resource and its scopes, then a grant.
	res := find(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources", nil), "resources", "name", "openid")
	if res["type"] != "OPENID_CONNECT" || res["audience"] != nil {
		t.Errorf("openid resource = %v", res)
	}
	resID := res["id"].(string)
	scopes := c.must(http.StatusOK, "GET", "/environments/"+envID+"/resources/"+resID+"/scopes", nil)
	var grantScopes []any
	for _, name := range []string{"openid", "profile", "email"} {
		sc := find(t, scopes, "scopes", "name", name)
		grantScopes = append(grantScopes, map[string]any{"id": sc["id"]})
	}
	find(t, scopes, "scopes", "name", "address")
	find(t, scopes, "scopes", "name", "phone")
	gr := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications/"+appID+"/grants",
		map[string]any{"resource": map[string]any{"id": resID}, "scopes": grantScopes})
	if str(gr, "application.id") != appID || str(gr, "resource.id") != resID || len(get(gr, "scopes").([]any)) != 3 {
		t.Errorf("grant = %v", gr)
	}
	checkTimestamps(t, gr)

	// Step 8: the default sign-on policy, assigned to the app.
	sops := c.must(http.StatusOK, "GET", "/environments/"+envID+"/signOnPolicies", nil)
	sop := find(t, sops, "signOnPolicies", "name", "Single_Factor")
	if sop["default"] != true {
		t.Errorf("Single_Factor = %v", sop)
	}
	acts := c.must(http.StatusOK, "GET", "/environments/"+envID+"/signOnPolicies/"+sop["id"].(string)+"/actions", nil)
	if a := items(t, acts, "actions"); len(a) != 1 || a[0]["type"] != "LOGIN" || a[0]["priority"] != float64(1) {
		t.Errorf("Single_Factor actions = %v", a)
	}
	c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications/"+appID+"/signOnPolicyAssignments",
		map[string]any{"signOnPolicy": map[string]any{"id": sop["id"]}, "priority": 1})

	// Step 9: a worker app for the environment, with roles.
	r = c.do("POST", "/environments/"+envID+"/applications", map[string]any{
		"name": "engine-worker", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "assignActorRoles": false,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create worker: %d %s", r.Status, r.Body)
	}
	wID := r.JSON(t)["id"].(string)
	ra := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications/"+wID+"/roleAssignments", map[string]any{
		"role": map[string]any{"id": roleID(t, c, "Identity Data Admin")}, "scope": map[string]any{"id": envID, "type": "ENVIRONMENT"}})
	if ra["readOnly"] != false || str(ra, "scope.type") != "ENVIRONMENT" || str(ra, "environment.id") != envID {
		t.Errorf("role assignment = %v", ra)
	}
	ras := c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications/"+wID+"/roleAssignments", nil)
	if n := len(items(t, ras, "roleAssignments")); n != 1 {
		t.Errorf("worker has %d role assignments, want 1", n)
	}
	wSecret := c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications/"+wID+"/secret", nil)["secret"].(string)
	wc := c.as(env.TokenFor(t, envID, wID, wSecret))
	wc.must(http.StatusOK, "GET", "/environments/"+envID+"/users?filter="+url.QueryEscape(`username eq "ALICE"`), nil)

	// Cleanup: delete the environment, then it is gone.
	c.must(http.StatusNoContent, "DELETE", "/environments/"+envID, nil)
	wantError(t, c.do("GET", "/environments/"+envID, nil), http.StatusNotFound, "NOT_FOUND")
}

// TestAuthentication checks that management calls without a valid token
// answer 401 ACCESS_FAILED with an INVALID_TOKEN detail (pingone-api.md
// §3.1), and that the token endpoint rejects bad client authentication
// with OAuth errors.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	clock := emulatortest.NewClock(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	env := emulatortest.Start(t, emulatortest.WithClock(clock))
	good := env.Token(t)
	expired := env.Token(t)
	// A token signed by another key, under the real key's kid.
	kid := func() string {
		parts := strings.Split(good, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h map[string]any
		json.Unmarshal(raw, &h)
		return h["kid"].(string)
	}()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": env.URL + "/" + env.EnvironmentID + "/as", "client_id": env.ClientID, "aud": []string{"https://api.pingone.com"},
		"env": env.EnvironmentID, "org": env.OrganizationID, "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Hour).Unix()})
	forged.Header["kid"] = kid
	forgedToken, err := forged.SignedString(other)
	if err != nil {
		t.Fatal(err)
	}
	forged.Header["kid"] = "00000000-0000-4000-8000-000000000000"
	unknownKid, _ := forged.SignedString(other)

	// The clock moves past the first tokens' lifetime only after the
	// table has been built; "good" is fetched again afterwards.
	clock.Advance(2 * time.Hour)
	good = env.Token(t)

	cases := map[string]struct {
		reason string
		token  string
		want   int
	}{
		"Valid":          {"a fresh token works", good, http.StatusOK},
		"NoToken":        {"no Authorization header", "", http.StatusUnauthorized},
		"Garbage":        {"not a JWT", "not-a-jwt", http.StatusUnauthorized},
		"Expired":        {"the clock moved past exp", expired, http.StatusUnauthorized},
		"OtherKey":       {"signed by a key the server does not hold, under its kid", forgedToken, http.StatusUnauthorized},
		"UnknownKid":     {"signed under an unknown kid", unknownKid, http.StatusUnauthorized},
		"TamperedClaims": {"payload changed after signing", tamper(good), http.StatusUnauthorized},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &client{t: t, env: env, token: tc.token}
			r := c.do("GET", "/environments", nil)
			if tc.want == http.StatusOK {
				if r.Status != http.StatusOK {
					t.Fatalf("%s: status %d\n%s", tc.reason, r.Status, r.Body)
				}
				return
			}
			m := wantError(t, r, tc.want, "ACCESS_FAILED")
			if d := detail(m, ""); d == nil || d["code"] != "INVALID_TOKEN" {
				t.Errorf("%s: details = %v, want INVALID_TOKEN", tc.reason, m["details"])
			}
		})
	}
}

// tamper flips the payload of a JWT to claim another client.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	json.Unmarshal(raw, &claims)
	claims["exp"] = claims["exp"].(float64) + 86400
	b, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// TestTokenEndpoint checks client authentication at /as/token: the method
// must match the app's tokenEndpointAuthMethod exactly (x/oauth2's
// auto-detection depends on it), and failures are OAuth error bodies.
func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	post := c.must(http.StatusCreated, "POST", "/environments/"+env.EnvironmentID+"/applications", map[string]any{
		"name": "post-worker", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
		"tokenEndpointAuthMethod": "CLIENT_SECRET_POST", "assignActorRoles": false})
	postID := post["id"].(string)
	postSecret := c.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+postID+"/secret", nil)["secret"].(string)

	type creds struct{ id, secret string }
	cases := map[string]struct {
		reason      string
		basic       *creds
		form        url.Values
		contentType string
		want        int
		wantError   string
		wantDesc    string
	}{
		"Basic":       {reason: "the bootstrap worker uses Basic", basic: &creds{env.ClientID, env.ClientSecret}, want: 200},
		"Post":        {reason: "a CLIENT_SECRET_POST app uses the form", form: url.Values{"client_id": {postID}, "client_secret": {postSecret}}, want: 200},
		"WrongSecret": {reason: "wrong secret", basic: &creds{env.ClientID, "wrong"}, want: 401, wantError: "invalid_client"},
		"UnknownClient": {reason: "no such client", basic: &creds{"00000000-0000-4000-8000-000000000000", "x"}, want: 401,
			wantError: "invalid_client"},
		"PostForBasicApp": {reason: "form credentials for a Basic app", form: url.Values{"client_id": {env.ClientID}, "client_secret": {env.ClientSecret}},
			want: 401, wantError: "invalid_client", wantDesc: "Unsupported authentication method"},
		"BasicForPostApp": {reason: "Basic for a form-post app", basic: &creds{postID, postSecret}, want: 401,
			wantError: "invalid_client", wantDesc: "Unsupported authentication method"},
		"NotAForm": {reason: "JSON body", basic: &creds{env.ClientID, env.ClientSecret}, contentType: "application/json", want: 400,
			wantError: "invalid_request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tc.form {
				form[k] = v
			}
			req, _ := http.NewRequest("POST", env.TokenURL(env.EnvironmentID), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.basic != nil {
				req.SetBasicAuth(tc.basic.id, tc.basic.secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s: status %d, want %d: %v", tc.reason, resp.StatusCode, tc.want, body)
			}
			if tc.want == 200 {
				if body["access_token"] == "" || body["token_type"] != "Bearer" {
					t.Errorf("%s: body %v", tc.reason, body)
				}
				return
			}
			if body["error"] != tc.wantError || !strings.Contains(fmt.Sprint(body["error_description"]), tc.wantDesc) {
				t.Errorf("%s: body %v, want error %s (%s)", tc.reason, body, tc.wantError, tc.wantDesc)
			}
		})
	}
}

// TestRoleChecks checks PingOne's role rules: the role a call needs, and
// what an actor may grant.
func TestRoleChecks(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	admin := newClient(t, env)
	envID := sandbox(t, admin, "roles")
	idaID, idaSecret := worker(t, admin, envID, "ida-only", roleGrant{"Identity Data Admin", "ENVIRONMENT", envID})
	ida := admin.as(env.TokenFor(t, envID, idaID, idaSecret))
	envAdminID, envAdminSecret := worker(t, admin, envID, "env-admin", roleGrant{"Environment Admin", "ENVIRONMENT", envID})
	envAdmin := admin.as(env.TokenFor(t, envID, envAdminID, envAdminSecret))
	lic := activeLicense(t, admin)

	t.Run("MissingRoleCannotCreateEnvironment", func(t *testing.T) {
		r := ida.do("POST", "/environments", map[string]any{"name": "nope", "region": "NA", "type": "SANDBOX", "license": map[string]any{"id": lic}})
		m := wantError(t, r, http.StatusForbidden, "ACCESS_FAILED")
		if d := detail(m, ""); d == nil || d["code"] != "INSUFFICIENT_PERMISSIONS" {
			t.Errorf("details = %v", m["details"])
		}
	})
	t.Run("IdentityDataAdminManagesUsers", func(t *testing.T) {
		ida.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "by-ida", "email": "ida@example.com"})
		wantError(t, ida.do("GET", "/environments/"+envID+"/applications", nil), http.StatusForbidden, "ACCESS_FAILED")
	})
	t.Run("AssignmentBeyondGranterRoles", func(t *testing.T) {
		// Identity Data Admin may grant only Identity Data Admin, Identity
		// Data Read Only and Help Desk Admin.
		r := ida.do("POST", "/environments/"+envID+"/applications/"+envAdminID+"/roleAssignments", map[string]any{
			"role": map[string]any{"id": roleID(t, admin, "Environment Admin")}, "scope": map[string]any{"id": envID, "type": "ENVIRONMENT"}})
		wantError(t, r, http.StatusForbidden, "ACCESS_FAILED")
		// Environment Admin never grants Organization Admin.
		r = envAdmin.do("POST", "/environments/"+envID+"/applications/"+idaID+"/roleAssignments", map[string]any{
			"role": map[string]any{"id": roleID(t, admin, "Organization Admin")}, "scope": map[string]any{"id": env.OrganizationID, "type": "ORGANIZATION"}})
		m := wantError(t, r, http.StatusForbidden, "ACCESS_FAILED")
		if d := detail(m, "role"); d == nil || !strings.Contains(d["message"].(string), "Must have role at the same or broader scope") {
			t.Errorf("details = %v", m["details"])
		}
		// Nor at a broader scope than it holds.
		r = envAdmin.do("POST", "/environments/"+envID+"/applications/"+idaID+"/roleAssignments", map[string]any{
			"role": map[string]any{"id": roleID(t, admin, "Environment Admin")}, "scope": map[string]any{"id": env.OrganizationID, "type": "ORGANIZATION"}})
		wantError(t, r, http.StatusForbidden, "ACCESS_FAILED")
	})
	t.Run("ScopeNotApplicable", func(t *testing.T) {
		r := admin.do("POST", "/environments/"+envID+"/applications/"+idaID+"/roleAssignments", map[string]any{
			"role": map[string]any{"id": roleID(t, admin, "Organization Admin")}, "scope": map[string]any{"id": envID, "type": "ENVIRONMENT"}})
		m := wantError(t, r, http.StatusBadRequest, "INVALID_DATA")
		if detail(m, "scope") == nil {
			t.Errorf("no detail on scope: %v", m)
		}
	})
	t.Run("DuplicateAssignment", func(t *testing.T) {
		r := admin.do("POST", "/environments/"+envID+"/applications/"+idaID+"/roleAssignments", map[string]any{
			"role": map[string]any{"id": roleID(t, admin, "Identity Data Admin")}, "scope": map[string]any{"id": envID, "type": "ENVIRONMENT"}})
		m := wantError(t, r, http.StatusBadRequest, "INVALID_DATA")
		if d := detail(m, ""); d == nil || d["code"] != "UNIQUENESS_VIOLATION" {
			t.Errorf("details = %v", m["details"])
		}
	})
	t.Run("SecretNeedsSupersetOfRoles", func(t *testing.T) {
		// The Identity Data Admin worker cannot read the Environment Admin
		// worker's secret (it would gain its roles), but may read its own.
		wantError(t, ida.do("GET", "/environments/"+envID+"/applications/"+envAdminID+"/secret", nil), http.StatusForbidden, "ACCESS_FAILED")
	})
	t.Run("ReadOnlyAssignment", func(t *testing.T) {
		// Creating the environment gave the bootstrap worker read-only
		// assignments for it.
		ras := admin.must(http.StatusOK, "GET", "/environments/"+env.EnvironmentID+"/applications/"+env.ClientID+"/roleAssignments", nil)
		var ro map[string]any
		for _, ra := range items(t, ras, "roleAssignments") {
			if str(ra, "scope.id") == envID && ra["readOnly"] == true {
				ro = ra
			}
		}
		if ro == nil {
			t.Fatalf("no read-only assignment for the new environment: %v", ras)
		}
		r := admin.do("DELETE", "/environments/"+env.EnvironmentID+"/applications/"+env.ClientID+"/roleAssignments/"+ro["id"].(string), nil)
		m := wantError(t, r, http.StatusBadRequest, "REQUEST_FAILED")
		if want := "Role assignment " + ro["id"].(string) + " cannot be deleted as it is read only"; m["message"] != want {
			t.Errorf("message = %v, want %q", m["message"], want)
		}
	})
}

// TestErrors checks the error answers of common mistakes.
func TestErrors(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "errors")
	unknown := "00000000-0000-4000-8000-000000000000"
	c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "Alice", "email": "alice@example.com"})

	cases := map[string]struct {
		reason      string
		method      string
		path        string
		body        any
		contentType string
		status      int
		code        string
		target      string // a detail must name this target
		detailCode  string
	}{
		"UnknownUser":        {reason: "unknown id", method: "GET", path: "/environments/" + envID + "/users/" + unknown, status: 404, code: "NOT_FOUND"},
		"UnknownApplication": {reason: "unknown id", method: "GET", path: "/environments/" + envID + "/applications/" + unknown, status: 404, code: "NOT_FOUND"},
		"UnknownEnvironment": {reason: "GET of the environment itself", method: "GET", path: "/environments/" + unknown, status: 404, code: "NOT_FOUND"},
		"UnknownEnvironmentInSubPath": {reason: "PingOne answers 403 for a missing environment in a sub-resource URL",
			method: "GET", path: "/environments/" + unknown + "/users", status: 403, code: "ACCESS_FAILED"},
		"DuplicateUsername": {reason: "usernames are unique case-insensitively", method: "POST", path: "/environments/" + envID + "/users",
			body: map[string]any{"username": "ALICE", "email": "a2@example.com"}, status: 400, code: "INVALID_DATA", target: "username", detailCode: "UNIQUENESS_VIOLATION"},
		"MissingUsername": {reason: "username is required", method: "POST", path: "/environments/" + envID + "/users",
			body: map[string]any{"email": "x@example.com"}, status: 400, code: "INVALID_DATA", target: "username", detailCode: "REQUIRED_VALUE"},
		"MissingEmail": {reason: "email is required by the OpenAPI", method: "POST", path: "/environments/" + envID + "/users",
			body: map[string]any{"username": "x"}, status: 400, code: "INVALID_DATA", target: "email", detailCode: "REQUIRED_VALUE"},
		"UsernameTooLong": {reason: "1-128 characters", method: "POST", path: "/environments/" + envID + "/users",
			body: map[string]any{"username": strings.Repeat("x", 129), "email": "x@example.com"}, status: 400, code: "INVALID_DATA", target: "username"},
		"UnknownPopulation": {reason: "the population must exist", method: "POST", path: "/environments/" + envID + "/users",
			body: map[string]any{"username": "y", "email": "y@example.com", "population": map[string]any{"id": unknown}}, status: 400, code: "INVALID_DATA", target: "population.id"},
		"WrongJSONType": {reason: "a number for a string", method: "POST", path: "/environments/" + envID + "/users",
			body: `{"username": 5, "email": "z@example.com"}`, status: 400, code: "INVALID_DATA", target: "username"},
		"MalformedJSON": {reason: "not JSON", method: "POST", path: "/environments/" + envID + "/users", body: `{"username":`, status: 400, code: "INVALID_REQUEST"},
		"PasswordOnPlainCreate": {reason: "application/json create cannot set a password", method: "POST", path: "/environments/" + envID + "/users",
			body: map[string]any{"username": "p", "email": "p@example.com", "password": map[string]any{"value": "Secret123!x"}}, status: 400, code: "INVALID_DATA", target: "password"},
		"WrongContentType": {reason: "text/plain", method: "POST", path: "/environments/" + envID + "/users", body: `{"username":"q","email":"q@example.com"}`,
			contentType: "text/plain", status: 415, code: "INVALID_REQUEST"},
		"PasswordAsJSON": {reason: "password actions need their vendor media type", method: "PUT", path: "/environments/" + envID + "/users/" + unknown + "/password",
			body: `{"value":"x"}`, status: 415, code: "INVALID_REQUEST"},
		"BadFilter": {reason: "unsupported operator", method: "GET", path: "/environments/" + envID + "/users?filter=" + url.QueryEscape(`username co "a"`),
			status: 400, code: "INVALID_DATA", target: "filter", detailCode: "INVALID_FILTER"},
		"BadFilterAttribute": {reason: "unsupported attribute", method: "GET", path: "/environments/" + envID + "/users?filter=" + url.QueryEscape(`password eq "a"`),
			status: 400, code: "INVALID_DATA", target: "filter", detailCode: "INVALID_FILTER"},
		"BadFilterSyntax": {reason: "unbalanced parentheses", method: "GET", path: "/environments/" + envID + "/users?filter=" + url.QueryEscape(`(username eq "a"`),
			status: 400, code: "INVALID_DATA", target: "filter", detailCode: "INVALID_FILTER"},
		"InvalidRegion": {reason: "region enum", method: "POST", path: "/environments",
			body: map[string]any{"name": "r", "region": "MARS", "type": "SANDBOX"}, status: 400, code: "INVALID_DATA", target: "region", detailCode: "INVALID_VALUE"},
		"DuplicateEnvironment": {reason: "names are unique in the organization", method: "POST", path: "/environments",
			body: map[string]any{"name": "errors", "region": "NA", "type": "SANDBOX"}, status: 400, code: "INVALID_DATA", target: "name", detailCode: "UNIQUENESS_VIOLATION"},
		"DeleteProduction": {reason: "only SANDBOX environments can be deleted", method: "DELETE", path: "/environments/" + env.EnvironmentID,
			status: 400, code: "REQUEST_FAILED"},
		"WildcardRedirect": {reason: "wildcards need allowWildcardInRedirectUris", method: "POST", path: "/environments/" + envID + "/applications",
			body: map[string]any{"name": "w", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
				"responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{"https://*.example.com/cb"}},
			status: 400, code: "INVALID_DATA", target: "redirectUris"},
		"AuthCodeWithoutRedirect": {reason: "AUTHORIZATION_CODE needs a redirect URI", method: "POST", path: "/environments/" + envID + "/applications",
			body: map[string]any{"name": "w2", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
				"responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, status: 400, code: "INVALID_DATA", target: "redirectUris"},
		"WorkerRedirect": {reason: "a WORKER has no redirect URIs", method: "POST", path: "/environments/" + envID + "/applications",
			body: map[string]any{"name": "w3", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT", "grantTypes": []string{"CLIENT_CREDENTIALS"},
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{"https://example.com/cb"}}, status: 400, code: "INVALID_DATA", target: "redirectUris"},
		"BadGrantType": {reason: "enum", method: "POST", path: "/environments/" + envID + "/applications",
			body: map[string]any{"name": "w4", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT", "grantTypes": []string{"PASSWORD"},
				"tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}, status: 400, code: "INVALID_DATA", target: "grantTypes"},
		"MissingProtocol": {reason: "protocol is required", method: "POST", path: "/environments/" + envID + "/applications",
			body:   map[string]any{"name": "w5", "enabled": true, "type": "WORKER", "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"},
			status: 400, code: "INVALID_DATA", target: "protocol", detailCode: "REQUIRED_VALUE"},
		"LimitOutOfRange": {reason: "limit must be positive", method: "GET", path: "/environments/" + envID + "/users?limit=0",
			status: 400, code: "INVALID_DATA", target: "limit"},
		"UnknownPath": {reason: "a path no route serves answers the JSON envelope, not text/plain", method: "GET",
			path: "/environments/" + envID + "/groups", status: 404, code: "NOT_FOUND"},
		"MethodNotAllowed": {reason: "a known path with another method is 405 with the JSON envelope", method: "PATCH",
			path: "/environments/" + envID, status: 405, code: "INVALID_REQUEST"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var opts []reqOpt
			if tc.contentType != "" {
				opts = append(opts, contentType(tc.contentType))
			}
			r := c.do(tc.method, tc.path, tc.body, opts...)
			m := wantError(t, r, tc.status, tc.code)
			if tc.target == "" {
				return
			}
			d := detail(m, tc.target)
			if d == nil {
				t.Fatalf("%s: no detail names %q: %s", tc.reason, tc.target, r.Body)
			}
			if tc.detailCode != "" && d["code"] != tc.detailCode {
				t.Errorf("%s: detail code %v, want %s", tc.reason, d["code"], tc.detailCode)
			}
		})
	}
	t.Run("InvalidRegionAllowedValues", func(t *testing.T) {
		m := wantError(t, c.do("POST", "/environments", map[string]any{"name": "r", "region": "MARS", "type": "SANDBOX"}), 400, "INVALID_DATA")
		if diff := cmp.Diff([]any{"AP", "AU", "CA", "EU", "NA", "SG"}, get(detail(m, "region"), "innerError.allowedValues")); diff != "" {
			t.Errorf("allowedValues: -want +got:\n%s", diff)
		}
	})
}

// TestPaging walks 250 users with limit=100 through _links.next, as the
// SDK does.
func TestPaging(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "paging")
	const n = 250
	var g errgroup.Group
	for w := range 5 {
		g.Go(func() error {
			for i := w; i < n; i += 5 {
				if err := c.try(http.StatusCreated, "POST", "/environments/"+envID+"/users",
					map[string]any{"username": fmt.Sprintf("user%03d", i), "email": fmt.Sprintf("user%03d@example.com", i)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	next := env.APIURL + "/environments/" + envID + "/users?limit=100"
	pages := 0
	for next != "" {
		m := c.must(http.StatusOK, "GET", next, nil)
		pages++
		us := items(t, m, "users")
		if m["size"] != float64(len(us)) || m["count"] != float64(n) {
			t.Errorf("page %d: size %v count %v with %d items", pages, m["size"], m["count"], len(us))
		}
		for _, u := range us {
			if seen[u["username"].(string)] {
				t.Errorf("user %v listed twice", u["username"])
			}
			seen[u["username"].(string)] = true
		}
		next = str(m, "_links.next.href")
		if next != "" && !strings.HasPrefix(next, env.APIURL) {
			t.Fatalf("next %q is not absolute on the emulator", next)
		}
	}
	if len(seen) != n || pages != 3 {
		t.Errorf("walked %d users in %d pages, want %d in 3", len(seen), pages, n)
	}
	// A natural-key look-up.
	m := c.must(http.StatusOK, "GET", "/environments/"+envID+"/users?filter="+url.QueryEscape(`username eq "USER042"`), nil)
	if us := items(t, m, "users"); len(us) != 1 || us[0]["username"] != "user042" {
		t.Errorf("look-up found %v", us)
	}
}

// TestLag checks the eventual-consistency mode: inside the lag window,
// objects in a new environment answer 404 and a fresh role grants nothing.
func TestLag(t *testing.T) {
	t.Parallel()
	clock := emulatortest.NewClock(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	env := emulatortest.Start(t, emulatortest.WithClock(clock), emulatortest.WithLag(2*time.Second))
	c := newClient(t, env)
	envID := sandbox(t, c, "lagging")

	wantError(t, c.do("GET", "/environments/"+envID+"/populations", nil), http.StatusNotFound, "NOT_FOUND")
	c.must(http.StatusOK, "GET", "/environments/"+envID, nil)
	clock.Advance(3 * time.Second)
	c.must(http.StatusOK, "GET", "/environments/"+envID+"/populations", nil)

	wID, wSecret := worker(t, c, env.EnvironmentID, "lag-worker", roleGrant{"Identity Data Admin", "ENVIRONMENT", envID})
	w := c.as(env.TokenFor(t, env.EnvironmentID, wID, wSecret))
	m := wantError(t, w.do("GET", "/environments/"+envID+"/users", nil), http.StatusForbidden, "ACCESS_FAILED")
	if d := detail(m, ""); d == nil || d["message"] != "The actor attempting to perform the request is not authorized." {
		t.Errorf("details = %v", m["details"])
	}
	clock.Advance(3 * time.Second)
	w.must(http.StatusOK, "GET", "/environments/"+envID+"/users", nil)
}

// TestSecretsNeverShown creates users with passwords every supported way
// and checks that no response shows a password or a hash.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "secrets")
	const clear = "Canary-Pa55word!"
	hashed := "{SSHA512}UkGWfORubNKFpFBWh+Lgy4FrciclzUXneuryV+B+zBDR4Gqd5wvMqAvKRixgQWoZlZUgq8Wh40uMK3s6bWpzWt1/TqQH02hX"
	var bodies [][]byte
	record := func(r response) response { bodies = append(bodies, r.Body); return r }
	imp := contentType("application/vnd.pingidentity.user.import+json")
	r := record(c.do("POST", "/environments/"+envID+"/users", map[string]any{"username": "imp1", "email": "i1@example.com",
		"password": map[string]any{"value": clear, "forceChange": true}}, imp))
	if r.Status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	u1 := r.JSON(t)["id"].(string)
	r = record(c.do("POST", "/environments/"+envID+"/users", map[string]any{"username": "imp2", "email": "i2@example.com",
		"password": map[string]any{"value": hashed}}, imp))
	if r.Status != http.StatusCreated {
		t.Fatalf("import hashed: %d %s", r.Status, r.Body)
	}
	u2 := r.JSON(t)["id"].(string)
	record(c.do("PUT", "/environments/"+envID+"/users/"+u2+"/password", map[string]any{"value": clear},
		contentType("application/vnd.pingidentity.password.set+json")))
	for _, p := range []string{"/users", "/users/" + u1, "/users/" + u2, "/users/" + u1 + "/password", "/users/" + u2 + "/password"} {
		record(c.must200(envID, p))
	}
	st := c.must(http.StatusOK, "GET", "/environments/"+envID+"/users/"+u1+"/password", nil)
	if st["status"] != "MUST_CHANGE_PASSWORD" {
		t.Errorf("forceChange: status %v", st["status"])
	}
	for _, b := range bodies {
		for _, secret := range []string{clear, "SSHA", "hash", `"value"`, "UkGWfORub"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("response shows %q: %s", secret, b)
			}
		}
	}
}

func (c *client) must200(envID, p string) response {
	c.t.Helper()
	r := c.do("GET", "/environments/"+envID+p, nil)
	if r.Status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
	}
	return r
}

// TestConcurrentClients runs 64 clients at once against one environment:
// creates, reads, updates, look-ups and deletes, under -race.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t, emulatortest.WithFile())
	c := newClient(t, env)
	envID := sandbox(t, c, "concurrent")
	users := "/environments/" + envID + "/users"
	var g errgroup.Group
	for i := range 64 {
		g.Go(func() error {
			name := fmt.Sprintf("client%02d", i)
			if err := c.try(http.StatusCreated, "POST", users, map[string]any{"username": name, "email": name + "@example.com"}); err != nil {
				return err
			}
			// Everyone races for one username: exactly one wins.
			if err := c.try(http.StatusCreated, "POST", users, map[string]any{"username": "contested", "email": "c@example.com"}); err != nil &&
				!strings.Contains(err.Error(), "UNIQUENESS_VIOLATION") {
				return err
			}
			if err := c.try(http.StatusOK, "GET", users+"?filter="+url.QueryEscape(`username eq "`+name+`"`), nil); err != nil {
				return err
			}
			return c.try(http.StatusCreated, "POST", "/environments/"+envID+"/populations", map[string]any{"name": name})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	m := c.must(http.StatusOK, "GET", users+"?limit=1000", nil)
	if m["count"] != float64(65) {
		t.Errorf("count = %v, want 65 (64 clients and one contested name)", m["count"])
	}
	pops := c.must(http.StatusOK, "GET", "/environments/"+envID+"/populations", nil)
	if pops["count"] != float64(65) {
		t.Errorf("populations = %v, want 65", pops["count"])
	}
}
