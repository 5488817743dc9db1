package main

import (
	"fmt"
	"strings"

	"github.com/p1ctl/p1ctl/manifests"
	"github.com/spf13/cobra"
)

func init() {
	register(func(f *factory) *cobra.Command { return newValidateCmd(f, nil) })
}

type validateOptions struct {
	IO     *iostreams
	Getenv func(string) string

	Paths    []string // -f: files or folders
	VarFiles []string // --var-file: dotenv files
}

func newValidateCmd(f *factory, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "validate -f PATH... [--var-file FILE]...",
		Short: "Check manifests without contacting PingOne",
		Long: `Validate reads manifests, substitutes ${NAME} and ${NAME:-default} variables
from the environment and from --var-file files, checks every document against
the manifest schema (see p1ctl schema) and the rules PingOne enforces, and
reports every problem at once, one per line:

  FILE:LINE:COL: ADDRESS: MESSAGE

followed by a count. ADDRESS names the resource, such as users.alice.
Warnings are printed the same way with "warning: " before the message and do
not make validation fail. On success it prints a summary on stdout.

-f takes a file or a folder and may be repeated. A folder contributes its
*.yaml and *.yml files in name order, not its subfolders. Files may hold
several documents separated by ---; everything is merged into one desired
state. In --var-file files, each line is NAME=VALUE; later files override
earlier ones and the environment overrides them all. Variable values never
appear in the output.

Exit status: 0 when the manifests are valid (warnings allowed), 1 otherwise.`,
		Example: `  # Check the getting-started example
  ALICE_PASSWORD=... p1ctl validate -f manifests/examples/getting-started.yaml

  # Check a folder and one more file, taking variables from a dotenv file
  p1ctl validate -f manifests/ -f extra/users.yaml --var-file .env`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.Paths, "filename", "f", nil, "manifest file or folder (repeatable)")
	cmd.Flags().StringArrayVar(&opts.VarFiles, "var-file", nil, "dotenv file of variables (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml")
	_ = cmd.MarkFlagFilename("var-file")
	return cmd
}

func validateRun(opts *validateOptions) error {
	res, err := manifests.Load(manifests.Options{Getenv: opts.Getenv, VarFiles: opts.VarFiles}, opts.Paths...)
	if res == nil {
		return err // a file could not be read; run prints it
	}
	color := opts.IO.StderrTTY && opts.Getenv("NO_COLOR") == ""
	for _, p := range res.Problems {
		fmt.Fprintln(opts.IO.ErrOut, p.Error())
	}
	if len(res.Problems) > 0 {
		summary := manifests.Summary(res.Problems)
		if color {
			code := "33" // yellow: warnings only
			if err != nil {
				code = "31" // red
			}
			summary = "\x1b[" + code + "m" + summary + "\x1b[0m"
		}
		fmt.Fprintln(opts.IO.ErrOut, summary)
	}
	if err != nil {
		return &exitCodeError{code: exitError, err: err, silent: true}
	}
	valid := "valid"
	if opts.IO.colorEnabled(opts.Getenv) {
		valid = "\x1b[32mvalid\x1b[0m"
	}
	fmt.Fprintf(opts.IO.Out, "%s: %s (%s)\n", strings.Join(opts.Paths, ", "), valid, describe(res.Manifest))
	return nil
}

// describe counts the resources of m: "1 environment, 2 users, ...".
func describe(m *manifests.Manifest) string {
	count := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	return strings.Join([]string{
		count(len(m.Environments), "environment", "environments"),
		count(len(m.Populations), "population", "populations"),
		count(len(m.Users), "user", "users"),
		count(len(m.WorkerApps), "worker app", "worker apps"),
		count(len(m.WebApps), "web app", "web apps"),
	}, ", ")
}
