package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests act as Ping's official clients (the pingidentity/pingone
// Terraform provider over the public Go SDK) do, per pingone-api.md §8.1:
// https only, to host names without ports, through HTTPS_PROXY, trusting only
// ca.pem, and decoding into models as strict as the generated ones: unknown
// fields are ignored, but types are not (time.Time for RFC 3339 dates,
// numbers, booleans, arrays of objects), enums must hold an allowed value,
// and required fields must be present.

const (
	officialAPI  = "https://api.pingone.test/v1"
	officialAuth = "https://auth.pingone.test"
)

// officialClient sends requests as the SDK does.
type officialClient struct {
	t     *testing.T
	http  *http.Client
	token string
	// contentType, when set, replaces application/json on the request
	// (the SDK sets vendor media types such as user.import+json, also on
	// requests without a body).
	contentType string
}

// callAs is call with the request media type ct.
func (c *officialClient) callAs(ct, method, path string, body, out any, want int) {
	c.t.Helper()
	c.contentType = ct
	defer func() { c.contentType = "" }()
	c.call(method, path, body, out, want)
}

// call sends body (nil for none) as JSON and decodes the answer into out,
// failing unless the status is want and the Content-Type is the one the SDK
// accepts.
func (c *officialClient) call(method, path string, body, out any, want int) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, officialAPI+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pingtools PingOne-GOLANG-SDK/official-test")
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		c.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, resp.StatusCode, want, b.String())
	}
	if out == nil {
		return
	}
	// The SDK picks its decoder from the media type: application/json or a
	// vnd...+json type, never hal+json or text/plain.
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.t.Fatalf("%s %s: Content-Type %q; the SDK refuses it", method, path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		c.t.Fatalf("%s %s: the generated model cannot decode the answer: %v", method, path, err)
	}
}

// ---- models, as strict as the SDK's ----------------------------------------

type idRef struct {
	ID string `json:"id"`
}

type halLinks map[string]struct {
	Href string `json:"href"`
}

type envModel struct {
	Links        halLinks  `json:"_links"`
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Type         string    `json:"type"`   // EnumEnvironmentType
	Region       string    `json:"region"` // EnumRegionCode
	License      idRef     `json:"license"`
	Organization idRef     `json:"organization"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

type bomModel struct {
	Products []struct {
		ID   string `json:"id"`
		Type string `json:"type"` // EnumProductType
	} `json:"products"`
	CreatedAt *time.Time `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt"`
}

type populationModel struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Environment idRef      `json:"environment"`
	Theme       *idRef     `json:"theme"` // the provider polls until theme.id is set
	UserCount   *int32     `json:"userCount"`
	Default     *bool      `json:"default"`
	CreatedAt   *time.Time `json:"createdAt"`
	UpdatedAt   *time.Time `json:"updatedAt"`
}

