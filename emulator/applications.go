package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Enums of the application schemas (OpenAPI).
var (
	appProtocols        = []string{"OPENID_CONNECT", "SAML", "WS_FED", "EXTERNAL_LINK"}
	appTypes            = []string{"WEB_APP", "NATIVE_APP", "SINGLE_PAGE_APP", "WORKER", "SERVICE", "CUSTOM_APP", "PING_ONE_SELF_SERVICE", "PING_ONE_ADMIN_CONSOLE", "PING_ONE_PORTAL", "TEMPLATE_APP", "PORTAL_LINK_APP"}
	oidcTypes           = []string{"WEB_APP", "NATIVE_APP", "SINGLE_PAGE_APP", "WORKER", "SERVICE", "CUSTOM_APP"}
	systemAppTypes      = []string{"PING_ONE_SELF_SERVICE", "PING_ONE_ADMIN_CONSOLE", "PING_ONE_PORTAL"}
	grantTypes          = []string{"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "DEVICE_CODE", "TOKEN_EXCHANGE", "CIBA"}
	responseTypes       = []string{"TOKEN", "ID_TOKEN", "CODE"}
	tokenAuthMethods    = []string{"NONE", "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "PRIVATE_KEY_JWT", "CLIENT_SECRET_JWT"}
	pkceOptions         = []string{"OPTIONAL", "REQUIRED", "S256_REQUIRED"}
	devicePathIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,50}$`)

	// grantsByType are the grant types each OIDC application type may use.
	grantsByType = map[string][]string{
		"WORKER":          {"CLIENT_CREDENTIALS", "AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN"},
		"WEB_APP":         {"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "TOKEN_EXCHANGE", "CIBA"},
		"NATIVE_APP":      {"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN", "DEVICE_CODE", "TOKEN_EXCHANGE", "CIBA", "CLIENT_CREDENTIALS"},
		"SINGLE_PAGE_APP": {"AUTHORIZATION_CODE", "IMPLICIT", "REFRESH_TOKEN"},
		"SERVICE":         {"CLIENT_CREDENTIALS", "TOKEN_EXCHANGE"},
		"CUSTOM_APP":      grantTypes,
	}
)

const (
	msgNotForType     = "Invalid parameter value - Parameter doesn't apply to application type"
	msgNoWildcards    = "Wildcards are not allowed in redirect URIs."
	defaultRollingTTL = 15552000
)

// application is the wire and stored shape of an OIDC application, with
// PingOne's server defaults filled in. Its client secret lives in the
// object's Private part (appSecrets). The request body decodes into the
// same struct; read-only and POST-only members are reset before storing.
type application struct {
	ID                                            string           `json:"id"`
	Environment                                   ref              `json:"environment"`
	Name                                          string           `json:"name"`
	Description                                   string           `json:"description,omitempty"`
	Enabled                                       *bool            `json:"enabled"`
	Protocol                                      string           `json:"protocol"`
	Type                                          string           `json:"type"`
	LoginPageURL                                  string           `json:"loginPageUrl,omitempty"`
	HomePageURL                                   string           `json:"homePageUrl,omitempty"`
	Icon                                          *appIcon         `json:"icon,omitempty"`
	AccessControl                                 *appAccess       `json:"accessControl,omitempty"`
	HiddenFromAppPortal                           *bool            `json:"hiddenFromAppPortal,omitempty"`
	TokenEndpointAuthMethod                       string           `json:"tokenEndpointAuthMethod"`
	GrantTypes                                    []string         `json:"grantTypes,omitempty"`
	ResponseTypes                                 []string         `json:"responseTypes,omitempty"`
	RedirectURIs                                  []string         `json:"redirectUris,omitempty"`
	PostLogoutRedirectURIs                        []string         `json:"postLogoutRedirectUris,omitempty"`
	InitiateLoginURI                              string           `json:"initiateLoginUri,omitempty"`
	TargetLinkURI                                 string           `json:"targetLinkUri,omitempty"`
	PKCEEnforcement                               string           `json:"pkceEnforcement"`
	ParRequirement                                string           `json:"parRequirement"`
	ParTimeout                                    *int             `json:"parTimeout"`
	RefreshTokenDuration                          *int             `json:"refreshTokenDuration"`
	RefreshTokenRollingDuration                   *int             `json:"refreshTokenRollingDuration"`
	RefreshTokenRollingGracePeriodDuration        *int             `json:"refreshTokenRollingGracePeriodDuration,omitempty"`
	RefreshTokenType                              string           `json:"refreshTokenType,omitempty"`
	AdditionalRefreshTokenReplayProtectionEnabled *bool            `json:"additionalRefreshTokenReplayProtectionEnabled"`
	AllowWildcardInRedirectURIs                   *bool            `json:"allowWildcardInRedirectUris"`
	RequestScopesForMultipleResourcesEnabled      *bool            `json:"requestScopesForMultipleResourcesEnabled"`
	OpSessionCheckEnabled                         *bool            `json:"opSessionCheckEnabled"`
	DevicePollingInterval                         *int             `json:"devicePollingInterval"`
	DeviceTimeout                                 *int             `json:"deviceTimeout"`
	DevicePathID                                  string           `json:"devicePathId,omitempty"`
	DeviceCustomVerificationURI                   string           `json:"deviceCustomVerificationUri,omitempty"`
	IdpSignoff                                    *bool            `json:"idpSignoff,omitempty"`
	IncludeX5t                                    *bool            `json:"includeX5t,omitempty"`
	RequireSignedRequestObject                    *bool            `json:"requireSignedRequestObject,omitempty"`
	SupportUnsignedRequestObject                  *bool            `json:"supportUnsignedRequestObject,omitempty"`
	Jwks                                          string           `json:"jwks,omitempty"`
	JwksURL                                       string           `json:"jwksUrl,omitempty"`
	CorsSettings                                  *appCORS         `json:"corsSettings,omitempty"`
	Tags                                          []string         `json:"tags,omitempty"`
	Signing                                       *appSigning      `json:"signing,omitempty"`
	Mobile                                        *json.RawMessage `json:"mobile,omitempty"`
	CreatedAt                                     string           `json:"createdAt"`
	UpdatedAt                                     string           `json:"updatedAt"`

	// POST-only members, never stored.
	AssignActorRoles *bool  `json:"assignActorRoles,omitempty"`
	ClientID         string `json:"clientId,omitempty"`
	ClientSecret     string `json:"clientSecret,omitempty"`
}

type appIcon struct {
	ID   string `json:"id"`
	Href string `json:"href"`
}

type appAccess struct {
	Role *struct {
		Type string `json:"type"`
	} `json:"role,omitempty"`
	Group *struct {
		Type   string `json:"type"`
		Groups []ref  `json:"groups"`
	} `json:"group,omitempty"`
}

type appCORS struct {
	Behavior string   `json:"behavior"`
	Origins  []string `json:"origins,omitempty"`
}

type appSigning struct {
	KeyRotationPolicy *ref `json:"keyRotationPolicy"`
}

// systemApplication is the stored shape of the built-in PingOne Application
// Portal and Self-Service applications.
type systemApplication struct {
	ID                       string `json:"id"`
	Environment              ref    `json:"environment"`
	Name                     string `json:"name"`
	Description              string `json:"description,omitempty"`
	Enabled                  bool   `json:"enabled"`
	Protocol                 string `json:"protocol"`
	Type                     string `json:"type"`
	TokenEndpointAuthMethod  string `json:"tokenEndpointAuthMethod"`
	PKCEEnforcement          string `json:"pkceEnforcement,omitempty"`
	ApplyDefaultTheme        *bool  `json:"applyDefaultTheme,omitempty"`
	EnableDefaultThemeFooter *bool  `json:"enableDefaultThemeFooter,omitempty"`
	CreatedAt                string `json:"createdAt"`
	UpdatedAt                string `json:"updatedAt"`
}

// appHeader is the part of any stored application handlers branch on.
type appHeader struct {
	Type                    string `json:"type"`
	Protocol                string `json:"protocol"`
	TokenEndpointAuthMethod string `json:"tokenEndpointAuthMethod"`
	CreatedAt               string `json:"createdAt"`
}

func readAppHeader(o store.Object) appHeader {
	var h appHeader
	json.Unmarshal(o.Doc, &h)
	return h
}

func isSystemApp(typ string) bool { return slices.Contains(systemAppTypes, typ) }

func applicationLinks(r *http.Request, envID, id string) links {
	env := apiBase(r) + "/environments/" + envID
	app := env + "/applications/" + id
	return links{"self": app, "environment": env, "secret": app + "/secret", "grants": app + "/grants",
		"roleAssignments": app + "/roleAssignments", "signOnPolicyAssignments": app + "/signOnPolicyAssignments"}
}

// checkURI reports whether v is an absolute URI.
func checkURI(ck *checker, target, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(strings.ReplaceAll(v, "*", "x"))
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		ck.add("INVALID_VALUE", target, target+" must be an absolute URI.", nil)
	}
}

func ptr[T any](v T) *T { return &v }

// normalize validates an OIDC application body (type-specific rules
// included) and fills PingOne's server defaults, in place.
func (a *application) normalize() *apiError {
	var ck checker
	ck.required("name", strings.TrimSpace(a.Name) != "")
	ck.size("name", a.Name, 1, 256)
	ck.required("enabled", a.Enabled != nil)
	ck.required("protocol", a.Protocol != "")
	ck.enum("protocol", a.Protocol, appProtocols...)
	ck.required("type", a.Type != "")
	ck.enum("type", a.Type, appTypes...)
	if e := ck.err(); e != nil {
		return e
	}
	if a.Protocol != "OPENID_CONNECT" {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "protocol",
			Message: "The emulator supports only OPENID_CONNECT applications.", InnerError: map[string]any{"allowedValues": []string{"OPENID_CONNECT"}}})
	}
	if !slices.Contains(oidcTypes, a.Type) {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "type",
			Message: "Applications of type " + a.Type + " cannot be created here.", InnerError: map[string]any{"allowedValues": oidcTypes}})
	}
	if a.ClientID != "" || a.ClientSecret != "" {
		ck.add("INVALID_VALUE", "clientId", "Importing applications with their own clientId and clientSecret is not enabled for this environment.", nil)
	}

	// Defaults: the grant type of machine clients, then PingOne's server-side
	// defaults (OpenAPI, and the Terraform provider's for
	// refreshTokenRollingDuration).
	if len(a.GrantTypes) == 0 && (a.Type == "WORKER" || a.Type == "SERVICE") {
		a.GrantTypes = []string{"CLIENT_CREDENTIALS"}
	}
	if a.PKCEEnforcement == "" {
		a.PKCEEnforcement = "OPTIONAL"
	}
	if a.ParRequirement == "" {
		a.ParRequirement = "OPTIONAL"
	}
	defInt := func(p **int, v int) {
		if *p == nil {
			*p = ptr(v)
		}
	}
	defBool := func(p **bool, v bool) {
		if *p == nil {
			*p = ptr(v)
		}
	}
	defInt(&a.ParTimeout, 60)
	defInt(&a.RefreshTokenDuration, 2592000)
	defInt(&a.RefreshTokenRollingDuration, defaultRollingTTL)
	defInt(&a.DevicePollingInterval, 5)
	defInt(&a.DeviceTimeout, 600)
	defBool(&a.AdditionalRefreshTokenReplayProtectionEnabled, true)
	defBool(&a.AllowWildcardInRedirectURIs, false)
	defBool(&a.RequestScopesForMultipleResourcesEnabled, false)
	defBool(&a.OpSessionCheckEnabled, false)

	ck.required("tokenEndpointAuthMethod", a.TokenEndpointAuthMethod != "")
	ck.enum("tokenEndpointAuthMethod", a.TokenEndpointAuthMethod, tokenAuthMethods...)
	ck.enumAll("grantTypes", a.GrantTypes, grantTypes...)
	ck.enumAll("responseTypes", a.ResponseTypes, responseTypes...)
	ck.enum("pkceEnforcement", a.PKCEEnforcement, pkceOptions...)
	ck.enum("parRequirement", a.ParRequirement, "REQUIRED", "OPTIONAL")
	ck.enum("refreshTokenType", a.RefreshTokenType, "JSON_WEB_TOKEN", "OPAQUE_TOKEN")
	ck.rangeInt("parTimeout", *a.ParTimeout, 1, 600)
	ck.rangeInt("refreshTokenDuration", *a.RefreshTokenDuration, 60, 2147483647)
	ck.rangeInt("refreshTokenRollingDuration", *a.RefreshTokenRollingDuration, 60, 2147483647)
	if *a.RefreshTokenDuration > *a.RefreshTokenRollingDuration {
		ck.add("OUT_OF_RANGE", "refreshTokenDuration", "refreshTokenDuration must be less than or equal to refreshTokenRollingDuration.",
			map[string]any{"rangeMaximumValue": *a.RefreshTokenRollingDuration})
	}
	if a.RefreshTokenRollingGracePeriodDuration != nil {
		ck.rangeInt("refreshTokenRollingGracePeriodDuration", *a.RefreshTokenRollingGracePeriodDuration, 0, 86400)
	}
	ck.rangeInt("devicePollingInterval", *a.DevicePollingInterval, 1, 60)
	ck.rangeInt("deviceTimeout", *a.DeviceTimeout, 1, 3600)
	if a.DevicePathID != "" && !devicePathIDPattern.MatchString(a.DevicePathID) {
		ck.add("INVALID_VALUE", "devicePathId", "devicePathId may contain 1 to 50 letters, digits, _ and -.",
			map[string]any{"allowedPattern": devicePathIDPattern.String()})
	}
	if a.SupportUnsignedRequestObject != nil && a.RequireSignedRequestObject != nil && *a.SupportUnsignedRequestObject && *a.RequireSignedRequestObject {
		ck.add("INVALID_VALUE", "requireSignedRequestObject", "requireSignedRequestObject and supportUnsignedRequestObject cannot both be true.", nil)
	}

	// Type-specific rules.
	for _, g := range a.GrantTypes {
		if slices.Contains(grantTypes, g) && !slices.Contains(grantsByType[a.Type], g) {
			ck.add("INVALID_VALUE", "grantTypes", msgNotForType+": "+g+" is not allowed for "+a.Type+".",
				map[string]any{"allowedValues": grantsByType[a.Type]})
		}
	}
	has := func(g string) bool { return slices.Contains(a.GrantTypes, g) }
	ck.required("grantTypes", len(a.GrantTypes) > 0)
	if a.Type == "WORKER" && len(a.GrantTypes) > 0 && !has("CLIENT_CREDENTIALS") {
		ck.add("INVALID_VALUE", "grantTypes", "A WORKER application must have the CLIENT_CREDENTIALS grant type.", nil)
	}
	userFacing := has("AUTHORIZATION_CODE") || has("IMPLICIT")
	if has("AUTHORIZATION_CODE") && !slices.Contains(a.ResponseTypes, "CODE") {
		ck.add("INVALID_VALUE", "responseTypes", "The AUTHORIZATION_CODE grant type requires the CODE response type.", nil)
	}
	if has("IMPLICIT") && !slices.Contains(a.ResponseTypes, "TOKEN") && !slices.Contains(a.ResponseTypes, "ID_TOKEN") {
		ck.add("INVALID_VALUE", "responseTypes", "The IMPLICIT grant type requires the TOKEN or ID_TOKEN response type.", nil)
	}
	if slices.Contains(a.ResponseTypes, "CODE") && !has("AUTHORIZATION_CODE") {
		ck.add("INVALID_VALUE", "responseTypes", "The CODE response type requires the AUTHORIZATION_CODE grant type.", nil)
	}
	if (slices.Contains(a.ResponseTypes, "TOKEN") || slices.Contains(a.ResponseTypes, "ID_TOKEN")) && !has("IMPLICIT") {
		ck.add("INVALID_VALUE", "responseTypes", "The TOKEN and ID_TOKEN response types require the IMPLICIT grant type.", nil)
	}
	if has("REFRESH_TOKEN") && !has("AUTHORIZATION_CODE") && !has("DEVICE_CODE") && !has("CIBA") && !has("TOKEN_EXCHANGE") {
		ck.add("INVALID_VALUE", "grantTypes", "The REFRESH_TOKEN grant type requires a grant type that issues refresh tokens (AUTHORIZATION_CODE).", nil)
	}
	if userFacing && len(a.RedirectURIs) == 0 && a.Type != "NATIVE_APP" {
		ck.add("REQUIRED_VALUE", "redirectUris", "redirectUris is required for the AUTHORIZATION_CODE and IMPLICIT grant types.", nil)
	}
	if !userFacing && len(a.RedirectURIs) > 0 {
		ck.add("INVALID_VALUE", "redirectUris", msgNotForType+": redirectUris need the AUTHORIZATION_CODE or IMPLICIT grant type.", nil)
	}
	for _, u := range a.RedirectURIs {
		checkURI(&ck, "redirectUris", u)
		if strings.Contains(u, "*") && !*a.AllowWildcardInRedirectURIs {
			ck.add("INVALID_VALUE", "redirectUris", msgNoWildcards, nil)
		}
	}
	for _, u := range a.PostLogoutRedirectURIs {
		checkURI(&ck, "postLogoutRedirectUris", u)
	}
	checkURI(&ck, "loginPageUrl", a.LoginPageURL)
	checkURI(&ck, "homePageUrl", a.HomePageURL)
	checkURI(&ck, "initiateLoginUri", a.InitiateLoginURI)
	checkURI(&ck, "targetLinkUri", a.TargetLinkURI)
	switch m := a.TokenEndpointAuthMethod; {
	case m == "NONE" && a.Type == "WORKER":
		// The OpenAPI has no per-type rule for NONE; a worker, though,
		// only ever authenticates with its secret.
		ck.add("INVALID_VALUE", "tokenEndpointAuthMethod", "A WORKER application cannot use tokenEndpointAuthMethod NONE.", nil)
	case m == "NONE" && has("CLIENT_CREDENTIALS"):
		ck.add("INVALID_VALUE", "tokenEndpointAuthMethod", "The CLIENT_CREDENTIALS grant type needs client authentication.", nil)
	case m != "" && m != "NONE" && a.Type == "SINGLE_PAGE_APP":
		ck.add("INVALID_VALUE", "tokenEndpointAuthMethod", "A SINGLE_PAGE_APP must use tokenEndpointAuthMethod NONE.",
			map[string]any{"allowedValues": []string{"NONE"}})
	case m == "PRIVATE_KEY_JWT" && a.Jwks == "" && a.JwksURL == "":
		ck.add("REQUIRED_VALUE", "jwks", "PRIVATE_KEY_JWT needs jwks or jwksUrl.", nil)
	}
	if a.JwksURL != "" && !strings.HasPrefix(a.JwksURL, "https://") {
		ck.add("INVALID_VALUE", "jwksUrl", "jwksUrl must be an https URL.", nil)
	}
	if len(a.Tags) > 0 && a.Type != "WORKER" {
		ck.add("INVALID_VALUE", "tags", msgNotForType+": tags apply only to WORKER applications.", nil)
	}
	ck.enumAll("tags", a.Tags, "PING_FED_CONNECTION_INTEGRATION")
	if a.Mobile != nil && a.Type != "NATIVE_APP" && a.Type != "CUSTOM_APP" {
		ck.add("INVALID_VALUE", "mobile", msgNotForType+": mobile applies only to NATIVE_APP applications.", nil)
	}
	if a.Signing != nil {
		ck.required("signing.keyRotationPolicy.id", a.Signing.KeyRotationPolicy != nil && a.Signing.KeyRotationPolicy.ID != "")
	}
	if a.Icon != nil {
		ck.required("icon.id", a.Icon.ID != "")
		ck.required("icon.href", a.Icon.Href != "")
	}
	if ac := a.AccessControl; ac != nil {
		if ac.Role != nil {
			ck.enum("accessControl.role.type", ac.Role.Type, "ADMIN_USERS_ONLY")
			ck.required("accessControl.role.type", ac.Role.Type != "")
		}
		if ac.Group != nil {
			ck.required("accessControl.group.type", ac.Group.Type != "")
			ck.enum("accessControl.group.type", ac.Group.Type, "ANY_GROUP", "ALL_GROUPS")
			ck.required("accessControl.group.groups", len(ac.Group.Groups) > 0)
		}
	}
	if c := a.CorsSettings; c != nil {
		ck.required("corsSettings.behavior", c.Behavior != "")
		ck.enum("corsSettings.behavior", c.Behavior, "ALLOW_NO_ORIGINS", "ALLOW_SPECIFIC_ORIGINS")
		if len(c.Origins) > 20 {
			ck.add("SIZE_LIMIT_EXCEEDED", "corsSettings.origins", "corsSettings.origins can have at most 20 values.", map[string]any{"maximumValue": 20})
		}
		if c.Behavior == "ALLOW_SPECIFIC_ORIGINS" && len(c.Origins) == 0 {
			ck.add("REQUIRED_VALUE", "corsSettings.origins", "corsSettings.origins is required for ALLOW_SPECIFIC_ORIGINS.", nil)
		}
		if c.Behavior == "ALLOW_NO_ORIGINS" && len(c.Origins) > 0 {
			ck.add("INVALID_VALUE", "corsSettings.origins", "corsSettings.origins must be empty for ALLOW_NO_ORIGINS.", nil)
		}
	}
	return ck.err()
}

// listApplications serves GET /v1/environments/{envID}/applications,
// including the system applications.
func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindApplications, EnvID: envID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "applications", page, func(o store.Object) json.RawMessage {
		return hal(o.Doc, applicationLinks(r, envID, o.ID))
	})
	return nil
}

// createApplication serves POST /v1/environments/{envID}/applications. A
// confidential client gets a client secret. A WORKER inherits the role
// assignments of the actor that creates it unless assignActorRoles is false
// (PingOne's documented default for API-created workers).
func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	envID := r.PathValue("envID")
	var a application
	if e := decodeJSON(r, &a); e != nil {
		return e
	}
	if e := a.normalize(); e != nil {
		return e
	}
	inherit := a.Type == "WORKER" && (a.AssignActorRoles == nil || *a.AssignActorRoles)
	now := s.stamp()
	a.ID, a.Environment, a.CreatedAt, a.UpdatedAt = s.ids.New(), ref{envID}, now, now
	a.AssignActorRoles, a.ClientID, a.ClientSecret = nil, "", ""
	var private json.RawMessage
	if a.TokenEndpointAuthMethod != "NONE" {
		private = mustJSON(appSecrets{Secret: s.ids.Secret()})
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Create(ctx, store.Object{Kind: kindApplications, ID: a.ID, EnvID: envID, Unique: a.Name,
			Doc: mustJSON(a), Private: private}); err != nil {
			return err
		}
		if !inherit {
			return nil
		}
		for _, g := range c.assignments {
			ra := roleAssignment{ID: s.ids.New(), Role: ref{g.role.ID}, Scope: scopeRef{ID: g.scopeID, Type: g.scopeType},
				Environment: ref{envID}, CreatedAt: now}
			if err := createRoleAssignmentTx(ctx, tx, envID, a.ID, ra); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "name")
	}
	writeCreated(w, mustJSON(a), applicationLinks(r, envID, a.ID))
	return nil
}

// getApplication serves GET .../applications/{appID}.
func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	o, e := getIn(r.Context(), s.db, kindApplications, envID, r.PathValue("appID"))
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, applicationLinks(r, envID, o.ID))
	return nil
}

// updateApplication serves PUT .../applications/{appID}: a full replace;
// protocol and type cannot change. The client secret is kept. For system
// applications only enabled, applyDefaultTheme and enableDefaultThemeFooter
// change.
func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	envID, id := r.PathValue("envID"), r.PathValue("appID")
	body, e := readBody(r)
	if e != nil {
		return e
	}
	var a application
	if e := unmarshalBody(body, &a); e != nil {
		return e
	}
	cur, e := getIn(ctx, s.db, kindApplications, envID, id)
	if e != nil {
		return e
	}
	h := readAppHeader(cur)
	var ck checker
	if a.Protocol != "" && a.Protocol != h.Protocol {
		ck.add("INVALID_VALUE", "protocol", "protocol cannot be changed.", map[string]any{"allowedValues": []string{h.Protocol}})
	}
	if a.Type != "" && a.Type != h.Type {
		ck.add("INVALID_VALUE", "type", "type cannot be changed.", map[string]any{"allowedValues": []string{h.Type}})
	}
	if e := ck.err(); e != nil {
		return e
	}
	now := s.stamp()
	if isSystemApp(h.Type) {
		var sys systemApplication
		json.Unmarshal(cur.Doc, &sys)
		var b struct {
			Enabled                  *bool `json:"enabled"`
			ApplyDefaultTheme        *bool `json:"applyDefaultTheme"`
			EnableDefaultThemeFooter *bool `json:"enableDefaultThemeFooter"`
		}
		json.Unmarshal(body, &b)
		if b.Enabled != nil {
			sys.Enabled = *b.Enabled
		}
		if b.ApplyDefaultTheme != nil {
			sys.ApplyDefaultTheme = b.ApplyDefaultTheme
		}
		if b.EnableDefaultThemeFooter != nil && sys.EnableDefaultThemeFooter != nil {
			sys.EnableDefaultThemeFooter = b.EnableDefaultThemeFooter
		}
		sys.UpdatedAt = now
		cur.Doc = mustJSON(sys)
	} else {
		if a.Protocol == "" {
			a.Protocol = h.Protocol
		}
		if a.Type == "" {
			a.Type = h.Type
		}
		if e := a.normalize(); e != nil {
			return e
		}
		a.ID, a.Environment, a.CreatedAt, a.UpdatedAt = id, ref{envID}, h.CreatedAt, now
		a.AssignActorRoles, a.ClientID, a.ClientSecret = nil, "", ""
		cur.Doc, cur.Unique = mustJSON(a), a.Name
		if a.TokenEndpointAuthMethod != "NONE" && len(cur.Private) == 0 {
			cur.Private = mustJSON(appSecrets{Secret: s.ids.Secret()})
		}
	}
	out, err := s.db.Update(ctx, kindApplications, id, func(o *store.Object) error {
		o.Doc, o.Unique = cur.Doc, cur.Unique
		if len(o.Private) == 0 {
			o.Private = cur.Private
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "name")
	}
	writeObject(w, http.StatusOK, out.Doc, applicationLinks(r, envID, id))
	return nil
}

// readBody reads a JSON request body (application/json).
func readBody(r *http.Request) ([]byte, *apiError) {
	var raw json.RawMessage
	if e := decodeJSON(r, &raw); e != nil {
		return nil, e
	}
	return raw, nil
}

// deleteApplication serves DELETE .../applications/{appID}. Its grants,
// role assignments and sign-on policy assignments go with it (they are its
// children), and so do role assignments scoped to it. System applications
// cannot be deleted.
func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	envID, id := r.PathValue("envID"), r.PathValue("appID")
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, e := getIn(ctx, tx, kindApplications, envID, id)
		if e != nil {
			return e
		}
		if isSystemApp(readAppHeader(o).Type) {
			return errFailed("System applications cannot be deleted.", errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "type",
				Message: "Application " + id + " is a system application."})
		}
		if err := tx.Delete(ctx, kindApplications, id); err != nil {
			return err
		}
		return deleteScopedAssignments(ctx, tx, []string{id})
	})
	if err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- client secret -----------------------------------------------------------

// secretWire is PingOne's ApplicationSecret.
type secretWire struct {
	Environment ref             `json:"environment"`
	Secret      string          `json:"secret"`
	Previous    *previousSecret `json:"previous,omitempty"`
}

// appWithSecret reads the application in the path, which must have a
// secret, after checking that the caller holds every role the application
// holds (PingOne's rule for reading and rotating a secret).
func (s *Server) appWithSecret(r *http.Request, c *caller) (store.Object, appSecrets, *apiError) {
	ctx := r.Context()
	var sec appSecrets
	o, e := getIn(ctx, s.db, kindApplications, r.PathValue("envID"), r.PathValue("appID"))
	if e != nil {
		return o, sec, e
	}
	if readAppHeader(o).TokenEndpointAuthMethod == "NONE" || len(o.Private) == 0 {
		return o, sec, errNotFound()
	}
	if err := json.Unmarshal(o.Private, &sec); err != nil || sec.Secret == "" {
		return o, sec, errNotFound()
	}
	ok, err := s.holdsAllRolesOf(ctx, c, o.EnvID, o.ID)
	if err != nil {
		return o, sec, s.fail(err, "")
	}
	if !ok {
		return o, sec, errNotAuthorized()
	}
	return o, sec, nil
}

// holdsAllRolesOf reports whether c holds every role assignment of the
// application appID, each at the same or a broader scope.
func (s *Server) holdsAllRolesOf(ctx context.Context, c *caller, envID, appID string) (bool, error) {
	target, err := s.rolesOf(ctx, envID, appID, false)
	if err != nil {
		return false, err
	}
	for _, g := range target {
		scopeEnv := ""
		switch g.scopeType {
		case scopeEnvironment:
			scopeEnv = g.scopeID
		case scopePopulation:
			scopeEnv = g.popEnvID
		case scopeApplication:
			if o, err := s.db.Get(ctx, kindApplications, g.scopeID); err == nil {
				scopeEnv = o.EnvID
			}
		}
		if !holdsRole(c, g.role.Name, g.scopeType, g.scopeID, scopeEnv) {
			return false, nil
		}
	}
	return true, nil
}

// holdsRole reports whether c holds the role at the scope (scopeType,
// scopeID) in envID, or at a broader scope.
func holdsRole(c *caller, roleName, scopeType, scopeID, envID string) bool {
	for _, g := range c.assignments {
		if g.role.Name != roleName {
			continue
		}
		switch g.scopeType {
		case scopeOrg:
			return true
		case scopeEnvironment:
			if scopeType != scopeOrg && g.scopeID == envID {
				return true
			}
		case scopePopulation, scopeApplication:
			if g.scopeType == scopeType && g.scopeID == scopeID {
				return true
			}
		}
	}
	return false
}

func secretLinks(r *http.Request, envID, appID string) links {
	app := apiBase(r) + "/environments/" + envID + "/applications/" + appID
	return links{"self": app + "/secret", "application": app}
}

// secretView is what the API shows of an application's secrets: the
// previous one only while it is still valid.
func (s *Server) secretView(envID string, sec appSecrets) secretWire {
	out := secretWire{Environment: ref{envID}, Secret: sec.Secret}
	if p := sec.Previous; p != nil {
		if exp, err := time.Parse(time.RFC3339, p.ExpiresAt); err == nil && s.now().Before(exp) {
			out.Previous = p
		}
	}
	return out
}

// getSecret serves GET .../applications/{appID}/secret.
func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, sec, e := s.appWithSecret(r, c)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, mustJSON(s.secretView(o.EnvID, sec)), secretLinks(r, o.EnvID, o.ID))
	return nil
}

// rotateSecret serves POST .../applications/{appID}/secret: a new secret.
// With previous.expiresAt (1 minute to 30 days ahead) the old secret keeps
// working until then.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	var b struct {
		Previous *struct {
			ExpiresAt string `json:"expiresAt"`
		} `json:"previous"`
	}
	// A bare POST (no body, no Content-Type) rotates too.
	if mediaType(r) != "" || r.ContentLength > 0 {
		if e := decodeOptional(r, &b, mtJSON); e != nil {
			return e
		}
	}
	now := s.now()
	var keep *previousSecret
	if b.Previous != nil {
		exp, err := time.Parse(time.RFC3339, b.Previous.ExpiresAt)
		switch {
		case b.Previous.ExpiresAt == "":
			return errInvalid(errorDetail{Code: "REQUIRED_VALUE", Target: "previous.expiresAt", Message: "previous.expiresAt is required and cannot be empty."})
		case err != nil:
			return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "previous.expiresAt", Message: "previous.expiresAt must be an RFC 3339 date-time."})
		case exp.Before(now.Add(time.Minute)) || exp.After(now.Add(30*24*time.Hour)):
			return errInvalid(errorDetail{Code: "OUT_OF_RANGE", Target: "previous.expiresAt",
				Message: "previous.expiresAt must be between 1 minute and 30 days from now."})
		}
		keep = &previousSecret{ExpiresAt: exp.UTC().Format(timeFormat)}
	}
	o, _, e := s.appWithSecret(r, c)
	if e != nil {
		return e
	}
	var sec appSecrets
	out, err := s.db.Update(r.Context(), kindApplications, o.ID, func(o *store.Object) error {
		if err := json.Unmarshal(o.Private, &sec); err != nil {
			return err
		}
		if keep != nil {
			keep.Secret = sec.Secret
		}
		sec = appSecrets{Secret: s.ids.Secret(), Previous: keep}
		o.Private = mustJSON(sec)
		return nil
	})
	if err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, mustJSON(s.secretView(out.EnvID, sec)), secretLinks(r, out.EnvID, out.ID))
	return nil
}

// deletePreviousSecret serves DELETE .../applications/{appID}/secret: the
// previous secret stops working at once.
func (s *Server) deletePreviousSecret(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, _, e := s.appWithSecret(r, c)
	if e != nil {
		return e
	}
	if _, err := s.db.Update(r.Context(), kindApplications, o.ID, func(o *store.Object) error {
		var sec appSecrets
		if err := json.Unmarshal(o.Private, &sec); err != nil {
			return err
		}
		sec.Previous = nil
		o.Private = mustJSON(sec)
		return nil
	}); err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
