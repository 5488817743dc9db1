package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/p1ctl/p1ctl/engine/graph"
)

// Outcome is what happened to one change when a plan was applied. These
// are result words, distinct from the plan's verbs.
type Outcome string

// Outcomes of applying a change.
const (
	Created    Outcome = "created"
	Updated    Outcome = "updated"
	Replaced   Outcome = "replaced"
	Deleted    Outcome = "deleted"
	Failed     Outcome = "failed"
	Skipped    Outcome = "skipped"     // a change it depends on failed
	NotStarted Outcome = "not started" // apply was interrupted first
)

// Phase is the point of a change an Event reports.
type Phase string

// Phases of a change, reported in this order (Skipped alone).
const (
	Started  Phase = "started"
	Finished Phase = "finished"
)

// Event reports progress of an apply, one change at a time.
type Event struct {
	Addr     Address
	Action   Action
	Phase    Phase
	Outcome  Outcome // set when Phase is Finished
	ID       string  // the PingOne id, when known
	Duration time.Duration
	Err      error
	// Because lists, for a skipped change, the failed changes it depends on.
	Because []Address
}

// ApplyOptions steer an apply.
type ApplyOptions struct {
	// Parallelism bounds how many changes run at once; 8 when zero.
	Parallelism int
	// OnEvent, when set, is called as each change starts and finishes. Calls
	// are serialised: OnEvent need not be safe for concurrent use.
	OnEvent func(Event)
}

// Result is what an apply did.
type Result struct {
	// Outcomes holds one entry per change that was not a no-op, in plan
	// order.
	Outcomes []ChangeOutcome
	// IDs maps every resource of the plan to its PingOne id after the
	// apply (for outputs).
	IDs map[Address]string
	// Live holds the live objects that creates and updates returned.
	Live map[Address]Live
}

// ChangeOutcome is the outcome of one change.
type ChangeOutcome struct {
	Addr    Address
	Action  Action
	Outcome Outcome
	ID      string
	Err     error
	// Because lists the failed changes a skipped change depended on.
	Because []Address
}

// ResourceError is a failed change. It wraps the Provider's error.
type ResourceError struct {
	Addr Address
	Op   Action
	Err  error
}

func (e *ResourceError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Addr, e.Op, e.Err) }
func (e *ResourceError) Unwrap() error { return e.Err }

// Apply carries out a plan through p, in dependency order, running
// independent changes in parallel. A failed change skips the changes that
// depend on it; independent branches go on. When ctx is cancelled (Ctrl-C)
// no further change starts, and the calls in flight finish: they run on a
// context that is not cancelled with ctx, so PingOne never sees a half-sent
// request from us. The error lists every failed change (a *ResourceError
// each) and, after an interruption, ctx's error.
func Apply(ctx context.Context, p Provider, plan *Plan, opts ApplyOptions) (*Result, error) {
	a := &applier{p: p, plan: plan, opts: opts, ids: map[Address]string{},
		res: &Result{IDs: map[Address]string{}, Live: map[Address]Live{}}, byAddr: map[Address]*Change{}}
	if a.opts.Parallelism <= 0 {
		a.opts.Parallelism = 8
	}
	g := graph.New(Address.Compare)
	for i := range plan.Changes {
		c := &plan.Changes[i]
		if c.ID != "" && c.Action != Replace {
			a.ids[c.Addr] = c.ID
		}
		if c.Action == NoOp {
			continue
		}
		a.byAddr[c.Addr] = c
		g.AddNode(c.Addr)
	}
	// Children go before their parents: a delete waits for the changes of
	// kinds that live below its kind in the same environment (users moved
	// out of a population that is being deleted, users deleted first).
	// Changes are grouped by environment and kind so that this costs the
	// edges it adds, not a scan of every change per delete.
	type group struct {
		env  string
		rank int
	}
	groups := map[group][]Address{}
	for addr, c := range a.byAddr {
		k := group{a.envOf(c), kindRank(addr.Kind)}
		groups[k] = append(groups[k], addr)
	}
	for addr, c := range a.byAddr {
		if c.Action == Delete {
			env := a.envOf(c)
			for rank := kindRank(addr.Kind) + 1; rank <= len(Kinds); rank++ {
				for _, other := range groups[group{env, rank}] {
					g.AddEdge(addr, other)
				}
			}
			continue
		}
		for _, d := range c.Desired.DependsOn() {
			if _, ok := a.byAddr[d]; ok {
				g.AddEdge(addr, d)
			}
		}
	}

	wr, werr := g.Walk(ctx, a.opts.Parallelism, func(_ context.Context, addr Address) error {
		// Calls in flight finish even after Ctrl-C.
		return a.run(context.WithoutCancel(ctx), a.byAddr[addr])
	})
	if werr != nil && wr == nil {
		return nil, werr
	}
	var errs *multierror.Error
	outcomes := map[Address]ChangeOutcome{}
	for _, d := range wr.Done {
		outcomes[d] = a.done[d]
	}
	for _, f := range wr.Failed {
		c := a.byAddr[f.Node]
		outcomes[f.Node] = ChangeOutcome{Addr: f.Node, Action: c.Action, Outcome: Failed, ID: c.ID, Err: f.Err}
		errs = multierror.Append(errs, f.Err)
	}
	for _, s := range wr.Skipped {
		c := a.byAddr[s.Node]
		o := ChangeOutcome{Addr: s.Node, Action: c.Action, Outcome: NotStarted, ID: c.ID}
		if len(s.Because) > 0 {
			o.Outcome, o.Because = Skipped, s.Because
		}
		outcomes[s.Node] = o
		a.emit(Event{Addr: s.Node, Action: c.Action, Phase: Finished, Outcome: o.Outcome, Because: o.Because})
	}
	for _, c := range plan.Changes {
		if o, ok := outcomes[c.Addr]; ok && c.Action != NoOp {
			a.res.Outcomes = append(a.res.Outcomes, o)
		}
	}
	for addr, id := range a.ids {
		a.res.IDs[addr] = id
	}
	if errs != nil {
		sortErrors(errs)
	}
	if werr != nil {
		errs = multierror.Append(errs, fmt.Errorf("apply interrupted: %w", werr))
		sortErrors(errs)
	}
	return a.res, errs.ErrorOrNil()
}

