package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Media types, lower-cased as mediaType returns them. PingOne selects the
// action on a URL by the request's media type.
const (
	mtJSON              = "application/json"
	mtUserImport        = "application/vnd.pingidentity.user.import+json"
	mtAccountLock       = "application/vnd.pingidentity.account.lock+json"
	mtAccountUnlock     = "application/vnd.pingidentity.account.unlock+json"
	mtPasswordSet       = "application/vnd.pingidentity.password.set+json"
	mtPasswordSetValue  = "application/vnd.pingidentity.password.setvalue+json"
	mtPasswordReset     = "application/vnd.pingidentity.password.reset+json"
	mtPasswordForce     = "application/vnd.pingidentity.password.forcechange"
	mtPasswordForceJSON = "application/vnd.pingidentity.password.forcechange+json"
	mtPasswordRecover   = "application/vnd.pingidentity.password.recover+json"
)

// Paging and attribute limits of the User schema.
const (
	userPageSize       = 100
	userPageMax        = 1000
	usernameMaxRunes   = 128
	profileStringMax   = 256
	externalIDMaxRunes = 1024
	phoneMaxRunes      = 32
	postalCodeMaxRunes = 40
)

// Values of the server-managed user attributes.
const (
	accountStatusOK      = "OK"
	accountStatusLocked  = "LOCKED"
	lifecycleAccountOK   = "ACCOUNT_OK"
	lifecycleVerifyNeeds = "VERIFICATION_REQUIRED"
	verifyNotInitiated   = "NOT_INITIATED"
	identityProviderP1   = "PING_ONE"
)

// Roles that may read, write, or set the passwords of users; population-
// scoped holders are limited to their populations.
var (
	userReadRoles  = []string{roleIDAdmin, roleIDReadOnly, roleHelpDesk}
	userWriteRoles = []string{roleIDAdmin}
	passwordRoles  = []string{roleIDAdmin, roleHelpDesk}
)

// userFilter is the SCIM filter support of GET /users (pingone-api.md §3.4).
var userFilter = filterAttrs{
	"username": {"eq", "sw"}, "email": {"eq", "sw"}, "name.given": {"eq", "sw"}, "name.family": {"eq", "sw"},
	"externalId": {"eq", "sw"}, "mobilePhone": {"eq", "sw"}, "primaryPhone": {"eq", "sw"}, "accountId": {"eq", "sw"},
	"population.id": {"eq"}, "id": {"eq"}, "enabled": {"eq"},
}

// Patterns of the User schema.
var (
	printablePattern = regexp.MustCompile(`^[\p{L}\p{M}\p{Zs}\p{S}\p{N}\p{P}]*$`)
	familyPattern    = regexp.MustCompile(`^[\p{L}\p{M}\p{N}' .-]*$`)
	countryPattern   = regexp.MustCompile(`^[A-Z]{2}$`)
	// timezonePattern is the OpenAPI's ^\w+\/\w+$, widened to IANA names
	// with more parts (America/Argentina/Buenos_Aires) or signs (Etc/GMT+5).
	timezonePattern = regexp.MustCompile(`^\w+(/[\w+-]+)+$`)
)

// userProfile holds the attributes a client writes.
type userProfile struct {
	Username          string       `json:"username"`
	Email             string       `json:"email,omitempty"`
	Name              *userName    `json:"name,omitempty"`
	Nickname          string       `json:"nickname,omitempty"`
	Title             string       `json:"title,omitempty"`
	Type              string       `json:"type,omitempty"`
	Locale            string       `json:"locale,omitempty"`
	PreferredLanguage string       `json:"preferredLanguage,omitempty"`
	Timezone          string       `json:"timezone,omitempty"`
	MobilePhone       string       `json:"mobilePhone,omitempty"`
	PrimaryPhone      string       `json:"primaryPhone,omitempty"`
	ExternalID        string       `json:"externalId,omitempty"`
	AccountID         string       `json:"accountId,omitempty"`
	Address           *userAddress `json:"address,omitempty"`
	Photo             *userPhoto   `json:"photo,omitempty"`
}

