package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/manifests"
	"github.com/p1ctl/p1ctl/manifests/export"
)

func init() { register(func(f *factory) *cobra.Command { return newExportCmd(f, exportRun) }) }

type exportOptions struct {
	IO     *iostreams
	Getenv func(string) string
	Conn   connOptions

	Environments []string
	Kinds        []string
	Exclude      []string
	Output       string
	Split        string
	Force        bool
	PasswordVars bool
	NoIDs        bool
}

func newExportCmd(f *factory, runF func(context.Context, *exportOptions) error) *cobra.Command {
	opts := &exportOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "export --environment NAME|ID... [-o FILE | --split DIR] [--local | connection flags]",
		Short: "Write a manifest of existing PingOne environments",
		Long: `Export reads environments from PingOne and writes a manifest that plans to
no changes: the first step of bringing environments clicked together in the
admin console under p1ctl.

It reads with one paged list per kind per environment (plus one read of each
app's roles or scopes, as plan does). Keys come from names (users: their
usernames), lower-case with "-"; colliding keys get -2, -3, … in name order.
References are keys; environments outside the export that roles refer to
are written as existing: true. Values equal to PingOne's defaults are left
out. Built-ins are left out: system apps, the default population unless
exported users are in it, and the worker app p1ctl signs in as.

No secret is ever written. Passwords cannot be read back: --password-vars
gives each user password: {value: ${PASSWORD_<KEY>}}, and the variables
must then be set for every command that reads the manifest.

The output is deterministic: the same live state gives the same bytes.
Existing files are not overwritten without --force.`,
		Example: `  # The environment the getting-started example applied, to a file
  p1ctl export --local --environment "QA Sandbox" -o qa.yaml
  p1ctl plan --local -f qa.yaml --detailed-exitcode   # exit 0: no changes

  # Two environments, one file per kind, users with password variables
  p1ctl export --environment QA --environment Staging --split manifests/ --password-vars

  # Only apps, without the CI workers
  p1ctl export --environment QA --kinds workerApps,webApps --exclude 'workerApps.ci-*'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.Environments) == 0 {
				return errors.New("no environment given: add --environment NAME or --environment ID")
			}
			if opts.Output != "" && opts.Split != "" {
				return errors.New("-o and --split exclude each other")
			}
			if err := export.CheckKinds(opts.Kinds); err != nil {
				return fmt.Errorf("--kinds: %w", err)
			}
			for _, g := range opts.Exclude {
				if _, err := path.Match(g, ""); err != nil {
					return fmt.Errorf("--exclude %q: %w", g, err)
				}
			}
			return runF(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Environments, "environment", nil, "name or id of an environment to export (repeatable)")
	fl.StringSliceVar(&opts.Kinds, "kinds", nil, "kinds to export, comma-separated: populations, users, workerApps, webApps (default all)")
	fl.StringArrayVar(&opts.Exclude, "exclude", nil, "leave out addresses matching this glob, e.g. 'users.test-*' (repeatable)")
	fl.StringVarP(&opts.Output, "output", "o", "", "write to FILE (default stdout)")
	fl.StringVar(&opts.Split, "split", "", "write one file per kind into DIR (00-environments.yaml … 40-web-apps.yaml)")
	fl.BoolVar(&opts.Force, "force", false, "overwrite existing files")
	fl.BoolVar(&opts.PasswordVars, "password-vars", false, "give users password: {value: ${PASSWORD_<KEY>}} placeholders")
	fl.BoolVar(&opts.NoIDs, "no-ids", false, "leave out the '# id: …' comments")
	opts.Conn.addFlags(fl)
	_ = cmd.MarkFlagFilename("output", "yaml", "yml")
	_ = cmd.MarkFlagDirname("split")
	return cmd
}

func exportRun(ctx context.Context, opts *exportOptions) error {
	files, err := exportTargets(opts)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, &opts.Conn, opts.Getenv, userAgent())
	if err != nil {
		return err
	}
	defer conn.Close()
	start := time.Now()
	prog := newExportProgress(opts.IO, 200*time.Millisecond, func() int64 { return conn.Client.Stats().Requests })
	src, err := export.Read(ctx, conn.Provider, export.ReadOptions{Environments: opts.Environments, Kinds: opts.Kinds, Progress: prog.step})
	prog.stop()
	if err != nil {
		return err
	}
	res, err := export.Build(src, export.Options{Kinds: opts.Kinds, Exclude: opts.Exclude, PasswordVars: opts.PasswordVars, NoIDs: opts.NoIDs})
	if err != nil {
		return err
	}
	var out []export.File
	if opts.Split != "" {
		out = res.Split()
		for i := range out {
			out[i].Name = filepath.Join(opts.Split, out[i].Name)
		}
	} else {
		out = []export.File{{Name: opts.Output, Data: res.YAML()}}
	}
	if err := checkExport(res, out); err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
	}
	if opts.Split == "" && opts.Output == "" {
		if _, err := opts.IO.Out.Write(out[0].Data); err != nil {
			return err
		}
	} else if err := writeExport(files, out, opts.Force); err != nil {
		return err
	}
	var counts []string
	total := 0
	for _, k := range engine.Kinds {
		if n := res.Count(k); n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", k, n))
			total += n
		}
	}
	where := "stdout"
	if len(files) > 0 {
		where = strings.Join(files, ", ")
	}
	fmt.Fprintf(opts.IO.ErrOut, "Exported %d resources (%s) to %s in %s, %d API calls.\n", total, strings.Join(counts, ", "), where,
		time.Since(start).Round(time.Millisecond), conn.Client.Stats().Requests)
	if len(res.PasswordVars) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "Set these variables (each user's initial password) for every command that reads the manifest:\n  %s\n",
			strings.Join(res.PasswordVars, "\n  "))
	}
	return nil
}

// exportTargets returns the files the export will write (none for stdout)
// and refuses, before anything is read, to overwrite one without --force.
func exportTargets(opts *exportOptions) ([]string, error) {
	var files []string
	switch {
	case opts.Split != "":
		for _, k := range engine.Kinds {
			files = append(files, filepath.Join(opts.Split, export.SplitNames[k]))
		}
	case opts.Output != "" && opts.Output != "-":
		files = []string{opts.Output}
	case opts.Output == "-":
		opts.Output = ""
	}
	if opts.Force {
		return files, nil
	}
	var exist []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			exist = append(exist, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(exist) > 0 {
		return nil, fmt.Errorf("%s already exists; add --force to overwrite", strings.Join(exist, ", "))
	}
	return files, nil
}

// checkExport loads the export as plan will, with every password variable
// set: an export that does not validate is a bug, and is not written.
func checkExport(res *export.Result, out []export.File) error {
	mf := make([]manifests.File, len(out))
	for i, f := range out {
		name := f.Name
		if name == "" {
			name = "(stdout)"
		}
		mf[i] = manifests.File{Name: name, Data: f.Data}
	}
	getenv := func(k string) string {
		if slices.Contains(res.PasswordVars, k) {
			return "set"
		}
		return ""
	}
	if _, err := manifests.LoadFiles(manifests.Options{Getenv: getenv}, mf...); err != nil {
		return fmt.Errorf("the exported manifest does not validate, so it was not written (please report this): %w", err)
	}
	return nil
}

// writeExport writes every file atomically. Existence was checked before
// reading; --force or not, a file that appeared meanwhile is replaced only
// with --force.
func writeExport(files []string, out []export.File, force bool) error {
	for _, f := range out {
		if !force {
			if _, err := os.Stat(f.Name); err == nil {
				return fmt.Errorf("%s already exists; add --force to overwrite", f.Name)
			}
		}
		if err := writeFileAtomic(f.Name, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Name, err)
		}
	}
	return nil
}

// exportProgress draws one line on a terminal's stderr: what is being read
// and, while a list pages, the requests made so far; nothing off a terminal.
type exportProgress struct {
	w        io.Writer
	requests func() int64
	mu       sync.Mutex
	line     string
	from     int64
	done     chan struct{}
	wg       sync.WaitGroup
}

// It redraws every tick while a list pages.
func newExportProgress(s *iostreams, tick time.Duration, requests func() int64) *exportProgress {
	p := &exportProgress{requests: requests}
	if !s.StderrTTY {
		return p
	}
	p.w, p.done = s.ErrOut, make(chan struct{})
	p.wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				if p.line != "" {
					fmt.Fprintf(p.w, "\r\033[K%s %d requests", p.line, p.requests()-p.from)
				}
				p.mu.Unlock()
			}
		}
	})
	return p
}

func (p *exportProgress) step(s export.Step) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	what := "reading " + s.Kind
	if s.EnvName != "" {
		what += " in " + s.EnvName
	}
	what += "…"
	if s.Done {
		fmt.Fprintf(p.w, "\r\033[K%s %d", what, s.Count)
		p.line = ""
		return
	}
	p.line, p.from = what, p.requests()
	fmt.Fprintf(p.w, "\r\033[K%s", what)
}

func (p *exportProgress) stop() {
	if p.w == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
	fmt.Fprint(p.w, "\r\033[K")
}
