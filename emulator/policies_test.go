package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

func TestPopulations(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "pops")
	pops := "/environments/" + envID + "/populations"
	def := find(t, c.must(http.StatusOK, "GET", pops, nil), "populations", "name", "Default")["id"].(string)
	standard := find(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/passwordPolicies", nil), "passwordPolicies", "name", "Basic")["id"].(string)

	a := c.must(http.StatusCreated, "POST", pops, map[string]any{"name": "A", "default": true, "passwordPolicy": map[string]any{"id": standard}})
	aID := a["id"].(string)
	if d := c.must(http.StatusOK, "GET", pops+"/"+def, nil); d["default"] != false {
		t.Errorf("a new default population did not unset the old one: %v", d)
	}
	if str(a, "passwordPolicy.id") != standard || str(a, "theme.id") == "" {
		t.Errorf("population = %v", a)
	}
	// Names are unique; filters work.
	if d := detail(wantError(t, c.do("POST", pops, map[string]any{"name": "A"}), http.StatusBadRequest, "INVALID_DATA"), "name"); d == nil || d["code"] != "UNIQUENESS_VIOLATION" {
		t.Error("duplicate population name accepted")
	}
	if d := detail(wantError(t, c.do("POST", pops, map[string]any{"name": "B", "passwordPolicy": map[string]any{"id": "00000000-0000-4000-8000-000000000000"}}),
		http.StatusBadRequest, "INVALID_DATA"), "passwordPolicy.id"); d == nil {
		t.Error("unknown password policy accepted")
	}
	if us := items(t, c.must(http.StatusOK, "GET", pops+"?filter="+url.QueryEscape(`name sw "a"`), nil), "populations"); len(us) != 1 || us[0]["id"] != aID {
		t.Errorf("name sw filter found %v", us)
	}
	wantError(t, c.do("GET", pops+"?filter="+url.QueryEscape(`description eq "x"`), nil), http.StatusBadRequest, "INVALID_DATA")

	// userCount; a population with users, the default one, and the last one
	// cannot be deleted.
	u := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "u", "email": "u@example.com"})
	if str(u, "population.id") != aID {
		t.Errorf("new user went to %v, want the default population %s", u["population"], aID)
	}
	if got := c.must(http.StatusOK, "GET", pops+"/"+aID, nil); got["userCount"] != float64(1) {
		t.Errorf("userCount = %v", got["userCount"])
	}
	c.must(http.StatusOK, "PUT", pops+"/"+def, map[string]any{"name": "Default", "default": true})
	for name, tc := range map[string]struct{ id, target string }{"HasUsers": {aID, "userCount"}, "Default": {def, "default"}} {
		m := wantError(t, c.do("DELETE", pops+"/"+tc.id, nil), http.StatusBadRequest, "REQUEST_FAILED")
		if d := detail(m, tc.target); d == nil || d["code"] != "CONSTRAINT_VIOLATION" {
			t.Errorf("%s: %v", name, m)
		}
	}
	c.must(http.StatusNoContent, "DELETE", "/environments/"+envID+"/users/"+u["id"].(string), nil)
	c.must(http.StatusNoContent, "DELETE", pops+"/"+aID, nil)
	if d := detail(wantError(t, c.do("DELETE", pops+"/"+def, nil), http.StatusBadRequest, "REQUEST_FAILED"), ""); d == nil || d["code"] != "CONSTRAINT_VIOLATION" {
		t.Error("the last population was deleted")
	}
}