type userName struct {
	Formatted       string `json:"formatted,omitempty"`
	Given           string `json:"given,omitempty"`
	Middle          string `json:"middle,omitempty"`
	Family          string `json:"family,omitempty"`
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

type userAddress struct {
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	CountryCode   string `json:"countryCode,omitempty"`
}

type userPhoto struct {
	Href string `json:"href"`
}

// user is the wire and stored shape of a user, with PingOne's server-side
// attributes always present. The password lives in the object's Private
// part and never appears here.
type user struct {
	ID          string `json:"id"`
	Environment ref    `json:"environment"`
	Population  ref    `json:"population"`
	userProfile
	Enabled          bool                 `json:"enabled"`
	MFAEnabled       bool                 `json:"mfaEnabled"`
	EmailVerified    bool                 `json:"emailVerified"`
	Account          userAccount          `json:"account"`
	Lifecycle        userLifecycle        `json:"lifecycle"`
	IdentityProvider userIdentityProvider `json:"identityProvider"`
	VerifyStatus     string               `json:"verifyStatus"`
	CreatedAt        string               `json:"createdAt"`
	UpdatedAt        string               `json:"updatedAt"`
}

type userAccount struct {
	CanAuthenticate    bool   `json:"canAuthenticate"`
	Status             string `json:"status"`
	LockedAt           string `json:"lockedAt,omitempty"`
	SecondsUntilUnlock *int   `json:"secondsUntilUnlock,omitempty"`
	UnlockAt           string `json:"unlockAt,omitempty"`
}

type userLifecycle struct {
	Status string `json:"status"`
}

type userIdentityProvider struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type"`
}

// userBody is a create, replace or patch body. Its two parts are decoded
// separately (decodeParts), so that type errors name the JSON attribute,
// not a Go struct.
type userBody struct {
	userProfile
	userExtras
}

type userExtras struct {
	Population       *ref           `json:"population,omitempty"`
	MFAEnabled       *bool          `json:"mfaEnabled,omitempty"`
	EmailVerified    *bool          `json:"emailVerified,omitempty"`
	Lifecycle        *userLifecycle `json:"lifecycle,omitempty"`
	IdentityProvider *struct {
		ID string `json:"id"`
	} `json:"identityProvider,omitempty"`
	Password *userPassword `json:"password,omitempty"`
}

type userPassword struct {
	Value       *string         `json:"value"`
	ForceChange bool            `json:"forceChange"`
	External    json.RawMessage `json:"external"`
}

// checkProfile validates the attributes of the User schema.
func checkProfile(ck *checker, p *userProfile) {
	pattern := func(target, v string, re *regexp.Regexp) {
		if v != "" && !re.MatchString(v) {
			ck.add("INVALID_VALUE", target, target+" contains characters that are not allowed.",
				map[string]any{"allowedPattern": re.String()})
		}
	}
	text := func(target, v string, maxRunes int) {
		ck.size(target, v, 1, maxRunes)
		pattern(target, v, printablePattern)
	}
	ck.required("username", strings.TrimSpace(p.Username) != "")
	text("username", p.Username, usernameMaxRunes)
	ck.required("email", p.Email != "")
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || a.Name != "" {
			ck.add("INVALID_VALUE", "email", "email must be a valid email address.", nil)
		}
	}
	if n := p.Name; n != nil {
		text("name.given", n.Given, profileStringMax)
		text("name.middle", n.Middle, profileStringMax)
		ck.size("name.family", n.Family, 1, profileStringMax)
		pattern("name.family", n.Family, familyPattern)
		ck.size("name.formatted", n.Formatted, 1, profileStringMax)
		pattern("name.formatted", n.Formatted, familyPattern)
	}
	text("nickname", p.Nickname, profileStringMax)
	text("title", p.Title, profileStringMax)
	text("type", p.Type, profileStringMax)
	text("locale", p.Locale, profileStringMax)
	ck.size("mobilePhone", p.MobilePhone, 1, phoneMaxRunes)
	ck.size("primaryPhone", p.PrimaryPhone, 1, phoneMaxRunes)
	ck.size("externalId", p.ExternalID, 1, externalIDMaxRunes)
	pattern("timezone", p.Timezone, timezonePattern)
	if a := p.Address; a != nil {
		ck.size("address.streetAddress", a.StreetAddress, 1, profileStringMax)
		text("address.locality", a.Locality, profileStringMax)
		text("address.region", a.Region, profileStringMax)
		text("address.postalCode", a.PostalCode, postalCodeMaxRunes)
		pattern("address.countryCode", a.CountryCode, countryPattern)
	}
	if p.Photo != nil {
		u, err := url.Parse(p.Photo.Href)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ck.add("INVALID_VALUE", "photo.href", "photo.href must be an http or https URL.", nil)
		}
	}
}

