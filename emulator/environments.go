package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// kindBillOfMaterials holds an environment's bill of materials: one object
// per environment whose ID and EnvID are the environment's id, so deleting
// the environment deletes it.
const kindBillOfMaterials store.Kind = "_billOfMaterials"

// environmentRegions is EnumRegionCode, in the OpenAPI's order.
var environmentRegions = []string{"AP", "AU", "CA", "EU", "NA", "SG"}

// productTypes is EnumProductType with the names PingOne shows for them.
var productTypes = map[string]string{
	"PING_ONE_MFA": "PingOne MFA", "PING_ONE_DAVINCI": "PingOne DaVinci", "PING_ONE_ORCHESTRATE": "PingOne Orchestrate",
	"PING_ONE_RISK": "PingOne Protect", "PING_ONE_FRAUD": "PingOne Fraud", "PING_ONE_PROVISIONING": "PingOne Provisioning",
	"PING_DATA_SYNC": "PingDataSync", "PING_DATA_GOVERNANCE": "PingDataGovernance", "PING_ONE_FOR_ENTERPRISE": "PingOne for Enterprise",
	"PING_ID_SDK": "PingID SDK", "PING_ONE_FOR_SAAS": "PingOne for SaaS", "PING_ONE_VERIFY": "PingOne Verify",
	"PING_ONE_CREDENTIALS": "PingOne Credentials", "PING_ONE_AUTHORIZE": "PingOne Authorize", "PING_ONE_BASE": "PingOne",
	"PING_FEDERATE": "PingFederate", "PING_ACCESS": "PingAccess", "PING_DIRECTORY": "PingDirectory",
	"PING_AUTHORIZE": "PingAuthorize", "PING_ID": "PingID", "PING_ONE_ID": "PingOne ID",
	"PING_INTELLIGENCE": "PingIntelligence", "PING_CENTRAL": "PingCentral",
}

func productTypeNames() []string {
	names := make([]string, 0, len(productTypes))
	for n := range productTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// newEnvironment is what createEnvironmentTx needs to make an environment.
type newEnvironment struct {
	ID, Name, Description, Type, Region, OrganizationID, LicenseID string
	Icon, SolutionType                                             string
	// Products is the bill of materials; one PING_ONE_BASE product when nil.
	Products []bomProduct
	// CreatedAt backdates the environment (bootstrap does, so that the lag
	// window never hides the administrators' environment); now when "".
	CreatedAt string
}

// environment is the wire and stored shape of an environment (without its
// bill of materials, which is stored apart and shown on request).
type environment struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	Type         string `json:"type"`
	Region       string `json:"region"`
	Icon         string `json:"icon,omitempty"`
	Status       string `json:"status"`
	Organization ref    `json:"organization"`
	License      ref    `json:"license"`
	CreatedAt    string `json:"createdAt"`
	UpdatedAt    string `json:"updatedAt"`
}

type billOfMaterials struct {
	SolutionType string       `json:"solutionType,omitempty"`
	Products     []bomProduct `json:"products"`
	CreatedAt    string       `json:"createdAt,omitempty"`
	UpdatedAt    string       `json:"updatedAt,omitempty"`
}

type bomProduct struct {
	ID          string        `json:"id,omitempty"`
	Type        string        `json:"type"`
	Description string        `json:"description,omitempty"`
	Console     *bomConsole   `json:"console,omitempty"`
	Bookmarks   []bomBookmark `json:"bookmarks,omitempty"`
	Tags        []string      `json:"tags,omitempty"`
}

type bomConsole struct {
	Href string `json:"href"`
}

type bomBookmark struct {
	Name string `json:"name"`
	Href string `json:"href"`
}

// environmentBody is the request body of POST and PUT /environments.
type environmentBody struct {
	Name            string           `json:"name"`
	Description     string           `json:"description"`
	Type            string           `json:"type"`
	Region          string           `json:"region"`
	Icon            string           `json:"icon"`
	License         *ref             `json:"license"`
	Organization    *ref             `json:"organization"`
	BillOfMaterials *billOfMaterials `json:"billOfMaterials"`
}