type userModel struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	Environment idRef  `json:"environment"`
	Population  idRef  `json:"population"`
	Enabled     *bool  `json:"enabled"`
	MFAEnabled  *bool  `json:"mfaEnabled"`
	Lifecycle   *struct {
		Status string `json:"status"` // EnumUserLifecycleStatus
	} `json:"lifecycle"`
	Account *struct {
		CanAuthenticate *bool  `json:"canAuthenticate"`
		Status          string `json:"status"` // EnumUserStatus
	} `json:"account"`
	Name *struct {
		Given  string `json:"given"`
		Family string `json:"family"`
	} `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type userEnabledModel struct {
	Enabled *bool `json:"enabled"`
}

type appModel struct {
	Links                       halLinks  `json:"_links"`
	ID                          string    `json:"id"`
	Name                        string    `json:"name"`
	Environment                 idRef     `json:"environment"`
	Type                        string    `json:"type"`     // EnumApplicationType
	Protocol                    string    `json:"protocol"` // EnumApplicationProtocol: picks the model
	Enabled                     *bool     `json:"enabled"`
	GrantTypes                  []string  `json:"grantTypes"` // EnumApplicationOIDCGrantType
	ResponseTypes               []string  `json:"responseTypes"`
	RedirectURIs                []string  `json:"redirectUris"`
	TokenEndpointAuthMethod     string    `json:"tokenEndpointAuthMethod"` // EnumApplicationOIDCTokenAuthMethod
	PKCEEnforcement             *string   `json:"pkceEnforcement"`         // EnumApplicationOIDCPKCEOption
	RefreshTokenDuration        *int32    `json:"refreshTokenDuration"`
	RefreshTokenRollingDuration *int32    `json:"refreshTokenRollingDuration"`
	CreatedAt                   time.Time `json:"createdAt"`
	UpdatedAt                   time.Time `json:"updatedAt"`
}

type secretModel struct {
	Environment *idRef `json:"environment"` // the provider dereferences environment.id
	Secret      string `json:"secret"`
	Previous    *struct {
		Secret    string    `json:"secret"`
		ExpiresAt time.Time `json:"expiresAt"`
	} `json:"previous"`
}

type roleAssignmentModel struct {
	ID          string `json:"id"`
	Role        idRef  `json:"role"`
	Environment idRef  `json:"environment"`
	Scope       struct {
		ID   string `json:"id"`
		Type string `json:"type"` // EnumRoleAssignmentScopeType
	} `json:"scope"`
	ReadOnly *bool `json:"readOnly"`
}

type grantModel struct {
	ID          string     `json:"id"`
	Application *idRef     `json:"application"`
	Resource    idRef      `json:"resource"`
	Scopes      []idRef    `json:"scopes"`
	CreatedAt   *time.Time `json:"createdAt"`
	UpdatedAt   *time.Time `json:"updatedAt"`
}

type roleModel struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ApplicableTo []string `json:"applicableTo"`
	Permissions  []struct {
		ID          string `json:"id"`
		Classifier  string `json:"classifier"`
		Description string `json:"description"`
	} `json:"permissions"`
}

type collectionModel[T any] struct {
	Links    halLinks       `json:"_links"`
	Embedded map[string][]T `json:"_embedded"`
	Count    *int32         `json:"count"`
	Size     *int32         `json:"size"`
}

type resourceModel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // EnumResourceType
}

type scopeModel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ---- checks --------------------------------------------------------------

// checker collects failures of required fields and enums for one object.
type checker struct {
	t    *testing.T
	what string
}

func (k checker) required(field string, ok bool) {
	k.t.Helper()
	if !ok {
		k.t.Errorf("%s: required field %s is missing or empty", k.what, field)
	}
}

func (k checker) enum(field, v string, allowed ...string) {
	k.t.Helper()
	if !slices.Contains(allowed, v) {
		k.t.Errorf("%s: %s = %q, not one of %v", k.what, field, v, allowed)
	}
}

func (k checker) stamps(created, updated time.Time) {
	k.t.Helper()
	k.required("createdAt", !created.IsZero())
	k.required("updatedAt", !updated.IsZero())
}

func (k checker) self(l halLinks) {
	k.t.Helper()
	if h := l["self"].Href; !strings.HasPrefix(h, officialAPI+"/") {
		k.t.Errorf("%s: _links.self %q is not on %s", k.what, h, officialAPI)
	}
}

// TestOfficialClientCalls runs, in the provider's order, every call in the
// compatibility list that the emulator implements.
func TestOfficialClientCalls(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	hc := e.proxyClient(false)
	c := &officialClient{t: t, http: hc, token: e.token(t, hc, officialAuth+"/"+e.Boot.EnvironmentID+"/as/token")}

	// Roles: the provider looks roles up by name in GET /roles.
	var roles collectionModel[roleModel]
	c.call("GET", "/roles", nil, &roles, http.StatusOK)
	roleIDs := map[string]string{}
	for _, r := range roles.Embedded["roles"] {
		k := checker{t, "role " + r.Name}
		k.required("id", r.ID != "")
		k.required("permissions", r.Permissions != nil)
		for _, p := range r.Permissions {
			k.required("permissions[].id", p.ID != "")
		}
		for _, s := range r.ApplicableTo {
			k.enum("applicableTo[]", s, "ORGANIZATION", "ENVIRONMENT", "POPULATION", "APPLICATION", "ACTOR")
		}
		roleIDs[r.Name] = r.ID
	}
	if roleIDs["Identity Data Admin"] == "" {
		t.Fatalf("GET /roles has no Identity Data Admin")
	}

	// Environment: POST, then GET and GET billOfMaterials.
	env := createOfficialEnv(t, e, c, "tf-official")
	envID := env.ID
	for _, step := range []string{"create", "read"} {
		if step == "read" {
			env = envModel{}
			c.call("GET", "/environments/"+envID, nil, &env, http.StatusOK)
		}
		k := checker{t, "environment " + step}
		k.required("id", env.ID != "")
		k.required("license.id", env.License.ID != "")
		k.required("organization.id", env.Organization.ID != "")
		k.enum("type", env.Type, "PRODUCTION", "SANDBOX")
		k.enum("region", env.Region, "AP", "AU", "CA", "EU", "NA", "SG")
		k.stamps(env.CreatedAt, env.UpdatedAt)
		k.self(env.Links)
	}
	var bom bomModel
	c.call("GET", "/environments/"+envID+"/billOfMaterials", nil, &bom, http.StatusOK)
	k := checker{t, "billOfMaterials"}
	k.required("products", len(bom.Products) > 0)
	for _, p := range bom.Products {
		k.required("products[].type", p.Type != "")
	}

	// Population: create, then read; theme.id must be there.
	var pop populationModel
	c.call("POST", "/environments/"+envID+"/populations", map[string]any{"name": "Staff"}, &pop, http.StatusCreated)
	c.call("GET", "/environments/"+envID+"/populations/"+pop.ID, nil, &pop, http.StatusOK)
	k = checker{t, "population"}
	k.required("id", pop.ID != "")
	k.required("environment.id", pop.Environment.ID == envID)
	k.required("theme.id", pop.Theme != nil && pop.Theme.ID != "")

	// User: create, GET, GET and PUT /enabled.
	var user userModel
	c.call("POST", "/environments/"+envID+"/users", map[string]any{
		"username": "alice", "email": "alice@example.com", "population": map[string]string{"id": pop.ID},
	}, &user, http.StatusCreated)
	c.call("GET", "/environments/"+envID+"/users/"+user.ID, nil, &user, http.StatusOK)
	k = checker{t, "user"}
	k.required("id", user.ID != "")
	k.required("population.id", user.Population.ID == pop.ID)
	k.required("enabled", user.Enabled != nil)
	k.required("mfaEnabled", user.MFAEnabled != nil)
	k.required("lifecycle.status", user.Lifecycle != nil)
	if user.Lifecycle != nil {
		k.enum("lifecycle.status", user.Lifecycle.Status, "PENDING_VERIFICATION", "VERIFICATION_REQUIRED", "ACCOUNT_OK")
	}
	if user.Account != nil && user.Account.Status != "" {
		k.enum("account.status", user.Account.Status, "OK", "LOCKED")
	}
	k.stamps(user.CreatedAt, user.UpdatedAt)
	var enabled userEnabledModel
	c.call("GET", "/environments/"+envID+"/users/"+user.ID+"/enabled", nil, &enabled, http.StatusOK)
	if enabled.Enabled == nil || !*enabled.Enabled {
		t.Errorf("GET users/{id}/enabled = %v, want enabled true", enabled.Enabled)
	}
	c.call("PUT", "/environments/"+envID+"/users/"+user.ID+"/enabled", map[string]bool{"enabled": false}, &enabled, http.StatusOK)
	if enabled.Enabled == nil || *enabled.Enabled {
		t.Errorf("PUT users/{id}/enabled false answered %v", enabled.Enabled)
	}

	// Applications: a POST then a GET, as the provider does; server defaults
	// on the read.
	apps := map[string]map[string]any{
		"WORKER": {"name": "tf-worker", "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
			"assignActorRoles": false}, // else it inherits our roles, Identity Data Admin included
		"WEB_APP": {"name": "tf-web", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
			"grantTypes": []string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, "responseTypes": []string{"CODE"},
			"redirectUris": []string{"https://app.example.com/callback"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"},
	}
	appIDs := map[string]string{}
	for _, typ := range []string{"WORKER", "WEB_APP"} {
		var app appModel
		c.call("POST", "/environments/"+envID+"/applications", apps[typ], &app, http.StatusCreated)
		created := app
		c.call("GET", "/environments/"+envID+"/applications/"+app.ID, nil, &app, http.StatusOK)
		for step, a := range map[string]appModel{"create": created, "read": app} {
			k := checker{t, typ + " application " + step}
			k.required("id", a.ID != "")
			k.enum("protocol", a.Protocol, "OPENID_CONNECT", "SAML", "WS_FED", "EXTERNAL_LINK")
			k.enum("type", a.Type, typ)
			k.required("enabled", a.Enabled != nil)
			k.enum("tokenEndpointAuthMethod", a.TokenEndpointAuthMethod, "NONE", "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "CLIENT_SECRET_JWT", "PRIVATE_KEY_JWT")
			for _, g := range a.GrantTypes {
				k.enum("grantTypes[]", g, "AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "DEVICE_CODE", "CIBA", "TOKEN_EXCHANGE")
			}
			k.stamps(a.CreatedAt, a.UpdatedAt)
			k.self(a.Links)
			if typ == "WEB_APP" {
				k.required("pkceEnforcement", a.PKCEEnforcement != nil)
				if a.PKCEEnforcement != nil {
					k.enum("pkceEnforcement", *a.PKCEEnforcement, "OPTIONAL", "REQUIRED", "S256_REQUIRED")
				}
				k.required("refreshTokenDuration", a.RefreshTokenDuration != nil)
				k.required("refreshTokenRollingDuration", a.RefreshTokenRollingDuration != nil)
			}
		}
		appIDs[typ] = app.ID
	}
	var list collectionModel[appModel]
	c.call("GET", "/environments/"+envID+"/applications", nil, &list, http.StatusOK)
	for _, a := range list.Embedded["applications"] {
		checker{t, "application list item " + a.Name}.enum("protocol", a.Protocol, "OPENID_CONNECT", "SAML", "WS_FED", "EXTERNAL_LINK")
	}

	// Secret: GET, and a rotation that keeps the previous secret (POST, then
	// the provider GETs again).
	var sec secretModel
	c.call("GET", "/environments/"+envID+"/applications/"+appIDs["WORKER"]+"/secret", nil, &sec, http.StatusOK)
	k = checker{t, "secret"}
	k.required("secret", sec.Secret != "")
	k.required("environment.id", sec.Environment != nil && sec.Environment.ID == envID)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	c.call("POST", "/environments/"+envID+"/applications/"+appIDs["WORKER"]+"/secret",
		map[string]any{"previous": map[string]string{"expiresAt": expires.Format(time.RFC3339)}}, &sec, http.StatusOK)
	c.call("GET", "/environments/"+envID+"/applications/"+appIDs["WORKER"]+"/secret", nil, &sec, http.StatusOK)
	k.required("previous.secret", sec.Previous != nil && sec.Previous.Secret != "")
	if sec.Previous != nil && !sec.Previous.ExpiresAt.Equal(expires) {
		t.Errorf("secret previous.expiresAt = %v, want %v", sec.Previous.ExpiresAt, expires)
	}

	// Role assignment on the worker: create, read, list.
	var ra roleAssignmentModel
	raPath := "/environments/" + envID + "/applications/" + appIDs["WORKER"] + "/roleAssignments"
	c.call("POST", raPath, map[string]any{"role": map[string]string{"id": roleIDs["Identity Data Admin"]},
		"scope": map[string]string{"id": envID, "type": "ENVIRONMENT"}}, &ra, http.StatusCreated)
	c.call("GET", raPath+"/"+ra.ID, nil, &ra, http.StatusOK)
	k = checker{t, "role assignment"}
	k.required("id", ra.ID != "")
	k.required("role.id", ra.Role.ID == roleIDs["Identity Data Admin"])
	k.required("scope.id", ra.Scope.ID == envID)
	k.enum("scope.type", ra.Scope.Type, "ORGANIZATION", "ENVIRONMENT", "POPULATION", "APPLICATION", "ACTOR")
	var ras collectionModel[roleAssignmentModel]
	c.call("GET", raPath, nil, &ras, http.StatusOK)
	if len(ras.Embedded["roleAssignments"]) == 0 {
		t.Errorf("GET %s lists no role assignment", raPath)
	}

	// Grant of a custom resource's scope to the web app.
	var res resourceModel
	c.call("POST", "/environments/"+envID+"/resources", map[string]any{"name": "tf-api", "audience": "https://api.example.com"}, &res, http.StatusCreated)
	checker{t, "resource"}.enum("type", res.Type, "OPENID_CONNECT", "PINGONE_API", "CUSTOM")
	var scope scopeModel
	c.call("POST", "/environments/"+envID+"/resources/"+res.ID+"/scopes", map[string]any{"name": "read"}, &scope, http.StatusCreated)
	var grant grantModel
	gPath := "/environments/" + envID + "/applications/" + appIDs["WEB_APP"] + "/grants"
	c.call("POST", gPath, map[string]any{"resource": map[string]string{"id": res.ID}, "scopes": []any{map[string]string{"id": scope.ID}}}, &grant, http.StatusCreated)
	c.call("GET", gPath+"/"+grant.ID, nil, &grant, http.StatusOK)
	k = checker{t, "grant"}
	k.required("id", grant.ID != "")
	k.required("resource.id", grant.Resource.ID == res.ID)
	k.required("scopes", len(grant.Scopes) == 1 && grant.Scopes[0].ID == scope.ID)

	// A read of a deleted object is 404 NOT_FOUND in JSON: the provider then
	// drops it from state.
	c.call("DELETE", "/environments/"+envID+"/users/"+user.ID, nil, nil, http.StatusNoContent)
	var perr struct {
		ID      string `json:"id"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	c.call("GET", "/environments/"+envID+"/users/"+user.ID, nil, &perr, http.StatusNotFound)
	if perr.Code != "NOT_FOUND" || perr.ID == "" {
		t.Errorf("404 body = %+v, want code NOT_FOUND with an id", perr)
	}

	// Environment delete: the provider polls GET until it answers 404 (403
	// counts as "still there").
	c.call("DELETE", "/environments/"+envID, nil, nil, http.StatusNoContent)
	perr.Code = ""
	c.call("GET", "/environments/"+envID, nil, &perr, http.StatusNotFound)
	if perr.Code != "NOT_FOUND" {
		t.Errorf("GET of a deleted environment: code %q, want NOT_FOUND", perr.Code)
	}
}