// mayUsePopulation reports whether c holds one of roles for users of
// population popID in envID, at environment or population scope.
func mayUsePopulation(c *caller, envID, popID string, roles []string) bool {
	return c.hasEnv(envID, roles...) || slices.Contains(c.populations(envID, roles...), popID)
}

// loadUser reads the user in the path, which c must be allowed to act on
// with one of roles.
func (s *Server) loadUser(r *http.Request, c *caller, roles []string) (store.Object, user, *apiError) {
	var u user
	o, e := getIn(r.Context(), s.db, kindUsers, r.PathValue("envID"), r.PathValue("userID"))
	if e != nil {
		return o, u, e
	}
	if err := json.Unmarshal(o.Doc, &u); err != nil {
		return o, u, s.fail(err, "")
	}
	if !mayUsePopulation(c, o.EnvID, u.Population.ID, roles) {
		return o, u, errForbidden()
	}
	return o, u, nil
}

// userPopulation resolves the population a new user goes to: the one
// named, which must exist in envID, or the environment's default.
func userPopulation(ctx context.Context, rd reader, envID string, p *ref) (population, *apiError) {
	var pop population
	var o store.Object
	if p != nil {
		var e *apiError
		if o, e = getIn(ctx, rd, kindPopulations, envID, p.ID); e != nil {
			if e.Status != http.StatusNotFound {
				return pop, e
			}
			return pop, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "population.id",
				Message: "population.id must reference a population of the environment."})
		}
	} else {
		var ok bool
		var err error
		if o, ok, err = defaultOf(ctx, rd, kindPopulations, envID); err != nil {
			return pop, errUnexpected()
		} else if !ok {
			return pop, errInvalid(errorDetail{Code: "REQUIRED_VALUE", Target: "population.id",
				Message: "The environment has no default population, so population.id is required."})
		}
	}
	if err := json.Unmarshal(o.Doc, &pop); err != nil {
		return pop, errUnexpected()
	}
	return pop, nil
}

func userLinks(r *http.Request, envID, id, popID string) links {
	env := apiBase(r) + "/environments/" + envID
	return links{"self": env + "/users/" + id, "password": env + "/users/" + id + "/password",
		"population": env + "/populations/" + popID, "environment": env}
}

// userHAL renders a user. While failed sign-ons keep the password locked,
// the account shows as LOCKED with the time left.
func (s *Server) userHAL(r *http.Request, o store.Object) json.RawMessage {
	doc := o.Doc
	if len(o.Private) > 0 && bytes.Contains(o.Private, []byte(`"lockedUntil"`)) {
		var pw passwordPrivate
		json.Unmarshal(o.Private, &pw)
		if secs := pw.lockSeconds(s.now()); secs > 0 {
			var u user
			if json.Unmarshal(doc, &u) == nil {
				u.Account = userAccount{CanAuthenticate: false, Status: accountStatusLocked, SecondsUntilUnlock: &secs,
					UnlockAt: pw.LockedUntil, LockedAt: u.Account.LockedAt}
				doc = mustJSON(u)
			}
		}
	}
	var p struct {
		Population ref `json:"population"`
	}
	json.Unmarshal(doc, &p)
	return hal(doc, userLinks(r, o.EnvID, o.ID, p.Population.ID))
}

