package pingone

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

// Media types that select an action on a users URL.
const (
	mtUserImport  = "application/vnd.pingidentity.user.import+json"
	mtPasswordSet = "application/vnd.pingidentity.password.set+json"
)

var userFields = []field{
	{"username", aString}, {"email", aString}, {"nickname", aString}, {"title", aString}, {"type", aString},
	{"locale", aString}, {"preferredLanguage", aString}, {"timezone", aString}, {"mobilePhone", aString},
	{"primaryPhone", aString}, {"externalId", aString}, {"enabled", aBool}, {"population", aRef},
}

var nameFields = []field{
	{"given", aString}, {"family", aString}, {"middle", aString}, {"formatted", aString},
	{"honorificPrefix", aString}, {"honorificSuffix", aString},
}

func userLive(envID string, o object) engine.Live {
	attrs := project(o, userFields)
	name, _ := o["name"].(map[string]any)
	attrs["name"] = project(name, nameFields)
	return engine.Live{Kind: engine.KindUsers, ID: o.id(), EnvID: envID, Name: o.str("username"), Attrs: attrs}
}

// userPage is the largest page of users PingOne serves.
const userPage = "1000"

func (p *Provider) listUsers(ctx context.Context, envID string) ([]engine.Live, error) {
	var out []engine.Live
	err := p.c.list(ctx, envPath(envID, "users"), url.Values{"limit": {userPage}}, "users", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "user")
		if err == nil {
			out = append(out, userLive(envID, o))
		}
		return err
	})
	return out, err
}

// findUser looks a user up by username (case-insensitively, as PingOne
// matches usernames).
func (p *Provider) findUser(ctx context.Context, envID, username string) (json.RawMessage, bool, error) {
	var found json.RawMessage
	err := p.c.list(ctx, envPath(envID, "users"), url.Values{"filter": {"username eq " + filterValue(username)}},
		"users", func(raw json.RawMessage) error {
			o, err := decodeObject(raw, "user")
			if err == nil && strings.EqualFold(o.str("username"), username) {
				found = raw
			}
			return err
		})
	return found, found != nil, err
}

