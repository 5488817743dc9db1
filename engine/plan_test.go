package engine_test

import (
	"strings"
	"testing"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// bootstrapProvider signs in to a fresh emulator as its bootstrap worker.
func bootstrapProvider(t *testing.T) *pingone.Provider {
	t.Helper()
	env := emulatortest.Start(t)
	c, err := pingone.New(pingone.Config{ClientID: env.ClientID, ClientSecret: env.ClientSecret,
		EnvironmentID: env.EnvironmentID, APIURL: env.APIURL, AuthURL: env.URL, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	return pingone.NewProvider(c)
}

func envRes(key, name, region string, existing bool) engine.Resource {
	attrs := map[string]any{"name": name, "region": region}
	if !existing {
		attrs["type"] = "SANDBOX"
	}
	return engine.Resource{Addr: engine.Address{Kind: engine.KindEnvironments, Key: key}, Name: name, Existing: existing, Attrs: attrs}
}

func TestPlanProblems(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason  string
		desired []engine.Resource
		opts    engine.Options
		want    []string
	}{
		"ExistingNotFound": {
			reason:  "an existing environment must exist",
			desired: []engine.Resource{envRes("prod", "Nowhere", "NA", true)},
			want:    []string{`environments.prod: existing environment "Nowhere" not found`},
		},
		"ExistingOtherRegion": {
			reason:  "an existing environment's region is checked against the live one",
			desired: []engine.Resource{envRes("admin", "Administrators", "EU", true)},
			want:    []string{`environments.admin: existing environment "Administrators" is in region NA, not EU`},
		},
		"PruneWithTarget": {
			reason:  "a targeted plan sees part of the manifest; pruning from it would delete listed resources",
			desired: []engine.Resource{envRes("qa", "QA", "NA", false)},
			opts:    engine.Options{Prune: true, Targets: []engine.Address{{Kind: engine.KindEnvironments, Key: "qa"}}},
			want:    []string{"--prune cannot be combined with --target"},
		},
		"UnknownTarget": {
			reason:  "a target must be in the manifest",
			desired: []engine.Resource{envRes("qa", "QA", "NA", false)},
			opts:    engine.Options{Targets: []engine.Address{{Kind: engine.KindUsers, Key: "nobody"}}},
			want:    []string{"--target users.nobody: no such resource in the manifest"},
		},
		"PruneWithoutReadRole": {
			reason:  "a read the worker may not make names the roles that allow it",
			desired: []engine.Resource{envRes("admin", "Administrators", "NA", false)},
			opts:    engine.Options{Prune: true},
			want:    []string{`list users in environment "Administrators"`, "needs Identity Data Admin or Identity Data Read Only"},
		},
		"ImmutableWithoutAllowReplace": {
			reason:  "an immutable difference is an error without --allow-replace",
			desired: []engine.Resource{envRes("admin", "Administrators", "EU", false)},
			want:    []string{"environments.admin: region", "cannot change in place", "--allow-replace"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := engine.MakePlan(t.Context(), bootstrapProvider(t), tc.desired, tc.opts)
			if err == nil {
				t.Fatalf("%s: MakePlan succeeded", tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s\nerror = %q, want it to contain %q", tc.reason, err, w)
				}
			}
		})
	}
}