// createEnvironmentTx creates an environment and everything PingOne puts in
// a new one (pingone-api.md §6), inside tx. The environment's name must be
// unique in its organization: a taken name is a *store.ConflictError.
func (s *Server) createEnvironmentTx(ctx context.Context, tx *store.Tx, e newEnvironment) error {
	now := e.CreatedAt
	if now == "" {
		now = s.stamp()
	}
	env := environment{ID: e.ID, Name: e.Name, Description: e.Description, Type: e.Type, Region: e.Region, Icon: e.Icon,
		Status: "ACTIVE", Organization: ref{e.OrganizationID}, License: ref{e.LicenseID}, CreatedAt: now, UpdatedAt: now}
	// ParentID is the organization, so the name is unique per organization.
	if _, err := tx.Create(ctx, store.Object{Kind: kindEnvironments, ID: e.ID, ParentID: e.OrganizationID,
		Unique: e.Name, Doc: mustJSON(env)}); err != nil {
		return err
	}
	products := e.Products
	if products == nil {
		products = []bomProduct{{Type: "PING_ONE_BASE"}}
	}
	bom := billOfMaterials{SolutionType: e.SolutionType, Products: s.productIDs(products, nil), CreatedAt: now, UpdatedAt: now}
	if _, err := tx.Create(ctx, store.Object{Kind: kindBillOfMaterials, ID: e.ID, EnvID: e.ID, Doc: mustJSON(bom)}); err != nil {
		return err
	}
	return s.seedEnvironment(ctx, tx, env, now)
}

// productIDs gives each product an id (keeping the id of a product of the
// same type in old) and its default description.
func (s *Server) productIDs(products, old []bomProduct) []bomProduct {
	out := make([]bomProduct, len(products))
	for i, p := range products {
		p.ID = ""
		for _, o := range old {
			if o.Type == p.Type {
				p.ID = o.ID
			}
		}
		if p.ID == "" {
			p.ID = s.ids.New()
		}
		if p.Description == "" {
			p.Description = productTypes[p.Type]
		}
		out[i] = p
	}
	return out
}

// checkBOM validates a bill of materials under target (e.g.
// "billOfMaterials").
func checkBOM(ck *checker, target string, b *billOfMaterials) {
	prefix := target
	if prefix != "" {
		prefix += "."
	}
	ck.enum(prefix+"solutionType", b.SolutionType, "WORKFORCE", "CUSTOMER", "CIAM_TRIAL", "WF_TRIAL")
	ck.required(prefix+"products", len(b.Products) > 0)
	seen := map[string]bool{}
	for _, p := range b.Products {
		ck.required(prefix+"products.type", p.Type != "")
		ck.enum(prefix+"products.type", p.Type, productTypeNames()...)
		if p.Type != "" && seen[p.Type] {
			ck.add("INVALID_VALUE", prefix+"products.type", "Each product type may appear only once in a bill of materials.", nil)
		}
		seen[p.Type] = true
		if p.Console != nil {
			ck.required(prefix+"products.console.href", p.Console.Href != "")
		}
		if len(p.Bookmarks) > 5 {
			ck.add("SIZE_LIMIT_EXCEEDED", prefix+"products.bookmarks", "A product can have at most 5 bookmarks.",
				map[string]any{"maximumValue": 5})
		}
		for _, bm := range p.Bookmarks {
			ck.required(prefix+"products.bookmarks.name", bm.Name != "")
			ck.size(prefix+"products.bookmarks.name", bm.Name, 1, 50)
			ck.required(prefix+"products.bookmarks.href", bm.Href != "")
		}
		ck.enumAll(prefix+"products.tags", p.Tags, "DAVINCI_MINIMAL")
	}
}

// licenseRegion maps an environment region to a license's region name.
func licenseRegion(region string) string {
	if region == "NA" {
		return "NORTH_AMERICA"
	}
	return region
}

