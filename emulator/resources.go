package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// resource is the wire and stored shape of a resource (an OAuth audience
// with scopes). The built-in openid resource has no audience, token
// lifetime or introspection method.
type resource struct {
	ID                             string          `json:"id"`
	Environment                    ref             `json:"environment"`
	Name                           string          `json:"name"`
	Description                    string          `json:"description,omitempty"`
	Type                           string          `json:"type"`
	Audience                       string          `json:"audience,omitempty"`
	AccessTokenValiditySeconds     int             `json:"accessTokenValiditySeconds,omitempty"`
	IntrospectEndpointAuthMethod   string          `json:"introspectEndpointAuthMethod,omitempty"`
	ApplicationPermissionsSettings *claimsSettings `json:"applicationPermissionsSettings,omitempty"`
	CreatedAt                      string          `json:"createdAt"`
	UpdatedAt                      string          `json:"updatedAt"`
}

type claimsSettings struct {
	ClaimEnabled bool `json:"claimEnabled"`
}

// scope is the wire and stored shape of a resource scope. Stored with
// ParentID = the resource and Unique = the name.
type scope struct {
	ID               string   `json:"id"`
	Environment      ref      `json:"environment"`
	Resource         ref      `json:"resource"`
	Name             string   `json:"name"`
	Description      string   `json:"description,omitempty"`
	SchemaAttributes []string `json:"schemaAttributes,omitempty"`
	MappedClaims     []string `json:"mappedClaims,omitempty"`
	CreatedAt        string   `json:"createdAt"`
	UpdatedAt        string   `json:"updatedAt"`
}

// resourceBody is a create/replace body: the resource, and a second
// decoding of what needs to be told apart from its zero value.
type resourceBody struct {
	resource
	extra struct {
		AccessTokenValiditySeconds *int   `json:"accessTokenValiditySeconds"`
		ClientID                   string `json:"clientId"`
		ClientSecret               string `json:"clientSecret"`
	}
}

func (b *resourceBody) decode(r *http.Request) *apiError {
	return decodeParts(r, []string{mtJSON}, &b.resource, &b.extra)
}

var (
	// userScopeName matches the PingOne API scopes that may be created:
	// p1:read:user:{suffix} and p1:update:user:{suffix}.
	userScopeName = regexp.MustCompile(`^p1:(read|update):user(:[a-zA-Z0-9_.-]+)?$`)
	scopeName     = regexp.MustCompile(`^[^\s]+$`)
)

func resourceLinks(r *http.Request, envID, id string) links {
	env := apiBase(r) + "/environments/" + envID
	return links{"self": env + "/resources/" + id, "environment": env, "scopes": env + "/resources/" + id + "/scopes"}
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindResources, EnvID: envID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "resources", page, func(o store.Object) json.RawMessage { return hal(o.Doc, resourceLinks(r, envID, o.ID)) })
	return nil
}