// listUsers serves GET /v1/environments/{envID}/users: SCIM filter, limit
// and cursor. A lone `username eq "x"` is a natural-key look-up.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	envID := r.PathValue("envID")
	pg, e := parsePaging(r, userPageSize, userPageMax)
	if e != nil {
		return e
	}
	q := store.ListQuery{Kind: kindUsers, EnvID: envID, After: pg.After, Limit: pg.Limit}
	if src := r.URL.Query().Get("filter"); src != "" {
		f, e := parseFilter(src, userFilter)
		if e != nil {
			return e
		}
		if f.Op == "eq" && f.Path == "username" {
			q.Unique = strings.ToLower(f.Value)
		} else {
			q.Filter = f
		}
	}
	if !c.hasEnv(envID, userReadRoles...) {
		only := anyOf("population.id", c.populations(envID, userReadRoles...))
		if q.Filter.Op == "" {
			q.Filter = only
		} else {
			q.Filter = store.Filter{Op: "and", Args: []store.Filter{q.Filter, only}}
		}
	}
	page, err := s.db.List(r.Context(), q)
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "users", page, func(o store.Object) json.RawMessage { return s.userHAL(r, o) })
	return nil
}

// createUser serves POST /v1/environments/{envID}/users. With
// application/json the body cannot carry a password; with the user-import
// media type it can, in cleartext or pre-encoded, with forceChange, and
// may also set lifecycle.status and emailVerified.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	envID := r.PathValue("envID")
	importing := mediaType(r) == mtUserImport
	var b userBody
	if e := decodeParts(r, []string{mtJSON, mtUserImport}, &b.userProfile, &b.userExtras); e != nil {
		return e
	}
	var ck checker
	checkProfile(&ck, &b.userProfile)
	if b.Population != nil {
		ck.required("population.id", b.Population.ID != "")
	}
	if b.IdentityProvider != nil && b.IdentityProvider.ID != "" {
		ck.add("INVALID_VALUE", "identityProvider.id", "identityProvider.id must reference an identity provider of the environment.", nil)
	}
	var value string
	var forceChange bool
	switch {
	case b.Password != nil && !importing:
		ck.add("INVALID_VALUE", "password", "Creating a user with application/json does not support setting a password; use "+
			"Content-Type "+mtUserImport+" or set it with PUT .../users/{userID}/password.", nil)
	case b.Password != nil:
		if len(b.Password.External) > 0 && string(b.Password.External) != "null" {
			ck.add("INVALID_VALUE", "password.external", "External password gateways are not supported by the emulator.", nil)
		}
		ck.required("password.value", b.Password.Value != nil && *b.Password.Value != "")
		if b.Password.Value != nil {
			value, forceChange = *b.Password.Value, b.Password.ForceChange
		}
	}
	if importing && b.Lifecycle != nil {
		ck.enum("lifecycle.status", b.Lifecycle.Status, lifecycleAccountOK, lifecycleVerifyNeeds)
	}
	if e := ck.err(); e != nil {
		return e
	}
	now := s.stamp()
	u := user{ID: s.ids.New(), Environment: ref{envID}, userProfile: b.userProfile, Enabled: true,
		Account:   userAccount{CanAuthenticate: true, Status: accountStatusOK},
		Lifecycle: userLifecycle{Status: lifecycleAccountOK}, IdentityProvider: userIdentityProvider{Type: identityProviderP1},
		VerifyStatus: verifyNotInitiated, CreatedAt: now, UpdatedAt: now}
	if b.MFAEnabled != nil {
		u.MFAEnabled = *b.MFAEnabled
	}
	if importing && b.EmailVerified != nil {
		u.EmailVerified = *b.EmailVerified
	}
	if importing && b.Lifecycle != nil && b.Lifecycle.Status != "" {
		u.Lifecycle.Status = b.Lifecycle.Status
	}
	var out store.Object
	err := s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		pop, e := userPopulation(ctx, tx, envID, b.Population)
		if e != nil {
			return e
		}
		if !mayUsePopulation(c, envID, pop.ID, userWriteRoles) {
			return errForbidden()
		}
		u.Population = ref{pop.ID}
		var private json.RawMessage
		if value != "" {
			pw := passwordPrivate{Status: pwStatusOK, LastChangedAt: now}
			if forceChange {
				pw.Status = pwStatusMustChange
			}
			if pw.Hash, e = s.newPasswordHash(ctx, tx, pop, value, "password.value", &u.userProfile, false, nil); e != nil {
				return e
			}
			pw.History = []string{pw.Hash}
			private = mustJSON(pw)
		}
		out, err = tx.Create(ctx, store.Object{Kind: kindUsers, ID: u.ID, EnvID: envID, Unique: strings.ToLower(u.Username),
			Doc: mustJSON(u), Private: private})
		return err
	})
	if err != nil {
		return s.fail(err, "username")
	}
	doc := s.userHAL(r, out)
	w.Header().Set("Location", userLinks(r, envID, u.ID, u.Population.ID)["self"])
	writeRaw(w, http.StatusCreated, doc)
	return nil
}