// resolveLicense returns the license an environment of region and type
// would use: id, or the organization's only ACTIVE license when id is ""
// (the OpenAPI: license.id is "required only if your organization has more
// than one active license").
func (s *Server) resolveLicense(ctx context.Context, orgID, id, region, envType string) (license, *apiError) {
	var lic license
	if id == "" {
		page, err := s.db.List(ctx, store.ListQuery{Kind: kindLicenses, ParentID: orgID, Filter: store.Filter{Op: "eq", Path: "status", Value: "ACTIVE"}})
		if err != nil {
			return lic, s.fail(err, "")
		}
		if len(page.Items) != 1 {
			return lic, errInvalid(errorDetail{Code: "REQUIRED_VALUE", Target: "license.id",
				Message: "license.id is required when the organization has more than one active license."})
		}
		json.Unmarshal(page.Items[0].Doc, &lic)
	} else {
		o, err := s.db.Get(ctx, kindLicenses, id)
		if err == nil && o.ParentID == orgID {
			err = json.Unmarshal(o.Doc, &lic)
		} else if err == nil {
			err = store.ErrNotFound
		}
		if err != nil {
			return lic, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "license.id",
				Message: "license.id must reference a license of the organization."})
		}
	}
	if lic.Status != "ACTIVE" {
		return lic, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "license.id",
			Message: "The license " + lic.ID + " is " + lic.Status + "; environments need an ACTIVE license."})
	}
	if lic.Environments != nil && len(lic.Environments.Regions) > 0 && !slices.Contains(lic.Environments.Regions, licenseRegion(region)) {
		return lic, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "region",
			Message: "The license does not allow environments in region " + region + ".", InnerError: map[string]any{"allowedValues": lic.Environments.Regions}})
	}
	if envType == "PRODUCTION" && (lic.Environments == nil || !lic.Environments.AllowProduction) {
		return lic, errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "type",
			Message: "The license does not allow PRODUCTION environments."})
	}
	return lic, nil
}

