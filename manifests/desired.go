package manifests

import (
	"github.com/p1ctl/p1ctl/engine"
)

// Resources converts the manifest into the engine's desired state: one
// engine.Resource per entry, with PingOne's wire field names in Attrs,
// engine.Ref values where an entry names another, and passwords in Secrets
// (never in Attrs). Fields the manifest leaves empty are left out, so they
// are never compared with live state. The result is sorted by address.
func (m *Manifest) Resources() []engine.Resource {
	var out []engine.Resource
	env := func(key string) engine.Address { return engine.Address{Kind: engine.KindEnvironments, Key: key} }
	pop := func(key string) engine.Address { return engine.Address{Kind: engine.KindPopulations, Key: key} }

	for _, key := range sortedKeys(m.Environments) {
		e := m.Environments[key]
		attrs := map[string]any{"name": e.Name, "region": e.Region}
		if !e.Existing {
			attrs["type"] = e.Type
			putString(attrs, "description", e.Description)
			if e.License != "" {
				attrs["license"] = map[string]any{"id": e.License}
			}
		}
		out = append(out, engine.Resource{Addr: env(key), Name: e.Name, Existing: e.Existing, Attrs: attrs})
	}
	for _, key := range sortedKeys(m.Populations) {
		p := m.Populations[key]
		attrs := map[string]any{"name": p.Name}
		putString(attrs, "description", p.Description)
		out = append(out, engine.Resource{Addr: pop(key), Env: env(p.Environment), Name: p.Name, Attrs: attrs})
	}
	for _, key := range sortedKeys(m.Users) {
		u := m.Users[key]
		attrs := map[string]any{"username": u.Username, "enabled": u.Enabled,
			"population": map[string]any{"id": engine.Ref{Addr: pop(u.Population)}}}
		for k, v := range map[string]string{"email": u.Email, "nickname": u.Nickname, "title": u.Title, "type": u.Type,
			"locale": u.Locale, "preferredLanguage": u.PreferredLanguage, "timezone": u.Timezone,
			"mobilePhone": u.MobilePhone, "primaryPhone": u.PrimaryPhone, "externalId": u.ExternalID} {
			putString(attrs, k, v)
		}
		name := map[string]any{}
		for k, v := range map[string]string{"given": u.Name.Given, "middle": u.Name.Middle, "family": u.Name.Family,
			"formatted": u.Name.Formatted, "honorificPrefix": u.Name.HonorificPrefix, "honorificSuffix": u.Name.HonorificSuffix} {
			putString(name, k, v)
		}
		if len(name) > 0 {
			attrs["name"] = name
		}
		r := engine.Resource{Addr: engine.Address{Kind: engine.KindUsers, Key: key}, Env: env(u.Environment), Name: u.Username, Attrs: attrs}
		if u.Password != nil {
			r.Secrets = map[string]any{"password": map[string]any{"value": u.Password.Value.Reveal(), "forceChange": u.Password.ForceChange}}
		}
		out = append(out, r)
	}
	for _, key := range sortedKeys(m.WorkerApps) {
		w := m.WorkerApps[key]
		attrs := map[string]any{"name": w.Name, "type": "WORKER", "enabled": w.Enabled,
			"tokenEndpointAuthMethod": w.TokenEndpointAuthMethod}
		putString(attrs, "description", w.Description)
		roles := make([]any, 0, len(w.Roles))
		for _, ra := range w.Roles {
			scope := map[string]any{"type": ra.Scope.Type()}
			switch {
			case ra.Scope.Environment != "":
				scope["id"] = engine.Ref{Addr: env(ra.Scope.Environment)}
			case ra.Scope.Population != "":
				scope["id"] = engine.Ref{Addr: pop(ra.Scope.Population)}
			}
			roles = append(roles, map[string]any{"role": ra.Role, "scope": scope})
		}
		attrs["roles"] = roles
		out = append(out, engine.Resource{Addr: engine.Address{Kind: engine.KindWorkerApps, Key: key}, Env: env(w.Environment), Name: w.Name, Attrs: attrs})
	}
	for _, key := range sortedKeys(m.WebApps) {
		w := m.WebApps[key]
		attrs := map[string]any{"name": w.Name, "type": "WEB_APP", "enabled": w.Enabled,
			"redirectUris": anyList(w.RedirectURIs), "postLogoutRedirectUris": anyList(w.PostLogoutRedirectURIs),
			"grantTypes": anyList(w.GrantTypes), "responseTypes": anyList(w.ResponseTypes),
			"tokenEndpointAuthMethod": w.TokenEndpointAuthMethod, "pkceEnforcement": w.PKCEEnforcement,
			"scopes": anyList(w.Scopes)}
		putString(attrs, "description", w.Description)
		putString(attrs, "homePageUrl", w.HomePageURL)
		putString(attrs, "loginPageUrl", w.LoginPageURL)
		if w.RefreshTokenDuration != 0 {
			attrs["refreshTokenDuration"] = w.RefreshTokenDuration
		}
		if w.RefreshTokenRollingDuration != 0 {
			attrs["refreshTokenRollingDuration"] = w.RefreshTokenRollingDuration
		}
		out = append(out, engine.Resource{Addr: engine.Address{Kind: engine.KindWebApps, Key: key}, Env: env(w.Environment), Name: w.Name, Attrs: attrs})
	}
	return out
}

func putString(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// anyList turns a string list into the JSON shape []any.
func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
