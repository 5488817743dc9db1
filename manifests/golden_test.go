package manifests

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-multierror"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// canary is the value of secrets in test environments. It must never appear
// in any problem.
const canary = "hunter2-canary-0xC0FFEE"

var testEnv = map[string]string{
	"CANARY":         canary,
	"CANARY_USER":    canary + "-user",
	"ALICE_PASSWORD": canary,
	"BOB_PASSWORD":   canary,
	"DANA_PASSWORD":  canary,
	"LICENSE_ID":     "3f6a1c2e-1111-4222-8333-944455556666",
	"NUMERIC":        "12345",
	"TRUE":           "true",
}

func testGetenv(name string) string { return testEnv[name] }

// render prints a load outcome the way `p1ctl validate` does: one problem per
// line, then the count.
func render(res *Result, err error) string {
	var b strings.Builder
	var me *multierror.Error
	if err != nil && !errors.As(err, &me) {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	for _, p := range res.Problems {
		b.WriteString(p.Error() + "\n")
	}
	b.WriteString(Summary(res.Problems) + "\n")
	return b.String()
}

// TestInvalidCorpus loads every folder under testdata/invalid as one set of
// manifests (with vars.env as its var file, when there is one) and compares
// every problem, with its exact file:line:col, to problems.golden. Run
// `go test ./manifests -update` to rewrite the golden files, and review the
// diff like code.
func TestInvalidCorpus(t *testing.T) {
	t.Parallel()
	dirs, err := os.ReadDir(filepath.Join("testdata", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 30 {
		t.Errorf("the corpus has %d cases, want at least 30", len(dirs))
	}
	for _, d := range dirs {
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", "invalid", name)
			opts := Options{Getenv: testGetenv}
			if _, err := os.Stat(filepath.Join(dir, "vars.env")); err == nil {
				opts.VarFiles = []string{filepath.Join(dir, "vars.env")}
			}
			res, err := Load(opts, dir)
			got := render(res, err)
			golden := filepath.Join(dir, "problems.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test ./manifests -update to create it)", rerr)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("problems differ from %s: -want +got:\n%s", golden, diff)
			}
			if strings.Contains(got, canary) {
				t.Errorf("a variable's value leaked into the problems:\n%s", got)
			}
			if res == nil || len(res.Problems) == 0 {
				t.Fatalf("case %s reports no problem; every case of the corpus must", name)
			}
			errs, _ := Count(res.Problems)
			if (errs > 0) != (err != nil) {
				t.Errorf("Load error = %v with %d error problems; want an error exactly when there are error problems", err, errs)
			}
			checkPositions(t, res.Problems)
		})
	}
}

// checkPositions asserts that every problem can be jumped to.
func checkPositions(t *testing.T, ps []Problem) {
	t.Helper()
	for _, p := range ps {
		if p.File == "" || p.Line < 1 || p.Col < 1 || p.Addr == "" || p.Msg == "" {
			t.Errorf("problem without a full position, address and message: %#v", p)
		}
	}
}
