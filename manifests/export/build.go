package export

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/manifests"
	"github.com/p1ctl/p1ctl/schema"
)

// Options say what Build writes.
type Options struct {
	// Kinds are the child kinds to export; empty means all. Populations that
	// exported users or roles refer to are written whatever Kinds says.
	Kinds []string
	// Exclude are globs (path.Match) on addresses, such as "users.bot-*",
	// matched against the derived keys. Environments cannot be excluded,
	// and a population that an exported object needs is kept.
	Exclude []string
	// PasswordVars gives every user a password: {value: ${PASSWORD_<KEY>}}.
	PasswordVars bool
	// NoIDs leaves out the "# id: …" comments.
	NoIDs bool
}

// Result is an exported manifest.
type Result struct {
	// Entries are the resources per kind, sorted by key.
	Entries map[string][]*Entry
	// Warnings are what the export left out or changed, and why, one
	// sentence each, starting with an address; sorted.
	Warnings []string
	// PasswordVars are the variables the manifest needs, sorted.
	PasswordVars []string
	// EnvNames are the names of the exported environments, in order asked.
	EnvNames []string

	noIDs bool
}

// Entry is one resource of the manifest.
type Entry struct {
	Addr    engine.Address
	ID      string // PingOne id, written only in a comment
	Comment string // why the entry is there, when that is not obvious
	Fields  []Field
}

// Field is one field of an entry, in the manifest reference's order.
type Field struct {
	Name  string
	Value any // string, bool, int, []string, map (ordered as []Field), []roleValue, password
}

// Count returns the number of entries of kind.
func (r *Result) Count(kind string) int { return len(r.Entries[kind]) }

// roleNames are the role names a manifest may use (the schema's enum).
var roleNames = func() map[string]bool {
	var s struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.JSON(), &s); err != nil {
		panic("export: the embedded schema is not JSON: " + err.Error())
	}
	out := map[string]bool{}
	for _, n := range s.Defs["roleAssignment"].Properties["role"].Enum {
		out[n] = true
	}
	return out
}()

const (
	scopeOrganization = manifests.ScopeOrganization
	scopeEnvironment  = manifests.ScopeEnvironment
	scopePopulation   = manifests.ScopePopulation

	// defaultRollingDuration is PingOne's refreshTokenRollingDuration when
	// none is sent (180 days). The manifest's default is "not managed".
	defaultRollingDuration = 15552000
)

type liveRole struct{ role, scopeType, scopeID string }

// roles reads a worker app's roles attribute.
func roles(l engine.Live) []liveRole {
	list, _ := l.Attrs["roles"].([]any)
	out := make([]liveRole, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		sc, _ := m["scope"].(map[string]any)
		r := liveRole{}
		r.role, _ = m["role"].(string)
		r.scopeType, _ = sc["type"].(string)
		r.scopeID, _ = sc["id"].(string)
		out = append(out, r)
	}
	return out
}

// builder holds the state of one Build.
type builder struct {
	src  *Source
	opts Options
	res  *Result

	keys     map[string]map[string]string // kind -> id -> key
	envByID  map[string]engine.Live
	popByID  map[string]engine.Live
	entries  map[engine.Address]*Entry
	existing map[string][]string // env id -> addresses that need it as an existing environment
	pulled   map[string][]string // population id -> addresses that need it
}

// Build turns live state into a manifest. It never fails on what PingOne
// holds: an object the manifest cannot express is left out with a warning.
func Build(src *Source, o Options) (*Result, error) {
	if err := CheckKinds(o.Kinds); err != nil {
		return nil, err
	}
	for _, g := range o.Exclude {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("exclude %q: %w", g, err)
		}
	}
	b := &builder{src: src, opts: o, res: &Result{Entries: map[string][]*Entry{}, noIDs: o.NoIDs},
		envByID: map[string]engine.Live{}, popByID: map[string]engine.Live{}, entries: map[engine.Address]*Entry{},
		existing: map[string][]string{}, pulled: map[string][]string{}}
	for _, e := range src.Environments {
		b.envByID[e.ID] = e
	}
	for _, l := range slices.Concat(src.Objects, src.Outside) {
		if l.Kind == engine.KindPopulations {
			b.popByID[l.ID] = l
		}
	}
	b.deriveKeys()
	for _, id := range src.Selected {
		b.res.EnvNames = append(b.res.EnvNames, b.envByID[id].Name)
		b.addEnvironment(b.envByID[id], false)
	}
	byKind := map[string][]engine.Live{}
	for _, l := range src.Objects {
		byKind[l.Kind] = append(byKind[l.Kind], l)
	}
	for _, kind := range []string{engine.KindUsers, engine.KindWorkerApps, engine.KindWebApps, engine.KindPopulations} {
		ls := byKind[kind]
		slices.SortFunc(ls, func(a, c engine.Live) int { return strings.Compare(b.key(a), b.key(c)) })
		for _, l := range ls {
			b.addChild(l)
		}
	}
	b.addNeeded()
	for _, e := range b.entries {
		b.res.Entries[e.Addr.Kind] = append(b.res.Entries[e.Addr.Kind], e)
	}
	for _, es := range b.res.Entries {
		slices.SortFunc(es, func(a, c *Entry) int { return strings.Compare(a.Addr.Key, c.Addr.Key) })
	}
	slices.Sort(b.res.Warnings)
	slices.Sort(b.res.PasswordVars)
	return b.res, nil
}

