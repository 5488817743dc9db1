package manifests

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/graph"
	"github.com/p1ctl/p1ctl/schema"
	"gopkg.in/yaml.v3"
)

// check runs the rules the schema cannot express, on the merged manifest:
// references, collisions in PingOne, existing environments, role scopes,
// application settings, literal passwords and dependency cycles.
func (l *loader) check() {
	l.checkExisting()
	l.checkReferences()
	l.checkCollisions()
	l.checkPasswords()
	l.checkRoles()
	l.checkWebApps()
	l.problems = append(l.problems, cycleProblems(l.manifest.Graph(), func(a engine.Address) Pos {
		return l.origins[a].pos
	})...)
}

// keyRE is the form of a local key, as the schema's key definition has it.
var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// kindNoun names one resource of a kind, with its article.
var kindNoun = map[string]string{
	engine.KindEnvironments: "an environment",
	engine.KindPopulations:  "a population",
	engine.KindUsers:        "a user",
	engine.KindWorkerApps:   "a worker app",
	engine.KindWebApps:      "a web app",
}

func noun(kind string) string {
	_, n, _ := strings.Cut(kindNoun[kind], " ")
	return n
}

func (l *loader) errorf(addr engine.Address, pos Pos, format string, args ...any) {
	l.problems = append(l.problems, at(pos, addr.String(), Error, format, args...))
}

func (l *loader) warnf(addr engine.Address, pos Pos, format string, args ...any) {
	l.problems = append(l.problems, at(pos, addr.String(), Warning, format, args...))
}

// fieldPos returns the position of the value of field (a relative pointer
// such as "population" or "roles/0/scope") of addr, or of addr's key when the
// field is not set.
func (l *loader) fieldPos(addr engine.Address, field string) Pos {
	o := l.origins[addr]
	ptr := o.ptr + "/" + field
	if _, ok := o.doc.index[ptr]; ok {
		return o.doc.valuePos(ptr)
	}
	return o.pos
}

// fromVar reports whether the value of field of addr came from variables.
func (l *loader) fromVar(addr engine.Address, field string) bool {
	o := l.origins[addr]
	return o.doc.fromVars(o.ptr+"/"+field) != nil
}

