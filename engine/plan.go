package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-multierror"

	"github.com/p1ctl/p1ctl/engine/diff"
	"github.com/p1ctl/p1ctl/engine/graph"
)

// Action is what a plan does to one resource.
type Action string

// Plan verbs. Result words ("created", "updated") are a different
// vocabulary; see Outcome.
const (
	NoOp    Action = "no-op"
	Create  Action = "create"
	Update  Action = "update"
	Replace Action = "replace"
	Delete  Action = "delete"
)

// Options steer planning.
type Options struct {
	// Prune plans deletes of objects in managed environments that the
	// manifest no longer lists.
	Prune bool
	// AllowEnvironmentDeletion, with Prune, also deletes environments the
	// manifest does not list (never PRODUCTION ones, never the one p1ctl
	// signs in from).
	AllowEnvironmentDeletion bool
	// AllowReplace plans a replace (delete, then create) where an
	// immutable attribute differs; without it such a plan is an error.
	AllowReplace bool
	// ResetPasswords re-sets write-only passwords of existing users.
	ResetPasswords bool
	// Targets limits the plan to these resources and what they depend on.
	Targets []Address
	// ReadParallelism bounds concurrent List calls; 4 when zero.
	ReadParallelism int
}

// Change is one step of a plan.
type Change struct {
	Addr   Address
	Action Action
	// Name is the resource's natural key value (environment name, username).
	Name string
	// ID is the live object's PingOne id ("" for a create).
	ID string
	// Fields lists what changes, sorted by path. For a create, every
	// attribute the manifest sets; for a delete, none.
	Fields []diff.FieldChange
	// Reason explains a replace or a delete, or notes a password reset.
	Reason string
	// Wave orders execution: a change runs after every change of a lower
	// wave that it depends on.
	Wave int
	// LiveHash fingerprints the live object the change was planned against
	// ("" when there is none), so a saved plan can detect that it is stale.
	LiveHash string

	// Desired and Live are what the change was computed from (nil for a
	// delete's Desired and a create's Live).
	Desired *Resource `json:"-"`
	Live    *Live     `json:"-"`
}

// Plan is the ordered list of changes that make live state match the
// desired state. Changes are sorted by wave, then address.
type Plan struct {
	Changes []Change
	// Identity is who the plan was made as.
	Identity Identity
	// Reads counts the List calls the plan cost.
	Reads int
}

// Summary counts a plan's changes by action.
type Summary struct {
	Create, Update, Replace, Delete, NoOp int
}

// Summary counts the plan's changes.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Replace:
			s.Replace++
		case Delete:
			s.Delete++
		default:
			s.NoOp++
		}
	}
	return s
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	s := p.Summary()
	return s.Create+s.Update+s.Replace+s.Delete > 0
}

// MakePlan reads live state through p and plans the changes that make it
// match desired. It reads with one paged List per collection: one for the
// environments, then one per kind inside each environment that exists; the
// contents of environments still to be created are not read at all.
//
// Every problem found (duplicates in PingOne, immutable changes without
// AllowReplace, missing existing environments) is returned at once.
func MakePlan(ctx context.Context, p Provider, desired []Resource, opts Options) (*Plan, error) {
	if opts.Prune && len(opts.Targets) > 0 {
		// A targeted plan sees only part of the manifest; pruning from it
		// would delete the listed resources it does not see.
		return nil, errors.New("--prune cannot be combined with --target: pruning needs the whole manifest")
	}
	pl := &planner{p: p, opts: opts, byAddr: map[Address]*Resource{}, ids: map[Address]string{},
		liveOf: map[Address]*Live{}, children: map[string]map[string][]Live{}}
	if err := pl.index(desired); err != nil {
		return nil, err
	}
	id, err := p.Whoami(ctx)
	if err != nil {
		return nil, fmt.Errorf("identify the signed-in worker app: %w", err)
	}
	pl.plan.Identity = id
	if err := pl.read(ctx); err != nil {
		return nil, err
	}
	pl.match()
	pl.diff()
	if opts.Prune {
		pl.prune(id)
	}
	if pl.errs != nil {
		sortErrors(pl.errs)
		return nil, pl.errs
	}
	pl.order()
	return &pl.plan, nil
}

