package pingone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/p1ctl/p1ctl/engine"
)

// Provider implements engine.Provider over a Client. Safe for concurrent
// use.
//
// Reads cost one paged list per collection, plus one request per
// application for its role assignments (workerApps) or grants (webApps),
// which PingOne offers no bulk read for. A create costs one write per
// object, plus one per role assignment or grant; a create whose outcome is
// unknown is looked up by its natural key before it is sent again.
type Provider struct {
	c *Client

	// loading serialises the reads that fill the caches below, so that
	// concurrent callers share one read instead of racing to make it. It is
	// a channel, not a mutex: its holder may wait out a backoff, and
	// goroutines blocked on a channel let a testing/synctest bubble's
	// clock advance, where goroutines blocked on a mutex would not.
	loading  chan struct{}
	mu       sync.Mutex
	roleID   map[string]string // role name -> id (GET /roles, read once)
	roleName map[string]string
	openid   map[string]*openidResource // environment id -> its openid resource
	licenses []license
}

var _ engine.Provider = (*Provider)(nil)

// NewProvider returns a Provider that calls PingOne through c.
func NewProvider(c *Client) *Provider {
	return &Provider{c: c, openid: map[string]*openidResource{}, loading: make(chan struct{}, 1)}
}

// Client returns the Provider's client (for its Stats).
func (p *Provider) Client() *Client { return p.c }

// Whoami decodes the access token's claims (client_id, env, org) and reads
// the app's role assignments.
func (p *Provider) Whoami(ctx context.Context) (engine.Identity, error) {
	cl, err := p.claims(ctx)
	if err != nil {
		return engine.Identity{}, err
	}
	ras, err := p.roleAssignments(ctx, cl.Env, cl.ClientID)
	if err != nil {
		return engine.Identity{}, fmt.Errorf("read the role assignments of worker app %s: %w", cl.ClientID, err)
	}
	id := engine.Identity{AppID: cl.ClientID, EnvID: cl.Env, OrgID: cl.Org}
	for _, ra := range ras {
		name, err := p.roleNameOf(ctx, ra.roleID)
		if err != nil {
			return engine.Identity{}, err
		}
		id.Grants = append(id.Grants, engine.Grant{Role: name, ScopeType: ra.scopeType, ScopeID: ra.scopeID})
	}
	sort.Slice(id.Grants, func(i, j int) bool {
		a, b := id.Grants[i], id.Grants[j]
		return a.Role+"\x00"+a.ScopeType+"\x00"+a.ScopeID < b.Role+"\x00"+b.ScopeType+"\x00"+b.ScopeID
	})
	return id, nil
}

// claims reads the current token's claims.
func (p *Provider) claims(ctx context.Context) (claims, error) {
	tok, err := p.c.accessToken(ctx)
	if err != nil {
		return claims{}, err
	}
	return parseClaims(tok)
}

// List returns every live object of q.Kind (in q.EnvID).
func (p *Provider) List(ctx context.Context, q engine.Query) ([]engine.Live, error) {
	if q.Kind != engine.KindEnvironments && q.EnvID == "" {
		return nil, fmt.Errorf("list %s: no environment id", q.Kind)
	}
	switch q.Kind {
	case engine.KindEnvironments:
		return p.listEnvironments(ctx)
	case engine.KindPopulations:
		return p.listPopulations(ctx, q.EnvID)
	case engine.KindUsers:
		return p.listUsers(ctx, q.EnvID)
	case engine.KindWorkerApps:
		return p.listApps(ctx, q.EnvID, workerApp)
	case engine.KindWebApps:
		return p.listApps(ctx, q.EnvID, webApp)
	}
	return nil, fmt.Errorf("list: unknown kind %q", q.Kind)
}

// Create makes r and returns it as PingOne has it.
func (p *Provider) Create(ctx context.Context, r engine.Resource) (engine.Live, error) {
	if r.Addr.Kind != engine.KindEnvironments && r.EnvID == "" {
		return engine.Live{}, fmt.Errorf("create %s: no environment id", r.Addr)
	}
	switch r.Addr.Kind {
	case engine.KindEnvironments:
		return p.createEnvironment(ctx, r)
	case engine.KindPopulations:
		return p.createPopulation(ctx, r)
	case engine.KindUsers:
		return p.createUser(ctx, r)
	case engine.KindWorkerApps:
		return p.createApp(ctx, r, workerApp)
	case engine.KindWebApps:
		return p.createApp(ctx, r, webApp)
	}
	return engine.Live{}, fmt.Errorf("create %s: unknown kind", r.Addr)
}

