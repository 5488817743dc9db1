package engine

import (
	"context"
	"slices"
	"strings"
)

// Ref refers to another resource from inside a desired attribute value. The
// engine replaces it with the referenced object's PingOne id before it calls
// a Provider, or with a diff.Unknown while that object does not exist yet.
type Ref struct {
	Addr Address
}

// Resource is one object of the desired state.
type Resource struct {
	Addr Address
	// Env is the environment the resource lives in; zero for environments.
	Env Address
	// Name is the natural key that matches the resource to a live object:
	// an environment's name in the organization; a population's name, a
	// user's username or an application's name in its environment.
	Name string
	// Existing environments are looked up by name, never created, changed
	// or deleted.
	Existing bool
	// Attrs are the PingOne attributes the manifest sets, JSON-shaped
	// (string, bool, number, []any, map[string]any), with Ref values where
	// they name another resource. Only these are compared with live state.
	Attrs map[string]any
	// Secrets are write-only attributes (a user's password): sent on create,
	// and on update only when asked; never read back, compared or printed.
	Secrets map[string]any

	// EnvID is the PingOne id of Env. The engine sets it, with every Ref in
	// Attrs resolved, in the copy it hands to a Provider.
	EnvID string
}

// DependsOn returns the addresses r needs to exist first: its environment
// and every Ref in its attributes, sorted.
func (r Resource) DependsOn() []Address {
	var out []Address
	if r.Env != (Address{}) {
		out = append(out, r.Env)
	}
	walkRefs(r.Attrs, func(ref Ref) { out = append(out, ref.Addr) })
	slices.SortFunc(out, Address.Compare)
	return slices.Compact(out)
}

// walkRefs calls fn for every Ref inside v.
func walkRefs(v any, fn func(Ref)) {
	switch x := v.(type) {
	case Ref:
		fn(x)
	case map[string]any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

// mapRefs returns a copy of v with every Ref replaced by fn's result.
func mapRefs(v any, fn func(Ref) any) any {
	switch x := v.(type) {
	case Ref:
		return fn(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = mapRefs(e, fn)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mapRefs(e, fn)
		}
		return out
	}
	return v
}

// NaturalKey is how a name is matched: usernames case-insensitively, as
// PingOne treats them; other names exactly.
func NaturalKey(kind, name string) string {
	if kind == KindUsers {
		return strings.ToLower(name)
	}
	return name
}

// Live is an object as PingOne has it, in the same shape as a Resource's
// attributes (ids where a Resource has Refs).
type Live struct {
	Kind  string // a manifest kind, e.g. KindUsers
	ID    string
	EnvID string // "" for environments
	Name  string // the natural key's value
	Attrs map[string]any
	// Protected says why prune must never delete the object ("" when it
	// may): built-ins PingOne creates, or the worker app p1ctl signs in as.
	Protected string
}

// Query selects live objects of one kind.
type Query struct {
	Kind  string
	EnvID string // for kinds inside an environment
}

// Grant is one role assignment of the signed-in actor.
type Grant struct {
	Role      string // role name, e.g. "Organization Admin"
	ScopeType string // ORGANIZATION, ENVIRONMENT, POPULATION, APPLICATION
	ScopeID   string
}

// Identity is who the Provider is signed in as.
type Identity struct {
	AppID, EnvID, OrgID string
	Grants              []Grant
}

// Provider reads and changes PingOne objects. Safe for concurrent use.
//
// A Create whose outcome is unknown (a timeout, a dropped connection, a 5xx
// after the request was sent) is never re-sent blindly: the Provider looks the
// natural key up first and returns the object if it was created.
type Provider interface {
	// Whoami returns the signed-in actor and its role assignments.
	Whoami(ctx context.Context) (Identity, error)
	// List returns every live object of a kind (in q.EnvID for kinds
	// inside an environment).
	List(ctx context.Context, q Query) ([]Live, error)
	// Create makes r, whose Refs are resolved and EnvID set.
	Create(ctx context.Context, r Resource) (Live, error)
	// Update changes old to match r's Attrs (and Secrets, when r has any).
	Update(ctx context.Context, r Resource, old Live) (Live, error)
	// Delete removes l.
	Delete(ctx context.Context, l Live) error
}