type planner struct {
	p    Provider
	opts Options
	plan Plan
	errs *multierror.Error

	scope    []Address // desired resources in scope, dependency-sorted
	byAddr   map[Address]*Resource
	graph    *graph.Graph[Address]
	ids      map[Address]string
	liveOf   map[Address]*Live
	liveEnvs []Live
	// children[envID][kind] are the live objects of an environment.
	children map[string]map[string][]Live
	matched  map[string]bool              // live ids matched to a desired resource
	byKey    map[string]map[string][]Live // see liveByKey
	replaced map[Address]bool
}

func (pl *planner) fail(addr Address, format string, args ...any) {
	pl.errs = multierror.Append(pl.errs, &PlanError{Addr: addr, Msg: fmt.Sprintf(format, args...)})
}

// PlanError is a problem that keeps a plan from being made.
type PlanError struct {
	Addr Address
	Msg  string
}

func (e *PlanError) Error() string { return e.Addr.String() + ": " + e.Msg }

// index builds the dependency graph and narrows it to the targets.
func (pl *planner) index(desired []Resource) error {
	g := graph.New(Address.Compare)
	for i := range desired {
		r := &desired[i]
		if _, dup := pl.byAddr[r.Addr]; dup {
			return fmt.Errorf("%s: listed twice", r.Addr)
		}
		pl.byAddr[r.Addr] = r
		g.AddNode(r.Addr)
	}
	for _, r := range desired {
		for _, d := range r.DependsOn() {
			if _, ok := pl.byAddr[d]; !ok {
				return fmt.Errorf("%s: refers to %s, which the manifest does not define", r.Addr, d)
			}
			g.AddEdge(r.Addr, d)
		}
	}
	if cycles := g.Cycles(); len(cycles) > 0 {
		return fmt.Errorf("dependency cycle: %s", graph.FormatCycle(cycles[0]))
	}
	pl.graph = g
	inScope := map[Address]bool{}
	if len(pl.opts.Targets) == 0 {
		for a := range pl.byAddr {
			inScope[a] = true
		}
	} else {
		var add func(Address)
		add = func(a Address) {
			if inScope[a] {
				return
			}
			inScope[a] = true
			for _, d := range g.DependenciesOf(a) {
				add(d)
			}
		}
		for _, t := range pl.opts.Targets {
			if _, ok := pl.byAddr[t]; !ok {
				return fmt.Errorf("--target %s: no such resource in the manifest", t)
			}
			add(t)
		}
	}
	waves, err := g.Waves()
	if err != nil {
		return err
	}
	for _, w := range waves {
		for _, a := range w {
			if inScope[a] {
				pl.scope = append(pl.scope, a)
			}
		}
	}
	return nil
}

