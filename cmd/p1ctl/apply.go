package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/render"
)

func init() { register(func(f *factory) *cobra.Command { return newApplyCmd(f, applyRun) }) }

type applyOptions struct {
	IO     *iostreams
	Getenv func(string) string
	planFlags

	PlanFile       string
	localDirSet    bool // --local-dir was given
	AutoApprove    bool
	Parallelism    int
	Outputs        string
	IncludeSecrets bool
}

func newApplyCmd(f *factory, runF func(context.Context, *applyOptions) error) *cobra.Command {
	opts := &applyOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "apply [-f PATH... | PLANFILE] [--local | connection flags]",
		Short: "Make PingOne match the manifests",
		Long: `Apply plans as 'p1ctl plan' does, shows the plan, checks that the signed-in
worker app holds the roles every change needs, asks for confirmation (on a
terminal; elsewhere --auto-approve is required), then makes the changes in
dependency order, --parallelism at a time. It prints one line per resource as
it starts and finishes. A failed resource skips what depends on it;
independent resources go on; the end lists every failure. Ctrl-C stops
starting new changes, lets the calls in flight finish, and reports what was
done; the next apply completes the rest.

With PLANFILE (from 'p1ctl plan --out'), apply re-reads the same manifests
and live state and applies exactly that plan, refusing if anything moved.

--outputs writes the PingOne ids of every resource, and the apps' client ids,
as JSON (mode 0600); --include-secrets adds the apps' client secrets.`,
		Example: `  # The getting-started guide, on the built-in emulator
  p1ctl apply --local --auto-approve -f manifests/examples/getting-started.yaml

  # A reviewed plan
  p1ctl plan -f manifests/ --out plan.json && p1ctl apply plan.json

  # In CI, keeping ids and credentials for the test suite
  p1ctl apply -f manifests/ --auto-approve --outputs out.json --include-secrets`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if len(opts.Files) > 0 {
					return errors.New("give either a plan file or -f manifests, not both")
				}
				opts.PlanFile = args[0]
			}
			opts.localDirSet = cmd.Flags().Changed("local-dir")
			if opts.IncludeSecrets && opts.Outputs == "" {
				return errors.New("--include-secrets goes with --outputs FILE")
			}
			return runF(cmd.Context(), opts)
		},
	}
	opts.planFlags.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&opts.AutoApprove, "auto-approve", false, "apply without asking (required when not on a terminal)")
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", 8, "changes to make at once")
	cmd.Flags().StringVar(&opts.Outputs, "outputs", "", "write resource ids (and, with --include-secrets, app secrets) as JSON to FILE")
	cmd.Flags().BoolVar(&opts.IncludeSecrets, "include-secrets", false, "put the apps' client secrets in --outputs")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml")
	return cmd
}