// adjustLicense adds delta to a license's assignedEnvironmentsCount.
func adjustLicense(ctx context.Context, tx *store.Tx, id string, delta int) error {
	_, err := tx.Update(ctx, kindLicenses, id, func(o *store.Object) error {
		var lic license
		if err := json.Unmarshal(o.Doc, &lic); err != nil {
			return err
		}
		lic.AssignedEnvironmentsCount = max(0, lic.AssignedEnvironmentsCount+delta)
		o.Doc = mustJSON(lic)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func checkEnvironmentBody(ck *checker, b *environmentBody) {
	ck.required("name", strings.TrimSpace(b.Name) != "")
	ck.size("name", b.Name, 1, 256)
	ck.size("description", b.Description, 0, 1024)
	ck.required("region", b.Region != "")
	ck.enum("region", b.Region, environmentRegions...)
	ck.required("type", b.Type != "")
	ck.enum("type", b.Type, "SANDBOX", "PRODUCTION")
	if b.BillOfMaterials != nil {
		checkBOM(ck, "billOfMaterials", b.BillOfMaterials)
	}
}

// listEnvironments serves GET /v1/environments: every environment of the
// organization for callers with an organization-scoped role, else those
// the caller holds a role in.
func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	pg, e := parsePaging(r, 1000, 5000)
	if e != nil {
		return e
	}
	conds := []store.Filter{{Op: "eq", Path: "organization.id", Value: c.OrgID}}
	if src := r.URL.Query().Get("filter"); src != "" {
		attrs := filterAttrs{"name": {"sw"}, "id": {"eq"}, "organization.id": {"eq"}, "license.id": {"eq"}, "status": {"eq"}}
		f, e := parseFilter(src, attrs)
		if e != nil {
			return e
		}
		if usesOr(f) {
			return (&filterParser{allowed: attrs}).invalid("only and is supported for environments")
		}
		conds = append(conds, f)
	}
	if !slices.ContainsFunc(c.assignments, func(g grantedRole) bool { return g.scopeType == scopeOrg }) {
		ids, err := s.visibleEnvironments(ctx, c)
		if err != nil {
			return s.fail(err, "")
		}
		if len(ids) == 0 {
			writeCollection(w, collection{Name: "environments", Items: []json.RawMessage{}, Self: selfLink(r)})
			return nil
		}
		conds = append(conds, anyOf("id", ids))
	}
	page, err := s.db.List(ctx, store.ListQuery{Kind: kindEnvironments, Filter: store.Filter{Op: "and", Args: conds},
		After: pg.After, Limit: pg.Limit})
	if err != nil {
		return s.fail(err, "")
	}
	expand := wantsBOM(r)
	s.writePage(w, r, "environments", page, func(o store.Object) json.RawMessage {
		doc := o.Doc
		if expand {
			doc = s.withBOM(ctx, doc, o.ID)
		}
		return hal(doc, environmentLinks(r, o.ID))
	})
	return nil
}

func usesOr(f store.Filter) bool {
	if f.Op == "or" {
		return true
	}
	return slices.ContainsFunc(f.Args, usesOr)
}

// visibleEnvironments lists the environments in which c holds a role below
// organization scope.
func (s *Server) visibleEnvironments(ctx context.Context, c *caller) ([]string, error) {
	var ids []string
	for _, g := range c.assignments {
		id := ""
		switch g.scopeType {
		case scopeEnvironment:
			id = g.scopeID
		case scopePopulation:
			id = g.popEnvID
		case scopeApplication:
			if o, err := s.db.Get(ctx, kindApplications, g.scopeID); err == nil {
				id = o.EnvID
			}
		}
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func wantsBOM(r *http.Request) bool {
	for _, v := range r.URL.Query()["expand"] {
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == "billOfMaterials" {
				return true
			}
		}
	}
	return false
}

// withBOM adds the environment's bill of materials to its document.
func (s *Server) withBOM(ctx context.Context, doc json.RawMessage, envID string) json.RawMessage {
	o, err := s.db.Get(ctx, kindBillOfMaterials, envID)
	if err != nil {
		return doc
	}
	return splice(doc, "billOfMaterials", o.Doc)
}

func environmentLinks(r *http.Request, id string) links {
	base := apiBase(r) + "/environments/" + id
	return links{"self": base, "billOfMaterials": base + "/billOfMaterials", "populations": base + "/populations",
		"users": base + "/users", "applications": base + "/applications", "resources": base + "/resources",
		"signOnPolicies": base + "/signOnPolicies", "passwordPolicies": base + "/passwordPolicies"}
}

// createEnvironment serves POST /v1/environments. The creating worker gets
// Identity Data Admin and Client Application Developer for the new
// environment, and Environment Admin for it unless it holds Environment
// Admin at organization scope (pingone-api.md §4), in the same transaction.
func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	var b environmentBody
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	var ck checker
	checkEnvironmentBody(&ck, &b)
	if b.Organization != nil && b.Organization.ID != "" && b.Organization.ID != c.OrgID {
		ck.add("INVALID_VALUE", "organization.id", "organization.id must be the organization of the caller.", nil)
	}
	if e := ck.err(); e != nil {
		return e
	}
	licID := ""
	if b.License != nil {
		licID = b.License.ID
	}
	lic, e := s.resolveLicense(ctx, c.OrgID, licID, b.Region, b.Type)
	if e != nil {
		return e
	}
	id := s.ids.New()
	ne := newEnvironment{ID: id, Name: b.Name, Description: b.Description, Type: b.Type, Region: b.Region,
		OrganizationID: c.OrgID, LicenseID: lic.ID, Icon: b.Icon}
	if b.BillOfMaterials != nil {
		ne.SolutionType, ne.Products = b.BillOfMaterials.SolutionType, b.BillOfMaterials.Products
	}
	now := s.stamp()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if lic.Environments != nil && lic.Environments.Max > 0 {
			page, err := tx.List(ctx, store.ListQuery{Kind: kindEnvironments, Filter: store.Filter{Op: "eq", Path: "license.id", Value: lic.ID}, Limit: 1})
			if err != nil {
				return err
			}
			if page.Total >= lic.Environments.Max {
				return &apiError{Status: http.StatusForbidden, Code: "ACCESS_FAILED",
					Message: "The request could not be completed. The license allows no more environments.",
					Details: []errorDetail{{Code: "LICENSE_EXCEEDED", Target: "license.id",
						Message: "The license's environment quota is used up.", InnerError: map[string]any{"quotaLimit": lic.Environments.Max}}}}
			}
		}
		if err := s.createEnvironmentTx(ctx, tx, ne); err != nil {
			return err
		}
		if err := adjustLicense(ctx, tx, lic.ID, 1); err != nil {
			return err
		}
		grant := []string{roleIDAdmin, roleAppDev}
		if !c.hasOrg(roleEnvAdmin) {
			grant = append([]string{roleEnvAdmin}, grant...)
		}
		for _, name := range grant {
			rl, _ := roleByName(name)
			ra := roleAssignment{ID: s.ids.New(), Role: ref{rl.ID}, Scope: scopeRef{ID: id, Type: scopeEnvironment},
				Environment: ref{c.EnvID}, ReadOnly: true, CreatedAt: now}
			if err := createRoleAssignmentTx(ctx, tx, c.EnvID, c.AppID, ra); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "name")
	}
	o, err := s.db.Get(ctx, kindEnvironments, id)
	if err != nil {
		return s.fail(err, "")
	}
	writeCreated(w, s.withBOM(ctx, o.Doc, id), environmentLinks(r, id))
	return nil
}

// getEnvironment serves GET /v1/environments/{envID}.
func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	id := r.PathValue("envID")
	o, err := s.db.Get(r.Context(), kindEnvironments, id)
	if err != nil {
		return s.fail(err, "")
	}
	doc := o.Doc
	if wantsBOM(r) {
		doc = s.withBOM(r.Context(), doc, id)
	}
	writeObject(w, http.StatusOK, doc, environmentLinks(r, id))
	return nil
}