// customResource validates a CUSTOM resource body and fills its defaults:
// the audience is the name, tokens live 3600 s, introspection uses
// CLIENT_SECRET_BASIC.
func (b *resourceBody) customResource() (resource, *apiError) {
	res := b.resource
	var ck checker
	ck.required("name", strings.TrimSpace(res.Name) != "")
	ck.size("name", res.Name, 1, 256)
	if res.Type != "" && res.Type != "CUSTOM" {
		ck.add("INVALID_VALUE", "type", "Only CUSTOM resources can be created.", map[string]any{"allowedValues": []string{"CUSTOM"}})
	}
	if b.extra.ClientID != "" || b.extra.ClientSecret != "" {
		ck.add("INVALID_VALUE", "clientId", "Importing resources with their own clientId and clientSecret is not enabled for this environment.", nil)
	}
	res.Type = "CUSTOM"
	if res.Audience == "" {
		res.Audience = res.Name
	}
	if l := strings.ToLower(res.Audience); strings.Contains(l, "pingone") || strings.Contains(l, "pingidentity") {
		ck.add("INVALID_VALUE", "audience", "audience must not contain \"pingone\" or \"pingidentity\".", nil)
	}
	if strings.Contains(res.Audience, "#") {
		ck.add("INVALID_VALUE", "audience", "audience must not contain a fragment.", nil)
	} else if strings.Contains(res.Audience, "://") {
		if _, err := url.Parse(res.Audience); err != nil {
			ck.add("INVALID_VALUE", "audience", "audience must be a valid URL.", nil)
		}
	}
	res.AccessTokenValiditySeconds = 3600
	if b.extra.AccessTokenValiditySeconds != nil {
		res.AccessTokenValiditySeconds = *b.extra.AccessTokenValiditySeconds
		ck.rangeInt("accessTokenValiditySeconds", res.AccessTokenValiditySeconds, 300, 2592000)
	}
	if res.IntrospectEndpointAuthMethod == "" {
		res.IntrospectEndpointAuthMethod = "CLIENT_SECRET_BASIC"
	}
	ck.enum("introspectEndpointAuthMethod", res.IntrospectEndpointAuthMethod, "NONE", "CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST")
	return res, ck.err()
}

func (s *Server) createResource(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	var b resourceBody
	if e := b.decode(r); e != nil {
		return e
	}
	res, e := b.customResource()
	if e != nil {
		return e
	}
	now := s.stamp()
	res.ID, res.Environment, res.CreatedAt, res.UpdatedAt = s.ids.New(), ref{envID}, now, now
	if _, err := s.db.Create(r.Context(), store.Object{Kind: kindResources, ID: res.ID, EnvID: envID, Unique: res.Name, Doc: mustJSON(res)}); err != nil {
		return s.fail(err, "name")
	}
	writeCreated(w, mustJSON(res), resourceLinks(r, envID, res.ID))
	return nil
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	o, e := getIn(r.Context(), s.db, kindResources, envID, r.PathValue("resID"))
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, resourceLinks(r, envID, o.ID))
	return nil
}

// readResource reads a resource's document.
func readResource(o store.Object) resource {
	var res resource
	json.Unmarshal(o.Doc, &res)
	return res
}

// updateResource serves PUT .../resources/{resID}: a full replace of a
// CUSTOM resource. The built-in resources cannot be changed here.
func (s *Server) updateResource(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, id := r.PathValue("envID"), r.PathValue("resID")
	var b resourceBody
	if e := b.decode(r); e != nil {
		return e
	}
	cur, e := getIn(r.Context(), s.db, kindResources, envID, id)
	if e != nil {
		return e
	}
	old := readResource(cur)
	if old.Type != "CUSTOM" {
		return errFailed("The built-in resource "+old.Name+" cannot be changed by the emulator.",
			errorDetail{Code: "INVALID_VALUE", Target: "type", Message: "Only CUSTOM resources can be updated."})
	}
	res, e := b.customResource()
	if e != nil {
		return e
	}
	res.ID, res.Environment, res.CreatedAt, res.UpdatedAt = id, ref{envID}, old.CreatedAt, s.stamp()
	cur.Doc, cur.Unique = mustJSON(res), res.Name
	if _, err := s.db.Put(r.Context(), cur); err != nil {
		return s.fail(err, "name")
	}
	writeObject(w, http.StatusOK, cur.Doc, resourceLinks(r, envID, id))
	return nil
}

// deleteResource serves DELETE .../resources/{resID}. Its scopes go with it
// (children), and so do the application grants on it. Built-in resources
// cannot be deleted.
func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	envID, id := r.PathValue("envID"), r.PathValue("resID")
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, e := getIn(ctx, tx, kindResources, envID, id)
		if e != nil {
			return e
		}
		if res := readResource(o); res.Type != "CUSTOM" {
			return errFailed("The built-in resource "+res.Name+" cannot be deleted.",
				errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "type", Message: "Only CUSTOM resources can be deleted."})
		}
		if err := tx.Delete(ctx, kindResources, id); err != nil {
			return err
		}
		return deleteWhere(ctx, tx, kindGrants, envID, "resource.id", id)
	})
	if err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- scopes ------------------------------------------------------------------