// password reads the password secret: {value, forceChange}, or a bare
// string.
func password(secrets map[string]any) (map[string]any, bool, error) {
	v, ok := secrets["password"]
	if !ok || v == nil {
		return nil, false, nil
	}
	switch pw := v.(type) {
	case string:
		return map[string]any{"value": pw, "forceChange": false}, true, nil
	case map[string]any:
		if s, _ := pw["value"].(string); s == "" {
			return nil, false, fmt.Errorf("password has no value")
		}
		out := map[string]any{"value": pw["value"], "forceChange": false}
		if fc, ok := pw["forceChange"].(bool); ok {
			out["forceChange"] = fc
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("password must be a string or {value, forceChange}, not %T", v)
}

// profileBody is the user body of a create: every attribute but enabled,
// which PingOne sets through its own endpoint.
func profileBody(attrs map[string]any) map[string]any {
	body := dropEmpty(without(attrs, "enabled"))
	if n, ok := body["name"].(map[string]any); ok {
		n = dropEmpty(n)
		if len(n) == 0 {
			delete(body, "name")
		} else {
			body["name"] = n
		}
	}
	if pop, ok := body["population"].(map[string]any); ok {
		if id, _ := pop["id"].(string); id == "" {
			delete(body, "population")
		}
	}
	return body
}

// createUser creates a user in one POST; a password goes in the same POST
// with the user-import media type, never as a second call. enabled: false
// takes a second call, since the user body cannot carry it.
func (p *Provider) createUser(ctx context.Context, r engine.Resource) (engine.Live, error) {
	body := profileBody(r.Attrs)
	pw, hasPW, err := password(r.Secrets)
	if err != nil {
		return engine.Live{}, fmt.Errorf("create user %s: %w", r.Addr, err)
	}
	cl := call{method: http.MethodPost, url: envPath(r.EnvID, "users"), body: body,
		lookup: func(ctx context.Context) (json.RawMessage, bool, error) { return p.findUser(ctx, r.EnvID, r.Name) }}
	if hasPW {
		body["password"] = pw
		cl.contentType = mtUserImport
	}
	raw, err := p.c.do(ctx, cl)
	if err != nil {
		return engine.Live{}, err
	}
	o, err := decodeObject(raw, "create user")
	if err != nil {
		return engine.Live{}, err
	}
	l := userLive(r.EnvID, o)
	if want, ok := r.Attrs["enabled"].(bool); ok && want != l.Attrs["enabled"] {
		if err := p.setEnabled(ctx, r.EnvID, l.ID, want); err != nil {
			return engine.Live{}, err
		}
		l.Attrs["enabled"] = want
	}
	return l, nil
}

func (p *Provider) setEnabled(ctx context.Context, envID, id string, on bool) error {
	_, err := p.c.do(ctx, call{method: http.MethodPut, url: envPath(envID, "users", id, "enabled"), body: map[string]any{"enabled": on}})
	return err
}

// updateUser sends only what changed: profile attributes by PATCH (an
// empty string clears one), the population through PUT …/population,
// enabled through PUT …/enabled, and a password, when r carries one,
// through PUT …/password.
func (p *Provider) updateUser(ctx context.Context, r engine.Resource, old engine.Live) (engine.Live, error) {
	changed := changedKeys(r.Attrs, old.Attrs, diff.Schema{})
	l := old
	l.Attrs = maps.Clone(old.Attrs)
	patch := map[string]any{}
	for k := range changed {
		if k == "enabled" || k == "population" {
			continue
		}
		v := r.Attrs[k]
		if s, ok := v.(string); ok && s == "" {
			v = nil // JSON merge patch: null removes the attribute
		}
		if n, ok := v.(map[string]any); ok && k == "name" {
			m := map[string]any{}
			for nk, nv := range n {
				if s, ok := nv.(string); ok && s == "" {
					nv = nil
				}
				m[nk] = nv
			}
			v = m
		}
		patch[k] = v
	}
	if len(patch) > 0 {
		raw, err := p.c.do(ctx, call{method: http.MethodPatch, url: envPath(old.EnvID, "users", old.ID), body: patch})
		if err != nil {
			return engine.Live{}, err
		}
		o, err := decodeObject(raw, "update user")
		if err != nil {
			return engine.Live{}, err
		}
		l = userLive(old.EnvID, o)
	}
	if changed["population"] {
		pop, _ := r.Attrs["population"].(map[string]any)
		id, _ := pop["id"].(string)
		if id == "" {
			return engine.Live{}, fmt.Errorf("update %s: population has no id", r.Addr)
		}
		if _, err := p.c.do(ctx, call{method: http.MethodPut, url: envPath(old.EnvID, "users", old.ID, "population"),
			body: map[string]any{"id": id}}); err != nil {
			return engine.Live{}, err
		}
		l.Attrs["population"] = map[string]any{"id": id}
	}
	if changed["enabled"] {
		want, ok := r.Attrs["enabled"].(bool)
		if !ok {
			return engine.Live{}, fmt.Errorf("update %s: enabled must be true or false", r.Addr)
		}
		if err := p.setEnabled(ctx, old.EnvID, old.ID, want); err != nil {
			return engine.Live{}, err
		}
		l.Attrs["enabled"] = want
	}
	pw, hasPW, err := password(r.Secrets)
	if err != nil {
		return engine.Live{}, fmt.Errorf("update %s: %w", r.Addr, err)
	}
	if hasPW {
		if _, err := p.c.do(ctx, call{method: http.MethodPut, url: envPath(old.EnvID, "users", old.ID, "password"),
			body: pw, contentType: mtPasswordSet}); err != nil {
			return engine.Live{}, err
		}
	}
	return l, nil
}
