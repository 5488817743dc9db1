package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// grant is the wire and stored shape of an application resource grant.
// Stored with ParentID = the application and Unique = the resource id: an
// application has at most one grant per resource.
type grant struct {
	ID          string `json:"id"`
	Environment ref    `json:"environment"`
	Application ref    `json:"application"`
	Resource    ref    `json:"resource"`
	Scopes      []ref  `json:"scopes"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

type grantBody struct {
	Resource *ref  `json:"resource"`
	Scopes   []ref `json:"scopes"`
}

func grantLinks(r *http.Request, envID, appID, id string) links {
	app := apiBase(r) + "/environments/" + envID + "/applications/" + appID
	return links{"self": app + "/grants/" + id, "application": app}
}

// checkGrant validates a grant body: the resource must exist in envID and
// every scope must be one of its scopes.
func checkGrant(ctx context.Context, rd reader, envID string, b *grantBody) *apiError {
	var ck checker
	ck.required("resource.id", b.Resource != nil && b.Resource.ID != "")
	ck.required("scopes", len(b.Scopes) > 0)
	if e := ck.err(); e != nil {
		return e
	}
	if _, e := getIn(ctx, rd, kindResources, envID, b.Resource.ID); e != nil {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "resource.id", Message: "resource.id must reference a resource of the environment."})
	}
	var seen []string
	for _, sc := range b.Scopes {
		o, e := getIn(ctx, rd, kindScopes, envID, sc.ID)
		if e != nil || o.ParentID != b.Resource.ID {
			ck.add("INVALID_VALUE", "scopes", "Scope "+sc.ID+" is not a scope of resource "+b.Resource.ID+".",
				map[string]any{"referencedValues": []string{sc.ID}})
		}
		if slices.Contains(seen, sc.ID) {
			ck.add("INVALID_VALUE", "scopes", "Scope "+sc.ID+" is listed twice.", nil)
		}
		seen = append(seen, sc.ID)
	}
	return ck.err()
}

func (s *Server) listGrants(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	if _, e := getIn(r.Context(), s.db, kindApplications, envID, appID); e != nil {
		return e
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindGrants, EnvID: envID, ParentID: appID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "grants", page, func(o store.Object) json.RawMessage { return hal(o.Doc, grantLinks(r, envID, appID, o.ID)) })
	return nil
}

func (s *Server) createGrant(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	if _, e := getIn(ctx, s.db, kindApplications, envID, appID); e != nil {
		return e
	}
	var b grantBody
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	if e := checkGrant(ctx, s.db, envID, &b); e != nil {
		return e
	}
	now := s.stamp()
	g := grant{ID: s.ids.New(), Environment: ref{envID}, Application: ref{appID}, Resource: *b.Resource, Scopes: b.Scopes,
		CreatedAt: now, UpdatedAt: now}
	if _, err := s.db.Create(ctx, store.Object{Kind: kindGrants, ID: g.ID, EnvID: envID, ParentID: appID,
		Unique: g.Resource.ID, Doc: mustJSON(g)}); err != nil {
		return s.fail(err, "resource.id")
	}
	writeCreated(w, mustJSON(g), grantLinks(r, envID, appID, g.ID))
	return nil
}

// grantIn reads the grant in the path.
func (s *Server) grantIn(r *http.Request) (store.Object, *apiError) {
	o, e := getIn(r.Context(), s.db, kindGrants, r.PathValue("envID"), r.PathValue("grantID"))
	if e == nil && o.ParentID != r.PathValue("appID") {
		e = errNotFound()
	}
	return o, e
}

func (s *Server) getGrant(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := s.grantIn(r)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, grantLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

// updateGrant serves PUT .../grants/{grantID}: replace the resource and
// scopes.
func (s *Server) updateGrant(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	o, e := s.grantIn(r)
	if e != nil {
		return e
	}
	var b grantBody
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	if e := checkGrant(ctx, s.db, o.EnvID, &b); e != nil {
		return e
	}
	var g grant
	json.Unmarshal(o.Doc, &g)
	g.Resource, g.Scopes, g.UpdatedAt = *b.Resource, b.Scopes, s.stamp()
	o.Doc, o.Unique = mustJSON(g), g.Resource.ID
	if _, err := s.db.Put(ctx, o); err != nil {
		return s.fail(err, "resource.id")
	}
	writeObject(w, http.StatusOK, o.Doc, grantLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

func (s *Server) deleteGrant(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := s.grantIn(r)
	if e != nil {
		return e
	}
	if err := s.db.Delete(r.Context(), kindGrants, o.ID); err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
