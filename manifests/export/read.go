package export

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
)

// ChildKinds are the kinds an export can write besides environments, in
// dependency order.
var ChildKinds = []string{engine.KindPopulations, engine.KindUsers, engine.KindWorkerApps, engine.KindWebApps}

// Source is the live state an export is built from.
type Source struct {
	// Environments are every environment of the organization, as listed.
	Environments []engine.Live
	// Selected are the ids of the environments to export, in the order asked.
	Selected []string
	// Objects are the objects of the selected environments, of the kinds
	// read.
	Objects []engine.Live
	// Outside are populations of other environments that role assignments
	// of exported worker apps are scoped to.
	Outside []engine.Live
}

// Step is one list call of Read, reported before (Done false) and after it
// (Done true, with the number of objects read).
type Step struct {
	Kind    string
	EnvName string
	Done    bool
	Count   int
}

// ReadOptions say what Read reads.
type ReadOptions struct {
	// Environments are names or ids of the environments to export.
	Environments []string
	// Kinds are the child kinds to read; empty means all. Populations are
	// always read with users or worker apps, which refer to them.
	Kinds []string
	// Progress, if set, is called around every list call.
	Progress func(Step)
}

// Read lists the organization's environments once, then, per selected
// environment, each kind with one List call (the provider pages). Population
// scopes of worker app roles that point outside the selected environments
// are looked up by listing the populations of the other environments, in
// list order, until all are found.
func Read(ctx context.Context, p engine.Provider, o ReadOptions) (*Source, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(Step) {}
	}
	progress(Step{Kind: engine.KindEnvironments})
	envs, err := p.List(ctx, engine.Query{Kind: engine.KindEnvironments})
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	progress(Step{Kind: engine.KindEnvironments, Done: true, Count: len(envs)})
	src := &Source{Environments: envs}
	byID := map[string]engine.Live{}
	for _, e := range envs {
		byID[e.ID] = e
	}
	for _, want := range o.Environments {
		id, err := resolveEnvironment(envs, want)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(src.Selected, id) {
			src.Selected = append(src.Selected, id)
		}
	}
	kinds := readKinds(o.Kinds)
	for _, envID := range src.Selected {
		name := byID[envID].Name
		for _, kind := range kinds {
			progress(Step{Kind: kind, EnvName: name})
			ls, err := p.List(ctx, engine.Query{Kind: kind, EnvID: envID})
			if err != nil {
				return nil, fmt.Errorf("list %s in %s: %w", kind, name, err)
			}
			progress(Step{Kind: kind, EnvName: name, Done: true, Count: len(ls)})
			src.Objects = append(src.Objects, ls...)
		}
	}
	return src, readOutside(ctx, p, src, progress)
}

// readOutside finds the populations that role scopes name but the export
// did not read.
func readOutside(ctx context.Context, p engine.Provider, src *Source, progress func(Step)) error {
	known := map[string]bool{}
	for _, l := range src.Objects {
		if l.Kind == engine.KindPopulations {
			known[l.ID] = true
		}
	}
	missing := map[string]bool{}
	for _, l := range src.Objects {
		if l.Kind != engine.KindWorkerApps {
			continue
		}
		for _, r := range roles(l) {
			if r.scopeType == scopePopulation && !known[r.scopeID] {
				missing[r.scopeID] = true
			}
		}
	}
	for _, e := range src.Environments {
		if len(missing) == 0 {
			return nil
		}
		if slices.Contains(src.Selected, e.ID) {
			continue
		}
		progress(Step{Kind: engine.KindPopulations, EnvName: e.Name})
		ls, err := p.List(ctx, engine.Query{Kind: engine.KindPopulations, EnvID: e.ID})
		if err != nil {
			return fmt.Errorf("list populations in %s: %w", e.Name, err)
		}
		progress(Step{Kind: engine.KindPopulations, EnvName: e.Name, Done: true, Count: len(ls)})
		for _, l := range ls {
			if missing[l.ID] {
				src.Outside = append(src.Outside, l)
				delete(missing, l.ID)
			}
		}
	}
	return nil
}

// readKinds returns the child kinds to list, in dependency order.
func readKinds(kinds []string) []string {
	if len(kinds) == 0 {
		return ChildKinds
	}
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	if want[engine.KindUsers] || want[engine.KindWorkerApps] {
		want[engine.KindPopulations] = true
	}
	var out []string
	for _, k := range ChildKinds {
		if want[k] {
			out = append(out, k)
		}
	}
	return out
}

// resolveEnvironment finds an environment by id, else by exact name.
func resolveEnvironment(envs []engine.Live, want string) (string, error) {
	for _, e := range envs {
		if e.ID == want {
			return e.ID, nil
		}
	}
	var found []string
	for _, e := range envs {
		if e.Name == want {
			found = append(found, e.ID)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		names := make([]string, 0, len(envs))
		for _, e := range envs {
			names = append(names, fmt.Sprintf("%q", e.Name))
		}
		slices.Sort(names)
		return "", fmt.Errorf("no environment is named or has the id %q; the organization has %s", want, strings.Join(names, ", "))
	}
	return "", fmt.Errorf("%d environments are named %q (ids %s): give the id instead", len(found), want, strings.Join(found, ", "))
}

// CheckKinds returns an error naming the unknown kinds of kinds.
func CheckKinds(kinds []string) error {
	for _, k := range kinds {
		if !slices.Contains(ChildKinds, k) {
			return fmt.Errorf("unknown kind %q: want some of %s", k, strings.Join(ChildKinds, ", "))
		}
	}
	return nil
}
