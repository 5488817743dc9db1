package main

// Tests of p1ctl verify: the real binary against its --local emulator, after
// the real apply, over real HTTP (the emulator's authorize, flow, resume,
// token, discovery, JWKS and userinfo endpoints). Failures come from the
// manifest and the variables, as they would for a user.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// verifySteps are the step names verify prints, in order.
var verifySteps = []string{"lookup", "authorize", "flow", "credentials", "resume", "token", "discovery", "id_token", "userinfo"}

// gettingStarted returns the absolute path of the getting-started example.
func gettingStarted(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "manifests", "examples", "getting-started.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verifyArgs are the arguments of a verify of webApps.portal as users.alice.
func verifyArgs(manifest string, extra ...string) []string {
	return append([]string{"verify", "-f", manifest, "--web-app", "portal", "--user", "alice"}, extra...)
}

// wantStepLines checks that stdout has a line per step, passed up to fail
// (exclusive) and failed at fail ("" when every step must pass).
func wantStepLines(t *testing.T, res cliResult, fail string) {
	t.Helper()
	for _, s := range verifySteps {
		if s == fail {
			wantContains(t, res, res.stdout, "FAIL "+padStep(s))
			return
		}
		wantContains(t, res, res.stdout, "ok   "+padStep(s))
	}
}

func padStep(s string) string { return s + strings.Repeat(" ", 12-len(s)) }

func TestE2EVerify(t *testing.T) {
	t.Parallel()
	gs := gettingStarted(t)
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)

	t.Run("BeforeApply", func(t *testing.T) {
		res := r.with(t).must(1, verifyArgs(gs)...)
		wantContains(t, res, res.stdout, "FAIL lookup")
		wantContains(t, res, res.stderr, "verify failed at the lookup step", "environments.qa", "run p1ctl apply first")
	})
	r.must(0, "apply", "--auto-approve", "-f", gs)

	cases := map[string]struct {
		reason  string
		args    []string
		env     []string
		code    int
		fail    string // the step that fails; "" for none
		wantOut []string
		wantErr []string
		lacks   []string // in stdout and stderr
	}{
		"Works": {
			reason: "after apply, alice signs on to portal and gets valid tokens",
			args:   verifyArgs(gs),
			wantOut: []string{"Verifying sign-on of users.alice to webApps.portal in environments.qa",
				"client_secret_basic, PKCE S256", "RS256 signature, iss, aud, exp, nonce",
				"preferred_username alice", "Sign-on works", "add --show-tokens"},
			lacks: []string{"eyJ", alicePassword, "\x1b["},
		},
		"ShowTokens": {
			reason:  "--show-tokens prints the tokens and the id_token's claims",
			args:    verifyArgs(gs, "--show-tokens"),
			wantOut: []string{"access_token: eyJ", "id_token: eyJ", "id_token claims: {", `"nonce": "`, `"preferred_username": "alice"`},
			lacks:   []string{alicePassword},
		},
		"WrongPassword": {
			reason:  "a password variable that differs from the applied one fails the credentials step and names the variable",
			args:    verifyArgs(gs),
			env:     []string{"ALICE_PASSWORD=Not-Alice-Pa55!"},
			code:    1,
			fail:    "credentials",
			wantOut: []string{"INVALID_CREDENTIALS"},
			wantErr: []string{"verify failed at the credentials step", "users.alice", "${ALICE_PASSWORD} (", "getting-started.yaml:",
				"apply --reset-passwords"},
			lacks: []string{"Not-Alice-Pa55!", alicePassword},
		},
		"UnknownWebApp": {
			reason:  "--web-app must name a webApps key of the manifest",
			args:    []string{"verify", "-f", gs, "--web-app", "nope", "--user", "alice"},
			code:    1,
			wantErr: []string{`--web-app "nope"`, "no webApps.nope", "webApps: portal"},
		},
		"UnknownUser": {
			reason:  "--user must name a users key of the manifest",
			args:    []string{"verify", "-f", gs, "--web-app", "portal", "--user", "bob"},
			code:    1,
			wantErr: []string{`--user "bob"`, "users: alice"},
		},
		"MissingUser": {
			reason:  "--user is required",
			args:    []string{"verify", "-f", gs, "--web-app", "portal"},
			code:    1,
			wantErr: []string{`"user" not set`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { // one after the other: they share a store
			res := r.with(t).run(tc.env, tc.args...)
			if res.code != tc.code {
				t.Fatalf("%s: exit code %d, want %d\n%s", tc.reason, res.code, tc.code, res)
			}
			if tc.code == 0 || tc.fail != "" {
				wantStepLines(t, res, tc.fail)
			}
			wantContains(t, res, res.stdout, tc.wantOut...)
			wantContains(t, res, res.stderr, tc.wantErr...)
			wantLacks(t, res, res.stdout+res.stderr, tc.lacks...)
		})
	}
}

// TestE2EVerifyManifestCauses applies broken variants of the example and
// checks that verify names the manifest's mistake.
func TestE2EVerifyManifestCauses(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)
	gs := readExample(t)
	steps := []struct {
		name     string
		manifest string
		code     int
		fail     string
		wantOut  []string
		wantErr  []string
	}{
		{
			name:     "DisabledUser",
			manifest: edit(t, gs, "enabled: true", "enabled: false"),
			code:     1, fail: "credentials",
			wantOut: []string{"ACCOUNT_NOT_USABLE"},
			wantErr: []string{"users.alice is disabled: the manifest sets enabled: false (", "m.yaml:"},
		},
		{
			name:     "NoOpenIDScope",
			manifest: edit(t, gs, "scopes: [openid, profile, email]", "scopes: [profile, email]"),
			code:     1, fail: "authorize",
			wantOut: []string{"invalid_scope"},
			wantErr: []string{"webApps.portal is not granted the openid scope: add openid to its scopes"},
		},
		{
			name: "PublicClient",
			manifest: edit(t, gs, "tokenEndpointAuthMethod: CLIENT_SECRET_BASIC", "tokenEndpointAuthMethod: NONE",
				"pkceEnforcement: OPTIONAL", "pkceEnforcement: S256_REQUIRED"),
			wantOut: []string{"none, PKCE S256", "Sign-on works"},
		},
		{
			name:     "SecretPost",
			manifest: edit(t, gs, "tokenEndpointAuthMethod: CLIENT_SECRET_BASIC", "tokenEndpointAuthMethod: CLIENT_SECRET_POST"),
			wantOut:  []string{"client_secret_post, PKCE S256", "Sign-on works"},
		},
	}
	for _, s := range steps {
		path := writeFile(t, r.dir, "m.yaml", s.manifest)
		r.must(0, "apply", "--auto-approve", "--allow-replace", "-f", path)
		res := r.run(nil, "verify", "-f", path, "--web-app", "portal", "--user", "alice")
		if res.code != s.code {
			t.Fatalf("%s: exit code %d, want %d\n%s", s.name, res.code, s.code, res)
		}
		wantStepLines(t, res, s.fail)
		wantContains(t, res, res.stdout, s.wantOut...)
		wantContains(t, res, res.stderr, s.wantErr...)
		wantLacks(t, res, res.stdout+res.stderr, alicePassword)
	}
}