// getUser serves GET /v1/environments/{envID}/users/{userID}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, _, e := s.loadUser(r, c, userReadRoles)
	if e != nil {
		return e
	}
	// The emulator has no groups: include=memberOfGroupIDs (or Names)
	// shows an empty list.
	doc := s.userHAL(r, o)
	if inc := r.URL.Query().Get("include"); inc == "memberOfGroupIDs" || inc == "memberOfGroupNames" {
		doc = splice(doc, inc, json.RawMessage("[]"))
	}
	writeRaw(w, http.StatusOK, doc)
	return nil
}

// applyUserBody checks b as a replacement of u's profile and applies it.
// The population changes only through PUT .../population, and mfaEnabled
// only on create or through PUT .../mfaEnabled (the OpenAPI says PUT and
// PATCH cannot change it), so mfaEnabled is ignored here.
func applyUserBody(u *user, b *userBody) *apiError {
	var ck checker
	checkProfile(&ck, &b.userProfile)
	if b.Password != nil {
		ck.add("INVALID_VALUE", "password", "A user's password cannot be changed here; use PUT .../users/{userID}/password.", nil)
	}
	if b.Population != nil && b.Population.ID != u.Population.ID {
		ck.add("INVALID_VALUE", "population.id", "population cannot be changed here; use PUT .../users/{userID}/population.", nil)
	}
	if b.IdentityProvider != nil && b.IdentityProvider.ID != u.IdentityProvider.ID {
		ck.add("INVALID_VALUE", "identityProvider.id", "identityProvider.id must reference an identity provider of the environment.", nil)
	}
	if e := ck.err(); e != nil {
		return e
	}
	u.userProfile = b.userProfile
	return nil
}

// replaceUser serves PUT /v1/environments/{envID}/users/{userID}: a full
// replace of the profile (attributes left out are cleared).
func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	var b userBody
	if e := decodeParts(r, []string{mtJSON}, &b.userProfile, &b.userExtras); e != nil {
		return e
	}
	return s.updateUser(w, r, c, func(u *user) *apiError { return applyUserBody(u, &b) })
}

// patchUser serves PATCH /v1/environments/{envID}/users/{userID}: a JSON
// merge patch (RFC 7396) of the profile; null clears an attribute.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	var patch any
	if e := decodeJSON(r, &patch); e != nil {
		return e
	}
	if _, ok := patch.(map[string]any); !ok {
		return errRequest("The request could not be completed. The request body must be a JSON object.")
	}
	return s.updateUser(w, r, c, func(u *user) *apiError {
		var cur any
		json.Unmarshal(mustJSON(userBody{userProfile: u.userProfile, userExtras: userExtras{Population: &u.Population}}), &cur)
		merged := mustJSON(mergePatch(cur, patch))
		var b userBody
		for _, part := range []any{&b.userProfile, &b.userExtras} {
			if e := unmarshalBody(merged, part); e != nil {
				return e
			}
		}
		return applyUserBody(u, &b)
	})
}

