package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/p1ctl/p1ctl/engine/render"
)

func init() { register(func(f *factory) *cobra.Command { return newPlanCmd(f, planRun) }) }

type planOptions struct {
	IO     *iostreams
	Getenv func(string) string
	planFlags

	Format           string
	Out              string
	DetailedExitcode bool
}

func newPlanCmd(f *factory, runF func(context.Context, *planOptions) error) *cobra.Command {
	opts := &planOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "plan -f PATH... [--local | connection flags]",
		Short: "Show what apply would change in PingOne",
		Long: `Plan reads the manifests, reads live state from PingOne (one paged list per
collection; nothing inside environments that do not exist yet), and prints
what apply would do: + create, ~ update (old -> new per field), -/+ replace,
- delete. Only fields the manifest sets are compared; passwords are
write-only and shown as (sensitive).

It changes nothing. --out saves the plan for 'p1ctl apply FILE', which
applies exactly it and refuses if PingOne changed in the meantime.

Connection: --local runs against the built-in emulator; otherwise the
PINGONE_* variables (or the matching flags) name the tenant and the worker
app to sign in as.`,
		Example: `  # Against the built-in emulator
  p1ctl plan --local -f manifests/examples/getting-started.yaml

  # Against a tenant, as a pull-request comment, failing CI on errors only
  PINGONE_CLIENT_ID=... PINGONE_CLIENT_SECRET=... PINGONE_ENVIRONMENT_ID=... PINGONE_REGION_CODE=EU \
    p1ctl plan -f manifests/ --format markdown > plan.md

  # Exit code 2 when there are changes; save the plan for apply
  p1ctl plan -f manifests/ --detailed-exitcode --out plan.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runF(cmd.Context(), opts)
		},
	}
	opts.planFlags.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text, json or markdown")
	cmd.Flags().StringVar(&opts.Out, "out", "", "save the plan to FILE for 'p1ctl apply FILE'")
	cmd.Flags().BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml")
	return cmd
}

func planRun(ctx context.Context, opts *planOptions) error {
	eopts, err := opts.engineOptions()
	if err != nil {
		return err
	}
	switch opts.Format {
	case "text", "json", "markdown", "md":
	default:
		return fmt.Errorf("--format %q: want text, json or markdown", opts.Format)
	}
	l, err := loadManifests(opts.IO, opts.Getenv, opts.Files, opts.VarFiles)
	if err != nil {
		return err
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
	if err := renderPlan(opts.IO.Out, p, opts.Format, opts.IO.colorEnabled(opts.Getenv)); err != nil {
		return err
	}
	if opts.Out != "" {
		files, err := absPaths(opts.Files)
		if err != nil {
			return err
		}
		varFiles, err := absPaths(opts.VarFiles)
		if err != nil {
			return err
		}
		pf := &planFile{Format: planFormat, Version: 1, Files: files, VarFiles: varFiles, Digest: l.Digest,
			Changes: saveChanges(p)}
		pf.Target.APIBase, pf.Target.EnvironmentID, pf.Target.ClientID, pf.Target.Local =
			conn.Client.APIBase(), p.Identity.EnvID, p.Identity.AppID, opts.Conn.Local
		if opts.Conn.Local {
			if pf.Target.LocalDir, err = filepath.Abs(opts.Conn.LocalDir); err != nil {
				return err
			}
		}
		pf.Options.Targets, pf.Options.Prune, pf.Options.AllowEnvironmentDeletion = opts.Targets, opts.Prune, opts.AllowEnvironmentDeletion
		pf.Options.AllowReplace, pf.Options.ResetPasswords = opts.AllowReplace, opts.ResetPasswords
		var buf jsonBuffer
		if err := render.JSON(&buf, p); err != nil {
			return err
		}
		pf.Plan = buf.Bytes()
		if err := writePlanFile(opts.Out, pf); err != nil {
			return fmt.Errorf("save plan: %w", err)
		}
		fmt.Fprintf(opts.IO.ErrOut, "Saved the plan to %s; apply it with: p1ctl apply %s\n", opts.Out, opts.Out)
	}
	if opts.DetailedExitcode && p.HasChanges() {
		return &exitCodeError{code: exitChanges, silent: true}
	}
	return nil
}