// updateEnvironment serves PUT /v1/environments/{envID}: a full replace of
// the mutable attributes. The region never changes, and the type changes
// only through PUT /environments/{id}/type, which the emulator does not
// implement.
func (s *Server) updateEnvironment(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	id := r.PathValue("envID")
	var b environmentBody
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	cur, err := s.db.Get(ctx, kindEnvironments, id)
	if err != nil {
		return s.fail(err, "")
	}
	var env environment
	if err := json.Unmarshal(cur.Doc, &env); err != nil {
		return s.fail(err, "")
	}
	// Region, type and license may be left out of a PUT: they keep their
	// values.
	if b.Region == "" {
		b.Region = env.Region
	}
	if b.Type == "" {
		b.Type = env.Type
	}
	var ck checker
	checkEnvironmentBody(&ck, &b)
	if b.Region != env.Region && slices.Contains(environmentRegions, b.Region) {
		ck.add("INVALID_VALUE", "region", "region cannot be changed after the environment is created.",
			map[string]any{"allowedValues": []string{env.Region}})
	}
	if b.Type != env.Type && (b.Type == "SANDBOX" || b.Type == "PRODUCTION") {
		ck.add("INVALID_VALUE", "type", "type cannot be changed with this request; use PUT /environments/{environmentID}/type.",
			map[string]any{"allowedValues": []string{env.Type}})
	}
	if e := ck.err(); e != nil {
		return e
	}
	licID := env.License.ID
	if b.License != nil && b.License.ID != "" && b.License.ID != licID {
		lic, e := s.resolveLicense(ctx, c.OrgID, b.License.ID, env.Region, env.Type)
		if e != nil {
			return e
		}
		licID = lic.ID
	}
	now := s.stamp()
	var out store.Object
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if licID != env.License.ID {
			if err := adjustLicense(ctx, tx, env.License.ID, -1); err != nil {
				return err
			}
			if err := adjustLicense(ctx, tx, licID, 1); err != nil {
				return err
			}
		}
		next := env
		next.Name, next.Description, next.Icon, next.License, next.UpdatedAt = b.Name, b.Description, b.Icon, ref{licID}, now
		var err error
		if out, err = tx.Put(ctx, store.Object{Kind: kindEnvironments, ID: id, ParentID: cur.ParentID, Unique: b.Name, Doc: mustJSON(next)}); err != nil {
			return err
		}
		if b.BillOfMaterials != nil {
			_, err = s.replaceBOM(ctx, tx, id, b.BillOfMaterials, now)
		}
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	doc := out.Doc
	if b.BillOfMaterials != nil || wantsBOM(r) {
		doc = s.withBOM(ctx, doc, id)
	}
	writeObject(w, http.StatusOK, doc, environmentLinks(r, id))
	return nil
}

