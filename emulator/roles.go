package emulator

import (
	"crypto/sha1"
	"github.com/google/uuid"
	"slices"
	"strings"
)

// role is one of PingOne's built-in administrator roles (GET /roles).
type role struct {
	ID           string
	Name         string
	Description  string
	ApplicableTo []string // scope types the role may be assigned at
	CanAssign    []string // role names a holder may grant to others
	Permissions  []string // permission ids, for clients that read them
}

// Role names used by the access rules.
const (
	roleOrgAdmin     = "Organization Admin"
	roleEnvAdmin     = "Environment Admin"
	roleIDAdmin      = "Identity Data Admin"
	roleIDReadOnly   = "Identity Data Read Only"
	roleAppDev       = "Client Application Developer"
	roleAppOwner     = "Application Owner"
	roleConfigRO     = "Configuration Read Only"
	roleHelpDesk     = "Help Desk Admin"
	roleCustomRoles  = "Custom Roles Admin"
	roleDaVinci      = "DaVinci Admin"
	roleDaVinciRO    = "DaVinci Admin Read Only"
	scopeOrg         = "ORGANIZATION"
	scopeEnvironment = "ENVIRONMENT"
	scopePopulation  = "POPULATION"
	scopeApplication = "APPLICATION"
)

// builtinRoles is the roles table of pingone-api.md §4: names from the
// OpenAPI enum, the role × scope matrix, and the "can assign" rule of the
// getting-started guide. Role ids are stable UUIDs derived from the name, so
// they survive resets and restarts.
var builtinRoles = func() []role {
	all := []role{
		{Name: roleOrgAdmin, Description: "Manages the organization: environments, licenses and organization settings.",
			ApplicableTo: []string{scopeOrg}, CanAssign: []string{roleEnvAdmin},
			Permissions: []string{"orgmgt:create:environment", "orgmgt:read:environment", "orgmgt:update:environment", "orgmgt:delete:environment", "orgmgt:read:organization", "orgmgt:read:license"}},
		{Name: roleEnvAdmin, Description: "Manages environments: applications, populations, policies and role assignments.",
			ApplicableTo: []string{scopeOrg, scopeEnvironment},
			Permissions: []string{"orgmgt:read:environment", "orgmgt:read:billOfMaterials", "orgmgt:update:billOfMaterials", "applications:create:application", "applications:read:application", "applications:update:application", "applications:delete:application",
				"applications:read:secret", "applications:update:secret", "applicationRoles:create:applicationRoleAssignment", "applicationRoles:delete:applicationRoleAssignment", "applicationRoles:read:applicationRoleAssignment",
				"directory:create:population", "directory:read:population", "directory:update:population", "directory:delete:population", "mfa:read:passwordPolicy", "signOnPolicies:read:signOnPolicy", "oauth:read:resource", "oauth:create:resource"}},
		{Name: roleIDAdmin, Description: "Manages users and their data.", ApplicableTo: []string{scopeEnvironment, scopePopulation},
			CanAssign:   []string{roleIDAdmin, roleIDReadOnly, roleHelpDesk},
			Permissions: []string{"directory:create:user", "directory:read:user", "directory:update:user", "directory:delete:user", "directory:update:password", "directory:read:population", "directory:update:userPopulation"}},
		{Name: roleIDReadOnly, Description: "Reads users and their data.", ApplicableTo: []string{scopeEnvironment, scopePopulation},
			Permissions: []string{"directory:read:user", "directory:read:population"}},
		{Name: roleAppDev, Description: "Manages applications, resources, scopes and grants.", ApplicableTo: []string{scopeEnvironment},
			Permissions: []string{"applications:create:application", "applications:read:application", "applications:update:application", "applications:delete:application", "applications:read:secret", "applications:update:secret", "oauth:read:resource", "oauth:create:resource"}},
		{Name: roleAppOwner, Description: "Manages one application.", ApplicableTo: []string{scopeEnvironment, scopeApplication},
			Permissions: []string{"applications:read:application", "applications:update:application"}},
		{Name: roleConfigRO, Description: "Reads environment configuration.", ApplicableTo: []string{scopeEnvironment},
			Permissions: []string{"orgmgt:read:environment", "applications:read:application", "directory:read:population"}},
		{Name: roleCustomRoles, Description: "Manages custom roles.", ApplicableTo: []string{scopeEnvironment},
			Permissions: []string{"authorize:read:role"}},
		{Name: roleHelpDesk, Description: "Helps users: reads users, resets passwords, unlocks accounts.", ApplicableTo: []string{scopeEnvironment, scopePopulation},
			Permissions: []string{"directory:read:user", "directory:update:password"}},
		{Name: roleDaVinci, Description: "Manages DaVinci flows.", ApplicableTo: []string{scopeEnvironment},
			CanAssign: []string{roleDaVinci, roleDaVinciRO}, Permissions: []string{"davinci:update:flow"}},
		{Name: roleDaVinciRO, Description: "Reads DaVinci flows.", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"davinci:read:flow"}},
		{Name: "Advanced Identity Cloud Super Admin", ApplicableTo: []string{scopeOrg}, Permissions: []string{"aic:admin:tenant"}},
		{Name: "Advanced Identity Cloud Tenant Admin", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"aic:admin:tenant"}},
		{Name: "Authorize Gateway Policy Evaluator", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"authorize:evaluate:decision"}},
		{Name: "PingFederate Administrator", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"pingfederate:admin:all"}},
		{Name: "PingFederate Auditor", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"pingfederate:read:all"}},
		{Name: "PingFederate Crypto Administrator", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"pingfederate:admin:crypto"}},
		{Name: "PingFederate Expression Administrator", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"pingfederate:admin:expressions"}},
		{Name: "PingFederate User Administrator", ApplicableTo: []string{scopeEnvironment}, Permissions: []string{"pingfederate:admin:users"}},
	}
	// Environment Admin may assign every role except Organization Admin.
	envAdmin := &all[1]
	for i := range all {
		all[i].ID = nameUUID("role:" + all[i].Name)
		if all[i].Description == "" {
			all[i].Description = all[i].Name + "."
		}
		if all[i].Name != roleOrgAdmin {
			envAdmin.CanAssign = append(envAdmin.CanAssign, all[i].Name)
		}
	}
	return all
}()

func roleByID(id string) (role, bool) {
	i := slices.IndexFunc(builtinRoles, func(r role) bool { return strings.EqualFold(r.ID, id) })
	if i < 0 {
		return role{}, false
	}
	return builtinRoles[i], true
}

func roleByName(name string) (role, bool) {
	i := slices.IndexFunc(builtinRoles, func(r role) bool { return r.Name == name })
	if i < 0 {
		return role{}, false
	}
	return builtinRoles[i], true
}

// nameUUID derives a stable UUID (version 5 layout) from a name.
func nameUUID(name string) string {
	sum := sha1.Sum([]byte("p1ctl-emulator/" + name))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}