// modifyUser reads a user, lets fn change it (and, through o, its
// Private part or uniqueness key), stamps updatedAt and stores it, all in
// one transaction.
func (s *Server) modifyUser(ctx context.Context, id string, fn func(u *user, o *store.Object) error) (store.Object, error) {
	now := s.stamp()
	return s.db.Update(ctx, kindUsers, id, func(o *store.Object) error {
		var u user
		if err := json.Unmarshal(o.Doc, &u); err != nil {
			return err
		}
		if err := fn(&u, o); err != nil {
			return err
		}
		u.UpdatedAt = now
		o.Doc = mustJSON(u)
		return nil
	})
}

// updateUser loads the user in the path, lets change modify it, and stores
// it in one transaction, keeping its password.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c *caller, change func(*user) *apiError) *apiError {
	o, _, e := s.loadUser(r, c, userWriteRoles)
	if e != nil {
		return e
	}
	out, err := s.modifyUser(r.Context(), o.ID, func(u *user, o *store.Object) error {
		if e := change(u); e != nil {
			return e
		}
		o.Unique = strings.ToLower(u.Username)
		return nil
	})
	if err != nil {
		return s.fail(err, "username")
	}
	writeRaw(w, http.StatusOK, s.userHAL(r, out))
	return nil
}

// mergePatch applies an RFC 7396 JSON merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// deleteUser serves DELETE /v1/environments/{envID}/users/{userID}.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, _, e := s.loadUser(r, c, userWriteRoles)
	if e != nil {
		return e
	}
	if err := s.db.Delete(r.Context(), kindUsers, o.ID); err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeParts reads a JSON body of one of the allowed media types into
// each of parts in turn (each takes the attributes it knows).
func decodeParts(r *http.Request, allowed []string, parts ...any) *apiError {
	var raw json.RawMessage
	if e := decodeJSON(r, &raw, allowed...); e != nil {
		return e
	}
	for _, p := range parts {
		if e := unmarshalBody(raw, p); e != nil {
			return e
		}
	}
	return nil
}