func scopeLinks(r *http.Request, envID, resID, id string) links {
	res := apiBase(r) + "/environments/" + envID + "/resources/" + resID
	return links{"self": res + "/scopes/" + id, "resource": res}
}

func (s *Server) listScopes(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, resID := r.PathValue("envID"), r.PathValue("resID")
	if _, e := getIn(r.Context(), s.db, kindResources, envID, resID); e != nil {
		return e
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindScopes, EnvID: envID, ParentID: resID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "scopes", page, func(o store.Object) json.RawMessage { return hal(o.Doc, scopeLinks(r, envID, resID, o.ID)) })
	return nil
}

// predefinedScope reports whether a scope comes with its built-in resource
// (such scopes can be changed but not renamed or deleted).
func predefinedScope(res resource, name string) bool {
	switch res.Type {
	case "OPENID_CONNECT":
		return slices.ContainsFunc(openIDScopes, func(sc struct{ name, description string }) bool { return sc.name == name })
	case "PINGONE_API":
		return slices.ContainsFunc(pingOneAPIScopes, func(sc struct{ name, description string }) bool { return sc.name == name })
	}
	return false
}

// checkScope validates a scope body for res.
func checkScope(res resource, sc *scope) *apiError {
	var ck checker
	ck.required("name", sc.Name != "")
	ck.size("name", sc.Name, 1, 256)
	if sc.Name != "" && !scopeName.MatchString(sc.Name) {
		ck.add("INVALID_VALUE", "name", "Scope names cannot contain whitespace.", nil)
	}
	ck.size("description", sc.Description, 0, 1024)
	switch res.Type {
	case "PINGONE_API":
		if sc.Name != "" && !userScopeName.MatchString(sc.Name) && !predefinedScope(res, sc.Name) {
			ck.add("INVALID_VALUE", "name", "PingOne API scopes must be named p1:read:user:{suffix} or p1:update:user:{suffix}.",
				map[string]any{"allowedPattern": userScopeName.String()})
		}
	case "OPENID_CONNECT", "CUSTOM":
		if strings.HasPrefix(sc.Name, "p1:") {
			ck.add("INVALID_VALUE", "name", "Scope names starting with p1: are reserved for the PingOne API resource.", nil)
		}
	}
	if len(sc.SchemaAttributes) > 0 && !(res.Type == "PINGONE_API" && userScopeName.MatchString(sc.Name)) {
		ck.add("INVALID_VALUE", "schemaAttributes", "schemaAttributes apply only to p1:read:user and p1:update:user scopes.", nil)
	}
	if slices.Contains(sc.SchemaAttributes, "*") && len(sc.SchemaAttributes) > 1 {
		ck.add("INVALID_VALUE", "schemaAttributes", "The wildcard path (*) cannot be combined with other attributes.", nil)
	}
	if len(sc.MappedClaims) > 0 && res.Type != "OPENID_CONNECT" {
		ck.add("INVALID_VALUE", "mappedClaims", "mappedClaims apply only to scopes of the openid resource.", nil)
	}
	return ck.err()
}

// resourceIn reads the resource in the path.
func (s *Server) resourceIn(ctx context.Context, r *http.Request) (resource, *apiError) {
	o, e := getIn(ctx, s.db, kindResources, r.PathValue("envID"), r.PathValue("resID"))
	if e != nil {
		return resource{}, e
	}
	return readResource(o), nil
}

