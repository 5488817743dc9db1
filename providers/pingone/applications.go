package pingone

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

// appKind describes one of the two application kinds the manifest has.
type appKind struct {
	kind    string // engine kind
	typ     string // PingOne application type
	fields  []field
	sub     string      // the attribute read from a sub-collection: roles or scopes
	appSets diff.Schema // schema of the application body's own attributes
}

var (
	workerApp = appKind{kind: engine.KindWorkerApps, typ: "WORKER", sub: "roles",
		fields: []field{{"name", aString}, {"description", aString}, {"enabled", aBool}, {"type", aString},
			{"tokenEndpointAuthMethod", aString}, {"grantTypes", aList}},
		appSets: diff.Schema{Sets: map[string]bool{"grantTypes": true}}}
	webApp = appKind{kind: engine.KindWebApps, typ: "WEB_APP", sub: "scopes",
		fields: []field{{"name", aString}, {"description", aString}, {"enabled", aBool}, {"type", aString},
			{"homePageUrl", aString}, {"loginPageUrl", aString}, {"redirectUris", aList}, {"postLogoutRedirectUris", aList},
			{"grantTypes", aList}, {"responseTypes", aList}, {"tokenEndpointAuthMethod", aString},
			{"pkceEnforcement", aString}, {"refreshTokenDuration", aNumber}, {"refreshTokenRollingDuration", aNumber}},
		appSets: diff.Schema{Sets: map[string]bool{"redirectUris": true, "postLogoutRedirectUris": true, "grantTypes": true,
			"responseTypes": true}}}
)

func (k appKind) live(envID string, o object) engine.Live {
	return engine.Live{Kind: k.kind, ID: o.id(), EnvID: envID, Name: o.str("name"), Attrs: project(o, k.fields)}
}