func (b *builder) warnf(addr engine.Address, format string, args ...any) {
	b.res.Warnings = append(b.res.Warnings, addr.String()+": "+fmt.Sprintf(format, args...))
}

func (b *builder) key(l engine.Live) string { return b.keys[l.Kind][l.ID] }

func (b *builder) addr(l engine.Live) engine.Address {
	return engine.Address{Kind: l.Kind, Key: b.key(l)}
}

// deriveKeys gives every object a key: its name (a user's username)
// lower-cased, with runs of other characters as "-". Objects whose keys
// collide get -2, -3, … in the order of their names, then ids, so keys stay
// the same from one export to the next as long as the names do. Keys are
// derived over everything read, before any filtering, so that excluding an
// object never renames another.
func (b *builder) deriveKeys() {
	b.keys = map[string]map[string]string{}
	groups := map[string][]engine.Live{engine.KindEnvironments: b.src.Environments}
	for _, l := range slices.Concat(b.src.Objects, b.src.Outside) {
		groups[l.Kind] = append(groups[l.Kind], l)
	}
	for kind, ls := range groups {
		ls = slices.Clone(ls)
		slices.SortFunc(ls, func(a, c engine.Live) int {
			return cmp.Or(strings.Compare(a.Name, c.Name), strings.Compare(a.ID, c.ID))
		})
		b.keys[kind] = map[string]string{}
		taken := map[string]bool{}
		for _, l := range ls {
			if _, seen := b.keys[kind][l.ID]; seen {
				continue
			}
			base := Key(l.Name, fallbackKey[kind])
			k := base
			for n := 2; taken[k]; n++ {
				k = base + "-" + strconv.Itoa(n)
			}
			taken[k] = true
			b.keys[kind][l.ID] = k
		}
	}
}

var fallbackKey = map[string]string{engine.KindEnvironments: "environment", engine.KindPopulations: "population",
	engine.KindUsers: "user", engine.KindWorkerApps: "worker-app", engine.KindWebApps: "web-app"}

// Key derives a manifest key from a name: lower-case letters and digits
// kept, every run of other characters one "-", trimmed. A name with no
// letter or digit gives fallback.
func Key(name, fallback string) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			sb.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	if sb.Len() == 0 {
		return fallback
	}
	return sb.String()
}