func applyRun(ctx context.Context, opts *applyOptions) error {
	var saved *planFile
	if opts.PlanFile != "" {
		pf, err := readPlanFile(opts.PlanFile)
		if err != nil {
			return err
		}
		saved = pf
		opts.Files, opts.VarFiles, opts.Targets = pf.Files, pf.VarFiles, pf.Options.Targets
		opts.Prune, opts.AllowEnvironmentDeletion = pf.Options.Prune, pf.Options.AllowEnvironmentDeletion
		opts.AllowReplace, opts.ResetPasswords = pf.Options.AllowReplace, pf.Options.ResetPasswords
		if pf.Target.Local {
			opts.Conn.Local = true
			if !opts.localDirSet && pf.Target.LocalDir != "" {
				opts.Conn.LocalDir = pf.Target.LocalDir
			}
		}
	}
	if opts.Parallelism < 1 {
		return errors.New("--parallelism must be at least 1")
	}
	eopts, err := opts.engineOptions()
	if err != nil {
		return err
	}
	l, err := loadManifests(opts.IO, opts.Getenv, opts.Files, opts.VarFiles)
	if err != nil {
		return err
	}
	if saved != nil && saved.Digest != l.Digest {
		return fmt.Errorf("the manifests changed since the plan in %s was made; make a new plan", opts.PlanFile)
	}
	if !opts.AutoApprove && !(opts.IO.StdinTTY && opts.IO.StdoutTTY) {
		return errors.New("apply needs --auto-approve when it cannot ask (no terminal)")
	}
	conn, err := connect(ctx, &opts.Conn, opts.Getenv, userAgent())
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := makePlan(ctx, conn, l, eopts)
	if err != nil {
		return err
	}
	if saved != nil {
		if saved.Target.APIBase != conn.Client.APIBase() && !saved.Target.Local || saved.Target.ClientID != p.Identity.AppID {
			return fmt.Errorf("the plan in %s was made for another PingOne or worker app", opts.PlanFile)
		}
		if err := staleness(saved.Changes, p); err != nil {
			return err
		}
	}
	color := opts.IO.colorEnabled(opts.Getenv)
	if err := render.Text(opts.IO.Out, p, render.TextOptions{Color: color}); err != nil {
		return err
	}
	if !p.HasChanges() {
		return writeOutputs(ctx, opts, conn, p, nil)
	}
	if err := engine.Preflight(p); err != nil {
		return fmt.Errorf("the worker app lacks roles for this plan; nothing was changed:\n%w", err)
	}
	if !opts.AutoApprove {
		fmt.Fprint(opts.IO.Out, "\nDo you want to apply these changes? Only 'yes' will be accepted: ")
		answer, _ := bufio.NewReader(opts.IO.In).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(opts.IO.Out, "Apply cancelled.")
			return &exitCodeError{code: exitError, silent: true}
		}
	}
	fmt.Fprintln(opts.IO.Out)

	prog := newProgress(opts.IO, p, color)
	res, applyErr := engine.Apply(ctx, conn.Provider, p, engine.ApplyOptions{
		Parallelism: opts.Parallelism,
		OnEvent:     prog.event,
	})
	prog.done()
	if res != nil {
		fmt.Fprintln(opts.IO.Out)
		render.ApplySummary(opts.IO.Out, res, render.TextOptions{Color: color})
		st := conn.Client.Stats()
		fmt.Fprintf(opts.IO.Out, "API: %d requests, %d retries, %s throttled.\n", st.Requests, st.Retries, st.Throttled.Round(1e6))
	}
	if res != nil {
		if err := writeOutputs(ctx, opts, conn, p, res); err != nil && applyErr == nil {
			return err
		}
	}
	if applyErr != nil {
		// Also on stderr, for CI logs that keep only that stream.
		return &exitCodeError{code: exitError, err: applyErr}
	}
	return nil
}

// progress prints apply events, and on a terminal keeps a live status
// line under them on stderr.
type progress struct {
	io       *iostreams
	color    bool
	total    int
	finished int
	running  int
	live     bool
}

func newProgress(io *iostreams, p *engine.Plan, color bool) *progress {
	s := p.Summary()
	return &progress{io: io, color: color, total: s.Create + s.Update + s.Replace + s.Delete, live: io.StderrTTY}
}

// event is called serially by engine.Apply.
func (g *progress) event(e engine.Event) {
	if g.live {
		fmt.Fprint(g.io.ErrOut, "\r\x1b[K")
	}
	switch e.Phase {
	case engine.Started:
		g.running++
	case engine.Finished:
		if e.Outcome != engine.Skipped && e.Outcome != engine.NotStarted {
			g.running--
		}
		g.finished++
	}
	render.Event(g.io.Out, e, render.TextOptions{Color: g.color})
	if g.live {
		fmt.Fprintf(g.io.ErrOut, "[%d/%d] %d in progress", g.finished, g.total, g.running)
	}
}

func (g *progress) done() {
	if g.live {
		fmt.Fprint(g.io.ErrOut, "\r\x1b[K")
	}
}
