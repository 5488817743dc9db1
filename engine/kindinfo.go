package engine

import "github.com/p1ctl/p1ctl/engine/diff"

// schemas say, per kind, which attributes PingOne treats as sets and which
// cannot change in place.
var schemas = map[string]diff.Schema{
	KindEnvironments: {Immutable: set("region", "type")},
	KindPopulations:  {},
	KindUsers:        {},
	KindWorkerApps:   {Sets: set("roles", "grantTypes"), Immutable: set("type")},
	KindWebApps: {Sets: set("redirectUris", "postLogoutRedirectUris", "grantTypes", "responseTypes", "scopes"),
		Immutable: set("type")},
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// childKinds are the kinds that live inside an environment, in dependency
// order.
var childKinds = []string{KindPopulations, KindUsers, KindWorkerApps, KindWebApps}

// IsSet reports whether a kind's attribute is a list whose order carries no
// meaning in PingOne (compared, and shown, element by element).
func IsSet(kind, path string) bool { return schemas[kind].Sets[path] }
