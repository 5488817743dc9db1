package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// runApply runs apply in-process against a --local emulator in dir, with
// streams that claim to be a terminal.
func runApply(t *testing.T, dir, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	io, in, out, errOut := testStreams()
	io.StdinTTY, io.StdoutTTY, io.StderrTTY = true, true, true
	in.WriteString(stdin)
	getenv := func(k string) string {
		if k == "ALICE_PASSWORD" {
			return "Canary-Pa55-term!"
		}
		return env[k]
	}
	manifest, err := filepath.Abs("../../manifests/examples/getting-started.yaml")
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"apply", "--local", "--local-dir", dir, "-f", manifest}, args...)
	code = run(args, io, getenv)
	return code, out.String(), errOut.String()
}

func TestApplyOnTerminal(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason    string
		stdin     string
		env       map[string]string
		wantCode  int
		wantOut   []string
		wantErr   []string
		noANSIOut bool
	}{
		"ConfirmedWithColour": {
			reason:  "on a terminal apply asks, colours its output and keeps a progress line on stderr",
			stdin:   "yes\n",
			wantOut: []string{"Do you want to apply these changes?", "\x1b[", "Apply complete: 5 created"},
			wantErr: []string{"\r\x1b[K", "[5/5] 0 in progress"},
		},
		"Declined": {
			reason:   "anything but yes cancels and changes nothing",
			stdin:    "no\n",
			wantCode: exitError,
			wantOut:  []string{"Apply cancelled."},
		},
		"NoColor": {
			reason:    "NO_COLOR turns colour off even on a terminal",
			stdin:     "yes\n",
			env:       map[string]string{"NO_COLOR": "1"},
			wantOut:   []string{"Apply complete: 5 created"},
			noANSIOut: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runApply(t, t.TempDir(), tc.stdin, tc.env)
			if code != tc.wantCode {
				t.Fatalf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.reason, code, tc.wantCode, out, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("%s: stdout lacks %q:\n%s", tc.reason, w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s: stderr lacks %q:\n%q", tc.reason, w, errOut)
				}
			}
			if tc.noANSIOut && strings.Contains(out, "\x1b[") {
				t.Errorf("%s: colour codes in stdout with NO_COLOR:\n%q", tc.reason, out)
			}
			if strings.Contains(out+errOut, "Canary-Pa55-term!") {
				t.Errorf("the password reached the output")
			}
		})
	}
}