// TestOfficialErrorsAreJSON checks that the answers the SDK can meet on its
// error paths carry a JSON media type: unknown paths, wrong methods, token
// errors and the control endpoints.
func TestOfficialErrorsAreJSON(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	hc := e.proxyClient(false)
	cases := map[string]struct {
		method, url, body string
		want              int
	}{
		"UnknownPath":     {method: "GET", url: officialAPI + "/nothing/here", want: http.StatusNotFound},
		"WrongMethod":     {method: "PATCH", url: officialAPI + "/environments", want: http.StatusMethodNotAllowed},
		"NoToken":         {method: "GET", url: officialAPI + "/environments", want: http.StatusUnauthorized},
		"TokenBadSecret":  {method: "POST", url: officialAuth + "/" + e.Boot.EnvironmentID + "/as/token", body: "grant_type=client_credentials&client_id=" + e.Boot.ClientID + "&client_secret=wrong", want: http.StatusUnauthorized},
		"TokenNoGrant":    {method: "POST", url: officialAuth + "/" + e.Boot.EnvironmentID + "/as/token", body: "", want: http.StatusUnauthorized},
		"UnknownControl":  {method: "GET", url: "https://api.pingone.test/_emulator/nothing", want: http.StatusNotFound},
		"StatsWrongVerb":  {method: "PUT", url: "https://api.pingone.test/_emulator/stats", want: http.StatusMethodNotAllowed},
		"RootPath":        {method: "GET", url: "https://api.pingone.test/", want: http.StatusNotFound},
		"UnknownAuthPath": {method: "GET", url: officialAuth + "/" + e.Boot.EnvironmentID + "/as/nothing", want: http.StatusNotFound},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if strings.HasSuffix(tc.url, "/as/token") {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			derr := json.NewDecoder(resp.Body).Decode(&m)
			if resp.StatusCode != tc.want || derr != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: %d %q (JSON: %v), want %d application/json", tc.method, tc.url, resp.StatusCode, resp.Header.Get("Content-Type"), derr, tc.want)
			}
		})
	}
}

