package emulator

import (
	"context"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Names of the objects PingOne puts in every new environment
// (pingone-api.md §6). Clients find them by these names.
const (
	defaultPopulationName = "Default"
	defaultSignOnPolicy   = "Single_Factor"
	openIDResourceName    = "openid"
	pingOneAPIResource    = "PingOne API"
	portalAppName         = "PingOne Application Portal"
	selfServiceAppName    = "PingOne Self-Service - MyAccount"
)

// openIDScopes are the predefined scopes of the openid resource; they can
// be changed but not deleted.
var openIDScopes = []struct{ name, description string }{
	{"openid", "Signals that the authorization request is an OpenID Connect request."},
	{"profile", "Access to the end user's default profile claims."},
	{"email", "Access to the email and email_verified claims."},
	{"address", "Access to the address claim."},
	{"phone", "Access to the phone_number and phone_number_verified claims."},
}

// pingOneAPIScopes are the predefined scopes of the PingOne API resource.
// p1:read:user and p1:update:user are confirmed; the others are plausible
// self-service scopes of the real platform.
var pingOneAPIScopes = []struct{ name, description string }{
	{"p1:read:user", "Read the user's own profile."},
	{"p1:update:user", "Update the user's own profile."},
	{"p1:read:sessions", "Read the user's own sessions."},
	{"p1:delete:sessions", "Delete the user's own sessions."},
	{"p1:reset:userPassword", "Change the user's own password."},
	{"p1:read:userPassword", "Read the user's own password state."},
	{"p1:validate:userPassword", "Validate the user's own password."},
	{"p1:read:device", "Read the user's own MFA devices."},
	{"p1:create:device", "Create MFA devices for the user."},
	{"p1:update:device", "Update the user's own MFA devices."},
	{"p1:delete:device", "Delete the user's own MFA devices."},
	{"p1:update:userMfaEnabled", "Enable or disable MFA for the user."},
}

// themeID is the stable id of an environment's default branding theme,
// which every population names (the Terraform provider waits for
// population.theme.id).
func themeID(envID string) string { return nameUUID("theme:" + envID) }

// seedEnvironment creates the built-ins of a new environment inside tx:
// the default population, the Single_Factor sign-on policy with its LOGIN
// action, the Standard, Basic and Passphrase password policies, the openid
// and PingOne API resources with their scopes, and the two system
// applications.
func (s *Server) seedEnvironment(ctx context.Context, tx *store.Tx, env environment, now string) error {
	envID := env.ID
	create := func(kind store.Kind, id, parentID, unique string, doc any) error {
		_, err := tx.Create(ctx, store.Object{Kind: kind, ID: id, EnvID: envID, ParentID: parentID, Unique: unique, Doc: mustJSON(doc)})
		return err
	}

	for _, pp := range builtinPasswordPolicies(envID, now) {
		pp.ID = s.ids.New()
		if err := create(kindPasswordPolicy, pp.ID, "", pp.Name, pp); err != nil {
			return err
		}
	}

	pop := population{ID: s.ids.New(), Environment: ref{envID}, Name: defaultPopulationName,
		Description: "Automatically created population.", Default: true, Theme: &ref{themeID(envID)}, CreatedAt: now, UpdatedAt: now}
	if err := create(kindPopulations, pop.ID, "", pop.Name, pop); err != nil {
		return err
	}

	sop := signOnPolicy{ID: s.ids.New(), Environment: ref{envID}, Name: defaultSignOnPolicy,
		Description: "A sign-on policy that requires primary username and password", Default: true, CreatedAt: now, UpdatedAt: now}
	if err := create(kindSignOnPolicies, sop.ID, "", sop.Name, sop); err != nil {
		return err
	}
	login := signOnAction{ID: s.ids.New(), Environment: ref{envID}, SignOnPolicy: ref{sop.ID}, Type: "LOGIN", Priority: 1,
		Recovery: &enabledFlag{Enabled: true}, Registration: &registration{Enabled: false},
		EnforceLockoutForIdentityProviders: new(bool), SocialProviders: []ref{}, CreatedAt: now, UpdatedAt: now}
	if err := create(kindSignOnActions, login.ID, sop.ID, "", login); err != nil {
		return err
	}

	oidc := resource{ID: s.ids.New(), Environment: ref{envID}, Name: openIDResourceName, Type: "OPENID_CONNECT",
		Description: "OpenID Connect resource", CreatedAt: now, UpdatedAt: now}
	if err := create(kindResources, oidc.ID, "", oidc.Name, oidc); err != nil {
		return err
	}
	for _, sc := range openIDScopes {
		doc := scope{ID: s.ids.New(), Environment: ref{envID}, Resource: ref{oidc.ID}, Name: sc.name, Description: sc.description,
			CreatedAt: now, UpdatedAt: now}
		if err := create(kindScopes, doc.ID, oidc.ID, doc.Name, doc); err != nil {
			return err
		}
	}
	api := resource{ID: s.ids.New(), Environment: ref{envID}, Name: pingOneAPIResource, Type: "PINGONE_API",
		Description: "PingOne platform API resource", Audience: apiAudience(env.Region), AccessTokenValiditySeconds: 3600,
		CreatedAt: now, UpdatedAt: now}
	if err := create(kindResources, api.ID, "", api.Name, api); err != nil {
		return err
	}
	for _, sc := range pingOneAPIScopes {
		doc := scope{ID: s.ids.New(), Environment: ref{envID}, Resource: ref{api.ID}, Name: sc.name, Description: sc.description,
			CreatedAt: now, UpdatedAt: now}
		if err := create(kindScopes, doc.ID, api.ID, doc.Name, doc); err != nil {
			return err
		}
	}

	f := false
	for _, app := range []systemApplication{
		{Name: portalAppName, Description: "The application portal of the environment's users.", Type: "PING_ONE_PORTAL",
			PKCEEnforcement: "OPTIONAL", ApplyDefaultTheme: &f},
		{Name: selfServiceAppName, Description: "The self-service application of the environment's users.", Type: "PING_ONE_SELF_SERVICE",
			PKCEEnforcement: "S256_REQUIRED", ApplyDefaultTheme: &f, EnableDefaultThemeFooter: &f},
	} {
		app.ID, app.Environment, app.Enabled, app.Protocol = s.ids.New(), ref{envID}, true, "OPENID_CONNECT"
		app.TokenEndpointAuthMethod, app.CreatedAt, app.UpdatedAt = "NONE", now, now
		if err := create(kindApplications, app.ID, "", app.Name, app); err != nil {
			return err
		}
	}
	return nil
}

// builtinPasswordPolicies are the three policies PingOne provides in a new
// environment; Standard is the default. Settings follow PingOne's
// documented presets.
func builtinPasswordPolicies(envID, now string) []passwordPolicy {
	lockout := func() *ppLockout { return &ppLockout{FailureCount: 5, DurationSeconds: 900} }
	pps := []passwordPolicy{
		{Name: "Standard", Description: "A standard policy that incorporates industry best practices",
			Default: true, ExcludesCommonlyUsed: true, ExcludesProfileData: true, NotSimilarToCurrent: true,
			History: &ppHistory{Count: 6, RetentionDays: 365}, Length: &ppLength{Min: 8, Max: 255}, Lockout: lockout(),
			MaxAgeDays: 182, MinAgeDays: 1, MaxRepeatedCharacters: 2, MinUniqueCharacters: 5,
			MinCharacters: map[string]int{upperChars: 1, lowerChars: 1, digitChars: 1, specialChars: 1}},
		{Name: "Basic", Description: "A basic policy with minimum requirements",
			ExcludesCommonlyUsed: true, ExcludesProfileData: false, NotSimilarToCurrent: false,
			Length: &ppLength{Min: 8, Max: 255}, Lockout: lockout()},
		{Name: "Passphrase", Description: "A policy that encourages the use of passphrases",
			ExcludesCommonlyUsed: true, ExcludesProfileData: true, NotSimilarToCurrent: true,
			History: &ppHistory{Count: 6, RetentionDays: 365}, Length: &ppLength{Min: 20, Max: 255}, Lockout: lockout(),
			MinUniqueCharacters: 5, MinComplexity: 7},
	}
	for i := range pps {
		pps[i].Environment, pps[i].CreatedAt, pps[i].UpdatedAt = ref{envID}, now, now
	}
	return pps
}
