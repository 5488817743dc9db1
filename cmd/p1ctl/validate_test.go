package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	examples = "../../manifests/examples"
	corpus   = "../../manifests/testdata/invalid"
	canary   = "hunter2-canary-cli-0xC0FFEE"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestValidate(t *testing.T) {
	t.Parallel()
	passwords := map[string]string{"ALICE_PASSWORD": canary, "BOB_PASSWORD": canary, "DANA_PASSWORD": canary,
		"LICENSE_ID": "3f6a1c2e-1111-4222-8333-944455556666"}
	cases := map[string]struct {
		reason   string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		"Valid": {
			reason:   "a valid manifest prints a summary on stdout and nothing on stderr",
			args:     []string{"validate", "-f", examples + "/getting-started.yaml"},
			env:      passwords,
			wantCode: exitOK,
			wantOut:  examples + "/getting-started.yaml: valid (1 environment, 1 population, 1 user, 1 worker app, 1 web app)\n",
		},
		"SeveralPaths": {
			reason:   "-f repeats and takes folders; the summary counts the merged state",
			args:     []string{"validate", "-f", examples + "/multi-file", "--filename", examples + "/getting-started.yaml"},
			env:      passwords,
			wantCode: exitOK,
			wantOut:  examples + "/multi-file, " + examples + "/getting-started.yaml: valid (3 environments, 3 populations, 3 users, 2 worker apps, 2 web apps)\n",
		},
		"UnsetVariable": {
			reason:   "without its variable the example is invalid, and says which variable",
			args:     []string{"validate", "-f", examples + "/getting-started.yaml"},
			wantCode: exitError,
			wantErr: examples + "/getting-started.yaml:29:14: users.alice: variable ALICE_PASSWORD is not set (set it in the environment or in a --var-file)\n" +
				"1 error\n",
		},
		"Invalid": {
			reason:   "every problem is printed, one per line, sorted, then the count",
			args:     []string{"validate", "-f", corpus + "/UnknownReference"},
			wantCode: exitError,
			wantErr: corpus + `/UnknownReference/a.yaml:13:18: users.alice: unknown environment "qa2" (did you mean "qa"?)` + "\n" +
				corpus + `/UnknownReference/a.yaml:14:17: users.alice: unknown population "tester" (did you mean "testers"?)` + "\n" +
				corpus + `/UnknownReference/a.yaml:19:18: webApps.portal: unknown environment "prod"` + "\n" +
				"3 errors\n",
		},
		"WarningsOnly": {
			reason:   "warnings go to stderr with their count and do not fail validation",
			args:     []string{"validate", "-f", corpus + "/LiteralPassword"},
			env:      passwords,
			wantCode: exitOK,
			wantOut:  corpus + "/LiteralPassword: valid (1 environment, 1 population, 2 users, 0 worker apps, 0 web apps)\n",
			wantErr: corpus + "/LiteralPassword/a.yaml:18:14: users.alice: warning: password is written in the manifest; use a variable instead, such as value: ${ALICE_PASSWORD}\n" +
				corpus + "/LiteralPassword/a.yaml:24:23: users.bob: warning: password has a default written in the manifest; drop the default and set the variable instead\n" +
				"2 warnings\n",
		},
		"ErrorsAndWarnings": {
			reason:   "errors and warnings are counted apart",
			args:     []string{"validate", "-f", corpus + "/RoleScopeRefused"},
			wantCode: exitError,
			wantErr: corpus + `/RoleScopeRefused/a.yaml:17:16: workerApps.bot: PingOne refuses role "Organization Admin" at environment scope; it allows organization scope only` + "\n" +
				corpus + `/RoleScopeRefused/a.yaml:19:16: workerApps.bot: PingOne refuses role "Identity Data Admin" at organization scope; it allows environment or population scope only` + "\n" +
				corpus + `/RoleScopeRefused/a.yaml:21:16: workerApps.bot: PingOne refuses role "Environment Admin" at population scope; it allows organization or environment scope only` + "\n" +
				corpus + `/RoleScopeRefused/a.yaml:23:16: workerApps.bot: warning: role "Client Application Developer" is only known to work at environment scope; PingOne may refuse population scope` + "\n" +
				"3 errors, 1 warning\n",
		},
		"MissingFile": {
			reason:   "a path that cannot be read is an error of its own",
			args:     []string{"validate", "-f", "no-such-manifest.yaml"},
			wantCode: exitError,
			wantErr:  "Error: read manifests: stat no-such-manifest.yaml: no such file or directory\n",
		},
		"NoFilename": {
			reason:   "-f is required",
			args:     []string{"validate"},
			wantCode: exitError,
			wantErr:  "Error: required flag(s) \"filename\" not set\n",
		},
		"NoArguments": {
			reason:   "paths go through -f, not arguments",
			args:     []string{"validate", "-f", examples, "extra.yaml"},
			wantCode: exitError,
			wantErr:  "Error: unknown command \"extra.yaml\" for \"p1ctl validate\"\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			io, _, out, errOut := testStreams()
			code := run(tc.args, io, env(tc.env))
			if code != tc.wantCode {
				t.Errorf("%s\nexit code = %d, want %d (stderr: %s)", tc.reason, code, tc.wantCode, errOut)
			}
			if diff := cmp.Diff(tc.wantOut, out.String()); diff != "" {
				t.Errorf("%s\nstdout: -want +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantErr, errOut.String()); diff != "" {
				t.Errorf("%s\nstderr: -want +got:\n%s", tc.reason, diff)
			}
			if strings.Contains(out.String()+errOut.String(), canary) {
				t.Errorf("a variable's value reached the output")
			}
		})
	}
}

func TestValidateVarFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	varFile := filepath.Join(dir, "secrets.env")
	if err := os.WriteFile(varFile, []byte("# test secrets\nexport ALICE_PASSWORD='"+canary+"'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	io, _, out, errOut := testStreams()
	code := run([]string{"validate", "-f", examples + "/getting-started.yaml", "--var-file", varFile}, io, env(nil))
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, errOut)
	}
	if !strings.HasSuffix(out.String(), ": valid (1 environment, 1 population, 1 user, 1 worker app, 1 web app)\n") {
		t.Errorf("stdout = %q", out.String())
	}

	bad := filepath.Join(dir, "bad.env")
	if err := os.WriteFile(bad, []byte("ALICE_PASSWORD=\""+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	io, _, _, errOut = testStreams()
	code = run([]string{"validate", "-f", examples + "/getting-started.yaml", "--var-file", bad}, io, env(nil))
	if code != exitError {
		t.Errorf("a broken var file: exit code = %d, want %d", code, exitError)
	}
	want := bad + ":1:16: ALICE_PASSWORD: unterminated double-quoted value (values cannot span lines)\n"
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr = %q, want it to contain %q", errOut.String(), want)
	}
	if strings.Contains(errOut.String(), canary) {
		t.Errorf("the var file's value reached the output: %s", errOut)
	}
}

func TestValidateFlags(t *testing.T) {
	t.Parallel()
	io, _, _, _ := testStreams()
	var got *validateOptions
	cmd := newValidateCmd(&factory{IO: io, Getenv: env(nil)}, func(o *validateOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs([]string{"-f", "a.yaml", "--filename", "dir", "--var-file", "1.env", "--var-file", "2.env"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.yaml", "dir"}, got.Paths); diff != "" {
		t.Errorf("Paths: -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1.env", "2.env"}, got.VarFiles); diff != "" {
		t.Errorf("VarFiles: -want +got:\n%s", diff)
	}
}

func TestValidateColor(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		tty     bool
		noColor string
		want    string
	}{
		"Terminal":        {tty: true, want: "\x1b[31m3 errors\x1b[0m\n"},
		"TerminalNoColor": {tty: true, noColor: "1", want: "3 errors\n"},
		"Pipe":            {tty: false, want: "3 errors\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			io, _, _, errOut := testStreams()
			io.StderrTTY, io.StdoutTTY = tc.tty, tc.tty
			run([]string{"validate", "-f", corpus + "/UnknownReference"}, io, env(map[string]string{"NO_COLOR": tc.noColor}))
			if !strings.HasSuffix(errOut.String(), tc.want) {
				t.Errorf("count line: stderr ends %q, want %q", tail(errOut.String()), tc.want)
			}
			if strings.Count(errOut.String(), "\x1b[") > 2 {
				t.Errorf("only the count line may be coloured; problem lines stay plain for tools:\n%q", errOut.String())
			}
		})
	}
}

func TestValidateColorStdout(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		tty     bool
		noColor string
		want    string
	}{
		"Terminal":        {tty: true, want: ": \x1b[32mvalid\x1b[0m ("},
		"TerminalNoColor": {tty: true, noColor: "1", want: ": valid ("},
		"Pipe":            {tty: false, want: ": valid ("},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			io, _, out, _ := testStreams()
			io.StdoutTTY = tc.tty
			code := run([]string{"validate", "-f", examples + "/getting-started.yaml"}, io,
				env(map[string]string{"ALICE_PASSWORD": canary, "NO_COLOR": tc.noColor}))
			if code != exitOK || !strings.Contains(out.String(), tc.want) {
				t.Errorf("exit %d, stdout %q; want it to contain %q", code, out.String(), tc.want)
			}
		})
	}
}

func tail(s string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestCommandsDocumented checks that the commands of this file set have the
// help text every p1ctl command must have.
func TestCommandsDocumented(t *testing.T) {
	t.Parallel()
	io, _, _, _ := testStreams()
	root := newRootCmd(&factory{IO: io, Getenv: env(nil)})
	for _, name := range []string{"validate", "schema"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("command %s is not registered: %v", name, err)
		}
		if cmd.Short == "" || cmd.Long == "" || cmd.Example == "" {
			t.Errorf("%s: Short, Long and Example must all be set", name)
		}
	}
}