// show renders the value of field of addr for a message: quoted when it is
// written in the manifest, and by the variables it came from otherwise, so a
// variable's value never reaches an error.
func (l *loader) show(addr engine.Address, field, value string) string {
	o := l.origins[addr]
	if names := o.doc.fromVars(o.ptr + "/" + field); names != nil {
		return "(the value of " + varList(names) + ")"
	}
	return strconv.Quote(value)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// checkExisting rejects fields that would change an existing environment.
// Only name (to find it), region (which cannot change anyway, and picks the
// API host) and existing itself are allowed.
func (l *loader) checkExisting() {
	for _, key := range sortedKeys(l.manifest.Environments) {
		if !l.manifest.Environments[key].Existing {
			continue
		}
		addr := engine.Address{Kind: engine.KindEnvironments, Key: key}
		o := l.origins[addr]
		raw, _ := lookupPointer(o.doc.value, o.ptr).(map[string]any)
		for _, field := range sortedKeys(raw) {
			switch field {
			case "name", "region", "existing":
				continue
			}
			l.errorf(addr, o.doc.keyPos(o.ptr+"/"+escapeToken(field)),
				"%q cannot be set on an existing environment: p1ctl never changes an existing environment (remove %q, or existing: true)", field, field)
		}
	}
}

// lookupPointer returns the value at an RFC 6901 pointer, or nil.
func lookupPointer(v any, ptr string) any {
	if ptr == "" {
		return v
	}
	for _, t := range strings.Split(ptr[1:], "/") {
		switch n := v.(type) {
		case map[string]any:
			v = n[unescapeToken(t)]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			v = n[i]
		default:
			return nil
		}
	}
	return v
}

func (l *loader) checkReferences() {
	m := l.manifest
	for _, k := range sortedKeys(m.Populations) {
		addr := engine.Address{Kind: engine.KindPopulations, Key: k}
		l.ref(addr, "environment", engine.KindEnvironments, m.Populations[k].Environment)
	}
	for _, k := range sortedKeys(m.Users) {
		u := m.Users[k]
		addr := engine.Address{Kind: engine.KindUsers, Key: k}
		envOK := l.ref(addr, "environment", engine.KindEnvironments, u.Environment)
		if l.ref(addr, "population", engine.KindPopulations, u.Population) && envOK {
			if pe := m.Populations[u.Population].Environment; pe != u.Environment {
				l.errorf(addr, l.fieldPos(addr, "population"),
					"population %s belongs to environment %q, not to this user's environment %s",
					l.show(addr, "population", u.Population), pe, l.show(addr, "environment", u.Environment))
			}
		}
	}
	for _, k := range sortedKeys(m.WorkerApps) {
		w := m.WorkerApps[k]
		addr := engine.Address{Kind: engine.KindWorkerApps, Key: k}
		l.ref(addr, "environment", engine.KindEnvironments, w.Environment)
		for i, r := range w.Roles {
			base := "roles/" + strconv.Itoa(i) + "/scope/"
			l.ref(addr, base+"environment", engine.KindEnvironments, r.Scope.Environment)
			l.ref(addr, base+"population", engine.KindPopulations, r.Scope.Population)
		}
	}
	for _, k := range sortedKeys(m.WebApps) {
		addr := engine.Address{Kind: engine.KindWebApps, Key: k}
		l.ref(addr, "environment", engine.KindEnvironments, m.WebApps[k].Environment)
	}
}

// ref checks that field of from names an existing resource of kind, and
// reports whether it does. An empty key is the schema's problem, not ours.
func (l *loader) ref(from engine.Address, field, kind, key string) bool {
	if key == "" || !keyRE.MatchString(key) {
		return false // the schema has reported it
	}
	if l.manifest.has(engine.Address{Kind: kind, Key: key}) {
		return true
	}
	msg := fmt.Sprintf("unknown %s %s", noun(kind), l.show(from, field, key))
	if !l.fromVar(from, field) {
		hint := ""
		for _, other := range engine.Kinds {
			if other != kind && l.manifest.has(engine.Address{Kind: other, Key: key}) {
				hint = fmt.Sprintf("%s is %s, not %s", engine.Address{Kind: other, Key: key}, kindNoun[other], kindNoun[kind])
				break
			}
		}
		if hint == "" {
			if best := schema.Closest(key, l.keys(kind)); best != "" {
				hint = fmt.Sprintf("did you mean %q?", best)
			}
		}
		if hint != "" {
			msg += " (" + hint + ")"
		}
	}
	l.errorf(from, l.fieldPos(from, field), "%s", msg)
	return false
}

func (l *loader) keys(kind string) []string {
	m := l.manifest
	switch kind {
	case engine.KindEnvironments:
		return sortedKeys(m.Environments)
	case engine.KindPopulations:
		return sortedKeys(m.Populations)
	case engine.KindUsers:
		return sortedKeys(m.Users)
	case engine.KindWorkerApps:
		return sortedKeys(m.WorkerApps)
	case engine.KindWebApps:
		return sortedKeys(m.WebApps)
	}
	return nil
}

// claim is a resource's use of a name that PingOne keeps unique.
type claim struct {
	addr  engine.Address
	field string
	value string
	pos   Pos
}

// checkCollisions reports resources that PingOne would see as the same
// object: names it keeps unique. The first claim in file order keeps the
// name; every later one is reported, naming the first.
func (l *loader) checkCollisions() {
	m := l.manifest
	groups := map[string][]claim{}
	add := func(group string, kind, key, field, value string) {
		if value == "" {
			return
		}
		addr := engine.Address{Kind: kind, Key: key}
		groups[group] = append(groups[group], claim{addr: addr, field: field, value: value, pos: l.origins[addr].pos})
	}
	for k, e := range m.Environments {
		add("env\x00"+e.Name, engine.KindEnvironments, k, "name", e.Name)
	}
	for k, p := range m.Populations {
		add("pop\x00"+p.Environment+"\x00"+p.Name, engine.KindPopulations, k, "name", p.Name)
	}
	for k, u := range m.Users {
		add("user\x00"+u.Environment+"\x00"+strings.ToLower(u.Username), engine.KindUsers, k, "username", u.Username)
	}
	for k, a := range m.WorkerApps {
		add("app\x00"+a.Environment+"\x00"+a.Name, engine.KindWorkerApps, k, "name", a.Name)
	}
	for k, a := range m.WebApps {
		add("app\x00"+a.Environment+"\x00"+a.Name, engine.KindWebApps, k, "name", a.Name)
	}
	for group, claims := range groups {
		if len(claims) < 2 {
			continue
		}
		slices.SortFunc(claims, func(a, b claim) int {
			return cmp.Or(cmp.Compare(a.pos.File, b.pos.File), cmp.Compare(a.pos.Line, b.pos.Line),
				cmp.Compare(a.pos.Col, b.pos.Col), a.addr.Compare(b.addr))
		})
		first := claims[0]
		var rule string
		switch {
		case strings.HasPrefix(group, "env\x00"):
			rule = "environment names are unique in the organization"
		case strings.HasPrefix(group, "pop\x00"):
			rule = "population names are unique in an environment"
		case strings.HasPrefix(group, "user\x00"):
			rule = "usernames are unique in an environment, ignoring case"
		default:
			rule = "application names are unique in an environment, across worker and web apps"
		}
		for _, c := range claims[1:] {
			l.errorf(c.addr, l.fieldPos(c.addr, c.field), "%s %s is already used by %s (%s): %s",
				c.field, l.show(c.addr, c.field, c.value), first.addr, first.pos, rule)
		}
	}
}

// checkPasswords warns about passwords written in the manifest, where
// everyone with access to the repository can read them.
func (l *loader) checkPasswords() {
	for _, k := range sortedKeys(l.manifest.Users) {
		if l.manifest.Users[k].Password == nil {
			continue
		}
		addr := engine.Address{Kind: engine.KindUsers, Key: k}
		o := l.origins[addr]
		e, ok := o.doc.index[o.ptr+"/password/value"]
		if !ok || e.value == nil || e.value.Kind != yaml.ScalarNode || o.doc.unresolved[e.value] {
			continue
		}
		pos := o.doc.posOf(e.value)
		switch {
		case o.doc.literalDefault[e.value]:
			l.warnf(addr, pos, "password has a default written in the manifest; drop the default and set the variable instead")
		case o.doc.vars[e.value] == nil:
			l.warnf(addr, pos, "password is written in the manifest; use a variable instead, such as value: ${%s}", passwordVar(k))
		}
	}
}

// passwordVar suggests a variable name for a user's password.
func passwordVar(key string) string {
	name := strings.ToUpper(strings.ReplaceAll(key, "-", "_")) + "_PASSWORD"
	if name[0] >= '0' && name[0] <= '9' {
		name = "USER_" + name
	}
	return name
}

// roleScopes is the role × scope matrix of PingOne's role assignments
// (reference §4). Combinations marked unconfirmed draw a warning, not an
// error; roles not listed are not checked.
var roleScopes = map[string]struct {
	allowed   []string
	confirmed bool
}{
	"Organization Admin":           {[]string{ScopeOrganization}, true},
	"Environment Admin":            {[]string{ScopeOrganization, ScopeEnvironment}, true},
	"Identity Data Admin":          {[]string{ScopeEnvironment, ScopePopulation}, true},
	"Application Owner":            {[]string{ScopeEnvironment}, true}, // and APPLICATION, which manifests cannot name
	"Client Application Developer": {[]string{ScopeEnvironment}, false},
}

func scopeWords(types []string) string {
	words := make([]string, len(types))
	for i, t := range types {
		words[i] = strings.ToLower(t)
	}
	return strings.Join(words, " or ") + " scope"
}

func (l *loader) checkRoles() {
	for _, k := range sortedKeys(l.manifest.WorkerApps) {
		addr := engine.Address{Kind: engine.KindWorkerApps, Key: k}
		seen := map[RoleAssignment]Pos{}
		for i, r := range l.manifest.WorkerApps[k].Roles {
			st := r.Scope.Type()
			if r.Role == "" || st == "" {
				continue
			}
			scopePos := l.fieldPos(addr, "roles/"+strconv.Itoa(i)+"/scope")
			if rule, ok := roleScopes[r.Role]; ok && !slices.Contains(rule.allowed, st) {
				if rule.confirmed {
					l.errorf(addr, scopePos, "PingOne refuses role %q at %s; it allows %s only",
						r.Role, scopeWords([]string{st}), scopeWords(rule.allowed))
				} else {
					l.warnf(addr, scopePos, "role %q is only known to work at %s; PingOne may refuse %s",
						r.Role, scopeWords(rule.allowed), scopeWords([]string{st}))
				}
			}
			key := RoleAssignment{Role: r.Role, Scope: r.Scope}
			if first, dup := seen[key]; dup {
				l.errorf(addr, r.Pos, "role %q is already assigned with the same scope at %s", r.Role, first)
				continue
			}
			seen[key] = r.Pos
		}
	}
}

// checkWebApps checks settings that PingOne rejects together, or that have
// no effect.
func (l *loader) checkWebApps() {
	for _, k := range sortedKeys(l.manifest.WebApps) {
		w := l.manifest.WebApps[k]
		addr := engine.Address{Kind: engine.KindWebApps, Key: k}
		o := l.origins[addr]
		raw, _ := lookupPointer(o.doc.value, o.ptr).(map[string]any)
		has := func(list []string, v string) bool { return slices.Contains(list, v) }
		grantsPos := l.fieldPos(addr, "grantTypes")
		responsesPos := l.fieldPos(addr, "responseTypes")

		code, implicit := has(w.GrantTypes, "AUTHORIZATION_CODE"), has(w.GrantTypes, "IMPLICIT")
		if code && !has(w.ResponseTypes, "CODE") {
			l.errorf(addr, responsesPos, "grant type AUTHORIZATION_CODE needs response type CODE")
		}
		if !code && has(w.ResponseTypes, "CODE") {
			l.errorf(addr, responsesPos, "response type CODE needs grant type AUTHORIZATION_CODE")
		}
		if implicit && !has(w.ResponseTypes, "TOKEN") && !has(w.ResponseTypes, "ID_TOKEN") {
			l.errorf(addr, responsesPos, "grant type IMPLICIT needs response type TOKEN or ID_TOKEN")
		}
		if !implicit && (has(w.ResponseTypes, "TOKEN") || has(w.ResponseTypes, "ID_TOKEN")) {
			l.errorf(addr, responsesPos, "response types TOKEN and ID_TOKEN need grant type IMPLICIT")
		}
		if (code || implicit) && len(w.RedirectURIs) == 0 {
			pos := l.fieldPos(addr, "redirectUris")
			if _, set := raw["redirectUris"]; !set {
				pos = grantsPos
			}
			l.errorf(addr, pos, "redirectUris must not be empty: grant types AUTHORIZATION_CODE and IMPLICIT redirect to them")
		}
		if list, ok := raw["redirectUris"].([]any); ok {
			for i, u := range list {
				if s, ok := u.(string); ok && strings.Contains(s, "*") {
					l.errorf(addr, l.fieldPos(addr, "redirectUris/"+strconv.Itoa(i)), "wildcards are not allowed in redirect URIs")
				}
			}
		}
		if w.TokenEndpointAuthMethod == "NONE" && has(w.GrantTypes, "CLIENT_CREDENTIALS") {
			l.errorf(addr, l.fieldPos(addr, "tokenEndpointAuthMethod"),
				"tokenEndpointAuthMethod NONE cannot be used with grant type CLIENT_CREDENTIALS, which authenticates the client")
		}
		if w.TokenEndpointAuthMethod == "NONE" && w.PKCEEnforcement == DefaultPKCEEnforcement && code {
			l.warnf(addr, l.fieldPos(addr, "tokenEndpointAuthMethod"),
				"a public client (tokenEndpointAuthMethod NONE) should set pkceEnforcement: S256_REQUIRED")
		}
		refresh := has(w.GrantTypes, "REFRESH_TOKEN")
		if refresh && !code {
			l.warnf(addr, grantsPos, "grant type REFRESH_TOKEN has no effect without AUTHORIZATION_CODE")
		}
		for _, f := range []string{"refreshTokenDuration", "refreshTokenRollingDuration"} {
			if _, set := raw[f]; set && !refresh {
				l.warnf(addr, l.fieldPos(addr, f), "%s has no effect without grant type REFRESH_TOKEN", f)
			}
		}
		if w.RefreshTokenRollingDuration != 0 && w.RefreshTokenRollingDuration < w.RefreshTokenDuration {
			l.errorf(addr, l.fieldPos(addr, "refreshTokenRollingDuration"),
				"refreshTokenRollingDuration must be at least refreshTokenDuration (%d)", w.RefreshTokenDuration)
		}
	}
}

// cycleProblems reports every dependency cycle of g at its first resource.
// The kinds of this manifest version cannot form a cycle, but the planner
// walks this graph, so validation refuses one before any plan is made.
func cycleProblems(g *graph.Graph[engine.Address], posOf func(engine.Address) Pos) []Problem {
	var out []Problem
	for _, c := range g.Cycles() {
		out = append(out, at(posOf(c[0]), c[0].String(), Error, "dependency cycle: %s", graph.FormatCycle(c)))
	}
	return out
}
