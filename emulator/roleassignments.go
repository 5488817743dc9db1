package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// raUnique is the uniqueness key of a role assignment among its
// application's: one assignment per role and scope.
func raUnique(ra roleAssignment) string { return ra.Role.ID + "/" + ra.Scope.Type + "/" + ra.Scope.ID }

// createRoleAssignmentTx stores a role assignment of application appID
// (living in envID). A duplicate is a *store.ConflictError.
func createRoleAssignmentTx(ctx context.Context, tx *store.Tx, envID, appID string, ra roleAssignment) error {
	_, err := tx.Create(ctx, store.Object{Kind: kindRoleAssignments, ID: ra.ID, EnvID: envID, ParentID: appID,
		Unique: raUnique(ra), Doc: mustJSON(ra)})
	return err
}

func roleAssignmentLinks(r *http.Request, envID, appID, id string) links {
	app := apiBase(r) + "/environments/" + envID + "/applications/" + appID
	return links{"self": app + "/roleAssignments/" + id, "application": app, "environment": apiBase(r) + "/environments/" + envID}
}

// roleHolder reads the application in the path and checks that it can
// hold admin roles: OIDC applications other than the system ones.
func (s *Server) roleHolder(r *http.Request) (store.Object, *apiError) {
	o, e := getIn(r.Context(), s.db, kindApplications, r.PathValue("envID"), r.PathValue("appID"))
	if e != nil {
		return o, e
	}
	if h := readAppHeader(o); h.Protocol != "OPENID_CONNECT" || isSystemApp(h.Type) {
		return o, errFailed("Invalid parameter value - Unmappable application type",
			errorDetail{Code: "INVALID_VALUE", Target: "application", Message: "Admin roles can be granted only to OIDC applications such as WORKER apps, not to " + h.Type + " applications."})
	}
	return o, nil
}

// listRoleAssignments serves GET .../applications/{appID}/roleAssignments.
func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	if _, e := getIn(r.Context(), s.db, kindApplications, envID, appID); e != nil {
		return e
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindRoleAssignments, EnvID: envID, ParentID: appID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "roleAssignments", page, func(o store.Object) json.RawMessage {
		return hal(o.Doc, roleAssignmentLinks(r, envID, appID, o.ID))
	})
	return nil
}

// scopeEnvironment checks that a role assignment's scope exists for the
// caller and returns the environment it lies in ("" for the organization).
func (s *Server) scopeEnvironment(ctx context.Context, c *caller, sc scopeRef) (string, *apiError) {
	bad := errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "scope.id",
		Message: "scope.id must reference an existing " + sc.Type + " of the organization."})
	switch sc.Type {
	case scopeOrg:
		if sc.ID != c.OrgID {
			return "", bad
		}
		return "", nil
	case scopeEnvironment:
		env, err := s.environment(ctx, sc.ID)
		if err != nil || env.Organization.ID != c.OrgID {
			return "", bad
		}
		return env.ID, nil
	case scopePopulation:
		o, err := s.db.Get(ctx, kindPopulations, sc.ID)
		if err != nil {
			return "", bad
		}
		return o.EnvID, nil
	case scopeApplication:
		o, err := s.db.Get(ctx, kindApplications, sc.ID)
		if err != nil {
			return "", bad
		}
		return o.EnvID, nil
	}
	return "", bad
}

// errCannotAssign is PingOne's 403 for an actor assigning a role it may not
// grant at that scope.
func errCannotAssign(roleName string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "ACCESS_FAILED", Message: msgNotAuthorized,
		Details: []errorDetail{{Code: "INSUFFICIENT_PERMISSIONS", Target: "role",
			Message: "Must have role at the same or broader scope, and permission to assign it: " + roleName + "."}}}
}

