package manifests

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/graph"
)

// APIVersion is the only manifest format version this package reads.
const APIVersion = "p1ctl/v1"

// Manifest is the desired state merged from every manifest file, with
// defaults applied. Each map is keyed by the resource's local key; references
// between resources (Environment, Population, scopes) hold keys too.
//
// A Manifest returned with an error is partial: resources with problems may be
// missing or incomplete. Only a Manifest loaded without error is consistent.
type Manifest struct {
	Environments map[string]*Environment
	Populations  map[string]*Population
	Users        map[string]*User
	WorkerApps   map[string]*WorkerApp
	WebApps      map[string]*WebApp
}

func newManifest() *Manifest {
	return &Manifest{
		Environments: map[string]*Environment{},
		Populations:  map[string]*Population{},
		Users:        map[string]*User{},
		WorkerApps:   map[string]*WorkerApp{},
		WebApps:      map[string]*WebApp{},
	}
}

// Environment is a PingOne environment. When Existing is set, p1ctl only
// looks it up by Name; Type, Description and License are then empty.
type Environment struct {
	Pos         Pos    // where the key is defined
	Name        string // natural key in the organization
	Region      string // NA, EU, AP, CA, AU or SG
	Type        string // SANDBOX (default) or PRODUCTION; empty when Existing
	Description string
	License     string // license id; empty: the organization's license that fits
	Existing    bool
}

// Population is a population of one environment.
type Population struct {
	Pos         Pos
	Environment string // key of an environment
	Name        string // natural key in the environment
	Description string
}

// User is a user of one environment and population.
type User struct {
	Pos               Pos
	Environment       string // key of an environment
	Population        string // key of a population of the same environment
	Username          string // natural key in the environment, compared ignoring case
	Email             string
	Name              UserName
	Nickname          string
	Title             string
	Type              string
	Locale            string
	PreferredLanguage string
	Timezone          string
	MobilePhone       string
	PrimaryPhone      string
	ExternalID        string
	Enabled           bool      // default true
	Password          *Password // nil: p1ctl does not set a password
}

// UserName is a user's structured name; empty fields are unset.
type UserName struct {
	Given           string
	Middle          string
	Family          string
	Formatted       string
	HonorificPrefix string
	HonorificSuffix string
}

// Password is a user's initial password. It is write-only: p1ctl sets it when
// it creates the user and never reads it back, compares or prints it.
type Password struct {
	Value       Secret
	ForceChange bool
}

// Secret holds a write-only value. It prints as "(sensitive)" with every fmt
// verb and in JSON, so that it cannot leak into errors, plans or logs by
// accident; call Reveal where the value must really be sent.
type Secret string

const sensitive = "(sensitive)"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string   { return sensitive }
func (s Secret) GoString() string { return sensitive }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + sensitive + `"`), nil }

// WorkerApp is an OIDC application of type WORKER.
type WorkerApp struct {
	Pos                     Pos
	Environment             string // key of an environment
	Name                    string // natural key among the environment's applications
	Description             string
	Enabled                 bool   // default true
	TokenEndpointAuthMethod string // default CLIENT_SECRET_BASIC
	Roles                   []RoleAssignment
}

// RoleAssignment grants a built-in admin role to a worker app over a scope.
type RoleAssignment struct {
	Pos   Pos    // the list item
	Role  string // PingOne role name, such as "Identity Data Admin"
	Scope Scope
}

// Scope is what a role applies to: exactly one field is set.
type Scope struct {
	Environment  string // key of an environment: ENVIRONMENT scope
	Population   string // key of a population: POPULATION scope
	Organization bool   // ORGANIZATION scope
}

// Scope types, as PingOne names them.
const (
	ScopeOrganization = "ORGANIZATION"
	ScopeEnvironment  = "ENVIRONMENT"
	ScopePopulation   = "POPULATION"
)

// Type returns the PingOne scope type: ORGANIZATION, ENVIRONMENT or
// POPULATION, or "" for an empty scope.
func (s Scope) Type() string {
	switch {
	case s.Organization:
		return ScopeOrganization
	case s.Environment != "":
		return ScopeEnvironment
	case s.Population != "":
		return ScopePopulation
	}
	return ""
}

// WebApp is an OIDC application of type WEB_APP.
type WebApp struct {
	Pos                         Pos
	Environment                 string // key of an environment
	Name                        string // natural key among the environment's applications
	Description                 string
	Enabled                     bool // default true
	HomePageURL                 string
	LoginPageURL                string
	RedirectURIs                []string
	PostLogoutRedirectURIs      []string
	GrantTypes                  []string // default [AUTHORIZATION_CODE]
	ResponseTypes               []string // default [CODE]
	TokenEndpointAuthMethod     string   // default CLIENT_SECRET_BASIC
	PKCEEnforcement             string   // default OPTIONAL
	RefreshTokenDuration        int      // seconds; default 2592000
	RefreshTokenRollingDuration int      // seconds; 0: unlimited
	Scopes                      []string // scopes of the openid resource
}