func TestSignOnPolicies(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "sops")
	sops := "/environments/" + envID + "/signOnPolicies"
	single := find(t, c.must(http.StatusOK, "GET", sops, nil), "signOnPolicies", "name", "Single_Factor")["id"].(string)

	wantError(t, c.do("DELETE", sops+"/"+single, nil), http.StatusBadRequest, "REQUEST_FAILED")
	if d := detail(wantError(t, c.do("POST", sops, map[string]any{"name": "bad/name"}), http.StatusBadRequest, "INVALID_DATA"), "name"); d == nil {
		t.Error("a name outside the pattern was accepted")
	}
	mfa := c.must(http.StatusCreated, "POST", sops, map[string]any{"name": "Multi_Factor", "default": true})
	if got := c.must(http.StatusOK, "GET", sops+"/"+single, nil); got["default"] != false {
		t.Errorf("Single_Factor still default: %v", got)
	}
	// default: false does not unset the default.
	m := c.must(http.StatusOK, "PUT", sops+"/"+mfa["id"].(string), map[string]any{"name": "Multi_Factor", "default": false, "description": "d"})
	if m["default"] != true || m["description"] != "d" {
		t.Errorf("PUT = %v", m)
	}
	c.must(http.StatusOK, "PUT", sops+"/"+single, map[string]any{"name": "Single_Factor", "default": true})

	app := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications", map[string]any{
		"name": "web", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "grantTypes": []string{"AUTHORIZATION_CODE"},
		"responseTypes": []string{"CODE"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "redirectUris": []string{"https://a.example/cb"}})
	assigns := "/environments/" + envID + "/applications/" + app["id"].(string) + "/signOnPolicyAssignments"
	a := c.must(http.StatusCreated, "POST", assigns, map[string]any{"signOnPolicy": map[string]any{"id": mfa["id"]}, "priority": 1})
	if str(a, "application.id") != app["id"] || a["priority"] != float64(1) {
		t.Errorf("assignment = %v", a)
	}
	for name, body := range map[string]map[string]any{
		"NoPriority":    {"signOnPolicy": map[string]any{"id": single}},
		"ZeroPriority":  {"signOnPolicy": map[string]any{"id": single}, "priority": 0},
		"UnknownPolicy": {"signOnPolicy": map[string]any{"id": "00000000-0000-4000-8000-000000000000"}, "priority": 2},
	} {
		if r := c.do("POST", assigns, body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	c.must(http.StatusOK, "PUT", assigns+"/"+a["id"].(string), map[string]any{"signOnPolicy": map[string]any{"id": mfa["id"]}, "priority": 5})
	// Deleting the policy deletes its assignments.
	c.must(http.StatusNoContent, "DELETE", sops+"/"+mfa["id"].(string), nil)
	if n := len(items(t, c.must(http.StatusOK, "GET", assigns, nil), "signOnPolicyAssignments")); n != 0 {
		t.Errorf("%d assignments outlived their policy", n)
	}
}

func TestPasswordPolicies(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "pps")
	pps := "/environments/" + envID + "/passwordPolicies"
	standard := find(t, c.must(http.StatusOK, "GET", pps, nil), "passwordPolicies", "name", "Standard")["id"].(string)

	m := wantError(t, c.do("DELETE", pps+"/"+standard, nil), http.StatusBadRequest, "REQUEST_FAILED")
	if d := detail(m, "default"); d == nil || d["message"] != "Default Password Policy can not be deleted" || d["code"] != "CONSTRAINT_VIOLATION" {
		t.Errorf("deleting the default: %v", m)
	}
	for name, tc := range map[string]struct {
		body   map[string]any
		target string
	}{
		"MissingRequired": {map[string]any{"name": "x"}, "excludesCommonlyUsed"},
		"LengthMin":       {map[string]any{"name": "x", "excludesCommonlyUsed": true, "excludesProfileData": true, "notSimilarToCurrent": true, "length": map[string]any{"min": 4}}, "length.min"},
		"BadClass":        {map[string]any{"name": "x", "excludesCommonlyUsed": true, "excludesProfileData": true, "notSimilarToCurrent": true, "minCharacters": map[string]any{"xyz": 1}}, "minCharacters"},
		"Duplicate":       {map[string]any{"name": "Basic", "excludesCommonlyUsed": true, "excludesProfileData": true, "notSimilarToCurrent": true}, "name"},
	} {
		if detail(wantError(t, c.do("POST", pps, tc.body), http.StatusBadRequest, "INVALID_DATA"), tc.target) == nil {
			t.Errorf("%s: no detail on %s", name, tc.target)
		}
	}
	strict := c.must(http.StatusCreated, "POST", pps, map[string]any{"name": "Strict", "excludesCommonlyUsed": true, "excludesProfileData": true,
		"notSimilarToCurrent": true, "length": map[string]any{"min": 12}, "minCharacters": map[string]any{"0123456789": 2}, "default": true})
	if get(strict, "length.max") != float64(255) || strict["populationCount"] != float64(0) {
		t.Errorf("strict = %v", strict)
	}
	if got := c.must(http.StatusOK, "GET", pps+"/"+standard, nil); got["default"] != false {
		t.Error("Standard is still the default")
	}
	// The environment default now applies to a user's password.
	u := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "u", "email": "u@example.com"})
	pw := "/environments/" + envID + "/users/" + u["id"].(string) + "/password"
	set := contentType("application/vnd.pingidentity.password.set+json")
	m = wantError(t, c.do("PUT", pw, map[string]any{"value": "Short1!"}, set), http.StatusBadRequest, "INVALID_DATA")
	if d := detail(m, "value"); d == nil || !contains(d["message"], "length.min") {
		t.Errorf("policy violation = %v", m)
	}
	if d := detail(wantError(t, c.do("PUT", pw, map[string]any{"value": "LongEnoughButOneDigit1"}, set), http.StatusBadRequest, "INVALID_DATA"), "value"); d == nil || !contains(d["message"], "minCharacters") {
		t.Errorf("minCharacters not enforced")
	}
	c.must(http.StatusOK, "PUT", pw, map[string]any{"value": "weak", "bypassPolicy": true}, set)
	c.must(http.StatusOK, "PUT", pw, map[string]any{"value": "LongEnoughWith12Digits"}, set)
	// A policy in use by a population cannot be deleted.
	c.must(http.StatusCreated, "POST", "/environments/"+envID+"/populations", map[string]any{"name": "P", "passwordPolicy": map[string]any{"id": standard}})
	if d := detail(wantError(t, c.do("DELETE", pps+"/"+standard, nil), http.StatusBadRequest, "REQUEST_FAILED"), "populationCount"); d == nil {
		t.Error("a policy in use was deleted")
	}
	if got := c.must(http.StatusOK, "GET", pps+"/"+standard, nil); got["populationCount"] != float64(1) {
		t.Errorf("populationCount = %v", got["populationCount"])
	}
	c.must(http.StatusOK, "PUT", pps+"/"+standard, map[string]any{"name": "Standard", "excludesCommonlyUsed": true, "excludesProfileData": true,
		"notSimilarToCurrent": true, "default": true})
	c.must(http.StatusNoContent, "DELETE", pps+"/"+strict["id"].(string), nil)
}

func contains(v any, sub string) bool {
	s, _ := v.(string)
	return strings.Contains(s, sub)
}