// read lists the environments, then the contents of every desired
// environment that exists, in parallel.
func (pl *planner) read(ctx context.Context) error {
	envs, err := pl.p.List(ctx, Query{Kind: KindEnvironments})
	pl.plan.Reads++
	if err != nil {
		return fmt.Errorf("list environments: %w", err)
	}
	pl.liveEnvs = envs
	byName := map[string][]Live{}
	for _, e := range envs {
		byName[e.Name] = append(byName[e.Name], e)
	}
	var toRead []string
	for _, a := range pl.scope {
		r := pl.byAddr[a]
		if a.Kind != KindEnvironments {
			continue
		}
		switch m := byName[r.Name]; len(m) {
		case 0:
			if r.Existing {
				pl.fail(a, "existing environment %q not found in the organization", r.Name)
			}
		case 1:
			pl.setLive(a, m[0])
			toRead = append(toRead, m[0].ID)
		default:
			pl.fail(a, "two environments are named %q (%s and %s); rename one in PingOne", r.Name, m[0].ID, m[1].ID)
		}
	}
	type job struct{ envID, kind string }
	var jobs []job
	for _, envID := range toRead {
		pl.children[envID] = map[string][]Live{}
		for _, k := range childKinds {
			if pl.needKind(envID, k) {
				jobs = append(jobs, job{envID, k})
			}
		}
	}
	par := pl.opts.ReadParallelism
	if par <= 0 {
		par = 4
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, par)
		errs *multierror.Error
	)
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			live, err := pl.p.List(ctx, Query{Kind: j.kind, EnvID: j.envID})
			mu.Lock()
			defer mu.Unlock()
			pl.plan.Reads++
			if err != nil {
				errs = multierror.Append(errs, pl.listError(j.kind, j.envID, err))
				return
			}
			pl.children[j.envID][j.kind] = live
		})
	}
	wg.Wait()
	if err := errs.ErrorOrNil(); err != nil {
		sortErrors(errs)
		return err
	}
	return nil
}

// forbidden is implemented by a Provider's errors that mean the signed-in
// actor lacks a role for the call.
type forbidden interface{ Forbidden() bool }

// readRoles are the roles that read each kind inside an environment.
var readRoles = map[string][]string{
	KindPopulations: {"Environment Admin", "Identity Data Admin", "Identity Data Read Only"},
	KindUsers:       {"Identity Data Admin", "Identity Data Read Only"},
	KindWorkerApps:  {"Environment Admin", "Client Application Developer"},
	KindWebApps:     {"Environment Admin", "Client Application Developer"},
}

// listError explains a failed read; a refusal names the roles that would
// allow it, since a plan that cannot read cannot be made.
func (pl *planner) listError(kind, envID string, err error) error {
	name := envID
	for _, e := range pl.liveEnvs {
		if e.ID == envID {
			name = fmt.Sprintf("%q (%s)", e.Name, envID)
		}
	}
	var f forbidden
	if errors.As(err, &f) && f.Forbidden() {
		return fmt.Errorf("list %s in environment %s: the worker app needs %s there to read them (plan --prune reads every kind): %w",
			kind, name, strings.Join(readRoles[kind], " or "), err)
	}
	return fmt.Errorf("list %s in environment %s: %w", kind, name, err)
}

// needKind reports whether the planner must read kind in the environment:
// when the manifest has such resources there, or when pruning it.
func (pl *planner) needKind(envID, kind string) bool {
	if pl.opts.Prune {
		return true
	}
	for _, a := range pl.scope {
		r := pl.byAddr[a]
		if a.Kind == kind && pl.ids[r.Env] == envID {
			return true
		}
	}
	return false
}

func (pl *planner) setLive(a Address, l Live) {
	pl.ids[a] = l.ID
	lc := l
	pl.liveOf[a] = &lc
}

// match pairs each desired child with its live object by natural key.
func (pl *planner) match() {
	pl.matched = map[string]bool{}
	for _, a := range pl.scope {
		r := pl.byAddr[a]
		if a.Kind == KindEnvironments {
			if l := pl.liveOf[a]; l != nil {
				pl.matched[l.ID] = true
			}
			continue
		}
		envID := pl.ids[r.Env]
		if envID == "" {
			continue // a new environment: everything in it is new
		}
		found := pl.liveByKey(envID, a.Kind)[NaturalKey(a.Kind, r.Name)]
		switch len(found) {
		case 0:
		case 1:
			pl.setLive(a, found[0])
			pl.matched[found[0].ID] = true
		default:
			pl.fail(a, "two live objects have the natural key %q (%s and %s); resolve the duplicate in PingOne", r.Name, found[0].ID, found[1].ID)
		}
	}
}