// deleteEnvironment serves DELETE /v1/environments/{envID}. Only SANDBOX
// environments can be deleted. Everything inside goes with it, and so do
// role assignments anywhere that are scoped to it or to its populations
// and applications.
func (s *Server) deleteEnvironment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	id := r.PathValue("envID")
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, err := tx.Get(ctx, kindEnvironments, id)
		if err != nil {
			return err
		}
		var env environment
		if err := json.Unmarshal(o.Doc, &env); err != nil {
			return err
		}
		if env.Type == "PRODUCTION" {
			return errFailed("PRODUCTION environments cannot be deleted. Change the environment's type to SANDBOX first.",
				errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "type", Message: "Only SANDBOX environments can be deleted."})
		}
		scopes := []string{id}
		for _, k := range []store.Kind{kindPopulations, kindApplications} {
			ids, err := idsOf(ctx, tx, k, id)
			if err != nil {
				return err
			}
			scopes = append(scopes, ids...)
		}
		if err := tx.Delete(ctx, kindEnvironments, id); err != nil {
			return err
		}
		if err := deleteScopedAssignments(ctx, tx, scopes); err != nil {
			return err
		}
		return adjustLicense(ctx, tx, env.License.ID, -1)
	})
	if err != nil {
		return s.fail(err, "")
	}
	s.forgetKey(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// forgetKey drops a deleted environment's signing key from the cache.
func (s *Server) forgetKey(envID string) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if k := s.keys.byEnv[envID]; k != nil {
		delete(s.keys.byKid, k.kid)
		delete(s.keys.byEnv, envID)
	}
}

// getBillOfMaterials serves GET /v1/environments/{envID}/billOfMaterials.
func (s *Server) getBillOfMaterials(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	id := r.PathValue("envID")
	o, err := s.db.Get(r.Context(), kindBillOfMaterials, id)
	if err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, o.Doc, bomLinks(r, id))
	return nil
}

func bomLinks(r *http.Request, envID string) links {
	return links{"self": apiBase(r) + "/environments/" + envID + "/billOfMaterials",
		"environment": apiBase(r) + "/environments/" + envID}
}

// updateBillOfMaterials serves PUT /v1/environments/{envID}/billOfMaterials.
// solutionType is kept: the OpenAPI says it is ignored on PUT.
func (s *Server) updateBillOfMaterials(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	id := r.PathValue("envID")
	var b billOfMaterials
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	var ck checker
	checkBOM(&ck, "", &b)
	if e := ck.err(); e != nil {
		return e
	}
	var out store.Object
	err := s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		out, err = s.replaceBOM(ctx, tx, id, &b, s.stamp())
		return err
	})
	if err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, out.Doc, bomLinks(r, id))
	return nil
}

func (s *Server) replaceBOM(ctx context.Context, tx *store.Tx, envID string, b *billOfMaterials, now string) (store.Object, error) {
	return tx.Update(ctx, kindBillOfMaterials, envID, func(o *store.Object) error {
		var cur billOfMaterials
		if err := json.Unmarshal(o.Doc, &cur); err != nil {
			return err
		}
		cur.Products = s.productIDs(b.Products, cur.Products)
		cur.UpdatedAt = now
		o.Doc = mustJSON(cur)
		return nil
	})
}

