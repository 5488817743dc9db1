package emulator

import (
	"context"
	"time"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Store kinds. PingOne collection names double as the _embedded keys;
// internal kinds start with an underscore and never appear on the wire.
const (
	kindOrganizations   store.Kind = "organizations"
	kindLicenses        store.Kind = "licenses"
	kindEnvironments    store.Kind = "environments"
	kindPopulations     store.Kind = "populations"
	kindUsers           store.Kind = "users"
	kindApplications    store.Kind = "applications"
	kindRoleAssignments store.Kind = "roleAssignments"
	kindResources       store.Kind = "resources"
	kindScopes          store.Kind = "scopes"
	kindGrants          store.Kind = "grants"
	kindSignOnPolicies  store.Kind = "signOnPolicies"
	kindSignOnActions   store.Kind = "actions"
	kindSOPAssignments  store.Kind = "signOnPolicyAssignments"
	kindPasswordPolicy  store.Kind = "passwordPolicies"
	kindSigningKeys     store.Kind = "_signingKeys"
	kindMeta            store.Kind = "_meta"
)

// timeFormat is how PingOne writes timestamps: RFC 3339, UTC, milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

// stamp is the current time in timeFormat.
func (s *Server) stamp() string { return s.now().Format(timeFormat) }

// ref is PingOne's relationship object {"id": "..."}.
type ref struct {
	ID string `json:"id"`
}

// scopeRef is a role assignment's scope.
type scopeRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// roleAssignment is the wire and stored shape of an application role
// assignment. Stored with EnvID = the application's environment and
// ParentID = the application's id.
type roleAssignment struct {
	ID          string   `json:"id"`
	Role        ref      `json:"role"`
	Scope       scopeRef `json:"scope"`
	Environment ref      `json:"environment"`
	ReadOnly    bool     `json:"readOnly"`
	CreatedAt   string   `json:"createdAt,omitempty"`
}

// appSecrets is an application's Private part: its client secret, and the
// previous one while a rotation keeps it valid.
type appSecrets struct {
	Secret   string          `json:"secret"`
	Previous *previousSecret `json:"previous,omitempty"`
}

type previousSecret struct {
	Secret    string `json:"secret"`
	ExpiresAt string `json:"expiresAt"`
}

// matches reports whether secret is the current secret, or the previous
// one before it expires.
func (a appSecrets) matches(secret string, now time.Time) bool {
	if a.Secret != "" && constantTimeEqual(a.Secret, secret) {
		return true
	}
	if a.Previous == nil || a.Previous.Secret == "" {
		return false
	}
	exp, err := time.Parse(time.RFC3339, a.Previous.ExpiresAt)
	return err == nil && now.Before(exp) && constantTimeEqual(a.Previous.Secret, secret)
}

// deleteWhere deletes, inside tx, the objects of kind in envID whose field
// at path equals value: the dependents of an object being deleted (the
// assignments of a sign-on policy, the grants of a resource).
func deleteWhere(ctx context.Context, tx *store.Tx, kind store.Kind, envID, path, value string) error {
	page, err := tx.List(ctx, store.ListQuery{Kind: kind, EnvID: envID, Filter: store.Filter{Op: "eq", Path: path, Value: value}})
	if err != nil {
		return err
	}
	for _, o := range page.Items {
		if err := tx.Delete(ctx, kind, o.ID); err != nil {
			return err
		}
	}
	return nil
}
