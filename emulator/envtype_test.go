package emulator_test

import (
	"net/http"
	"testing"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

// TestEnvironmentType walks PUT /environments/{id}/type as the Terraform
// provider uses it: promote a sandbox, refuse to delete it while it is
// PRODUCTION, demote it, delete it.
func TestEnvironmentType(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	id := sandbox(t, c, "promoted")
	path := "/environments/" + id

	m := c.must(http.StatusOK, "PUT", path+"/type", map[string]any{"type": "PRODUCTION"})
	if m["type"] != "PRODUCTION" {
		t.Fatalf("after promotion type = %v, want PRODUCTION", m["type"])
	}
	if got := c.must(http.StatusOK, "GET", path, nil)["type"]; got != "PRODUCTION" {
		t.Errorf("GET after promotion: type = %v", got)
	}
	wantError(t, c.do("DELETE", path, nil), http.StatusBadRequest, "REQUEST_FAILED")

	cases := map[string]struct {
		body   any
		target string
	}{
		"Missing": {body: map[string]any{}, target: "type"},
		"Unknown": {body: map[string]any{"type": "STAGING"}, target: "type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := wantError(t, c.do("PUT", path+"/type", tc.body), http.StatusBadRequest, "INVALID_DATA")
			if detail(m, tc.target) == nil {
				t.Errorf("no detail names %q: %v", tc.target, m)
			}
		})
	}

	c.must(http.StatusOK, "PUT", path+"/type", map[string]any{"type": "SANDBOX"})
	c.must(http.StatusNoContent, "DELETE", path, nil)
	wantError(t, c.do("PUT", "/environments/00000000-0000-4000-8000-000000000000/type", map[string]any{"type": "SANDBOX"}),
		http.StatusForbidden, "ACCESS_FAILED")
}