// officialEnv creates a SANDBOX environment as the provider's environment
// resource does and returns its id.
func officialEnv(t *testing.T, e *tlsEmulator, c *officialClient, name string) string {
	t.Helper()
	return createOfficialEnv(t, e, c, name).ID
}

// createOfficialEnv looks up the ACTIVE license, creates a SANDBOX
// environment with it, and returns the create response.
func createOfficialEnv(t *testing.T, e *tlsEmulator, c *officialClient, name string) envModel {
	t.Helper()
	var lic collectionModel[struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}]
	c.call("GET", "/organizations/"+e.Boot.OrganizationID+"/licenses", nil, &lic, http.StatusOK)
	var licenseID string
	for _, l := range lic.Embedded["licenses"] {
		if l.Status == "ACTIVE" {
			licenseID = l.ID
		}
	}
	var env envModel
	c.call("POST", "/environments", map[string]any{
		"name": name, "type": "SANDBOX", "region": "NA", "license": map[string]string{"id": licenseID},
		"billOfMaterials": map[string]any{"products": []any{map[string]string{"type": "PING_ONE_BASE"}}},
	}, &env, http.StatusCreated)
	return env
}

// providerUserModel is management.User with the members the provider's
// pingone_user resource writes to state; each server default below is a
// Computed attribute with a schema default, so a missing one fails the
// apply with "inconsistent result".
type providerUserModel struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	Environment *idRef `json:"environment"`
	Population  *idRef `json:"population"`
	Enabled     *bool  `json:"enabled"`
	MFAEnabled  *bool  `json:"mfaEnabled"`
	Account     *struct {
		CanAuthenticate *bool      `json:"canAuthenticate"`
		Status          string     `json:"status"` // EnumUserStatus
		LockedAt        *time.Time `json:"lockedAt"`
	} `json:"account"`
	IdentityProvider *struct {
		ID   string `json:"id"`
		Type string `json:"type"` // EnumIdentityProvider
	} `json:"identityProvider"`
	Lifecycle *struct {
		Status string `json:"status"` // EnumUserLifecycleStatus
	} `json:"lifecycle"`
	VerifyStatus string `json:"verifyStatus"` // EnumUserVerifyStatus
	Name         *struct {
		Given string `json:"given"`
	} `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type userMFAEnabledModel struct {
	MFAEnabled *bool `json:"mfaEnabled"`
}

// checkProviderUser checks the server defaults the provider's user resource
// compares with its plan.
func checkProviderUser(t *testing.T, what string, u providerUserModel, envID, popID string, enabled, mfa bool) {
	t.Helper()
	k := checker{t, what}
	k.required("environment.id", u.Environment != nil && u.Environment.ID == envID)
	k.required("population.id", u.Population != nil && u.Population.ID == popID)
	k.required("enabled = "+strconv.FormatBool(enabled), u.Enabled != nil && *u.Enabled == enabled)
	k.required("mfaEnabled = "+strconv.FormatBool(mfa), u.MFAEnabled != nil && *u.MFAEnabled == mfa)
	k.required("account", u.Account != nil && u.Account.CanAuthenticate != nil)
	if u.Account != nil {
		k.enum("account.status", u.Account.Status, "OK", "LOCKED")
	}
	k.required("identityProvider", u.IdentityProvider != nil)
	if u.IdentityProvider != nil {
		k.enum("identityProvider.type", u.IdentityProvider.Type, "PING_ONE")
	}
	k.required("lifecycle", u.Lifecycle != nil)
	if u.Lifecycle != nil {
		k.enum("lifecycle.status", u.Lifecycle.Status, "ACCOUNT_OK")
	}
	k.enum("verifyStatus", u.VerifyStatus, "NOT_INITIATED")
	k.stamps(u.CreatedAt, u.UpdatedAt)
}

// TestOfficialProviderUserCalls makes the calls of the provider's
// pingone_user resource (resource_user.go), in its order, and then the
// pingone_population delete (resource_population_gen.go).
func TestOfficialProviderUserCalls(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	hc := e.proxyClient(false)
	c := &officialClient{t: t, http: hc, token: e.token(t, hc, officialAuth+"/"+e.Boot.EnvironmentID+"/as/token")}
	envID := officialEnv(t, e, c, "tf-user")
	env := "/environments/" + envID

	var popA, popB populationModel
	c.call("POST", env+"/populations", map[string]any{"name": "A"}, &popA, http.StatusCreated)
	c.call("POST", env+"/populations", map[string]any{"name": "B", "description": "b"}, &popB, http.StatusCreated)
	checker{t, "population"}.required("userCount", popA.UserCount != nil)

	// Create: POST with the import media type (the provider always sends
	// the planned account, lifecycle and verifyStatus), PUT enabled, PUT
	// mfaEnabled, then GET.
	body := map[string]any{"username": "bob", "email": "bob@example.com", "population": map[string]string{"id": popA.ID},
		"account": map[string]any{"canAuthenticate": true, "status": "OK"}, "lifecycle": map[string]string{"status": "ACCOUNT_OK"},
		"verifyStatus": "NOT_INITIATED"}
	var u providerUserModel
	c.callAs("application/vnd.pingidentity.user.import+json", "POST", env+"/users", body, &u, http.StatusCreated)
	users := env + "/users/" + u.ID
	var en userEnabledModel
	c.call("PUT", users+"/enabled", map[string]bool{"enabled": true}, &en, http.StatusOK)
	var mfa userMFAEnabledModel
	c.call("PUT", users+"/mfaEnabled", map[string]bool{"mfaEnabled": false}, &mfa, http.StatusOK)
	checker{t, "PUT mfaEnabled"}.required("mfaEnabled", mfa.MFAEnabled != nil && !*mfa.MFAEnabled)
	u = providerUserModel{}
	c.call("GET", users, nil, &u, http.StatusOK)
	checkProviderUser(t, "user after create", u, envID, popA.ID, true, false)

	// Read: GET, then GET enabled.
	en = userEnabledModel{}
	c.call("GET", users+"/enabled", nil, &en, http.StatusOK)
	checker{t, "GET enabled"}.required("enabled", en.Enabled != nil && *en.Enabled)

	// Update: PUT population (when it changed), PUT the user, PUT enabled,
	// PUT mfaEnabled, POST the account unlock (no body) while enabled, GET.
	var pop idRef
	c.call("PUT", users+"/population", map[string]string{"id": popB.ID}, &pop, http.StatusOK)
	body["population"] = map[string]string{"id": popB.ID}
	body["name"] = map[string]string{"given": "Bob"}
	c.call("PUT", users, body, &u, http.StatusOK)
	c.call("PUT", users+"/enabled", map[string]bool{"enabled": true}, &en, http.StatusOK)
	c.call("PUT", users+"/mfaEnabled", map[string]bool{"mfaEnabled": true}, &mfa, http.StatusOK)
	c.callAs("application/vnd.pingidentity.account.unlock+json", "POST", users, nil, &u, http.StatusOK)
	u = providerUserModel{}
	c.call("GET", users, nil, &u, http.StatusOK)
	checkProviderUser(t, "user after update", u, envID, popB.ID, true, true)
	checker{t, "user after update"}.required("name.given", u.Name != nil && u.Name.Given == "Bob")
	mfa = userMFAEnabledModel{}
	c.call("GET", users+"/mfaEnabled", nil, &mfa, http.StatusOK)
	checker{t, "GET mfaEnabled"}.required("mfaEnabled", mfa.MFAEnabled != nil && *mfa.MFAEnabled)

	// Locking, as the provider does for account.status = LOCKED.
	c.callAs("application/vnd.pingidentity.account.lock+json", "POST", users, nil, &u, http.StatusOK)
	if u.Account == nil || u.Account.Status != "LOCKED" || u.Account.LockedAt == nil {
		t.Errorf("account after lock = %+v, want LOCKED with lockedAt", u.Account)
	}

	// Population delete: list its users by filter (paged), delete them,
	// then the population.
	var inPop collectionModel[providerUserModel]
	c.call("GET", env+"/users?filter="+url.QueryEscape(`population.id eq "`+popB.ID+`"`), nil, &inPop, http.StatusOK)
	if n := len(inPop.Embedded["users"]); n != 1 {
		t.Fatalf("users in population B: %d, want 1", n)
	}
	c.call("DELETE", users, nil, nil, http.StatusNoContent)
	c.call("DELETE", env+"/populations/"+popB.ID, nil, nil, http.StatusNoContent)
	c.call("GET", env+"/populations/"+popB.ID, nil, nil, http.StatusNotFound)
}

// TestOfficialProviderApplicationCalls makes the calls of the provider's
// pingone_application (PUT answers the application it stores),
// pingone_application_role_assignment (reads the application before each
// create and read) and pingone_application_resource_grant (finds the
// resource by type or id and its scopes by listing them, reads the
// application, and reads the resource after each write and read).
func TestOfficialProviderApplicationCalls(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	hc := e.proxyClient(false)
	c := &officialClient{t: t, http: hc, token: e.token(t, hc, officialAuth+"/"+e.Boot.EnvironmentID+"/as/token")}
	envID := officialEnv(t, e, c, "tf-apps")
	env := "/environments/" + envID

	web := map[string]any{"name": "tf-web", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"AUTHORIZATION_CODE"}, "responseTypes": []string{"CODE"},
		"redirectUris": []string{"https://app.example.com/cb"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
		"pkceEnforcement": "OPTIONAL", "parRequirement": "OPTIONAL", "parTimeout": 60,
		"refreshTokenDuration": 2592000, "refreshTokenRollingDuration": 15552000,
		"additionalRefreshTokenReplayProtectionEnabled": true, "allowWildcardInRedirectUris": false,
		"supportUnsignedRequestObject": false, "requireSignedRequestObject": false}
	var app appModel
	c.call("POST", env+"/applications", web, &app, http.StatusCreated)
	apps := env + "/applications/" + app.ID
	c.call("GET", apps, nil, &app, http.StatusOK)

	// Update: the provider keeps the PUT answer as its state.
	web["description"] = "updated"
	var upd struct {
		appModel
		Description                  string `json:"description"`
		ParRequirement               string `json:"parRequirement"` // EnumApplicationOIDCPARRequirement
		ParTimeout                   *int32 `json:"parTimeout"`
		SupportUnsignedRequestObject *bool  `json:"supportUnsignedRequestObject"`
		RequireSignedRequestObject   *bool  `json:"requireSignedRequestObject"`
		ReplayProtection             *bool  `json:"additionalRefreshTokenReplayProtectionEnabled"`
	}
	c.call("PUT", apps, web, &upd, http.StatusOK)
	k := checker{t, "PUT application"}
	k.required("id", upd.ID == app.ID)
	k.enum("protocol", upd.Protocol, "OPENID_CONNECT")
	k.required("description", upd.Description == "updated")
	k.enum("parRequirement", upd.ParRequirement, "OPTIONAL", "REQUIRED")
	k.required("parTimeout = 60", upd.ParTimeout != nil && *upd.ParTimeout == 60)
	k.required("supportUnsignedRequestObject = false", upd.SupportUnsignedRequestObject != nil && !*upd.SupportUnsignedRequestObject)
	k.required("requireSignedRequestObject = false", upd.RequireSignedRequestObject != nil && !*upd.RequireSignedRequestObject)
	k.required("additionalRefreshTokenReplayProtectionEnabled = true", upd.ReplayProtection != nil && *upd.ReplayProtection)

	// Role assignment: GET the application, POST; GET the application,
	// GET; DELETE (unless readOnly).
	var roles collectionModel[roleModel]
	c.call("GET", "/roles", nil, &roles, http.StatusOK)
	var roleID string
	for _, r := range roles.Embedded["roles"] {
		if r.Name == "Identity Data Admin" { // one the worker holds, as PingOne requires
			roleID = r.ID
		}
	}
	var ra roleAssignmentModel
	c.call("GET", apps, nil, &app, http.StatusOK)
	c.call("POST", apps+"/roleAssignments", map[string]any{"role": map[string]string{"id": roleID},
		"scope": map[string]string{"id": envID, "type": "ENVIRONMENT"}}, &ra, http.StatusCreated)
	c.call("GET", apps, nil, &app, http.StatusOK)
	c.call("GET", apps+"/roleAssignments/"+ra.ID, nil, &ra, http.StatusOK)
	k = checker{t, "role assignment"}
	k.required("readOnly", ra.ReadOnly != nil)
	k.enum("scope.type", ra.Scope.Type, "ENVIRONMENT")
	if ra.ReadOnly == nil || !*ra.ReadOnly {
		c.call("DELETE", apps+"/roleAssignments/"+ra.ID, nil, nil, http.StatusNoContent)
		c.call("GET", apps+"/roleAssignments/"+ra.ID, nil, nil, http.StatusNotFound)
	}

	// Grant with resource_type OPENID_CONNECT: list the resources to find
	// it by type, list its scopes to find them by id, GET the application,
	// POST the grant, GET the resource; read = GET grant + GET resource;
	// update = PUT; delete = DELETE.
	var resources collectionModel[resourceModel]
	c.call("GET", env+"/resources", nil, &resources, http.StatusOK)
	var oidcID string
	for _, r := range resources.Embedded["resources"] {
		checker{t, "resource " + r.Name}.enum("type", r.Type, "OPENID_CONNECT", "PINGONE_API", "CUSTOM")
		if r.Type == "OPENID_CONNECT" {
			oidcID = r.ID
		}
	}
	if oidcID == "" {
		t.Fatal("GET /resources has no OPENID_CONNECT resource")
	}
	var scopes collectionModel[struct {
		scopeModel
		Resource *idRef `json:"resource"`
	}]
	c.call("GET", env+"/resources/"+oidcID+"/scopes", nil, &scopes, http.StatusOK)
	byName := map[string]string{}
	for _, sc := range scopes.Embedded["scopes"] {
		checker{t, "scope " + sc.Name}.required("resource.id", sc.Resource != nil && sc.Resource.ID == oidcID)
		byName[sc.Name] = sc.ID
	}
	if byName["openid"] == "" || byName["profile"] == "" {
		t.Fatalf("openid resource scopes %v lack openid or profile", byName)
	}
	c.call("GET", apps, nil, &app, http.StatusOK)
	var grant grantModel
	grants := apps + "/grants"
	c.call("POST", grants, map[string]any{"resource": map[string]string{"id": oidcID},
		"scopes": []any{map[string]string{"id": byName["openid"]}}}, &grant, http.StatusCreated)
	var res resourceModel
	c.call("GET", env+"/resources/"+grant.Resource.ID, nil, &res, http.StatusOK)
	checker{t, "grant resource"}.enum("type", res.Type, "OPENID_CONNECT")
	c.call("GET", grants+"/"+grant.ID, nil, &grant, http.StatusOK)
	c.call("PUT", grants+"/"+grant.ID, map[string]any{"resource": map[string]string{"id": oidcID},
		"scopes": []any{map[string]string{"id": byName["openid"]}, map[string]string{"id": byName["profile"]}}}, &grant, http.StatusOK)
	checker{t, "PUT grant"}.required("scopes (2)", len(grant.Scopes) == 2)
	c.call("DELETE", grants+"/"+grant.ID, nil, nil, http.StatusNoContent)
	c.call("GET", grants+"/"+grant.ID, nil, nil, http.StatusNotFound)

	// Delete the application; a read then answers 404.
	c.call("DELETE", apps, nil, nil, http.StatusNoContent)
	c.call("GET", apps, nil, nil, http.StatusNotFound)
}

// TestOfficialProviderEnvironmentType makes the provider's
// UpdateEnvironmentType calls (base/resource_environment.go): PUT .../type
// when the planned type changes, and PRODUCTION → SANDBOX before a forced
// delete, then DELETE and GET until 404.
func TestOfficialProviderEnvironmentType(t *testing.T) {
	t.Parallel()
	e := startTLS(t)
	hc := e.proxyClient(false)
	c := &officialClient{t: t, http: hc, token: e.token(t, hc, officialAuth+"/"+e.Boot.EnvironmentID+"/as/token")}
	envID := officialEnv(t, e, c, "tf-type")
	for _, typ := range []string{"PRODUCTION", "SANDBOX"} {
		var env envModel
		c.call("PUT", "/environments/"+envID+"/type", map[string]string{"type": typ}, &env, http.StatusOK)
		if env.ID != envID || env.Type != typ {
			t.Errorf("PUT type %s answered id %q type %q", typ, env.ID, env.Type)
		}
		env = envModel{}
		c.call("GET", "/environments/"+envID, nil, &env, http.StatusOK)
		k := checker{t, "environment after PUT type " + typ}
		k.enum("type", env.Type, typ)
		k.stamps(env.CreatedAt, env.UpdatedAt)
	}
	c.call("DELETE", "/environments/"+envID, nil, nil, http.StatusNoContent)
	c.call("GET", "/environments/"+envID, nil, nil, http.StatusNotFound)
}