// TestVerifyOnTerminal runs verify in-process with streams that claim to
// be a terminal: ✓ marks, coloured unless NO_COLOR is set.
func TestVerifyOnTerminal(t *testing.T) {
	t.Parallel()
	r := newLocalRunner(t, "ALICE_PASSWORD="+alicePassword)
	gs := gettingStarted(t)
	r.must(0, "apply", "--auto-approve", "-f", gs)
	for name, noColor := range map[string]string{"Color": "", "NoColor": "1"} {
		t.Run(name, func(t *testing.T) {
			io, _, out, errOut := testStreams()
			io.StdoutTTY, io.StderrTTY = true, true
			getenv := env(map[string]string{"ALICE_PASSWORD": alicePassword, "NO_COLOR": noColor})
			code := run(append(verifyArgs(gs), "--local", "--local-dir", r.localDir), io, getenv)
			res := cliResult{args: []string{"verify"}, code: code, stdout: out.String(), stderr: errOut.String()}
			if code != 0 {
				t.Fatalf("exit code %d\n%s", code, res)
			}
			for _, s := range verifySteps {
				if noColor != "" {
					wantContains(t, res, res.stdout, "✓ "+padStep(s))
				} else {
					wantContains(t, res, res.stdout, "\x1b[32m✓\x1b[0m "+padStep(s))
				}
			}
			if noColor != "" {
				wantLacks(t, res, res.stdout, "\x1b[")
			}
		})
	}
}

func TestVerifyFlags(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args    []string
		wantErr string
	}{
		"NoWebApp":    {args: []string{"--user", "alice"}, wantErr: `"web-app" not set`},
		"ZeroTimeout": {args: []string{"--web-app", "p", "--user", "a", "--timeout", "0s"}, wantErr: "--timeout 0s"},
		"Arguments":   {args: []string{"--web-app", "p", "--user", "a", "extra"}, wantErr: "unknown command"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			io, _, _, _ := testStreams()
			ran := false
			cmd := newVerifyCmd(&factory{IO: io, Getenv: env(nil)}, func(context.Context, *verifyOptions) error { ran = true; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Out)
			cmd.SetErr(io.ErrOut)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ran {
				t.Errorf("verify %v: error %v (ran %v), want one containing %q", tc.args, err, ran, tc.wantErr)
			}
		})
	}
	io, _, _, _ := testStreams()
	var got *verifyOptions
	cmd := newVerifyCmd(&factory{IO: io, Getenv: env(nil)}, func(_ context.Context, o *verifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-f", "a.yaml", "--web-app", "portal", "--user", "alice", "--show-tokens", "--local"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.WebApp != "portal" || got.User != "alice" || !got.ShowTokens || !got.Conn.Local || got.Timeout.Seconds() != 30 {
		t.Errorf("options = %+v", got)
	}
}
