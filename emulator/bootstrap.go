package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/p1ctl/p1ctl/emulator/store"
)

const bootstrapMetaID = "bootstrap"

// bootstrapTime is when bootstrapped objects claim to have been made: far
// enough back to be outside any lag window.
const bootstrapTime = "2024-01-01T00:00:00.000Z"

type bootstrapMeta struct {
	OrganizationID string `json:"organizationId"`
	EnvironmentID  string `json:"environmentId"`
	ClientID       string `json:"clientId"`
}

// bootstrap loads the bootstrap record of a used store, or seeds an empty
// one. Fixed credentials in Options apply only to an empty store; a store
// that already has other credentials keeps them, and New says so.
func (s *Server) bootstrap(ctx context.Context) error {
	o, err := s.db.Get(ctx, kindMeta, bootstrapMetaID)
	switch {
	case err == nil:
		var m bootstrapMeta
		var sec appSecrets
		if err := json.Unmarshal(o.Doc, &m); err != nil {
			return fmt.Errorf("read bootstrap record: %w", err)
		}
		app, err := s.db.Get(ctx, kindApplications, m.ClientID)
		if err != nil {
			return fmt.Errorf("bootstrap worker app %s: %w", m.ClientID, err)
		}
		json.Unmarshal(app.Private, &sec)
		if s.opts.ClientID != "" && s.opts.ClientID != m.ClientID {
			return fmt.Errorf("the store in use was bootstrapped with client id %s, not %s: use that id, or a new data directory", m.ClientID, s.opts.ClientID)
		}
		if s.opts.ClientSecret != "" && !constantTimeEqual(s.opts.ClientSecret, sec.Secret) {
			return errors.New("the store in use was bootstrapped with another client secret: use that secret, or a new data directory")
		}
		s.mu.Lock()
		s.boot = Bootstrap{OrganizationID: m.OrganizationID, EnvironmentID: m.EnvironmentID, ClientID: m.ClientID, ClientSecret: sec.Secret}
		s.mu.Unlock()
		return nil
	case errors.Is(err, store.ErrNotFound):
		b := Bootstrap{OrganizationID: s.ids.New(), EnvironmentID: s.ids.New(), ClientID: s.opts.ClientID, ClientSecret: s.opts.ClientSecret}
		if b.ClientID == "" {
			b.ClientID = s.ids.New()
		} else if !isUUID(b.ClientID) {
			return fmt.Errorf("client id %q is not a UUID: PingOne client ids are application ids, which are UUIDs", b.ClientID)
		}
		if b.ClientSecret == "" {
			b.ClientSecret = s.ids.Secret()
		}
		return s.bootstrapWith(ctx, b)
	default:
		return err
	}
}

// bootstrapWith seeds an empty store with b's organization, licenses,
// administrators' environment and worker app, in one transaction.
func (s *Server) bootstrapWith(ctx context.Context, b Bootstrap) error {
	now := s.stamp()
	licenseID := nameUUID("license:" + b.OrganizationID)
	trialID := nameUUID("license-trial:" + b.OrganizationID)
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		objs := []store.Object{
			{Kind: kindOrganizations, ID: b.OrganizationID, Doc: mustJSON(map[string]any{
				"id": b.OrganizationID, "name": "p1ctl Emulator", "description": "Organization of the p1ctl PingOne emulator",
				"type": "PAID", "billingConnections": []any{}, "createdAt": now, "updatedAt": now})},
			{Kind: kindLicenses, ID: licenseID, ParentID: b.OrganizationID, Doc: mustJSON(license{
				ID: licenseID, Name: "Emulator license", Package: "GLOBAL", Status: "ACTIVE",
				Organization: ref{b.OrganizationID}, BeginsAt: "2024-01-01T00:00:00.000Z", ExpiresAt: "2099-12-31T00:00:00.000Z",
				TerminatesAt: "2099-12-31T00:00:00.000Z", AssignedEnvironmentsCount: 1,
				Environments: &licenseEnvironments{AllowProduction: true, AllowConnections: true, AllowCustomSchema: true, Max: 1000,
					Regions: []string{"NORTH_AMERICA", "EU", "AP", "CA", "AU", "SG"}},
				Users: &licenseUsers{Max: 1000000, AllowPasswordPolicy: true, AllowRoleAssignment: true}})},
			{Kind: kindLicenses, ID: trialID, ParentID: b.OrganizationID, Doc: mustJSON(license{
				ID: trialID, Name: "Expired trial", Package: "TRIAL", Status: "EXPIRED",
				Organization: ref{b.OrganizationID}, BeginsAt: "2023-01-01T00:00:00.000Z", ExpiresAt: "2023-01-31T00:00:00.000Z",
				TerminatesAt: "2023-03-01T00:00:00.000Z",
				Environments: &licenseEnvironments{Max: 20, Regions: []string{"NORTH_AMERICA"}},
				Users:        &licenseUsers{Max: 1000}})},
			{Kind: kindMeta, ID: bootstrapMetaID, Doc: mustJSON(bootstrapMeta{
				OrganizationID: b.OrganizationID, EnvironmentID: b.EnvironmentID, ClientID: b.ClientID})},
		}
		for _, o := range objs {
			if _, err := tx.Create(ctx, o); err != nil {
				return err
			}
		}
		if err := s.createEnvironmentTx(ctx, tx, newEnvironment{
			ID: b.EnvironmentID, Name: "Administrators", Description: "Administrators' environment of the p1ctl emulator",
			Type: "PRODUCTION", Region: "NA", OrganizationID: b.OrganizationID, LicenseID: licenseID,
			// Backdated like the worker's role assignments below, so that
			// the lag window never hides the administrators' environment.
			CreatedAt: bootstrapTime,
		}); err != nil {
			return err
		}
		app := map[string]any{
			"id": b.ClientID, "name": "p1ctl bootstrap worker", "description": "Worker app created by the emulator's bootstrap",
			"enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT", "environment": ref{b.EnvironmentID},
			"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
			"createdAt": now, "updatedAt": now,
		}
		if _, err := tx.Create(ctx, store.Object{Kind: kindApplications, ID: b.ClientID, EnvID: b.EnvironmentID,
			Unique: "p1ctl bootstrap worker", Doc: mustJSON(app), Private: mustJSON(appSecrets{Secret: b.ClientSecret})}); err != nil {
			return err
		}
		for _, name := range []string{roleOrgAdmin, roleEnvAdmin} {
			rl, _ := roleByName(name)
			ra := roleAssignment{ID: s.ids.New(), Role: ref{rl.ID}, Scope: scopeRef{ID: b.OrganizationID, Type: scopeOrg},
				Environment: ref{b.EnvironmentID}, CreatedAt: bootstrapTime}
			if _, err := tx.Create(ctx, store.Object{Kind: kindRoleAssignments, ID: ra.ID, EnvID: b.EnvironmentID,
				ParentID: b.ClientID, Unique: ra.Role.ID + "/" + ra.Scope.Type + "/" + ra.Scope.ID, Doc: mustJSON(ra)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.boot = b
	s.mu.Unlock()
	return nil
}

// mustJSON marshals values the server itself built; it cannot fail for them.
// It leaves &, < and > as they are (json.Marshal escapes them for HTML),
// so URLs read as PingOne writes them.
func mustJSON(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("emulator: marshal %T: %v", v, err))
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}