// Update changes old to match r's Attrs, and sets r's Secrets when it has
// any.
func (p *Provider) Update(ctx context.Context, r engine.Resource, old engine.Live) (engine.Live, error) {
	switch r.Addr.Kind {
	case engine.KindEnvironments:
		return p.updateEnvironment(ctx, r, old)
	case engine.KindPopulations:
		return p.updatePopulation(ctx, r, old)
	case engine.KindUsers:
		return p.updateUser(ctx, r, old)
	case engine.KindWorkerApps:
		return p.updateApp(ctx, r, old, workerApp)
	case engine.KindWebApps:
		return p.updateApp(ctx, r, old, webApp)
	}
	return engine.Live{}, fmt.Errorf("update %s: unknown kind", r.Addr)
}

// Delete removes l. An object that an earlier, unanswered attempt already
// deleted counts as deleted.
func (p *Provider) Delete(ctx context.Context, l engine.Live) error {
	var path string
	switch l.Kind {
	case engine.KindEnvironments:
		path = "/environments/" + url.PathEscape(l.ID)
	case engine.KindPopulations:
		path = envPath(l.EnvID, "populations", l.ID)
	case engine.KindUsers:
		path = envPath(l.EnvID, "users", l.ID)
	case engine.KindWorkerApps, engine.KindWebApps:
		path = envPath(l.EnvID, "applications", l.ID)
	default:
		return fmt.Errorf("delete: unknown kind %q", l.Kind)
	}
	_, err := p.c.do(ctx, call{method: http.MethodDelete, url: path})
	return err
}

// AppSecret reads an application's client secret (for outputs).
func (p *Provider) AppSecret(ctx context.Context, envID, appID string) (string, error) {
	var s struct {
		Secret string `json:"secret"`
	}
	if err := p.c.get(ctx, envPath(envID, "applications", appID, "secret"), &s); err != nil {
		return "", err
	}
	return s.Secret, nil
}

// envPath joins /environments/ENV with escaped segments.
func envPath(envID string, segs ...string) string {
	var b strings.Builder
	b.WriteString("/environments/" + url.PathEscape(envID))
	for _, s := range segs {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// ---- roles -----------------------------------------------------------------

// loadRoles reads GET /roles once.
func (p *Provider) loadRoles(ctx context.Context) error {
	loaded := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.roleID != nil
	}
	if loaded() {
		return nil
	}
	if err := p.lockLoad(ctx); err != nil {
		return err
	}
	defer p.unlockLoad()
	if loaded() {
		return nil
	}
	byName, byID := map[string]string{}, map[string]string{}
	err := p.c.list(ctx, "/roles", nil, "roles", func(raw json.RawMessage) error {
		var r struct{ ID, Name string }
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decode role: %w", err)
		}
		byName[r.Name], byID[r.ID] = r.ID, r.Name
		return nil
	})
	if err != nil {
		return fmt.Errorf("list roles: %w", err)
	}
	p.mu.Lock()
	p.roleID, p.roleName = byName, byID
	p.mu.Unlock()
	return nil
}

// lockLoad takes the right to fill a cache.
func (p *Provider) lockLoad(ctx context.Context) error {
	select {
	case p.loading <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Provider) unlockLoad() { <-p.loading }

func (p *Provider) roleIDOf(ctx context.Context, name string) (string, error) {
	if err := p.loadRoles(ctx); err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.roleID[name]
	if !ok {
		names := make([]string, 0, len(p.roleID))
		for n := range p.roleID {
			names = append(names, n)
		}
		slices.Sort(names)
		return "", fmt.Errorf("unknown role %q; PingOne's roles are %s", name, strings.Join(names, ", "))
	}
	return id, nil
}

// roleNameOf names a role id; an id GET /roles does not list stays an id.
func (p *Provider) roleNameOf(ctx context.Context, id string) (string, error) {
	if err := p.loadRoles(ctx); err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := p.roleName[id]; ok {
		return n, nil
	}
	return id, nil
}

// roleAssignment is one of an application's role assignments.
type roleAssignment struct {
	id, roleID, scopeType, scopeID string
	readOnly                       bool
}

func decodeRoleAssignment(raw json.RawMessage) (roleAssignment, error) {
	var w struct {
		ID   string `json:"id"`
		Role struct {
			ID string `json:"id"`
		} `json:"role"`
		Scope struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"scope"`
		ReadOnly bool `json:"readOnly"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return roleAssignment{}, fmt.Errorf("decode role assignment: %w", err)
	}
	return roleAssignment{id: w.ID, roleID: w.Role.ID, scopeType: w.Scope.Type, scopeID: w.Scope.ID, readOnly: w.ReadOnly}, nil
}

func (p *Provider) roleAssignments(ctx context.Context, envID, appID string) ([]roleAssignment, error) {
	var out []roleAssignment
	err := p.c.list(ctx, envPath(envID, "applications", appID, "roleAssignments"), nil, "roleAssignments",
		func(raw json.RawMessage) error {
			ra, err := decodeRoleAssignment(raw)
			if err == nil {
				out = append(out, ra)
			}
			return err
		})
	return out, err
}