// ---- helpers shared by the resource handlers --------------------------------

// reader is what handlers read through: the store itself or a transaction.
type reader interface {
	Get(ctx context.Context, kind store.Kind, id string) (store.Object, error)
	List(ctx context.Context, q store.ListQuery) (store.Page, error)
}

// fail maps an error from the store, or an *apiError returned from inside a
// transaction, to the error to answer with. A uniqueness conflict is
// PingOne's 400 UNIQUENESS_VIOLATION on uniqueTarget.
func (s *Server) fail(err error, uniqueTarget string) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return errUnique(uniqueTarget, ce.ExistingID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound()
	}
	s.log.Error("store", "err", err)
	return errUnexpected()
}

// getIn reads an object of kind that must live in envID; anything else is
// 404.
func getIn(ctx context.Context, rd reader, kind store.Kind, envID, id string) (store.Object, *apiError) {
	o, err := rd.Get(ctx, kind, id)
	if err != nil || o.EnvID != envID {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Object{}, errUnexpected()
		}
		if kind == kindApplications {
			return store.Object{}, errNotFoundID("Application", id)
		}
		return store.Object{}, errNotFound()
	}
	return o, nil
}

// idsOf lists the ids of every object of kind in envID.
func idsOf(ctx context.Context, rd reader, kind store.Kind, envID string) ([]string, error) {
	page, err := rd.List(ctx, store.ListQuery{Kind: kind, EnvID: envID})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(page.Items))
	for i, o := range page.Items {
		ids[i] = o.ID
	}
	return ids, nil
}

// anyOf matches documents whose path equals one of values.
func anyOf(path string, values []string) store.Filter {
	if len(values) == 1 {
		return store.Filter{Op: "eq", Path: path, Value: values[0]}
	}
	f := store.Filter{Op: "or"}
	for _, v := range values {
		f.Args = append(f.Args, store.Filter{Op: "eq", Path: path, Value: v})
	}
	return f
}