// createRoleAssignment serves POST .../applications/{appID}/roleAssignments.
// The role must apply to the scope type, the scope must exist, and the
// caller must be allowed to grant the role at that scope (§4).
func (s *Server) createRoleAssignment(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	app, e := s.roleHolder(r)
	if e != nil {
		return e
	}
	var b struct {
		Role  *ref      `json:"role"`
		Scope *scopeRef `json:"scope"`
	}
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	var ck checker
	ck.required("role.id", b.Role != nil && b.Role.ID != "")
	ck.required("scope.id", b.Scope != nil && b.Scope.ID != "")
	ck.required("scope.type", b.Scope != nil && b.Scope.Type != "")
	if b.Scope != nil {
		ck.enum("scope.type", b.Scope.Type, scopeOrg, scopeEnvironment, scopePopulation, scopeApplication)
	}
	if e := ck.err(); e != nil {
		return e
	}
	rl, ok := roleByID(b.Role.ID)
	if !ok {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "role.id", Message: "role.id must reference a role (GET /roles)."})
	}
	if !slices.Contains(rl.ApplicableTo, b.Scope.Type) {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "scope",
			Message:    "The role " + rl.Name + " cannot be assigned at scope type " + b.Scope.Type + ".",
			InnerError: map[string]any{"allowedValues": rl.ApplicableTo}})
	}
	if (rl.Name == roleDaVinci || rl.Name == roleDaVinciRO) && readAppHeader(app).Type == "WORKER" {
		return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "role.id", Message: "The DaVinci roles cannot be assigned to a Worker app."})
	}
	scopeEnv, e := s.scopeEnvironment(ctx, c, *b.Scope)
	if e != nil {
		return e
	}
	if !c.canAssign(rl, b.Scope.Type, b.Scope.ID, scopeEnv) {
		return errCannotAssign(rl.Name)
	}
	ra := roleAssignment{ID: s.ids.New(), Role: ref{rl.ID}, Scope: *b.Scope, Environment: ref{envID}, CreatedAt: s.stamp()}
	err := s.db.Tx(ctx, func(tx *store.Tx) error { return createRoleAssignmentTx(ctx, tx, envID, appID, ra) })
	if err != nil {
		return s.fail(err, "role")
	}
	writeCreated(w, mustJSON(ra), roleAssignmentLinks(r, envID, appID, ra.ID))
	return nil
}

// roleAssignmentIn reads the role assignment in the path.
func (s *Server) roleAssignmentIn(r *http.Request) (store.Object, roleAssignment, *apiError) {
	var ra roleAssignment
	o, e := getIn(r.Context(), s.db, kindRoleAssignments, r.PathValue("envID"), r.PathValue("raID"))
	if e == nil && o.ParentID != r.PathValue("appID") {
		e = errNotFound()
	}
	if e == nil {
		if err := json.Unmarshal(o.Doc, &ra); err != nil {
			e = s.fail(err, "")
		}
	}
	return o, ra, e
}

// getRoleAssignment serves GET .../roleAssignments/{raID}.
func (s *Server) getRoleAssignment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, _, e := s.roleAssignmentIn(r)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, roleAssignmentLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

// deleteRoleAssignment serves DELETE .../roleAssignments/{raID}. Read-only
// assignments stay; the caller must be allowed to grant the role at its
// scope to take it away.
func (s *Server) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	o, ra, e := s.roleAssignmentIn(r)
	if e != nil {
		return e
	}
	if ra.ReadOnly {
		return errFailed("Role assignment "+ra.ID+" cannot be deleted as it is read only",
			errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "readOnly", Message: "Role assignment " + ra.ID + " cannot be deleted as it is read only"})
	}
	if rl, ok := roleByID(ra.Role.ID); ok {
		scopeEnv, e := s.scopeEnvironment(ctx, c, ra.Scope)
		if e == nil && !c.canAssign(rl, ra.Scope.Type, ra.Scope.ID, scopeEnv) {
			return errCannotAssign(rl.Name)
		}
	}
	if err := s.db.Delete(ctx, kindRoleAssignments, o.ID); err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
