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
		if c.Addr.Kind == KindWorkerApps && c.Desired != nil {
			for _, msg := range ungrantable(p, id, c, created) {
				errs = multierror.Append(errs, &PlanError{Addr: c.Addr, Msg: msg})
			}
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

// canAssign is PingOne's "can assign" table: which roles a holder of a
// role may grant.
var canAssign = map[string]func(string) bool{
	"Organization Admin": func(r string) bool { return r == "Environment Admin" },
	"Environment Admin":  func(r string) bool { return r != "Organization Admin" },
	"Identity Data Admin": func(r string) bool {
		return slices.Contains([]string{"Identity Data Admin", "Identity Data Read Only", "Help Desk Admin"}, r)
	},
	"DaVinci Admin": func(r string) bool { return r == "DaVinci Admin" || r == "DaVinci Admin Read Only" },
}

// scopeRef is a role's target scope with environment ids resolved: envID
// is a live id, or "new:ADDR" for an environment the plan creates.
type scopeRef struct {
	typ, id, envID string
}

// ungrantable returns, for a worker app's roles that the plan adds, why
// the signed-in app may not grant them: PingOne lets an actor assign a role
// only if it holds the role itself, and a role that may assign it, at the
// same or a broader scope.
func ungrantable(p *Plan, id Identity, c Change, created map[Address]bool) []string {
	byAddr := map[Address]Change{}
	for _, o := range p.Changes {
		byAddr[o.Addr] = o
	}
	envRef := func(a Address) string {
		if created[a] {
			return "new:" + a.String()
		}
		return byAddr[a].ID
	}
	grants := append([]Grant(nil), id.Grants...)
	for a := range created {
		// The creator of an environment is granted these roles in it.
		for _, r := range []string{"Identity Data Admin", "Client Application Developer", "Environment Admin"} {
			grants = append(grants, Grant{Role: r, ScopeType: "ENVIRONMENT", ScopeID: envRef(a)})
		}
	}
	live := map[string]bool{}
	if c.Live != nil {
		roles, _ := c.Live.Attrs["roles"].([]any)
		for _, r := range roles {
			live[roleKey(r)] = true
		}
	}
	covers := func(g Grant, s scopeRef) bool {
		switch g.ScopeType {
		case "ORGANIZATION":
			return true
		case "ENVIRONMENT":
			return s.typ != "ORGANIZATION" && g.ScopeID == s.envID
		default:
			return g.ScopeType == s.typ && g.ScopeID == s.id
		}
	}
	var out []string
	roles, _ := c.Desired.Attrs["roles"].([]any)
	for _, r := range roles {
		m, _ := r.(map[string]any)
		name, _ := m["role"].(string)
		sc, _ := m["scope"].(map[string]any)
		s := scopeRef{}
		s.typ, _ = sc["type"].(string)
		var where string
		switch ref, _ := sc["id"].(Ref); s.typ {
		case "ENVIRONMENT":
			s.id = envRef(ref.Addr)
			s.envID, where = s.id, ref.Addr.String()
		case "POPULATION":
			pc := byAddr[ref.Addr]
			s.id = pc.ID
			if s.id == "" {
				s.id = "new:" + ref.Addr.String()
			}
			if pc.Desired != nil {
				s.envID = envRef(pc.Desired.Env)
			}
			where = ref.Addr.String()
		default:
			where = "the organization"
		}
		if live[roleKey(map[string]any{"role": name, "scope": map[string]any{"type": s.typ, "id": s.id}})] {
			continue
		}
		var holdsIt, mayAssign bool
		for _, g := range grants {
			if !covers(g, s) {
				continue
			}
			holdsIt = holdsIt || g.Role == name
			if f := canAssign[g.Role]; f != nil && f(name) {
				mayAssign = true
			}
		}
		if !holdsIt || !mayAssign {
			out = append(out, fmt.Sprintf("the worker app p1ctl signs in as cannot grant %s for %s: PingOne requires it to hold %s there (or more broadly) and a role that may assign it; it holds %s",
				name, where, name, describeGrants(id)))
		}
	}
	return out
}

// roleKey identifies a role assignment by role name, scope type and id.
func roleKey(r any) string {
	m, _ := r.(map[string]any)
	sc, _ := m["scope"].(map[string]any)
	id, _ := sc["id"].(string)
	return fmt.Sprintf("%v|%v|%s", m["role"], sc["type"], id)
}