// liveByKey returns the live objects of a kind in an environment by natural
// key, built once: matching 10,000 users must not scan 10,000 names each.
func (pl *planner) liveByKey(envID, kind string) map[string][]Live {
	k := envID + "/" + kind
	if idx, ok := pl.byKey[k]; ok {
		return idx
	}
	idx := map[string][]Live{}
	for _, l := range pl.children[envID][kind] {
		key := NaturalKey(kind, l.Name)
		idx[key] = append(idx[key], l)
	}
	if pl.byKey == nil {
		pl.byKey = map[string]map[string][]Live{}
	}
	pl.byKey[k] = idx
	return idx
}

// diff computes each desired resource's action and field changes.
func (pl *planner) diff() {
	pl.replaced = map[Address]bool{}
	for _, a := range pl.scope {
		r := pl.byAddr[a]
		live := pl.liveOf[a]
		if live != nil && pl.replaced[r.Env] {
			live = nil // its environment is replaced: it will be created anew
		}
		attrs := pl.resolve(r.Attrs)
		c := Change{Addr: a, Name: r.Name, Desired: r, Live: live}
		switch {
		case live == nil:
			c.Action = Create
			for k, v := range r.Secrets {
				attrs[k] = diff.Sensitive{Value: v}
			}
			c.Fields = diff.Fields(attrs, nil, schemas[a.Kind])
		case r.Existing:
			c.Action, c.ID, c.LiveHash = NoOp, live.ID, hashLive(*live)
			if want, _ := r.Attrs["region"].(string); want != "" && live.Attrs["region"] != nil && live.Attrs["region"] != want {
				pl.fail(a, "existing environment %q is in region %v, not %s", r.Name, live.Attrs["region"], want)
			}
		default:
			c.ID, c.LiveHash = live.ID, hashLive(*live)
			c.Fields = diff.Fields(attrs, live.Attrs, schemas[a.Kind])
			if pl.opts.ResetPasswords && len(r.Secrets) > 0 {
				for _, k := range sortedKeys(r.Secrets) {
					c.Fields = append(c.Fields, diff.FieldChange{Path: k, Sensitive: true})
				}
				c.Reason = "write-only values are re-set (--reset-passwords)"
				sort.Slice(c.Fields, func(i, j int) bool { return c.Fields[i].Path < c.Fields[j].Path })
			}
			var immutable []string
			for _, f := range c.Fields {
				if f.ForcesReplace {
					immutable = append(immutable, f.Path)
				}
			}
			switch {
			case len(immutable) > 0 && !pl.opts.AllowReplace:
				pl.fail(a, "%s cannot change in place; use --allow-replace to delete and re-create it", strings.Join(immutable, ", "))
				c.Action = Update
			case len(immutable) > 0:
				c.Action = Replace
				c.Reason = strings.Join(immutable, ", ") + " cannot change in place"
				pl.replaced[a] = true
				if a.Kind == KindEnvironments {
					pl.checkEnvDeletable(a, *live)
				}
			case len(c.Fields) > 0:
				c.Action = Update
			default:
				c.Action = NoOp
			}
		}
		pl.plan.Changes = append(pl.plan.Changes, c)
	}
}

// checkEnvDeletable refuses plans that would delete a PRODUCTION
// environment or one p1ctl signs in from.
func (pl *planner) checkEnvDeletable(a Address, l Live) {
	if t, _ := l.Attrs["type"].(string); t == "PRODUCTION" {
		pl.fail(a, "environment %q is PRODUCTION; p1ctl never deletes PRODUCTION environments", l.Name)
	}
	if l.ID == pl.plan.Identity.EnvID {
		pl.fail(a, "environment %q holds the worker app p1ctl signs in as; it cannot be deleted", l.Name)
	}
	if !pl.opts.AllowEnvironmentDeletion {
		pl.fail(a, "replacing environment %q deletes it; add --allow-environment-deletion", l.Name)
	}
}

