package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

// client makes management calls the way a curl user does: absolute URLs,
// explicit Content-Type, a bearer token.
type client struct {
	t     testing.TB
	env   *emulatortest.Env
	token string
}

func newClient(t testing.TB, env *emulatortest.Env) *client {
	return &client{t: t, env: env, token: env.Token(t)}
}

// as returns a client that sends another token.
func (c *client) as(token string) *client { return &client{t: c.t, env: c.env, token: token} }

// response is a finished call.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// reqOpt changes a request before it is sent.
type reqOpt func(*http.Request)

func contentType(ct string) reqOpt { return func(r *http.Request) { r.Header.Set("Content-Type", ct) } }

// do sends method to path (an absolute URL, or a path under /v1) with body:
// nil for none, a string or []byte as is, anything else as JSON (with
// Content-Type application/json unless an option sets another).
func (c *client) do(method, path string, body any, opts ...reqOpt) response {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = c.env.APIURL + path
	}
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("marshal body: %v", err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// must sends a call that must answer want, and returns its JSON object
// (nil for an empty body).
func (c *client) must(want int, method, path string, body any, opts ...reqOpt) map[string]any {
	c.t.Helper()
	r := c.do(method, path, body, opts...)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.Status, want, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	checkJSONContentType(c.t, r)
	return r.JSON(c.t)
}

// try sends a call from any goroutine and reports an unexpected status as
// an error (must would call t.Fatalf, which only the test goroutine may).
func (c *client) try(want int, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.env.APIURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	return nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func checkJSONContentType(t testing.TB, r response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json (the PingOne Go SDK refuses anything else)", ct)
	}
}

// wantError asserts that r is PingOne's error envelope with status and
// code: a UUID id, a message, and details (when any) with a code and a
// message. It returns the envelope.
func wantError(t testing.TB, r response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d\n%s", r.Status, status, r.Body)
	}
	checkJSONContentType(t, r)
	m := r.JSON(t)
	if id, _ := m["id"].(string); !uuidPattern.MatchString(id) {
		t.Errorf("error id = %v, want a UUID", m["id"])
	}
	if m["code"] != code {
		t.Errorf("error code = %v, want %s\n%s", m["code"], code, r.Body)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("error has no message: %s", r.Body)
	}
	if d, ok := m["details"]; ok {
		ds, _ := d.([]any)
		if len(ds) == 0 {
			t.Errorf("details is not a non-empty array: %s", r.Body)
		}
		for _, x := range ds {
			dm, _ := x.(map[string]any)
			if dm["code"] == nil || dm["message"] == nil {
				t.Errorf("detail without code or message: %v", x)
			}
		}
	}
	return m
}

// detail returns the first detail of an error envelope whose target is
// target ("" for any), or nil.
func detail(m map[string]any, target string) map[string]any {
	ds, _ := m["details"].([]any)
	for _, x := range ds {
		d, _ := x.(map[string]any)
		if target == "" || d["target"] == target {
			return d
		}
	}
	return nil
}

// get follows a dotted path (with numeric indexes) into decoded JSON.
func get(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i := 0
			for _, c := range part {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path string) string {
	s, _ := get(v, path).(string)
	return s
}

// items returns the _embedded.<name> array of a collection.
func items(t testing.TB, m map[string]any, name string) []map[string]any {
	t.Helper()
	arr, ok := get(m, "_embedded."+name).([]any)
	if !ok {
		t.Fatalf("collection has no _embedded.%s array: %v", name, m)
	}
	out := make([]map[string]any, len(arr))
	for i, x := range arr {
		out[i], _ = x.(map[string]any)
	}
	return out
}

// find returns the item of a collection whose key equals value.
func find(t testing.TB, m map[string]any, name, key, value string) map[string]any {
	t.Helper()
	for _, it := range items(t, m, name) {
		if it[key] == value {
			return it
		}
	}
	t.Fatalf("no %s with %s %q", name, key, value)
	return nil
}

// checkTimestamps asserts that createdAt/updatedAt are RFC 3339.
func checkTimestamps(t testing.TB, m map[string]any, fields ...string) {
	t.Helper()
	if len(fields) == 0 {
		fields = []string{"createdAt", "updatedAt"}
	}
	for _, f := range fields {
		s, _ := m[f].(string)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("%s = %q, want an RFC 3339 time", f, s)
		}
	}
}

// checkSelf asserts that _links.self is an absolute URL on the emulator.
func checkSelf(t testing.TB, env *emulatortest.Env, m map[string]any, want string) {
	t.Helper()
	got := str(m, "_links.self.href")
	if want != "" && got != env.APIURL+want {
		t.Errorf("_links.self.href = %q, want %q", got, env.APIURL+want)
	}
	if !strings.HasPrefix(got, env.URL+"/") {
		t.Errorf("_links.self.href = %q, want an absolute URL on %s", got, env.URL)
	}
}

// sandbox creates a SANDBOX environment for a test and returns its id.
func sandbox(t testing.TB, c *client, name string) string {
	t.Helper()
	lic := activeLicense(t, c)
	m := c.must(http.StatusCreated, "POST", "/environments", map[string]any{
		"name": name, "region": "NA", "type": "SANDBOX", "license": map[string]any{"id": lic},
		"billOfMaterials": map[string]any{"products": []any{map[string]any{"type": "PING_ONE_BASE"}}},
	})
	return m["id"].(string)
}

// activeLicense returns the id of the organization's ACTIVE license.
func activeLicense(t testing.TB, c *client) string {
	t.Helper()
	m := c.must(http.StatusOK, "GET", "/organizations/"+c.env.OrganizationID+"/licenses", nil)
	for _, l := range items(t, m, "licenses") {
		if l["status"] == "ACTIVE" {
			return l["id"].(string)
		}
	}
	t.Fatal("no ACTIVE license")
	return ""
}

// worker creates a WORKER app without inherited roles in envID, grants it
// roles (role name -> scope type/id pairs), and returns its id and secret.
func worker(t testing.TB, c *client, envID, name string, grants ...roleGrant) (id, secret string) {
	t.Helper()
	app := c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications", map[string]any{
		"name": name, "enabled": true, "type": "WORKER", "protocol": "OPENID_CONNECT",
		"grantTypes": []string{"CLIENT_CREDENTIALS"}, "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "assignActorRoles": false,
	})
	id = app["id"].(string)
	for _, g := range grants {
		c.must(http.StatusCreated, "POST", "/environments/"+envID+"/applications/"+id+"/roleAssignments", map[string]any{
			"role": map[string]any{"id": roleID(t, c, g.role)}, "scope": map[string]any{"id": g.scopeID, "type": g.scopeType},
		})
	}
	sec := c.must(http.StatusOK, "GET", "/environments/"+envID+"/applications/"+id+"/secret", nil)
	return id, sec["secret"].(string)
}

type roleGrant struct{ role, scopeType, scopeID string }

// roleID looks a built-in role up by name, as clients do.
func roleID(t testing.TB, c *client, name string) string {
	t.Helper()
	return find(t, c.must(http.StatusOK, "GET", "/roles", nil), "roles", "name", name)["id"].(string)
}