type applier struct {
	p      Provider
	plan   *Plan
	opts   ApplyOptions
	byAddr map[Address]*Change

	mu   sync.Mutex
	ids  map[Address]string
	res  *Result
	done map[Address]ChangeOutcome

	emitMu sync.Mutex
}

func (a *applier) emit(e Event) {
	if a.opts.OnEvent == nil {
		return
	}
	a.emitMu.Lock()
	defer a.emitMu.Unlock()
	a.opts.OnEvent(e)
}

// envOf returns the environment id a change happens in ("" for
// environments, and for objects of environments still to be created).
func (a *applier) envOf(c *Change) string {
	if c.Live != nil {
		return c.Live.EnvID
	}
	if c.Desired != nil {
		return a.ids[c.Desired.Env]
	}
	return ""
}

// run carries out one change.
func (a *applier) run(ctx context.Context, c *Change) error {
	start := time.Now()
	a.emit(Event{Addr: c.Addr, Action: c.Action, Phase: Started, ID: c.ID})
	live, outcome, err := a.call(ctx, c)
	ev := Event{Addr: c.Addr, Action: c.Action, Phase: Finished, Duration: time.Since(start)}
	if err != nil {
		err = &ResourceError{Addr: c.Addr, Op: c.Action, Err: err}
		ev.Outcome, ev.Err, ev.ID = Failed, err, c.ID
		a.emit(ev)
		return err
	}
	a.mu.Lock()
	if outcome == Deleted {
		delete(a.ids, c.Addr)
	} else {
		a.ids[c.Addr] = live.ID
		a.res.Live[c.Addr] = live
	}
	if a.done == nil {
		a.done = map[Address]ChangeOutcome{}
	}
	a.done[c.Addr] = ChangeOutcome{Addr: c.Addr, Action: c.Action, Outcome: outcome, ID: live.ID}
	a.mu.Unlock()
	ev.Outcome, ev.ID = outcome, live.ID
	a.emit(ev)
	return nil
}

func (a *applier) call(ctx context.Context, c *Change) (Live, Outcome, error) {
	switch c.Action {
	case Delete:
		err := a.p.Delete(ctx, *c.Live)
		return Live{ID: c.ID}, Deleted, err
	case Create:
		r, err := a.resolved(c.Desired, true)
		if err != nil {
			return Live{}, "", err
		}
		l, err := a.p.Create(ctx, r)
		return l, Created, err
	case Update:
		r, err := a.resolved(c.Desired, hasSensitive(c))
		if err != nil {
			return Live{}, "", err
		}
		l, err := a.p.Update(ctx, r, *c.Live)
		return l, Updated, err
	case Replace:
		if err := a.p.Delete(ctx, *c.Live); err != nil {
			return Live{}, "", fmt.Errorf("delete before re-create: %w", err)
		}
		r, err := a.resolved(c.Desired, true)
		if err != nil {
			return Live{}, "", err
		}
		l, err := a.p.Create(ctx, r)
		return l, Replaced, err
	}
	return Live{}, "", fmt.Errorf("unknown action %q", c.Action)
}

// hasSensitive reports whether an update re-sets write-only values.
func hasSensitive(c *Change) bool {
	for _, f := range c.Fields {
		if f.Sensitive {
			return true
		}
	}
	return false
}

// resolved returns the copy of r a Provider gets: Refs replaced by ids,
// EnvID set, and Secrets kept only when they are to be sent.
func (a *applier) resolved(r *Resource, withSecrets bool) (Resource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var missing []string
	out := *r
	out.Attrs, _ = mapRefs(r.Attrs, func(ref Ref) any {
		id := a.ids[ref.Addr]
		if id == "" {
			missing = append(missing, ref.Addr.String())
		}
		return id
	}).(map[string]any)
	if r.Env != (Address{}) {
		out.EnvID = a.ids[r.Env]
		if out.EnvID == "" {
			missing = append(missing, r.Env.String())
		}
	}
	if !withSecrets {
		out.Secrets = nil
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Resource{}, errors.New("ids unknown for " + fmt.Sprint(missing))
	}
	return out, nil
}