// resolve replaces Refs with live ids, or diff.Unknown for resources still
// to be created.
func (pl *planner) resolve(attrs map[string]any) map[string]any {
	out, _ := mapRefs(attrs, func(r Ref) any {
		if id := pl.ids[r.Addr]; id != "" && !pl.replaced[r.Addr] {
			return id
		}
		return diff.Unknown{Of: r.Addr.String()}
	}).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// prune plans deletes of unlisted objects in managed environments and,
// when allowed, of unlisted environments.
func (pl *planner) prune(id Identity) {
	for _, a := range pl.scope {
		r := pl.byAddr[a]
		if a.Kind != KindEnvironments || r.Existing || pl.replaced[a] {
			continue
		}
		envID := pl.ids[a]
		if envID == "" {
			continue
		}
		for _, kind := range childKinds {
			for _, l := range pl.children[envID][kind] {
				if pl.matched[l.ID] || l.Protected != "" || l.ID == id.AppID {
					continue
				}
				lc := l
				pl.plan.Changes = append(pl.plan.Changes, Change{
					Addr: Address{Kind: kind, Key: orphanKey(l)}, Action: Delete, Name: l.Name, ID: l.ID,
					Reason: fmt.Sprintf("not in the manifest (environment %s)", a), LiveHash: hashLive(l), Live: &lc})
			}
		}
	}
	if !pl.opts.AllowEnvironmentDeletion {
		return
	}
	for _, l := range pl.liveEnvs {
		if pl.matched[l.ID] || l.ID == id.EnvID || l.Protected != "" {
			continue
		}
		if t, _ := l.Attrs["type"].(string); t == "PRODUCTION" {
			continue
		}
		lc := l
		pl.plan.Changes = append(pl.plan.Changes, Change{
			Addr: Address{Kind: KindEnvironments, Key: orphanKey(l)}, Action: Delete, Name: l.Name, ID: l.ID,
			Reason: "not in the manifest", LiveHash: hashLive(l), Live: &lc})
	}
}

// orphanKey names a live object that has no manifest key: a key derived
// from its name plus the start of its id, so the address stays unique.
func orphanKey(l Live) string {
	var b strings.Builder
	for _, r := range strings.ToLower(l.Name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	key := strings.Trim(b.String(), "-")
	short := l.ID
	if len(short) > 8 {
		short = short[:8]
	}
	if key == "" {
		return short
	}
	return key + "-" + short
}

// order assigns waves: creates and updates after what they depend on;
// deletes last, children before their parents.
func (pl *planner) order() {
	wave := map[Address]int{}
	maxWave := 0
	for _, a := range pl.scope { // dependency-sorted
		w := 0
		for _, d := range pl.graph.DependenciesOf(a) {
			w = max(w, wave[d]+1)
		}
		wave[a] = w
		maxWave = max(maxWave, w)
	}
	for i := range pl.plan.Changes {
		c := &pl.plan.Changes[i]
		if c.Action == Delete {
			c.Wave = maxWave + 1 + (len(Kinds) - 1 - kindRank(c.Addr.Kind))
		} else {
			c.Wave = wave[c.Addr]
		}
	}
	sort.SliceStable(pl.plan.Changes, func(i, j int) bool {
		a, b := pl.plan.Changes[i], pl.plan.Changes[j]
		if a.Wave != b.Wave {
			return a.Wave < b.Wave
		}
		return a.Addr.Compare(b.Addr) < 0
	})
}

// hashLive fingerprints a live object's id and attributes.
func hashLive(l Live) string {
	b, _ := json.Marshal(struct {
		ID    string
		Name  string
		Attrs map[string]any
	}{l.ID, l.Name, l.Attrs})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortErrors orders a multierror's entries by their text and prints one
// per line, so output is deterministic.
func sortErrors(m *multierror.Error) {
	if m == nil {
		return
	}
	sort.SliceStable(m.Errors, func(i, j int) bool { return m.Errors[i].Error() < m.Errors[j].Error() })
	m.ErrorFormat = func(es []error) string {
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = e.Error()
		}
		return strings.Join(lines, "\n")
	}
}
