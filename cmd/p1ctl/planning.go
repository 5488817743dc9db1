package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/render"
	"github.com/p1ctl/p1ctl/manifests"
)

// planFlags are the flags plan and apply share: what to plan, against
// what, and how.
type planFlags struct {
	Files    []string
	VarFiles []string
	Conn     connOptions

	Targets                  []string
	Prune                    bool
	AllowEnvironmentDeletion bool
	AllowReplace             bool
	ResetPasswords           bool
}

func (f *planFlags) addFlags(fl *pflag.FlagSet) {
	fl.StringArrayVarP(&f.Files, "filename", "f", nil, "manifest file or folder (repeatable)")
	fl.StringArrayVar(&f.VarFiles, "var-file", nil, "dotenv file of variables (repeatable)")
	fl.StringArrayVar(&f.Targets, "target", nil, "limit the plan to this address (e.g. users.alice) and what it depends on (repeatable)")
	fl.BoolVar(&f.Prune, "prune", false, "delete objects in managed environments that the manifest no longer lists")
	fl.BoolVar(&f.AllowEnvironmentDeletion, "allow-environment-deletion", false, "with --prune, also delete environments the manifest does not list (never PRODUCTION ones)")
	fl.BoolVar(&f.AllowReplace, "allow-replace", false, "replace (delete and re-create) objects whose immutable fields differ")
	fl.BoolVar(&f.ResetPasswords, "reset-passwords", false, "set the manifest's passwords on existing users again (they are write-only and never compared)")
	f.Conn.addFlags(fl)
}

func (f *planFlags) engineOptions() (engine.Options, error) {
	o := engine.Options{Prune: f.Prune, AllowEnvironmentDeletion: f.AllowEnvironmentDeletion,
		AllowReplace: f.AllowReplace, ResetPasswords: f.ResetPasswords}
	if f.AllowEnvironmentDeletion && !f.Prune {
		return o, errors.New("--allow-environment-deletion only takes effect with --prune")
	}
	for _, t := range f.Targets {
		kind, key, ok := strings.Cut(t, ".")
		if !ok || !slices.Contains(engine.Kinds, kind) || key == "" {
			return o, fmt.Errorf("--target %q: want KIND.KEY with KIND one of %s", t, strings.Join(engine.Kinds, ", "))
		}
		o.Targets = append(o.Targets, engine.Address{Kind: kind, Key: key})
	}
	return o, nil
}

// loaded is a validated manifest set.
type loaded struct {
	Resources []engine.Resource
	// Digest fingerprints the manifest files' contents.
	Digest string
}

// loadManifests loads and validates the manifests, printing every problem
// as validate does. Invalid manifests end the command with exit code 1.
func loadManifests(io *iostreams, getenv func(string) string, files, varFiles []string) (*loaded, error) {
	if len(files) == 0 {
		return nil, errors.New("no manifest given: add -f FILE or -f FOLDER")
	}
	res, err := manifests.Load(manifests.Options{Getenv: getenv, VarFiles: varFiles}, files...)
	if res == nil {
		return nil, err
	}
	for _, p := range res.Problems {
		fmt.Fprintln(io.ErrOut, p.Error())
	}
	if err != nil {
		fmt.Fprintln(io.ErrOut, manifests.Summary(res.Problems))
		return nil, &exitCodeError{code: exitError, err: err, silent: true}
	}
	h := sha256.New()
	for _, name := range res.Files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%d\x00", len(data))
		h.Write(data)
	}
	return &loaded{Resources: res.Manifest.Resources(), Digest: hex.EncodeToString(h.Sum(nil))[:16]}, nil
}