// listApps lists the environment's applications of k's type, then reads
// each one's roles or grants, in parallel.
func (p *Provider) listApps(ctx context.Context, envID string, k appKind) ([]engine.Live, error) {
	var out []engine.Live
	err := p.c.list(ctx, envPath(envID, "applications"), nil, "applications", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "application")
		if err == nil && o.str("type") == k.typ && o.str("protocol") == "OPENID_CONNECT" {
			out = append(out, k.live(envID, o))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if k.kind == engine.KindWorkerApps {
		if cl, err := p.claims(ctx); err == nil {
			for i := range out {
				if out[i].ID == cl.ClientID {
					out[i].Protected = "p1ctl signs in as this worker app"
				}
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cap(p.c.sem))
	for i := range out {
		g.Go(func() error {
			v, err := p.readSub(gctx, envID, out[i].ID, k)
			if err != nil {
				return fmt.Errorf("read %s of application %s: %w", k.sub, out[i].ID, err)
			}
			out[i].Attrs[k.sub] = v
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *Provider) readSub(ctx context.Context, envID, appID string, k appKind) ([]any, error) {
	if k.kind == engine.KindWorkerApps {
		ras, err := p.roleAssignments(ctx, envID, appID)
		if err != nil {
			return nil, err
		}
		return p.rolesAttr(ctx, ras)
	}
	_, names, err := p.openidGrant(ctx, envID, appID)
	return names, err
}

// findApp looks an application up by name (PingOne offers no filter on
// applications).
func (p *Provider) findApp(ctx context.Context, envID, name string) (json.RawMessage, bool, error) {
	var found json.RawMessage
	err := p.c.list(ctx, envPath(envID, "applications"), nil, "applications", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "application")
		if err == nil && o.str("name") == name {
			found = raw
		}
		return err
	})
	return found, found != nil, err
}

// appBody is the POST body of a new application: the manifest's
// attributes with the defaults PingOne requires.
func appBody(r engine.Resource, k appKind) map[string]any {
	body := dropEmpty(without(r.Attrs, k.sub))
	body["type"] = k.typ
	body["protocol"] = "OPENID_CONNECT"
	if _, ok := body["enabled"]; !ok {
		body["enabled"] = true
	}
	if _, ok := body["tokenEndpointAuthMethod"]; !ok {
		body["tokenEndpointAuthMethod"] = "CLIENT_SECRET_BASIC"
	}
	if _, ok := body["grantTypes"]; !ok {
		if k.kind == engine.KindWorkerApps {
			body["grantTypes"] = []any{"CLIENT_CREDENTIALS"}
		} else {
			body["grantTypes"] = []any{"AUTHORIZATION_CODE"}
		}
	}
	if k.kind == engine.KindWebApps {
		if _, ok := body["responseTypes"]; !ok {
			if gts, _ := stringList(body["grantTypes"]); slices.Contains(gts, "AUTHORIZATION_CODE") {
				body["responseTypes"] = []any{"CODE"}
			}
		}
	}
	return body
}

func (p *Provider) createApp(ctx context.Context, r engine.Resource, k appKind) (engine.Live, error) {
	body := appBody(r, k)
	if k.kind == engine.KindWorkerApps {
		if _, manages := r.Attrs["roles"]; manages {
			// PingOne gives a new worker every role of the app that creates
			// it unless told not to. Roles the manifest manages are
			// assigned one by one below instead: inherited ones would make
			// the set differ, and not all could be taken away again (no
			// role may assign Organization Admin, so none may remove it).
			body["assignActorRoles"] = false
		}
	}
	raw, err := p.c.do(ctx, call{method: http.MethodPost, url: envPath(r.EnvID, "applications"), body: body,
		lookup: func(ctx context.Context) (json.RawMessage, bool, error) { return p.findApp(ctx, r.EnvID, r.Name) }})
	if err != nil {
		return engine.Live{}, err
	}
	o, err := decodeObject(raw, "create application")
	if err != nil {
		return engine.Live{}, err
	}
	l := k.live(r.EnvID, o)
	if _, ok := r.Attrs[k.sub]; !ok {
		// Not managed. A new web app has no grants; a new worker app has
		// the roles PingOne gave it, which are read and reported.
		l.Attrs[k.sub] = []any{}
		if k.kind == engine.KindWorkerApps {
			v, err := p.readSub(ctx, r.EnvID, l.ID, k)
			if err != nil {
				return engine.Live{}, err
			}
			l.Attrs[k.sub] = v
		}
		return l, nil
	}
	v, err := p.reconcileSub(ctx, r, l.ID, k, true)
	if err != nil {
		return engine.Live{}, fmt.Errorf("application %s was created, but: %w", l.ID, err)
	}
	l.Attrs[k.sub] = v
	return l, nil
}

func (p *Provider) updateApp(ctx context.Context, r engine.Resource, old engine.Live, k appKind) (engine.Live, error) {
	l := old
	l.Attrs = maps.Clone(old.Attrs)
	appAttrs := without(r.Attrs, k.sub)
	if len(changedKeys(appAttrs, without(old.Attrs, k.sub), k.appSets)) > 0 {
		set := without(appAttrs, "protocol")
		set["type"] = k.typ
		o, err := p.replace(ctx, envPath(old.EnvID, "applications", old.ID), set)
		if err != nil {
			return engine.Live{}, err
		}
		sub := l.Attrs[k.sub]
		l = k.live(old.EnvID, o)
		l.Attrs[k.sub] = sub
		l.Protected = old.Protected
	}
	if want, ok := r.Attrs[k.sub]; ok && !diff.Equal(want, old.Attrs[k.sub], true) {
		v, err := p.reconcileSub(ctx, r, old.ID, k, false)
		if err != nil {
			return engine.Live{}, err
		}
		l.Attrs[k.sub] = v
	}
	return l, nil
}

func (p *Provider) reconcileSub(ctx context.Context, r engine.Resource, appID string, k appKind, created bool) ([]any, error) {
	if k.kind == engine.KindWorkerApps {
		return p.reconcileRoles(ctx, r, appID, created)
	}
	return p.reconcileScopes(ctx, r, appID, created)
}

// ---- worker app roles ----------------------------------------------------------

// roleKey identifies a role assignment by role id and scope.
type roleKey struct{ roleID, scopeType, scopeID string }

// rolesAttr renders role assignments as the roles attribute: {role: name,
// scope: {type, id}}, without an id for ORGANIZATION scope.
func (p *Provider) rolesAttr(ctx context.Context, ras []roleAssignment) ([]any, error) {
	out := make([]any, 0, len(ras))
	for _, ra := range ras {
		name, err := p.roleNameOf(ctx, ra.roleID)
		if err != nil {
			return nil, err
		}
		scope := map[string]any{"type": ra.scopeType}
		if ra.scopeType != "ORGANIZATION" {
			scope["id"] = ra.scopeID
		}
		out = append(out, map[string]any{"role": name, "scope": scope})
	}
	sortByCanonical(out)
	return out, nil
}

// desiredRoles reads the roles attribute into keys, filling the
// organization's id into ORGANIZATION scopes.
func (p *Provider) desiredRoles(ctx context.Context, v any) ([]roleKey, error) {
	l, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("roles must be a list, not %T", v)
	}
	var out []roleKey
	for _, e := range l {
		m, _ := e.(map[string]any)
		name, _ := m["role"].(string)
		scope, _ := m["scope"].(map[string]any)
		typ, _ := scope["type"].(string)
		id, _ := scope["id"].(string)
		if name == "" || typ == "" {
			return nil, fmt.Errorf("a role needs role and scope.type")
		}
		roleID, err := p.roleIDOf(ctx, name)
		if err != nil {
			return nil, err
		}
		if typ == "ORGANIZATION" {
			cl, err := p.claims(ctx)
			if err != nil {
				return nil, err
			}
			id = cl.Org
		} else if id == "" {
			return nil, fmt.Errorf("role %q at %s scope needs scope.id", name, typ)
		}
		k := roleKey{roleID, typ, id}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// reconcileRoles makes the worker app's role assignments the set r asks
// for: it assigns the missing ones (an assignment that already exists is
// satisfied) and removes the others, except read-only ones, which PingOne
// does not let anyone remove. It returns the roles attribute afterwards.
// A worker just created without its creator's roles has none: created
// skips the read.
func (p *Provider) reconcileRoles(ctx context.Context, r engine.Resource, appID string, created bool) ([]any, error) {
	want, err := p.desiredRoles(ctx, r.Attrs["roles"])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Addr, err)
	}
	var cur []roleAssignment
	if !created {
		if cur, err = p.roleAssignments(ctx, r.EnvID, appID); err != nil {
			return nil, err
		}
	}
	have := map[roleKey]roleAssignment{}
	for _, ra := range cur {
		have[roleKey{ra.roleID, ra.scopeType, ra.scopeID}] = ra
	}
	var final []roleAssignment
	for _, k := range want {
		if ra, ok := have[k]; ok {
			final = append(final, ra)
			continue
		}
		ra, err := p.assignRole(ctx, r.EnvID, appID, k)
		if err != nil {
			return nil, err
		}
		final = append(final, ra)
	}
	for k, ra := range have {
		if slices.Contains(want, k) {
			continue
		}
		if ra.readOnly {
			final = append(final, ra)
			continue
		}
		if _, err := p.c.do(ctx, call{method: http.MethodDelete,
			url: envPath(r.EnvID, "applications", appID, "roleAssignments", ra.id)}); err != nil && !IsNotFound(err) {
			return nil, err
		}
	}
	return p.rolesAttr(ctx, final)
}

// assignRole creates one role assignment. One that already exists (a
// retry's, or a concurrent apply's) is found and returned instead.
func (p *Provider) assignRole(ctx context.Context, envID, appID string, k roleKey) (roleAssignment, error) {
	find := func(ctx context.Context) (json.RawMessage, bool, error) {
		var found json.RawMessage
		err := p.c.list(ctx, envPath(envID, "applications", appID, "roleAssignments"), nil, "roleAssignments",
			func(raw json.RawMessage) error {
				ra, err := decodeRoleAssignment(raw)
				if err == nil && (roleKey{ra.roleID, ra.scopeType, ra.scopeID}) == k {
					found = raw
				}
				return err
			})
		return found, found != nil, err
	}
	body := map[string]any{"role": map[string]any{"id": k.roleID}, "scope": map[string]any{"type": k.scopeType, "id": k.scopeID}}
	raw, err := p.c.do(ctx, call{method: http.MethodPost, url: envPath(envID, "applications", appID, "roleAssignments"),
		body: body, lookup: find})
	if IsUniquenessViolation(err) {
		var ok bool
		if raw, ok, err = find(ctx); err == nil && !ok {
			err = fmt.Errorf("role assignment %s at %s %s: PingOne says it exists, but it is not listed", k.roleID, k.scopeType, k.scopeID)
		}
	}
	if err != nil {
		return roleAssignment{}, err
	}
	return decodeRoleAssignment(raw)
}

// ---- web app scopes --------------------------------------------------------------

// openidResource is an environment's built-in openid resource and its
// scopes.
type openidResource struct {
	id         string
	scopeID    map[string]string // name -> id
	scopeName  map[string]string // id -> name
	scopeNames []string
}

// openidOf reads (once per environment) the openid resource and its scopes.
func (p *Provider) openidOf(ctx context.Context, envID string) (*openidResource, error) {
	cached := func() *openidResource {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.openid[envID]
	}
	if res := cached(); res != nil {
		return res, nil
	}
	if err := p.lockLoad(ctx); err != nil {
		return nil, err
	}
	defer p.unlockLoad()
	if res := cached(); res != nil {
		return res, nil
	}
	res := &openidResource{scopeID: map[string]string{}, scopeName: map[string]string{}}
	err := p.c.list(ctx, envPath(envID, "resources"), nil, "resources", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "resource")
		if err == nil && o.str("type") == "OPENID_CONNECT" && o.str("name") == "openid" {
			res.id = o.id()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	if res.id == "" {
		return nil, fmt.Errorf("environment %s has no openid resource", envID)
	}
	err = p.c.list(ctx, envPath(envID, "resources", res.id, "scopes"), nil, "scopes", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "scope")
		if err == nil {
			res.scopeID[o.str("name")], res.scopeName[o.id()] = o.id(), o.str("name")
			res.scopeNames = append(res.scopeNames, o.str("name"))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list openid scopes: %w", err)
	}
	slices.Sort(res.scopeNames)
	p.mu.Lock()
	p.openid[envID] = res
	p.mu.Unlock()
	return res, nil
}

// grant is an application's grant of scopes of one resource.
type grant struct {
	ID       string `json:"id"`
	Resource struct {
		ID string `json:"id"`
	} `json:"resource"`
	Scopes []struct {
		ID string `json:"id"`
	} `json:"scopes"`
}

func (p *Provider) grants(ctx context.Context, envID, appID string) ([]grant, error) {
	var out []grant
	err := p.c.list(ctx, envPath(envID, "applications", appID, "grants"), nil, "grants", func(raw json.RawMessage) error {
		var g grant
		if err := json.Unmarshal(raw, &g); err != nil {
			return fmt.Errorf("decode grant: %w", err)
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// openidGrant returns the app's grant on the openid resource (nil when
// none) and its scope names.
func (p *Provider) openidGrant(ctx context.Context, envID, appID string) (*grant, []any, error) {
	gs, err := p.grants(ctx, envID, appID)
	if err != nil {
		return nil, nil, err
	}
	names := []any{}
	if len(gs) == 0 {
		return nil, names, nil
	}
	res, err := p.openidOf(ctx, envID)
	if err != nil {
		return nil, nil, err
	}
	for i := range gs {
		if gs[i].Resource.ID != res.id {
			continue
		}
		for _, sc := range gs[i].Scopes {
			n, ok := res.scopeName[sc.ID]
			if !ok {
				n = sc.ID // a scope created after the cache was read
			}
			names = append(names, n)
		}
		sortByCanonical(names)
		return &gs[i], names, nil
	}
	return nil, names, nil
}

// reconcileScopes makes the app's grant on the openid resource hold the
// scopes r asks for: POST when it has none, PUT when it differs, DELETE
// when r asks for none. A new app has no grant: created skips the read.
func (p *Provider) reconcileScopes(ctx context.Context, r engine.Resource, appID string, created bool) ([]any, error) {
	want, err := stringList(r.Attrs["scopes"])
	if err != nil {
		return nil, fmt.Errorf("%s: scopes: %w", r.Addr, err)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	var cur *grant
	if !created {
		if cur, _, err = p.openidGrant(ctx, r.EnvID, appID); err != nil {
			return nil, err
		}
	}
	names := make([]any, len(want))
	for i, n := range want {
		names[i] = n
	}
	path := envPath(r.EnvID, "applications", appID, "grants")
	if len(want) == 0 {
		if cur != nil {
			if _, err := p.c.do(ctx, call{method: http.MethodDelete, url: path + "/" + cur.ID}); err != nil && !IsNotFound(err) {
				return nil, err
			}
		}
		return names, nil
	}
	res, err := p.openidOf(ctx, r.EnvID)
	if err != nil {
		return nil, err
	}
	scopes := make([]any, 0, len(want))
	for _, n := range want {
		id, ok := res.scopeID[n]
		if !ok {
			return nil, fmt.Errorf("%s: %q is not a scope of the openid resource (it has %s)", r.Addr, n, strings.Join(res.scopeNames, ", "))
		}
		scopes = append(scopes, map[string]any{"id": id})
	}
	body := map[string]any{"resource": map[string]any{"id": res.id}, "scopes": scopes}
	if cur != nil {
		_, err := p.c.do(ctx, call{method: http.MethodPut, url: path + "/" + cur.ID, body: body})
		return names, err
	}
	find := func(ctx context.Context) (json.RawMessage, bool, error) {
		gs, err := p.grants(ctx, r.EnvID, appID)
		if err != nil {
			return nil, false, err
		}
		for _, g := range gs {
			if g.Resource.ID == res.id {
				raw, err := json.Marshal(g)
				return raw, true, err
			}
		}
		return nil, false, nil
	}
	_, err = p.c.do(ctx, call{method: http.MethodPost, url: path, body: body, lookup: find})
	if IsUniquenessViolation(err) {
		// A grant on the resource exists already (an earlier attempt's):
		// make it hold the scopes.
		raw, ok, ferr := find(ctx)
		if ferr != nil || !ok {
			return nil, err
		}
		var g grant
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, err
		}
		_, err = p.c.do(ctx, call{method: http.MethodPut, url: path + "/" + g.ID, body: body})
	}
	return names, err
}

// sortByCanonical orders a set's elements by their JSON text, so live
// attributes read the same from one run to the next.
func sortByCanonical(l []any) {
	keys := make([]string, len(l))
	for i, e := range l {
		b, _ := json.Marshal(e)
		keys[i] = string(b)
	}
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]any, len(l))
	for i, j := range idx {
		sorted[i] = l[j]
	}
	copy(l, sorted)
}
