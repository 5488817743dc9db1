package emulator_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

func TestUserFilters(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "filters")
	other := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/populations", map[string]any{"name": "Other"})["id"].(string)
	for _, u := range []map[string]any{
		{"username": "alice", "email": "alice@example.com", "name": map[string]any{"given": "Alice", "family": "Doe"}, "externalId": "ext-1"},
		{"username": "albert", "email": "albert@corp.example", "name": map[string]any{"given": "Albert", "family": "Roe"}, "mobilePhone": "+15550100"},
		{"username": "bob", "email": "bob@example.com", "name": map[string]any{"given": "Bob", "family": "Doe"},
			"population": map[string]any{"id": other}},
	} {
		c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", u)
	}
	bobID := items(t, c.must(http.StatusOK, "GET", "/environments/"+envID+"/users?filter="+url.QueryEscape(`username eq "bob"`), nil), "users")[0]["id"].(string)
	c.must(http.StatusOK, "PUT", "/environments/"+envID+"/users/"+bobID+"/enabled", map[string]any{"enabled": false})

	cases := map[string]struct {
		filter string
		want   []string
	}{
		"UsernameEq":         {`username eq "ALICE"`, []string{"alice"}},
		"UsernameSw":         {`username sw "al"`, []string{"albert", "alice"}},
		"EmailEq":            {`email eq "bob@example.com"`, []string{"bob"}},
		"EmailSw":            {`email sw "al"`, []string{"albert", "alice"}},
		"GivenEq":            {`name.given eq "albert"`, []string{"albert"}},
		"FamilyEq":           {`name.family eq "Doe"`, []string{"alice", "bob"}},
		"ExternalID":         {`externalId eq "ext-1"`, []string{"alice"}},
		"MobilePhone":        {`mobilePhone sw "+1555"`, []string{"albert"}},
		"Population":         {`population.id eq "` + other + `"`, []string{"bob"}},
		"Enabled":            {`enabled eq false`, []string{"bob"}},
		"ID":                 {`id eq "` + bobID + `"`, []string{"bob"}},
		"And":                {`name.family eq "Doe" and username sw "a"`, []string{"alice"}},
		"Or":                 {`username eq "alice" or username eq "bob"`, []string{"alice", "bob"}},
		"Parentheses":        {`(username eq "alice" or username eq "albert") and email sw "albert"`, []string{"albert"}},
		"NoMatch":            {`username eq "nobody"`, nil},
		"UsernameEqNotFound": {`username eq "ALI"`, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := c.must(http.StatusOK, "GET", "/environments/"+envID+"/users?filter="+url.QueryEscape(tc.filter), nil)
			var got []string
			for _, u := range items(t, m, "users") {
				got = append(got, u["username"].(string))
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("filter %s: -want +got:\n%s", tc.filter, diff)
			}
			if m["count"] != float64(len(tc.want)) {
				t.Errorf("count = %v, want %d", m["count"], len(tc.want))
			}
		})
	}
}

func TestUserUpdates(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "updates")
	u := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{
		"username": "carol", "email": "carol@example.com", "title": "Engineer", "name": map[string]any{"given": "Carol", "family": "Poe"}})
	p := "/environments/" + envID + "/users/" + u["id"].(string)
	c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "dave", "email": "dave@example.com"})

	t.Run("Patch", func(t *testing.T) {
		m := c.must(http.StatusOK, "PATCH", p, map[string]any{"title": "Manager", "name": map[string]any{"family": nil, "middle": "Q"}})
		want := map[string]any{"given": "Carol", "middle": "Q"}
		if diff := cmp.Diff(want, m["name"]); diff != "" || m["title"] != "Manager" || m["email"] != "carol@example.com" {
			t.Errorf("PATCH: name diff %s, user %v", diff, m)
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		m := c.must(http.StatusOK, "PUT", p, map[string]any{"username": "carol", "email": "carol2@example.com"})
		if _, ok := m["title"]; ok || m["email"] != "carol2@example.com" || m["enabled"] != true {
			t.Errorf("PUT did not replace: %v", m)
		}
	})
	t.Run("PutKeepsPopulation", func(t *testing.T) {
		other := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/populations", map[string]any{"name": "Elsewhere"})["id"].(string)
		r := c.do("PUT", p, map[string]any{"username": "carol", "email": "carol@example.com", "population": map[string]any{"id": other}})
		if detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), "population.id") == nil {
			t.Errorf("no detail on population.id: %s", r.Body)
		}
		m := c.must(http.StatusOK, "PUT", p+"/population", map[string]any{"id": other})
		if m["id"] != other {
			t.Errorf("PUT population = %v", m)
		}
		if got := c.must(http.StatusOK, "GET", p+"/population", nil); got["id"] != other {
			t.Errorf("GET population = %v", got)
		}
		if got := c.must(http.StatusOK, "GET", p, nil); str(got, "population.id") != other {
			t.Errorf("user population = %v", got["population"])
		}
	})
	t.Run("RenameToTakenUsername", func(t *testing.T) {
		r := c.do("PATCH", p, map[string]any{"username": "Dave"})
		if d := detail(wantError(t, r, http.StatusBadRequest, "INVALID_DATA"), "username"); d == nil || d["code"] != "UNIQUENESS_VIOLATION" {
			t.Errorf("rename: %s", r.Body)
		}
	})
	t.Run("EnabledAndLock", func(t *testing.T) {
		c.must(http.StatusOK, "PUT", p+"/enabled", map[string]any{"enabled": false})
		m := c.must(http.StatusOK, "GET", p, nil)
		if m["enabled"] != false || get(m, "account.canAuthenticate") != false {
			t.Errorf("disabled user = %v", m)
		}
		c.must(http.StatusOK, "PUT", p+"/enabled", map[string]any{"enabled": true})
		m = c.must(http.StatusOK, "POST", p, "", contentType("application/vnd.pingidentity.account.lock+json"))
		if str(m, "account.status") != "LOCKED" || get(m, "account.canAuthenticate") != false {
			t.Errorf("locked user = %v", m)
		}
		m = c.must(http.StatusOK, "POST", p, "{}", contentType("application/vnd.pingidentity.account.unlock+json"))
		if str(m, "account.status") != "OK" || get(m, "account.canAuthenticate") != true {
			t.Errorf("unlocked user = %v", m)
		}
		wantError(t, c.do("POST", p, "{}"), http.StatusUnsupportedMediaType, "INVALID_REQUEST")
	})
	t.Run("Delete", func(t *testing.T) {
		c.must(http.StatusNoContent, "DELETE", p, nil)
		wantError(t, c.do("GET", p, nil), http.StatusNotFound, "NOT_FOUND")
	})
}

