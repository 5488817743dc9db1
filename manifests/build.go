package manifests

import (
	"slices"
	"strconv"

	"github.com/p1ctl/p1ctl/engine"
)

// Defaults applied to the desired state, matching what PingOne sets when a
// field is not sent, so that plans show no drift for them.
const (
	DefaultEnvironmentType         = "SANDBOX"
	DefaultTokenEndpointAuthMethod = "CLIENT_SECRET_BASIC"
	DefaultPKCEEnforcement         = "OPTIONAL"
	DefaultRefreshTokenDuration    = 2592000 // 30 days
	DefaultGrantType               = "AUTHORIZATION_CODE"
	DefaultResponseType            = "CODE"
)

// build merges the resources of every document into the manifest. It reads
// the JSON values leniently: a field of the wrong type, which the schema has
// already reported, is left at its zero value so that the other checks still
// run on the rest.
func (l *loader) build() {
	for _, d := range l.docs {
		root, ok := d.value.(map[string]any)
		if !ok {
			continue
		}
		for _, kind := range engine.Kinds {
			entries, ok := root[kind].(map[string]any)
			if !ok {
				continue
			}
			// Keys of one map are unique, so the order here does not
			// matter: a key already in l.origins comes from an earlier
			// document or file.
			for key, v := range entries {
				obj, ok := v.(map[string]any)
				if !ok {
					continue
				}
				addr := engine.Address{Kind: kind, Key: key}
				ptr := "/" + escapeToken(kind) + "/" + escapeToken(key)
				o := origin{doc: d, ptr: ptr, pos: d.keyPos(ptr)}
				if first, dup := l.origins[addr]; dup {
					l.problems = append(l.problems, at(o.pos, addr.String(), Error,
						"duplicate key %q: %s is already defined at %s", key, addr, first.pos))
					continue
				}
				l.origins[addr] = o
				l.add(addr, obj, o.pos)
			}
		}
	}
}

func (l *loader) add(addr engine.Address, o map[string]any, pos Pos) {
	m := l.manifest
	switch addr.Kind {
	case engine.KindEnvironments:
		e := &Environment{
			Pos:         pos,
			Name:        str(o, "name"),
			Region:      str(o, "region"),
			Type:        str(o, "type"),
			Description: str(o, "description"),
			License:     str(o, "license"),
			Existing:    boolean(o, "existing", false),
		}
		if e.Type == "" && !e.Existing {
			e.Type = DefaultEnvironmentType
		}
		m.Environments[addr.Key] = e
	case engine.KindPopulations:
		m.Populations[addr.Key] = &Population{
			Pos:         pos,
			Environment: str(o, "environment"),
			Name:        str(o, "name"),
			Description: str(o, "description"),
		}
	case engine.KindUsers:
		u := &User{
			Pos:               pos,
			Environment:       str(o, "environment"),
			Population:        str(o, "population"),
			Username:          str(o, "username"),
			Email:             str(o, "email"),
			Nickname:          str(o, "nickname"),
			Title:             str(o, "title"),
			Type:              str(o, "type"),
			Locale:            str(o, "locale"),
			PreferredLanguage: str(o, "preferredLanguage"),
			Timezone:          str(o, "timezone"),
			MobilePhone:       str(o, "mobilePhone"),
			PrimaryPhone:      str(o, "primaryPhone"),
			ExternalID:        str(o, "externalId"),
			Enabled:           boolean(o, "enabled", true),
		}
		if n, ok := o["name"].(map[string]any); ok {
			u.Name = UserName{
				Given:           str(n, "given"),
				Middle:          str(n, "middle"),
				Family:          str(n, "family"),
				Formatted:       str(n, "formatted"),
				HonorificPrefix: str(n, "honorificPrefix"),
				HonorificSuffix: str(n, "honorificSuffix"),
			}
		}
		if p, ok := o["password"].(map[string]any); ok {
			u.Password = &Password{Value: Secret(str(p, "value")), ForceChange: boolean(p, "forceChange", false)}
		}
		m.Users[addr.Key] = u
	case engine.KindWorkerApps:
		w := &WorkerApp{
			Pos:                     pos,
			Environment:             str(o, "environment"),
			Name:                    str(o, "name"),
			Description:             str(o, "description"),
			Enabled:                 boolean(o, "enabled", true),
			TokenEndpointAuthMethod: strOr(o, "tokenEndpointAuthMethod", DefaultTokenEndpointAuthMethod),
		}
		roles, _ := o["roles"].([]any)
		d := l.origins[addr].doc
		for i, r := range roles {
			ro, _ := r.(map[string]any)
			sc, _ := ro["scope"].(map[string]any)
			w.Roles = append(w.Roles, RoleAssignment{
				Pos:  d.valuePos(l.origins[addr].ptr + "/roles/" + strconv.Itoa(i)),
				Role: str(ro, "role"),
				Scope: Scope{
					Environment:  str(sc, "environment"),
					Population:   str(sc, "population"),
					Organization: boolean(sc, "organization", false),
				},
			})
		}
		m.WorkerApps[addr.Key] = w
	case engine.KindWebApps:
		w := &WebApp{
			Pos:                         pos,
			Environment:                 str(o, "environment"),
			Name:                        str(o, "name"),
			Description:                 str(o, "description"),
			Enabled:                     boolean(o, "enabled", true),
			HomePageURL:                 str(o, "homePageUrl"),
			LoginPageURL:                str(o, "loginPageUrl"),
			RedirectURIs:                strs(o, "redirectUris"),
			PostLogoutRedirectURIs:      strs(o, "postLogoutRedirectUris"),
			GrantTypes:                  strs(o, "grantTypes"),
			ResponseTypes:               strs(o, "responseTypes"),
			TokenEndpointAuthMethod:     strOr(o, "tokenEndpointAuthMethod", DefaultTokenEndpointAuthMethod),
			PKCEEnforcement:             strOr(o, "pkceEnforcement", DefaultPKCEEnforcement),
			RefreshTokenDuration:        integer(o, "refreshTokenDuration", DefaultRefreshTokenDuration),
			RefreshTokenRollingDuration: integer(o, "refreshTokenRollingDuration", 0),
			Scopes:                      strs(o, "scopes"),
		}
		if _, set := o["grantTypes"]; !set {
			w.GrantTypes = []string{DefaultGrantType}
		}
		if _, set := o["responseTypes"]; !set && slices.Contains(w.GrantTypes, DefaultGrantType) {
			w.ResponseTypes = []string{DefaultResponseType}
		}
		m.WebApps[addr.Key] = w
	}
}

func str(o map[string]any, k string) string {
	s, _ := o[k].(string)
	return s
}

func strOr(o map[string]any, k, def string) string {
	if s, ok := o[k].(string); ok && s != "" {
		return s
	}
	return def
}

func boolean(o map[string]any, k string, def bool) bool {
	if b, ok := o[k].(bool); ok {
		return b
	}
	return def
}

func integer(o map[string]any, k string, def int) int {
	if i, ok := o[k].(int64); ok && i >= 0 && i <= 1<<31-1 {
		return int(i)
	}
	return def
}

// strs returns the strings of a list, or nil when it is empty or not a list;
// items of another type are dropped.
func strs(o map[string]any, k string) []string {
	list, _ := o[k].([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
