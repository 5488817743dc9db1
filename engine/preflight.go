package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// requiredRoles are the PingOne roles that allow changing each kind (any
// one of them suffices), from PingOne's role-permission tables.
var requiredRoles = map[string][]string{
	KindEnvironments: {"Organization Admin"},
	KindPopulations:  {"Environment Admin"},
	KindUsers:        {"Identity Data Admin"},
	KindWorkerApps:   {"Environment Admin", "Client Application Developer"},
	KindWebApps:      {"Environment Admin", "Client Application Developer"},
}

// Preflight checks that the signed-in worker app's role assignments allow
// every change of the plan, before anything is applied, and says which role
// is missing for which resource instead of failing halfway.
//
// A worker app that creates an environment receives Identity Data Admin,
// Client Application Developer and Environment Admin for it, so changes
// inside environments the plan creates need nothing more. Assigning roles to
// worker apps needs Environment Admin in their environment.
func Preflight(p *Plan) error {
	id := p.Identity
	created := map[Address]bool{}
	envOf := map[Address]string{} // environment address -> live id
	for _, c := range p.Changes {
		if c.Addr.Kind == KindEnvironments {
			if c.Action == Create || c.Action == Replace {
				created[c.Addr] = true
			}
			envOf[c.Addr] = c.ID
		}
	}
	var errs *multierror.Error
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		need := requiredRoles[c.Addr.Kind]
		if c.Addr.Kind == KindEnvironments {
			if !holds(id, need, "") {
				errs = multierror.Append(errs, &PlanError{Addr: c.Addr, Msg: fmt.Sprintf(
					"to %s an environment the worker app needs %s at organization scope; it holds %s",
					c.Action, strings.Join(need, " or "), describeGrants(id))})
			}
			continue
		}
		var envAddr Address
		envID := ""
		if c.Desired != nil {
			envAddr = c.Desired.Env
			if created[envAddr] {
				continue // the creator is granted the roles it needs there
			}
			envID = envOf[envAddr]
		}
		if envID == "" && c.Live != nil {
			envID = c.Live.EnvID
		}
		if c.Addr.Kind == KindWorkerApps && c.Desired != nil && c.Desired.Attrs["roles"] != nil {
			need = []string{"Environment Admin"}
		}
		if !holds(id, need, envID) {
			where := envAddr.String()
			if envAddr == (Address{}) {
				where = "environment " + envID
			}
			errs = multierror.Append(errs, &PlanError{Addr: c.Addr, Msg: fmt.Sprintf(
				"to %s %s the worker app needs %s for %s; it holds %s",
				c.Action, kindNoun(c.Addr.Kind), strings.Join(need, " or "), where, describeGrants(id))})
		}
	}
	if errs != nil {
		sortErrors(errs)
	}
	return errs.ErrorOrNil()
}

// holds reports whether id holds one of roles for envID (at organization
// scope, or at the environment's scope; "" asks for organization scope).
func holds(id Identity, roles []string, envID string) bool {
	for _, g := range id.Grants {
		if !slices.Contains(roles, g.Role) {
			continue
		}
		if g.ScopeType == "ORGANIZATION" || envID != "" && g.ScopeType == "ENVIRONMENT" && g.ScopeID == envID {
			return true
		}
	}
	return false
}

func describeGrants(id Identity) string {
	if len(id.Grants) == 0 {
		return "no roles"
	}
	parts := make([]string, 0, len(id.Grants))
	for _, g := range id.Grants {
		scope := strings.ToLower(g.ScopeType)
		if g.ScopeType != "ORGANIZATION" {
			scope += " " + g.ScopeID
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", g.Role, scope))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func kindNoun(kind string) string {
	switch kind {
	case KindWorkerApps:
		return "a worker app"
	case KindWebApps:
		return "a web app"
	case KindUsers:
		return "a user"
	case KindPopulations:
		return "a population"
	}
	return kind
}
