package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// license is the wire shape of a license (pingone-api.md §5.2).
type license struct {
	ID                        string               `json:"id"`
	Name                      string               `json:"name"`
	Package                   string               `json:"package"`
	Status                    string               `json:"status"`
	Organization              ref                  `json:"organization"`
	BeginsAt                  string               `json:"beginsAt"`
	ExpiresAt                 string               `json:"expiresAt,omitempty"`
	TerminatesAt              string               `json:"terminatesAt,omitempty"`
	AssignedEnvironmentsCount int                  `json:"assignedEnvironmentsCount"`
	Environments              *licenseEnvironments `json:"environments,omitempty"`
	Users                     *licenseUsers        `json:"users,omitempty"`
}

type licenseEnvironments struct {
	AllowProduction   bool     `json:"allowProduction"`
	AllowConnections  bool     `json:"allowConnections"`
	AllowCustomSchema bool     `json:"allowCustomSchema"`
	Max               int      `json:"max"`
	Regions           []string `json:"regions"`
}

type licenseUsers struct {
	Max                 int  `json:"max"`
	AllowPasswordPolicy bool `json:"allowPasswordPolicy"`
	AllowRoleAssignment bool `json:"allowRoleAssignment"`
}

// listOrganizations serves GET /v1/organizations: the caller's organization.
func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, err := s.db.Get(r.Context(), kindOrganizations, c.OrgID)
	if err != nil {
		return errUnexpected()
	}
	items := []json.RawMessage{s.organizationHAL(r, o)}
	if f := r.URL.Query().Get("filter"); f != "" {
		flt, e := parseFilter(f, filterAttrs{"name": {"sw"}})
		if e != nil {
			return e
		}
		if !matchesFilter(o.Doc, flt) {
			items = nil
		}
	}
	writeCollection(w, collection{Name: "organizations", Items: items, Count: len(items), Self: selfLink(r)})
	return nil
}

// getOrganization serves GET /v1/organizations/{orgID}.
func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	id := r.PathValue("orgID")
	if id != c.OrgID {
		return errForbidden()
	}
	o, err := s.db.Get(r.Context(), kindOrganizations, id)
	if err != nil {
		return errNotFoundID("Organization", id)
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Write(s.organizationHAL(r, o))
	return nil
}

func (s *Server) organizationHAL(r *http.Request, o store.Object) json.RawMessage {
	var b bytes.Buffer
	appendHAL(&b, o.Doc, links{"self": apiBase(r) + "/organizations/" + o.ID,
		"licenses": apiBase(r) + "/organizations/" + o.ID + "/licenses"})
	return b.Bytes()
}

// listLicenses serves GET /v1/organizations/{orgID}/licenses.
func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	orgID := r.PathValue("orgID")
	if orgID != c.OrgID {
		return errForbidden()
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindLicenses, ParentID: orgID})
	if err != nil {
		return errUnexpected()
	}
	items := make([]json.RawMessage, 0, len(page.Items))
	for _, o := range page.Items {
		var b bytes.Buffer
		appendHAL(&b, o.Doc, links{"self": apiBase(r) + "/licenses/" + o.ID,
			"organization": apiBase(r) + "/organizations/" + orgID})
		items = append(items, b.Bytes())
	}
	writeCollection(w, collection{Name: "licenses", Items: items, Count: len(items), Self: selfLink(r)})
	return nil
}

// roleWire is the wire shape of a built-in role.
type roleWire struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	ApplicableTo []string     `json:"applicableTo"`
	Permissions  []permission `json:"permissions"`
	Type         string       `json:"type"`
}

type permission struct {
	ID          string `json:"id"`
	Classifier  string `json:"classifier"`
	Description string `json:"description"`
}

func (rl role) wire() roleWire {
	rw := roleWire{ID: rl.ID, Name: rl.Name, Description: rl.Description, ApplicableTo: rl.ApplicableTo, Type: "PLATFORM",
		Permissions: make([]permission, 0, len(rl.Permissions))}
	for _, p := range rl.Permissions {
		rw.Permissions = append(rw.Permissions, permission{ID: p, Classifier: p, Description: p})
	}
	return rw
}

// listRoles serves GET /v1/roles: the built-in roles (a static table).
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	items := make([]json.RawMessage, 0, len(builtinRoles))
	for _, rl := range builtinRoles {
		var b bytes.Buffer
		appendHAL(&b, mustJSON(rl.wire()), links{"self": apiBase(r) + "/roles/" + rl.ID})
		items = append(items, b.Bytes())
	}
	writeCollection(w, collection{Name: "roles", Items: items, Count: len(items), Self: selfLink(r)})
	return nil
}

// getRole serves GET /v1/roles/{roleID}.
func (s *Server) getRole(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	rl, ok := roleByID(r.PathValue("roleID"))
	if !ok {
		return errNotFoundID("Role", r.PathValue("roleID"))
	}
	writeObject(w, http.StatusOK, mustJSON(rl.wire()), links{"self": apiBase(r) + "/roles/" + rl.ID})
	return nil
}