// decodeOptional reads an optional JSON body of one of the allowed media
// types: an empty body is fine.
func decodeOptional(r *http.Request, v any, allowed ...string) *apiError {
	if !slices.Contains(allowed, mediaType(r)) {
		return errUnsupportedMedia(r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return errRequest("The request could not be completed. The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return unmarshalBody(body, v)
}

// userAction serves POST /v1/environments/{envID}/users/{userID}: lock or
// unlock the account, by media type. Unlocking also ends a lock-out by
// failed sign-ons.
func (s *Server) userAction(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	mt := mediaType(r)
	var ignored map[string]any
	if e := decodeOptional(r, &ignored, mtAccountLock, mtAccountUnlock); e != nil {
		return e
	}
	o, _, e := s.loadUser(r, c, passwordRoles)
	if e != nil {
		return e
	}
	now := s.stamp()
	out, err := s.modifyUser(r.Context(), o.ID, func(u *user, o *store.Object) error {
		if mt == mtAccountLock {
			u.Account = userAccount{CanAuthenticate: false, Status: accountStatusLocked, LockedAt: now}
		} else {
			u.Account = userAccount{CanAuthenticate: u.Enabled, Status: accountStatusOK}
			var pw passwordPrivate
			if len(o.Private) > 0 {
				json.Unmarshal(o.Private, &pw)
				pw.Failures, pw.LockedUntil = 0, ""
				o.Private = mustJSON(pw)
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "")
	}
	writeRaw(w, http.StatusOK, s.userHAL(r, out))
	return nil
}

func userPopulationLinks(r *http.Request, envID, userID, popID string) links {
	env := apiBase(r) + "/environments/" + envID
	return links{"self": env + "/users/" + userID + "/population", "population": env + "/populations/" + popID,
		"user": env + "/users/" + userID}
}

// getUserPopulation serves GET .../users/{userID}/population.
func (s *Server) getUserPopulation(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, u, e := s.loadUser(r, c, userReadRoles)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, mustJSON(u.Population), userPopulationLinks(r, o.EnvID, o.ID, u.Population.ID))
	return nil
}

// setUserPopulation serves PUT .../users/{userID}/population: move the user
// to another population of the environment.
func (s *Server) setUserPopulation(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	var b ref
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	if b.ID == "" {
		return errInvalid(errorDetail{Code: "REQUIRED_VALUE", Target: "id", Message: "id is required and cannot be empty."})
	}
	o, _, e := s.loadUser(r, c, userWriteRoles)
	if e != nil {
		return e
	}
	if _, e := getIn(ctx, s.db, kindPopulations, o.EnvID, b.ID); e != nil {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "id", Message: "id must reference a population of the environment."})
	}
	if !mayUsePopulation(c, o.EnvID, b.ID, userWriteRoles) {
		return errForbidden()
	}
	if _, err := s.modifyUser(ctx, o.ID, func(u *user, _ *store.Object) error {
		u.Population = b
		return nil
	}); err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, mustJSON(b), userPopulationLinks(r, o.EnvID, o.ID, b.ID))
	return nil
}

// userFlag is a boolean of a user that PingOne reads and sets through its
// own sub-resource, GET/PUT .../users/{userID}/{name}, with the body
// {"<name>": bool}: enabled, and the MFA API's mfaEnabled (the Terraform
// provider calls both on every create and update of a user).
type userFlag struct {
	name string
	get  func(*user) bool
	set  func(*user, bool)
}

var (
	flagEnabled = userFlag{name: "enabled",
		get: func(u *user) bool { return u.Enabled },
		set: func(u *user, v bool) {
			u.Enabled = v
			u.Account.CanAuthenticate = v && u.Account.Status == accountStatusOK
		}}
	flagMFAEnabled = userFlag{name: "mfaEnabled",
		get: func(u *user) bool { return u.MFAEnabled },
		set: func(u *user, v bool) { u.MFAEnabled = v }}
)

func (f userFlag) links(r *http.Request, envID, userID string) links {
	env := apiBase(r) + "/environments/" + envID
	return links{"self": env + "/users/" + userID + "/" + f.name, "user": env + "/users/" + userID}
}

func (f userFlag) body(v bool) json.RawMessage { return mustJSON(map[string]bool{f.name: v}) }

// getFlag serves GET .../users/{userID}/{flag}.
func (s *Server) getFlag(f userFlag, w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, u, e := s.loadUser(r, c, userReadRoles)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, f.body(f.get(&u)), f.links(r, o.EnvID, o.ID))
	return nil
}

// setFlag serves PUT .../users/{userID}/{flag}.
func (s *Server) setFlag(f userFlag, w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	var b map[string]json.RawMessage // other members are ignored, as on every PingOne body
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	var v *bool
	if raw, ok := b[f.name]; ok && json.Unmarshal(raw, &v) != nil {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: f.name, Message: f.name + " must be a JSON boolean."})
	}
	if v == nil {
		return errInvalid(errorDetail{Code: "REQUIRED_VALUE", Target: f.name, Message: f.name + " is required and cannot be empty."})
	}
	o, _, e := s.loadUser(r, c, userWriteRoles)
	if e != nil {
		return e
	}
	if _, err := s.modifyUser(r.Context(), o.ID, func(u *user, _ *store.Object) error {
		f.set(u, *v)
		return nil
	}); err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, f.body(*v), f.links(r, o.EnvID, o.ID))
	return nil
}

func (s *Server) getUserEnabled(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	return s.getFlag(flagEnabled, w, r, c)
}

func (s *Server) setUserEnabled(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	return s.setFlag(flagEnabled, w, r, c)
}

func (s *Server) getUserMFAEnabled(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	return s.getFlag(flagMFAEnabled, w, r, c)
}

func (s *Server) setUserMFAEnabled(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	return s.setFlag(flagMFAEnabled, w, r, c)
}

// secondsUntil returns the whole seconds from now until t (rounded up), or
// 0 when t is not in the future or not a time.
func secondsUntil(t string, now time.Time) int {
	until, err := time.Parse(time.RFC3339, t)
	if err != nil || !now.Before(until) {
		return 0
	}
	d := until.Sub(now)
	return int((d + time.Second - 1) / time.Second)
}