// makePlan connects, reads live state and plans.
func makePlan(ctx context.Context, conn *connection, l *loaded, opts engine.Options) (*engine.Plan, error) {
	p, err := engine.MakePlan(ctx, conn.Provider, l.Resources, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// renderPlan writes p in format: text, json or markdown.
func renderPlan(w io.Writer, p *engine.Plan, format string, color bool) error {
	switch format {
	case "text", "":
		return render.Text(w, p, render.TextOptions{Color: color})
	case "json":
		return render.JSON(w, p)
	case "markdown", "md":
		return render.Markdown(w, p)
	}
	return fmt.Errorf("--format %q: want text, json or markdown", format)
}

// planFile is what plan --out saves and apply FILE reads. It holds no
// secret: passwords are read again from their variables when applying.
type planFile struct {
	Format   string   `json:"format"`  // "p1ctl-plan"
	Version  int      `json:"version"` // 1
	Files    []string `json:"files"`
	VarFiles []string `json:"varFiles,omitempty"`
	Digest   string   `json:"manifestDigest"`
	Target   struct {
		APIBase       string `json:"apiBase"`
		EnvironmentID string `json:"environmentId"`
		ClientID      string `json:"clientId"`
		Local         bool   `json:"local,omitempty"`
		LocalDir      string `json:"localDir,omitempty"`
	} `json:"target"`
	Options struct {
		Targets                  []string `json:"targets,omitempty"`
		Prune                    bool     `json:"prune,omitempty"`
		AllowEnvironmentDeletion bool     `json:"allowEnvironmentDeletion,omitempty"`
		AllowReplace             bool     `json:"allowReplace,omitempty"`
		ResetPasswords           bool     `json:"resetPasswords,omitempty"`
	} `json:"options"`
	Changes []savedChange   `json:"changes"`
	Plan    json.RawMessage `json:"plan"` // render.JSON, for people and tools
}

type savedChange struct {
	Address  string `json:"address"`
	Action   string `json:"action"`
	ID       string `json:"id,omitempty"`
	LiveHash string `json:"liveHash,omitempty"`
	Fields   string `json:"fields"` // a digest of the field changes
}

const planFormat = "p1ctl-plan"

func saveChanges(p *engine.Plan) []savedChange {
	out := make([]savedChange, 0, len(p.Changes))
	for _, c := range p.Changes {
		b, _ := json.Marshal(fieldsForDigest(c))
		sum := sha256.Sum256(b)
		out = append(out, savedChange{Address: c.Addr.String(), Action: string(c.Action), ID: c.ID,
			LiveHash: c.LiveHash, Fields: hex.EncodeToString(sum[:8])})
	}
	return out
}

// fieldsForDigest is what of a change's fields a saved plan pins: paths,
// and old and new values except sensitive ones (never stored, not even
// hashed).
func fieldsForDigest(c engine.Change) []any {
	out := make([]any, 0, len(c.Fields))
	for _, f := range c.Fields {
		if f.Sensitive {
			out = append(out, []any{f.Path, "sensitive"})
			continue
		}
		out = append(out, []any{f.Path, fmt.Sprint(f.Old), fmt.Sprint(f.New), f.ForcesReplace})
	}
	return out
}

// writePlanFile saves a plan for a later apply, atomically, owner-only.
func writePlanFile(path string, pf *planFile) error {
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

func readPlanFile(path string) (*planFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pf planFile
	if err := json.Unmarshal(b, &pf); err != nil || pf.Format != planFormat {
		return nil, fmt.Errorf("%s is not a p1ctl plan file (made by 'p1ctl plan --out')", path)
	}
	if pf.Version != 1 {
		return nil, fmt.Errorf("%s: plan file version %d is not supported by this p1ctl", path, pf.Version)
	}
	return &pf, nil
}

// staleness compares a saved plan with a fresh one and says what moved.
func staleness(saved []savedChange, fresh *engine.Plan) error {
	now := map[string]savedChange{}
	for _, c := range saveChanges(fresh) {
		now[c.Address] = c
	}
	var moved []string
	seen := map[string]bool{}
	for _, s := range saved {
		seen[s.Address] = true
		n, ok := now[s.Address]
		switch {
		case !ok:
			moved = append(moved, s.Address+" is no longer part of the plan")
		case n.LiveHash != s.LiveHash || n.ID != s.ID:
			moved = append(moved, s.Address+" changed in PingOne since the plan was made")
		case n.Action != s.Action || n.Fields != s.Fields:
			moved = append(moved, fmt.Sprintf("%s would now be %s differently", s.Address, n.Action))
		}
	}
	for addr := range now {
		if !seen[addr] {
			moved = append(moved, addr+" appeared since the plan was made")
		}
	}
	if len(moved) == 0 {
		return nil
	}
	slices.Sort(moved)
	return fmt.Errorf("the saved plan is stale; make a new one:\n  %s", strings.Join(moved, "\n  "))
}

// jsonBuffer collects rendered JSON.
type jsonBuffer struct{ b []byte }

func (j *jsonBuffer) Write(p []byte) (int, error) { j.b = append(j.b, p...); return len(p), nil }
func (j *jsonBuffer) Bytes() []byte               { return j.b }

// absPaths makes paths absolute, so a saved plan can be applied from
// another directory.
func absPaths(paths []string) ([]string, error) {
	out := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}