// Len returns the number of resources of every kind.
func (m *Manifest) Len() int {
	return len(m.Environments) + len(m.Populations) + len(m.Users) + len(m.WorkerApps) + len(m.WebApps)
}

// Addresses returns the address of every resource, in engine.Address order.
func (m *Manifest) Addresses() []engine.Address {
	var out []engine.Address
	add := func(kind string, keys []string) {
		for _, k := range keys {
			out = append(out, engine.Address{Kind: kind, Key: k})
		}
	}
	add(engine.KindEnvironments, slices.Sorted(maps.Keys(m.Environments)))
	add(engine.KindPopulations, slices.Sorted(maps.Keys(m.Populations)))
	add(engine.KindUsers, slices.Sorted(maps.Keys(m.Users)))
	add(engine.KindWorkerApps, slices.Sorted(maps.Keys(m.WorkerApps)))
	add(engine.KindWebApps, slices.Sorted(maps.Keys(m.WebApps)))
	return out
}

// Dependency is an edge of the dependency graph: From refers to To through
// the manifest field Field (such as "population" or "roles[0].scope").
type Dependency struct {
	From, To engine.Address
	Field    string
}

// Dependencies returns every reference between resources of m whose target
// exists, sorted by From, To, then Field.
func (m *Manifest) Dependencies() []Dependency {
	var out []Dependency
	m.eachDependency(func(d Dependency) { out = append(out, d) })
	slices.SortFunc(out, func(a, b Dependency) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		if c := a.To.Compare(b.To); c != 0 {
			return c
		}
		return strings.Compare(a.Field, b.Field)
	})
	return out
}

// eachDependency calls fn for every reference whose target exists, in no
// particular order.
func (m *Manifest) eachDependency(fn func(Dependency)) {
	add := func(from engine.Address, field, kind, key string) {
		if key == "" {
			return
		}
		to := engine.Address{Kind: kind, Key: key}
		if m.has(to) {
			fn(Dependency{From: from, To: to, Field: field})
		}
	}
	for k, p := range m.Populations {
		add(engine.Address{Kind: engine.KindPopulations, Key: k}, "environment", engine.KindEnvironments, p.Environment)
	}
	for k, u := range m.Users {
		from := engine.Address{Kind: engine.KindUsers, Key: k}
		add(from, "environment", engine.KindEnvironments, u.Environment)
		add(from, "population", engine.KindPopulations, u.Population)
	}
	for k, w := range m.WorkerApps {
		from := engine.Address{Kind: engine.KindWorkerApps, Key: k}
		add(from, "environment", engine.KindEnvironments, w.Environment)
		for i, r := range w.Roles {
			field := "roles[" + strconv.Itoa(i) + "].scope"
			add(from, field, engine.KindEnvironments, r.Scope.Environment)
			add(from, field, engine.KindPopulations, r.Scope.Population)
		}
	}
	for k, w := range m.WebApps {
		add(engine.Address{Kind: engine.KindWebApps, Key: k}, "environment", engine.KindEnvironments, w.Environment)
	}
}

// Graph returns the dependency graph of m: a node for every resource and an
// edge from each resource to each resource it refers to, ordered by
// engine.Address. Planning walks it; validation reports its cycles.
func (m *Manifest) Graph() *graph.Graph[engine.Address] {
	g := graph.New(engine.Address.Compare)
	g.Grow(m.Len())
	for _, kind := range engine.Kinds {
		m.eachKey(kind, func(key string) { g.AddNode(engine.Address{Kind: kind, Key: key}) })
	}
	m.eachDependency(func(d Dependency) { g.AddEdge(d.From, d.To) })
	return g
}

// eachKey calls fn with every key of kind, in no particular order.
func (m *Manifest) eachKey(kind string, fn func(string)) {
	switch kind {
	case engine.KindEnvironments:
		for k := range m.Environments {
			fn(k)
		}
	case engine.KindPopulations:
		for k := range m.Populations {
			fn(k)
		}
	case engine.KindUsers:
		for k := range m.Users {
			fn(k)
		}
	case engine.KindWorkerApps:
		for k := range m.WorkerApps {
			fn(k)
		}
	case engine.KindWebApps:
		for k := range m.WebApps {
			fn(k)
		}
	}
}

func (m *Manifest) has(a engine.Address) bool {
	switch a.Kind {
	case engine.KindEnvironments:
		return m.Environments[a.Key] != nil
	case engine.KindPopulations:
		return m.Populations[a.Key] != nil
	case engine.KindUsers:
		return m.Users[a.Key] != nil
	case engine.KindWorkerApps:
		return m.WorkerApps[a.Key] != nil
	case engine.KindWebApps:
		return m.WebApps[a.Key] != nil
	}
	return false
}