// PasswordVar is the variable a user's password placeholder names.
func PasswordVar(key string) string {
	return "PASSWORD_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

func (b *builder) wanted(kind string) bool {
	return len(b.opts.Kinds) == 0 || slices.Contains(b.opts.Kinds, kind)
}

func (b *builder) excluded(a engine.Address) bool {
	for _, g := range b.opts.Exclude {
		if ok, _ := path.Match(g, a.String()); ok {
			return true
		}
	}
	return false
}

func str(attrs map[string]any, k string) string {
	s, _ := attrs[k].(string)
	return s
}

// put appends a string field unless it is empty or def.
func put(fs []Field, name, v, def string) []Field {
	if v == "" || v == def {
		return fs
	}
	return append(fs, Field{name, v})
}

func (b *builder) addEnvironment(e engine.Live, existing bool) {
	a := b.addr(e)
	if _, ok := b.entries[a]; ok {
		return
	}
	ent := &Entry{Addr: a, ID: e.ID}
	ent.Fields = []Field{{"name", e.Name}, {"region", str(e.Attrs, "region")}}
	if existing {
		ent.Fields = append(ent.Fields, Field{"existing", true})
	} else {
		ent.Fields = put(ent.Fields, "type", str(e.Attrs, "type"), manifests.DefaultEnvironmentType)
		ent.Fields = put(ent.Fields, "description", str(e.Attrs, "description"), "")
	}
	b.entries[a] = ent
}

func (b *builder) envKey(envID string) string { return b.keys[engine.KindEnvironments][envID] }

func (b *builder) addChild(l engine.Live) {
	a := b.addr(l)
	if !b.wanted(l.Kind) {
		return
	}
	if b.excluded(a) {
		return
	}
	ent := &Entry{Addr: a, ID: l.ID}
	switch l.Kind {
	case engine.KindPopulations:
		if l.Protected != "" {
			return // the default population: kept only when needed (addNeeded)
		}
		ent.Fields = b.populationFields(l)
	case engine.KindUsers:
		if !b.userFields(l, ent) {
			return
		}
	case engine.KindWorkerApps:
		if l.Protected != "" {
			b.warnf(a, "left out: %s (manage it outside the manifests you apply with it)", l.Protected)
			return
		}
		if !b.workerFields(l, ent) {
			return
		}
	case engine.KindWebApps:
		ent.Fields = b.webFields(l)
	}
	b.entries[a] = ent
}

func (b *builder) populationFields(l engine.Live) []Field {
	fs := []Field{{"environment", b.envKey(l.EnvID)}, {"name", l.Name}}
	return put(fs, "description", str(l.Attrs, "description"), "")
}

func (b *builder) userFields(l engine.Live, ent *Entry) bool {
	at := l.Attrs
	email := str(at, "email")
	if email == "" {
		b.warnf(ent.Addr, "left out: the user has no email, which a manifest requires")
		return false
	}
	popRef, _ := at["population"].(map[string]any)
	popID, _ := popRef["id"].(string)
	if _, ok := b.popByID[popID]; !ok {
		b.warnf(ent.Addr, "left out: its population %q was not found", popID)
		return false
	}
	b.pulled[popID] = append(b.pulled[popID], ent.Addr.String())
	fs := []Field{{"environment", b.envKey(l.EnvID)}, {"population", b.keys[engine.KindPopulations][popID]},
		{"username", l.Name}, {"email", email}}
	nm, _ := at["name"].(map[string]any)
	var name []Field
	for _, k := range []string{"given", "middle", "family", "formatted", "honorificPrefix", "honorificSuffix"} {
		name = put(name, k, str(nm, k), "")
	}
	if len(name) > 0 {
		fs = append(fs, Field{"name", name})
	}
	for _, k := range []string{"nickname", "title", "type", "locale", "preferredLanguage", "timezone", "mobilePhone", "primaryPhone", "externalId"} {
		fs = put(fs, k, str(at, k), "")
	}
	if en, _ := at["enabled"].(bool); !en {
		fs = append(fs, Field{"enabled", false})
	}
	if b.opts.PasswordVars {
		v := PasswordVar(ent.Addr.Key)
		b.res.PasswordVars = append(b.res.PasswordVars, v)
		fs = append(fs, Field{"password", password{v}})
	}
	ent.Fields = fs
	return true
}

// password is a placeholder for a user's password variable.
type password struct{ variable string }

// roleValue is a role assignment as the manifest writes it.
type roleValue struct {
	Role       string
	ScopeField string // environment, population or organization
	ScopeKey   string // "" for organization
}

func (b *builder) workerFields(l engine.Live, ent *Entry) bool {
	fs := []Field{{"environment", b.envKey(l.EnvID)}, {"name", l.Name}}
	fs = put(fs, "description", str(l.Attrs, "description"), "")
	if en, _ := l.Attrs["enabled"].(bool); !en {
		fs = append(fs, Field{"enabled", false})
	}
	fs = put(fs, "tokenEndpointAuthMethod", str(l.Attrs, "tokenEndpointAuthMethod"), manifests.DefaultTokenEndpointAuthMethod)
	var rs []roleValue
	var needEnvs, needPops []string
	for _, r := range roles(l) {
		if !roleNames[r.role] {
			b.warnf(ent.Addr, "left out: it holds role %q, which a manifest cannot name", r.role)
			return false
		}
		switch r.scopeType {
		case scopeOrganization:
			rs = append(rs, roleValue{r.role, "organization", ""})
		case scopeEnvironment:
			if _, ok := b.envByID[r.scopeID]; !ok {
				b.warnf(ent.Addr, "left out: role %q is scoped to environment %s, which is not listed", r.role, r.scopeID)
				return false
			}
			needEnvs = append(needEnvs, r.scopeID)
			rs = append(rs, roleValue{r.role, "environment", b.envKey(r.scopeID)})
		case scopePopulation:
			if _, ok := b.popByID[r.scopeID]; !ok {
				b.warnf(ent.Addr, "left out: role %q is scoped to population %s, which was not found in any environment", r.role, r.scopeID)
				return false
			}
			needPops = append(needPops, r.scopeID)
			rs = append(rs, roleValue{r.role, "population", b.keys[engine.KindPopulations][r.scopeID]})
		default:
			b.warnf(ent.Addr, "left out: role %q has %s scope, which a manifest cannot express", r.role, r.scopeType)
			return false
		}
	}
	for _, id := range needEnvs {
		b.existing[id] = append(b.existing[id], ent.Addr.String())
	}
	for _, id := range needPops {
		b.pulled[id] = append(b.pulled[id], ent.Addr.String())
	}
	slices.SortFunc(rs, func(x, y roleValue) int {
		return cmp.Or(strings.Compare(x.Role, y.Role), strings.Compare(x.ScopeField, y.ScopeField), strings.Compare(x.ScopeKey, y.ScopeKey))
	})
	rs = slices.Compact(rs)
	if len(rs) > 0 {
		fs = append(fs, Field{"roles", rs})
	}
	ent.Fields = fs
	return true
}

func list(attrs map[string]any, k string) []string {
	l, _ := attrs[k].([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func number(attrs map[string]any, k string) (int, bool) {
	switch n := attrs[k].(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

func (b *builder) webFields(l engine.Live) []Field {
	at := l.Attrs
	fs := []Field{{"environment", b.envKey(l.EnvID)}, {"name", l.Name}}
	fs = put(fs, "description", str(at, "description"), "")
	if en, _ := at["enabled"].(bool); !en {
		fs = append(fs, Field{"enabled", false})
	}
	fs = put(fs, "homePageUrl", str(at, "homePageUrl"), "")
	fs = put(fs, "loginPageUrl", str(at, "loginPageUrl"), "")
	putList := func(name string, v, def []string) {
		if !slices.Equal(v, def) {
			fs = append(fs, Field{name, v})
		}
	}
	putList("redirectUris", list(at, "redirectUris"), []string{})
	putList("postLogoutRedirectUris", list(at, "postLogoutRedirectUris"), []string{})
	grants := list(at, "grantTypes")
	putList("grantTypes", grants, []string{manifests.DefaultGrantType})
	// The loader's default response types depend on the grant types.
	defResp := []string{}
	if slices.Contains(grants, manifests.DefaultGrantType) {
		defResp = []string{manifests.DefaultResponseType}
	}
	putList("responseTypes", list(at, "responseTypes"), defResp)
	fs = put(fs, "tokenEndpointAuthMethod", str(at, "tokenEndpointAuthMethod"), manifests.DefaultTokenEndpointAuthMethod)
	fs = put(fs, "pkceEnforcement", str(at, "pkceEnforcement"), manifests.DefaultPKCEEnforcement)
	if n, ok := number(at, "refreshTokenDuration"); ok && n != manifests.DefaultRefreshTokenDuration {
		fs = append(fs, Field{"refreshTokenDuration", n})
	}
	if n, ok := number(at, "refreshTokenRollingDuration"); ok && n != defaultRollingDuration {
		fs = append(fs, Field{"refreshTokenRollingDuration", n})
	}
	putList("scopes", list(at, "scopes"), []string{})
	return fs
}

// addNeeded adds what exported entries refer to but the export did not
// include: populations (the default one, excluded ones, ones of kinds not
// asked for, ones outside the selected environments) and environments
// outside the export, as existing: true.
func (b *builder) addNeeded() {
	for _, id := range slices.Sorted(maps.Keys(b.pulled)) {
		p := b.popByID[id]
		a := b.addr(p)
		by := slices.Compact(slices.Sorted(slices.Values(b.pulled[id])))
		if _, ok := b.entries[a]; ok {
			continue
		}
		ent := &Entry{Addr: a, ID: p.ID, Fields: b.populationFields(p)}
		switch {
		case !slices.Contains(b.src.Selected, p.EnvID):
			ent.Comment = fmt.Sprintf("In an environment outside the export, kept because %s refers to it.", strings.Join(by, ", "))
			b.existing[p.EnvID] = append(b.existing[p.EnvID], a.String())
		case p.Protected != "":
			ent.Comment = fmt.Sprintf("PingOne's %s, kept because %s refers to it.", p.Protected, summarize(by))
		default:
			ent.Comment = fmt.Sprintf("Kept because %s refers to it.", summarize(by))
			if b.excluded(a) {
				b.warnf(a, "kept although --exclude matches it: %s refers to it", summarize(by))
			}
		}
		b.entries[a] = ent
	}
	for _, id := range slices.Sorted(maps.Keys(b.existing)) {
		if slices.Contains(b.src.Selected, id) {
			continue
		}
		e := b.envByID[id]
		b.addEnvironment(e, true)
		by := slices.Compact(slices.Sorted(slices.Values(b.existing[id])))
		b.entries[b.addr(e)].Comment = fmt.Sprintf("Not exported: referred to by %s. p1ctl never changes an existing environment.", summarize(by))
	}
}

// summarize names up to three addresses and counts the rest.
func summarize(addrs []string) string {
	if len(addrs) <= 3 {
		return strings.Join(addrs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(addrs[:3], ", "), len(addrs)-3)
}
