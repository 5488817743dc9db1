package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

// routes is the one route table. Auth API routes are unauthenticated, as in
// PingOne; management routes go through s.api with the access rule of
// pingone-api.md §4 ("Which role each call needs").
func (s *Server) routes() {
	m := s.mux
	var (
		anyone     = anyRole()
		orgAdmin   = orgRole(roleOrgAdmin)
		orgOrEnv   = orgRole(roleOrgAdmin, roleEnvAdmin)
		envRead    = envRole(roleOrgAdmin, roleEnvAdmin, roleIDAdmin, roleIDReadOnly, roleAppDev, roleConfigRO, roleHelpDesk, roleAppOwner)
		envAdmin   = envRole(roleEnvAdmin)
		popRead    = envRole(roleEnvAdmin, roleIDAdmin, roleIDReadOnly, roleConfigRO, roleHelpDesk)
		userRead   = envOrPopRole(roleIDAdmin, roleIDReadOnly, roleHelpDesk)
		userWrite  = envOrPopRole(roleIDAdmin)
		password   = envOrPopRole(roleIDAdmin, roleHelpDesk)
		appRead    = envRole(roleEnvAdmin, roleAppDev, roleConfigRO, roleAppOwner)
		appWrite   = envRole(roleEnvAdmin, roleAppDev)
		policyRead = envRole(roleEnvAdmin, roleIDAdmin, roleConfigRO)
	)

	// Everything else answers PingOne's JSON error body, never ServeMux's
	// text/plain 404 or 405 (clients refuse those).
	m.HandleFunc("/", s.unmatched)

	// Auth API: https://auth.pingone.{tld}/{envID}/as/...
	m.HandleFunc("POST /{envID}/as/token", s.token)
	m.HandleFunc("GET /{envID}/as/jwks", s.jwks)

	// Sign-on (pingone-api.md §7): OIDC endpoints, the flow API and the
	// hosted sign-on page (on apps.pingone.{tld} in PingOne, here on the
	// emulator's own origin).
	m.HandleFunc("GET /{envID}/as/.well-known/openid-configuration", s.discovery)
	m.HandleFunc("GET /{envID}/.well-known/openid-configuration", s.discovery)
	m.HandleFunc("GET /{envID}/as/authorize", s.authorize)
	m.HandleFunc("POST /{envID}/as/authorize", s.authorize)
	m.HandleFunc("GET /{envID}/as/resume", s.resume)
	m.HandleFunc("GET /{envID}/as/userinfo", s.userinfo)
	m.HandleFunc("POST /{envID}/as/userinfo", s.userinfo)
	m.HandleFunc("GET /{envID}/as/signoff", s.signoff)
	m.HandleFunc("GET /{envID}/flows/{flowID}", s.getFlow)
	m.HandleFunc("POST /{envID}/flows/{flowID}", s.flowAction)
	m.HandleFunc("GET /{envID}/signon/{$}", s.signOnPage)
	m.HandleFunc("POST /{envID}/signon/{$}", s.signOnSubmit)

	// Organizations, licenses, roles.
	m.Handle("GET /v1/organizations", s.api(anyone, s.listOrganizations))
	m.Handle("GET /v1/organizations/{orgID}", s.api(anyone, s.getOrganization))
	m.Handle("GET /v1/organizations/{orgID}/licenses", s.api(orgOrEnv, s.listLicenses))
	m.Handle("GET /v1/roles", s.api(anyone, s.listRoles))
	m.Handle("GET /v1/roles/{roleID}", s.api(anyone, s.getRole))

	// Environments and their bill of materials.
	m.Handle("GET /v1/environments", s.api(anyone, s.listEnvironments))
	m.Handle("POST /v1/environments", s.api(orgAdmin, s.createEnvironment))
	m.Handle("GET /v1/environments/{envID}", s.api(envRead, s.getEnvironment))
	m.Handle("PUT /v1/environments/{envID}", s.api(orgAdmin, s.updateEnvironment))
	m.Handle("DELETE /v1/environments/{envID}", s.api(orgAdmin, s.deleteEnvironment))
	m.Handle("PUT /v1/environments/{envID}/type", s.api(orgAdmin, s.updateEnvironmentType))
	m.Handle("GET /v1/environments/{envID}/billOfMaterials", s.api(envRead, s.getBillOfMaterials))
	m.Handle("PUT /v1/environments/{envID}/billOfMaterials", s.api(orgAdmin, s.updateBillOfMaterials))

	// Populations.
	m.Handle("GET /v1/environments/{envID}/populations", s.api(popRead, s.listPopulations))
	m.Handle("POST /v1/environments/{envID}/populations", s.api(envAdmin, s.createPopulation))
	m.Handle("GET /v1/environments/{envID}/populations/{popID}", s.api(popRead, s.getPopulation))
	m.Handle("PUT /v1/environments/{envID}/populations/{popID}", s.api(envAdmin, s.updatePopulation))
	m.Handle("DELETE /v1/environments/{envID}/populations/{popID}", s.api(envAdmin, s.deletePopulation))

	// Users, their passwords and populations.
	m.Handle("GET /v1/environments/{envID}/users", s.api(userRead, s.listUsers))
	m.Handle("POST /v1/environments/{envID}/users", s.api(userWrite, s.createUser))
	m.Handle("GET /v1/environments/{envID}/users/{userID}", s.api(userRead, s.getUser))
	m.Handle("PUT /v1/environments/{envID}/users/{userID}", s.api(userWrite, s.replaceUser))
	m.Handle("PATCH /v1/environments/{envID}/users/{userID}", s.api(userWrite, s.patchUser))
	m.Handle("POST /v1/environments/{envID}/users/{userID}", s.api(password, s.userAction))
	m.Handle("DELETE /v1/environments/{envID}/users/{userID}", s.api(userWrite, s.deleteUser))
	m.Handle("GET /v1/environments/{envID}/users/{userID}/password", s.api(userRead, s.getPassword))
	m.Handle("PUT /v1/environments/{envID}/users/{userID}/password", s.api(password, s.setPassword))
	m.Handle("POST /v1/environments/{envID}/users/{userID}/password", s.api(password, s.passwordAction))
	m.Handle("GET /v1/environments/{envID}/users/{userID}/population", s.api(userRead, s.getUserPopulation))
	m.Handle("PUT /v1/environments/{envID}/users/{userID}/population", s.api(userWrite, s.setUserPopulation))
	m.Handle("GET /v1/environments/{envID}/users/{userID}/enabled", s.api(userRead, s.getUserEnabled))
	m.Handle("PUT /v1/environments/{envID}/users/{userID}/enabled", s.api(userWrite, s.setUserEnabled))
	m.Handle("GET /v1/environments/{envID}/users/{userID}/mfaEnabled", s.api(userRead, s.getUserMFAEnabled))
	m.Handle("PUT /v1/environments/{envID}/users/{userID}/mfaEnabled", s.api(userWrite, s.setUserMFAEnabled))

	// Applications, secrets, role assignments, grants, sign-on policy assignments.
	m.Handle("GET /v1/environments/{envID}/applications", s.api(appRead, s.listApplications))
	m.Handle("POST /v1/environments/{envID}/applications", s.api(appWrite, s.createApplication))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}", s.api(appRead, s.getApplication))
	m.Handle("PUT /v1/environments/{envID}/applications/{appID}", s.api(appWrite, s.updateApplication))
	m.Handle("DELETE /v1/environments/{envID}/applications/{appID}", s.api(appWrite, s.deleteApplication))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/secret", s.api(appWrite, s.getSecret))
	m.Handle("POST /v1/environments/{envID}/applications/{appID}/secret", s.api(appWrite, s.rotateSecret))
	m.Handle("DELETE /v1/environments/{envID}/applications/{appID}/secret", s.api(appWrite, s.deletePreviousSecret))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/roleAssignments", s.api(envRead, s.listRoleAssignments))
	m.Handle("POST /v1/environments/{envID}/applications/{appID}/roleAssignments", s.api(envRead, s.createRoleAssignment))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/roleAssignments/{raID}", s.api(envRead, s.getRoleAssignment))
	m.Handle("DELETE /v1/environments/{envID}/applications/{appID}/roleAssignments/{raID}", s.api(envRead, s.deleteRoleAssignment))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/grants", s.api(appRead, s.listGrants))
	m.Handle("POST /v1/environments/{envID}/applications/{appID}/grants", s.api(appWrite, s.createGrant))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/grants/{grantID}", s.api(appRead, s.getGrant))
	m.Handle("PUT /v1/environments/{envID}/applications/{appID}/grants/{grantID}", s.api(appWrite, s.updateGrant))
	m.Handle("DELETE /v1/environments/{envID}/applications/{appID}/grants/{grantID}", s.api(appWrite, s.deleteGrant))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/signOnPolicyAssignments", s.api(appRead, s.listSOPAssignments))
	m.Handle("POST /v1/environments/{envID}/applications/{appID}/signOnPolicyAssignments", s.api(appWrite, s.createSOPAssignment))
	m.Handle("GET /v1/environments/{envID}/applications/{appID}/signOnPolicyAssignments/{sopaID}", s.api(appRead, s.getSOPAssignment))
	m.Handle("PUT /v1/environments/{envID}/applications/{appID}/signOnPolicyAssignments/{sopaID}", s.api(appWrite, s.updateSOPAssignment))
	m.Handle("DELETE /v1/environments/{envID}/applications/{appID}/signOnPolicyAssignments/{sopaID}", s.api(appWrite, s.deleteSOPAssignment))

	// Resources and scopes.
	m.Handle("GET /v1/environments/{envID}/resources", s.api(appRead, s.listResources))
	m.Handle("POST /v1/environments/{envID}/resources", s.api(appWrite, s.createResource))
	m.Handle("GET /v1/environments/{envID}/resources/{resID}", s.api(appRead, s.getResource))
	m.Handle("PUT /v1/environments/{envID}/resources/{resID}", s.api(appWrite, s.updateResource))
	m.Handle("DELETE /v1/environments/{envID}/resources/{resID}", s.api(appWrite, s.deleteResource))
	m.Handle("GET /v1/environments/{envID}/resources/{resID}/scopes", s.api(appRead, s.listScopes))
	m.Handle("POST /v1/environments/{envID}/resources/{resID}/scopes", s.api(appWrite, s.createScope))
	m.Handle("GET /v1/environments/{envID}/resources/{resID}/scopes/{scopeID}", s.api(appRead, s.getScope))
	m.Handle("PUT /v1/environments/{envID}/resources/{resID}/scopes/{scopeID}", s.api(appWrite, s.updateScope))
	m.Handle("DELETE /v1/environments/{envID}/resources/{resID}/scopes/{scopeID}", s.api(appWrite, s.deleteScope))

	// Sign-on and password policies.
	m.Handle("GET /v1/environments/{envID}/signOnPolicies", s.api(policyRead, s.listSignOnPolicies))
	m.Handle("POST /v1/environments/{envID}/signOnPolicies", s.api(envAdmin, s.createSignOnPolicy))
	m.Handle("GET /v1/environments/{envID}/signOnPolicies/{sopID}", s.api(policyRead, s.getSignOnPolicy))
	m.Handle("PUT /v1/environments/{envID}/signOnPolicies/{sopID}", s.api(envAdmin, s.updateSignOnPolicy))
	m.Handle("DELETE /v1/environments/{envID}/signOnPolicies/{sopID}", s.api(envAdmin, s.deleteSignOnPolicy))
	m.Handle("GET /v1/environments/{envID}/signOnPolicies/{sopID}/actions", s.api(policyRead, s.listSignOnActions))
	m.Handle("GET /v1/environments/{envID}/signOnPolicies/{sopID}/actions/{actionID}", s.api(policyRead, s.getSignOnAction))
	m.Handle("GET /v1/environments/{envID}/passwordPolicies", s.api(policyRead, s.listPasswordPolicies))
	m.Handle("POST /v1/environments/{envID}/passwordPolicies", s.api(envAdmin, s.createPasswordPolicy))
	m.Handle("GET /v1/environments/{envID}/passwordPolicies/{ppID}", s.api(policyRead, s.getPasswordPolicy))
	m.Handle("PUT /v1/environments/{envID}/passwordPolicies/{ppID}", s.api(envAdmin, s.updatePasswordPolicy))
	m.Handle("DELETE /v1/environments/{envID}/passwordPolicies/{ppID}", s.api(envAdmin, s.deletePasswordPolicy))
}

// unmatched answers a request no route serves: 405 with Allow when the path
// exists for other methods, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, p := s.mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, method)
		}
	}
	if len(allow) == 0 {
		s.writeError(w, errNotFound())
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: "INVALID_REQUEST",
		Message: fmt.Sprintf("The request could not be completed. Method %s is not supported for this resource.", r.Method)})
}
