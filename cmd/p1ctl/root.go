package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, in one table. README.md "Exit codes" documents the same table.
const (
	exitOK      = 0 // success; for plan --detailed-exitcode: no changes
	exitError   = 1 // any failure: invalid manifest, API error, bad flags
	exitChanges = 2 // plan --detailed-exitcode: the plan has changes
)

// exitError carries a specific exit code out of a command. Commands that have
// already reported their problems to the user return it with silent set so
// that run prints nothing more.
type exitCodeError struct {
	code   int
	err    error
	silent bool
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// factory holds what every command needs from the outside world, so tests can
// inject streams and environment.
type factory struct {
	IO     *iostreams
	Getenv func(string) string
}

// run executes the CLI with args and returns the process exit code.
func run(args []string, io *iostreams, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	f := &factory{IO: io, Getenv: getenv}
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if !ec.silent && ec.err != nil {
			fmt.Fprintf(io.ErrOut, "Error: %v\n", ec.err)
		}
		return ec.code
	}
	fmt.Fprintf(io.ErrOut, "Error: %v\n", err)
	return exitError
}

func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "p1ctl",
		Short: "Declarative provisioning for PingOne",
		Long: `p1ctl provisions PingOne environments, populations, users, worker apps and
web apps from YAML manifests kept in git. It validates manifests, plans and
applies changes, and ships a local PingOne-compatible emulator for tests.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(f),
	)
	for _, add := range commands {
		root.AddCommand(add(f))
	}
	return root
}

// commands lists constructors registered by the other files of this package,
// one file per command, so that adding a command touches only its own file.
var commands []func(*factory) *cobra.Command

func register(c func(*factory) *cobra.Command) { commands = append(commands, c) }