// TestPopulationScopedAdmin checks that an Identity Data Admin for one
// population only sees and changes users of that population.
func TestPopulationScopedAdmin(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "scoped")
	mine := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/populations", map[string]any{"name": "Mine"})["id"].(string)
	theirs := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/populations", map[string]any{"name": "Theirs"})["id"].(string)
	in := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users",
		map[string]any{"username": "in", "email": "in@example.com", "population": map[string]any{"id": mine}})["id"].(string)
	out := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users",
		map[string]any{"username": "out", "email": "out@example.com", "population": map[string]any{"id": theirs}})["id"].(string)
	wID, wSecret := worker(t, c, envID, "pop-admin", roleGrant{"Identity Data Admin", "POPULATION", mine})
	w := c.as(env.TokenFor(t, envID, wID, wSecret))

	list := w.must(http.StatusOK, "GET", "/environments/"+envID+"/users", nil)
	if us := items(t, list, "users"); len(us) != 1 || us[0]["id"] != in {
		t.Errorf("population admin lists %v", us)
	}
	w.must(http.StatusOK, "GET", "/environments/"+envID+"/users/"+in, nil)
	wantError(t, w.do("GET", "/environments/"+envID+"/users/"+out, nil), http.StatusForbidden, "ACCESS_FAILED")
	wantError(t, w.do("DELETE", "/environments/"+envID+"/users/"+out, nil), http.StatusForbidden, "ACCESS_FAILED")
	wantError(t, w.do("POST", "/environments/"+envID+"/users",
		map[string]any{"username": "new", "email": "new@example.com", "population": map[string]any{"id": theirs}}), http.StatusForbidden, "ACCESS_FAILED")
	w.must(http.StatusCreated, "POST", "/environments/"+envID+"/users",
		map[string]any{"username": "new", "email": "new@example.com", "population": map[string]any{"id": mine}})
	wantError(t, w.do("PUT", "/environments/"+envID+"/users/"+in+"/population", map[string]any{"id": theirs}), http.StatusForbidden, "ACCESS_FAILED")
}

func TestUserImport(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "import")
	imp := contentType("application/vnd.pingidentity.user.import+json")
	cases := map[string]struct {
		reason     string
		password   map[string]any
		wantStatus int
		wantState  string
		target     string
	}{
		"Cleartext":        {"policy-compliant cleartext", map[string]any{"value": "Str0ng!Passw0rd"}, 201, "OK", ""},
		"ForceChange":      {"forceChange", map[string]any{"value": "Str0ng!Passw0rd", "forceChange": true}, 201, "MUST_CHANGE_PASSWORD", ""},
		"SSHA512":          {"pre-encoded", map[string]any{"value": "{SSHA512}UkGWfORubNKFpFBWh+Lgy4FrciclzUXneuryV+B+zBDR4Gqd5wvMqAvKRixgQWoZlZUgq8Wh40uMK3s6bWpzWt1/TqQH02hX"}, 201, "OK", ""},
		"WeakCleartext":    {"the population's policy applies", map[string]any{"value": "short"}, 400, "", "password.value"},
		"UnsupportedHash":  {"bcrypt cannot be verified", map[string]any{"value": "{BCRYPT}$2a$10$abcdefghijklmnopqrstuv"}, 400, "", "password.value"},
		"MalformedSSHA512": {"not base64", map[string]any{"value": "{SSHA512}!!!"}, 400, "", "password.value"},
		"NoValue":          {"value is required", map[string]any{"forceChange": true}, 400, "", "password.value"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := c.do("POST", "/environments/"+envID+"/users",
				map[string]any{"username": "imp-" + name, "email": "imp@example.com", "password": tc.password}, imp)
			if tc.wantStatus != http.StatusCreated {
				if detail(wantError(t, r, tc.wantStatus, "INVALID_DATA"), tc.target) == nil {
					t.Errorf("%s: no detail on %s: %s", tc.reason, tc.target, r.Body)
				}
				return
			}
			if r.Status != http.StatusCreated {
				t.Fatalf("%s: %d %s", tc.reason, r.Status, r.Body)
			}
			st := c.must(http.StatusOK, "GET", "/environments/"+envID+"/users/"+r.JSON(t)["id"].(string)+"/password", nil)
			if st["status"] != tc.wantState {
				t.Errorf("%s: password status %v, want %s", tc.reason, st["status"], tc.wantState)
			}
		})
	}
}