// deleteScopedAssignments deletes role assignments, in every environment,
// whose scope is one of scopeIDs (a deleted environment, population or
// application).
func deleteScopedAssignments(ctx context.Context, tx *store.Tx, scopeIDs []string) error {
	envs, err := tx.List(ctx, store.ListQuery{Kind: kindEnvironments})
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(scopeIDs, 100) {
		for _, env := range envs.Items {
			page, err := tx.List(ctx, store.ListQuery{Kind: kindRoleAssignments, EnvID: env.ID, Filter: anyOf("scope.id", chunk)})
			if err != nil {
				return err
			}
			for _, o := range page.Items {
				if err := tx.Delete(ctx, kindRoleAssignments, o.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
	}
	return nil
}

// hal renders doc with its _links.
func hal(doc json.RawMessage, l links) json.RawMessage {
	var b bytes.Buffer
	appendHAL(&b, doc, l)
	return b.Bytes()
}

// writeCreated answers 201 with the new object and its Location.
func writeCreated(w http.ResponseWriter, doc json.RawMessage, l links) {
	w.Header().Set("Location", l["self"])
	writeObject(w, http.StatusCreated, doc, l)
}

// writePage writes one page of a listing as a HAL collection, with a next
// link when more objects follow.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, name string, page store.Page, render func(store.Object) json.RawMessage) {
	items := make([]json.RawMessage, 0, len(page.Items))
	for _, o := range page.Items {
		items = append(items, render(o))
	}
	c := collection{Name: name, Items: items, Count: page.Total, Self: selfLink(r)}
	if page.More && len(page.Items) > 0 {
		c.Next = nextLink(r, page.Items[len(page.Items)-1])
	}
	writeCollection(w, c)
}

// splice adds key: value as the last member of the JSON object doc.
func splice(doc json.RawMessage, key string, value json.RawMessage) json.RawMessage {
	doc = bytes.TrimSpace(doc)
	var b bytes.Buffer
	b.Grow(len(doc) + len(key) + len(value) + 4)
	b.Write(doc[:len(doc)-1])
	if len(doc) > 2 {
		b.WriteByte(',')
	}
	writeJSONString(&b, key)
	b.WriteByte(':')
	b.Write(value)
	b.WriteByte('}')
	return b.Bytes()
}

// defaultable is a stored object with PingOne's "default" flag, of which an
// environment has at most one per kind.
type defaultable interface {
	setDefault(on bool, now string)
}

// clearDefaults unsets the default flag of every object of kind in envID but
// except, so that setting one default unsets the others in one transaction.
func clearDefaults[T any, PT interface {
	*T
	defaultable
}](ctx context.Context, tx *store.Tx, kind store.Kind, envID, except, now string) error {
	page, err := tx.List(ctx, store.ListQuery{Kind: kind, EnvID: envID, Filter: store.Filter{Op: "eq", Path: "default", Value: "true"}})
	if err != nil {
		return err
	}
	for _, o := range page.Items {
		if o.ID == except {
			continue
		}
		var v T
		if err := json.Unmarshal(o.Doc, &v); err != nil {
			return err
		}
		PT(&v).setDefault(false, now)
		o.Doc = mustJSON(&v)
		if _, err := tx.Put(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// defaultOf finds the default object of kind in envID.
func defaultOf(ctx context.Context, rd reader, kind store.Kind, envID string) (store.Object, bool, error) {
	page, err := rd.List(ctx, store.ListQuery{Kind: kind, EnvID: envID, Filter: store.Filter{Op: "eq", Path: "default", Value: "true"}, Limit: 1})
	if err != nil || len(page.Items) == 0 {
		return store.Object{}, false, err
	}
	return page.Items[0], true, nil
}

// count counts objects of kind in envID whose path equals value.
func count(ctx context.Context, rd reader, kind store.Kind, envID, path, value string) (int, error) {
	page, err := rd.List(ctx, store.ListQuery{Kind: kind, EnvID: envID, Filter: store.Filter{Op: "eq", Path: path, Value: value}, Limit: 1})
	return page.Total, err
}

// updateEnvironmentType serves PUT /v1/environments/{envID}/type: promote a
// SANDBOX to PRODUCTION (the license must allow PRODUCTION environments),
// or turn a PRODUCTION environment back into a SANDBOX, which PingOne
// requires before it can be deleted.
func (s *Server) updateEnvironmentType(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	ctx := r.Context()
	id := r.PathValue("envID")
	var b struct {
		Type string `json:"type"`
	}
	if e := decodeJSON(r, &b); e != nil {
		return e
	}
	var ck checker
	ck.required("type", b.Type != "")
	ck.enum("type", b.Type, "SANDBOX", "PRODUCTION")
	if e := ck.err(); e != nil {
		return e
	}
	cur, err := s.db.Get(ctx, kindEnvironments, id)
	if err != nil {
		return s.fail(err, "")
	}
	var env environment
	if err := json.Unmarshal(cur.Doc, &env); err != nil {
		return s.fail(err, "")
	}
	if b.Type == "PRODUCTION" && env.Type != "PRODUCTION" {
		if _, e := s.resolveLicense(ctx, c.OrgID, env.License.ID, env.Region, "PRODUCTION"); e != nil {
			return e
		}
	}
	out, err := s.db.Update(ctx, kindEnvironments, id, func(o *store.Object) error {
		env.Type, env.UpdatedAt = b.Type, s.stamp()
		o.Doc = mustJSON(env)
		return nil
	})
	if err != nil {
		return s.fail(err, "")
	}
	doc := out.Doc
	if wantsBOM(r) {
		doc = s.withBOM(ctx, doc, id)
	}
	writeObject(w, http.StatusOK, doc, environmentLinks(r, id))
	return nil
}
