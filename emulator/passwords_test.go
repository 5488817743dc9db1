package emulator_test

import (
	"net/http"
	"testing"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

// TestPasswordActions drives PUT/POST .../password through its media
// types, in order, checking the password status after each.
func TestPasswordActions(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	c := newClient(t, env)
	envID := sandbox(t, c, "passwords")
	u := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/users", map[string]any{"username": "pat", "email": "pat@example.com"})
	p := "/environments/" + envID + "/users/" + u["id"].(string) + "/password"
	const (
		set      = "application/vnd.pingidentity.password.set+json"
		setValue = "application/vnd.pingidentity.password.setValue+json"
		reset    = "application/vnd.pingidentity.password.reset+json"
		force    = "application/vnd.pingidentity.password.forceChange"
		recover  = "application/vnd.pingidentity.password.recover+json"
	)
	steps := []struct {
		name       string
		method, ct string
		body       any
		status     int
		wantState  string
		target     string
	}{
		{"NoPasswordYet", "GET", "", nil, 200, "NO_PASSWORD", ""},
		{"ForceWithoutPassword", "POST", force, nil, 400, "", ""},
		{"Set", "PUT", set, map[string]any{"value": "First-Passw0rd", "forceChange": true}, 200, "MUST_CHANGE_PASSWORD", ""},
		{"ResetWrongCurrent", "PUT", reset, map[string]any{"currentPassword": "nope", "newPassword": "Second-Passw0rd"}, 400, "", "currentPassword"},
		{"ResetWeakNew", "PUT", reset, map[string]any{"currentPassword": "First-Passw0rd", "newPassword": "weak"}, 400, "", "newPassword"},
		{"ResetReused", "PUT", reset, map[string]any{"currentPassword": "First-Passw0rd", "newPassword": "First-Passw0rd"}, 400, "", "newPassword"},
		{"Reset", "PUT", reset, map[string]any{"currentPassword": "First-Passw0rd", "newPassword": "Second-Passw0rd"}, 200, "OK", ""},
		{"ForceChange", "POST", force, nil, 200, "MUST_CHANGE_PASSWORD", ""},
		{"SetValue", "PUT", setValue, map[string]any{"value": "Third-Passw0rd"}, 200, "OK", ""},
		{"SetValueCharsetParam", "PUT", setValue + ";charset=UTF-8", map[string]any{"value": "Fourth-Passw0rd"}, 200, "OK", ""},
		{"SetMissingValue", "PUT", set, map[string]any{"forceChange": true}, 400, "", "value"},
		{"Unset", "PUT", setValue, map[string]any{}, 200, "NO_PASSWORD", ""},
		{"RecoverUnsupported", "POST", recover, map[string]any{"recoveryCode": "123", "newPassword": "Fifth-Passw0rd"}, 400, "", ""},
		{"UnknownMediaType", "PUT", "application/vnd.pingidentity.password.check+json", map[string]any{"password": "x"}, 415, "", ""},
	}
	for _, st := range steps {
		var opts []reqOpt
		if st.ct != "" {
			opts = append(opts, contentType(st.ct))
		}
		body := st.body
		if body == nil && st.method != "GET" {
			body = ""
		}
		r := c.do(st.method, p, body, opts...)
		if st.status != http.StatusOK {
			code := map[int]string{400: "INVALID_DATA", 415: "INVALID_REQUEST"}[st.status]
			if st.name == "RecoverUnsupported" {
				code = "REQUEST_FAILED"
			}
			m := wantError(t, r, st.status, code)
			if st.target != "" && detail(m, st.target) == nil {
				t.Errorf("%s: no detail on %s: %s", st.name, st.target, r.Body)
			}
			continue
		}
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", st.name, r.Status, r.Body)
		}
		m := r.JSON(t)
		if m["status"] != st.wantState {
			t.Errorf("%s: status %v, want %s", st.name, m["status"], st.wantState)
		}
		checkSelf(t, env, m, p)
	}
}