func (s *Server) createScope(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	res, e := s.resourceIn(r.Context(), r)
	if e != nil {
		return e
	}
	var sc scope
	if e := decodeJSON(r, &sc); e != nil {
		return e
	}
	if e := checkScope(res, &sc); e != nil {
		return e
	}
	now := s.stamp()
	sc.ID, sc.Environment, sc.Resource, sc.CreatedAt, sc.UpdatedAt = s.ids.New(), ref{envID}, ref{res.ID}, now, now
	if _, err := s.db.Create(r.Context(), store.Object{Kind: kindScopes, ID: sc.ID, EnvID: envID, ParentID: res.ID,
		Unique: sc.Name, Doc: mustJSON(sc)}); err != nil {
		return s.fail(err, "name")
	}
	writeCreated(w, mustJSON(sc), scopeLinks(r, envID, res.ID, sc.ID))
	return nil
}

// scopeIn reads the scope in the path, which must belong to the resource
// in the path.
func (s *Server) scopeIn(r *http.Request) (store.Object, *apiError) {
	o, e := getIn(r.Context(), s.db, kindScopes, r.PathValue("envID"), r.PathValue("scopeID"))
	if e == nil && o.ParentID != r.PathValue("resID") {
		e = errNotFound()
	}
	return o, e
}

func (s *Server) getScope(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := s.scopeIn(r)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, scopeLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

// updateScope serves PUT .../scopes/{scopeID}: a full replace. Predefined
// scopes keep their names.
func (s *Server) updateScope(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	res, e := s.resourceIn(r.Context(), r)
	if e != nil {
		return e
	}
	o, e := s.scopeIn(r)
	if e != nil {
		return e
	}
	var sc scope
	if e := decodeJSON(r, &sc); e != nil {
		return e
	}
	var old scope
	json.Unmarshal(o.Doc, &old)
	if predefinedScope(res, old.Name) && sc.Name != old.Name {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "name", Message: "The predefined scope " + old.Name + " cannot be renamed."})
	}
	if e := checkScope(res, &sc); e != nil {
		return e
	}
	sc.ID, sc.Environment, sc.Resource, sc.CreatedAt, sc.UpdatedAt = o.ID, old.Environment, old.Resource, old.CreatedAt, s.stamp()
	o.Doc, o.Unique = mustJSON(sc), sc.Name
	if _, err := s.db.Put(r.Context(), o); err != nil {
		return s.fail(err, "name")
	}
	writeObject(w, http.StatusOK, o.Doc, scopeLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

// deleteScope serves DELETE .../scopes/{scopeID}. Predefined scopes cannot
// be deleted. Grants lose the scope; a grant left without scopes goes.
func (s *Server) deleteScope(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	res, e := s.resourceIn(ctx, r)
	if e != nil {
		return e
	}
	o, e := s.scopeIn(r)
	if e != nil {
		return e
	}
	var sc scope
	json.Unmarshal(o.Doc, &sc)
	if predefinedScope(res, sc.Name) {
		return errFailed("The predefined scope "+sc.Name+" cannot be deleted.",
			errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "name", Message: "Predefined scopes can be changed but not deleted."})
	}
	now := s.stamp()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.Delete(ctx, kindScopes, o.ID); err != nil {
			return err
		}
		page, err := tx.List(ctx, store.ListQuery{Kind: kindGrants, EnvID: o.EnvID, Filter: store.Filter{Op: "eq", Path: "resource.id", Value: res.ID}})
		if err != nil {
			return err
		}
		for _, g := range page.Items {
			var gr grant
			if err := json.Unmarshal(g.Doc, &gr); err != nil {
				return err
			}
			kept := slices.DeleteFunc(slices.Clone(gr.Scopes), func(x ref) bool { return x.ID == o.ID })
			switch {
			case len(kept) == len(gr.Scopes):
				continue
			case len(kept) == 0:
				err = tx.Delete(ctx, kindGrants, g.ID)
			default:
				gr.Scopes, gr.UpdatedAt = kept, now
				g.Doc = mustJSON(gr)
				_, err = tx.Put(ctx, g)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
