package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSchemaIsDocumentedAndClosed(t *testing.T) {
	t.Parallel()
	var tree map[string]any
	if err := json.Unmarshal(JSON(), &tree); err != nil {
		t.Fatalf("manifest.schema.json is not JSON: %v", err)
	}
	if tree["$id"] != URL {
		t.Errorf("$id = %v, want URL %q", tree["$id"], URL)
	}
	if tree["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", tree["$schema"])
	}
	var problems []string
	var walk func(path string, node any)
	walk = func(path string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if props, ok := n["properties"].(map[string]any); ok {
				if n["additionalProperties"] == nil {
					problems = append(problems, path+": object with properties lacks additionalProperties")
				}
				for name, p := range props {
					if m, ok := p.(map[string]any); !ok || m["description"] == nil {
						problems = append(problems, path+"/properties/"+name+": no description")
					}
				}
			}
			for k, v := range n {
				walk(path+"/"+k, v)
			}
		case []any:
			for i, v := range n {
				walk(fmt.Sprintf("%s/%d", path, i), v)
			}
		}
	}
	walk("#", tree)
	for name, def := range tree["$defs"].(map[string]any) {
		if def.(map[string]any)["description"] == nil {
			problems = append(problems, "#/$defs/"+name+": no description")
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("schema problems:\n%s", strings.Join(problems, "\n"))
	}
}

// doc decodes YAML-free JSON test input, with integers as int64 like the loader.
func doc(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return ints(v)
}

func ints(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, x := range v {
			v[k] = ints(x)
		}
	case []any:
		for i, x := range v {
			v[i] = ints(x)
		}
	}
	return v
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reason string
		doc    string
		want   []Violation
	}{
		"Valid": {
			reason: "a complete document has no violations",
			doc: `{"apiVersion":"p1ctl/v1",
				"environments":{"qa":{"name":"QA","region":"NA","type":"SANDBOX","existing":false}},
				"populations":{"testers":{"environment":"qa","name":"Testers"}},
				"users":{"alice":{"environment":"qa","population":"testers","username":"alice","email":"a@example.com",
					"name":{"given":"Alice"},"enabled":true,"password":{"value":"x","forceChange":false}}},
				"workerApps":{"bot":{"environment":"qa","name":"Bot","roles":[{"role":"Environment Admin","scope":{"organization":true}}]}},
				"webApps":{"portal":{"environment":"qa","name":"Portal","redirectUris":["https://localhost/cb"],
					"grantTypes":["AUTHORIZATION_CODE"],"refreshTokenDuration":3600,"scopes":["openid"]}}}`,
		},
		"NullKindMap": {
			reason: "an empty kind map (users: with nothing under it) is allowed",
			doc:    `{"apiVersion":"p1ctl/v1","users":null}`,
		},
		"MissingAPIVersion": {
			reason: "a missing field is reported on the object that lacks it",
			doc:    `{}`,
			want:   []Violation{{Pointer: "", Keyword: "required", Field: "apiVersion", Message: `missing required field "apiVersion"`}},
		},
		"WrongAPIVersion": {
			reason: "const names the one allowed value",
			doc:    `{"apiVersion":"p1ctl/v2"}`,
			want:   []Violation{{Pointer: "/apiVersion", Keyword: "const", Message: `must be "p1ctl/v1"`}},
		},
		"UnknownFieldSuggests": {
			reason: "an unknown member points at itself and suggests the nearest known one",
			doc:    `{"apiVersion":"p1ctl/v1","userz":{}}`,
			want: []Violation{{Pointer: "/userz", Keyword: "additionalProperties", Field: "userz",
				Message: `unknown field "userz"`, Hint: `did you mean "users"?`}},
		},
		"EnumSuggestsCase": {
			reason: "enum lists allowed values in schema order and suggests a case fix",
			doc:    `{"apiVersion":"p1ctl/v1","environments":{"qa":{"name":"QA","region":"eu"}}}`,
			want: []Violation{{Pointer: "/environments/qa/region", Keyword: "enum",
				Message: "must be one of NA, EU, AP, CA, AU, SG", Hint: `did you mean "EU"?`}},
		},
		"TypeAndRequired": {
			reason: "wrong types name the expected type; every missing field is its own violation",
			doc:    `{"apiVersion":"p1ctl/v1","users":{"bob":{"enabled":"yes","name":"Bob"}}}`,
			want: []Violation{
				{Pointer: "/users/bob", Keyword: "required", Field: "email", Message: `missing required field "email"`},
				{Pointer: "/users/bob", Keyword: "required", Field: "environment", Message: `missing required field "environment"`},
				{Pointer: "/users/bob", Keyword: "required", Field: "population", Message: `missing required field "population"`},
				{Pointer: "/users/bob", Keyword: "required", Field: "username", Message: `missing required field "username"`},
				{Pointer: "/users/bob/enabled", Keyword: "type", Message: "must be a boolean"},
				{Pointer: "/users/bob/name", Keyword: "type", Message: "must be a mapping"},
			},
		},
		"BadKey": {
			reason: "a key breaking the key pattern is reported at the key",
			doc:    `{"apiVersion":"p1ctl/v1","populations":{"Bad_Key":{"environment":"qa","name":"x"}}}`,
			want: []Violation{{Pointer: "/populations/Bad_Key", Keyword: "propertyNames", Field: "Bad_Key",
				Message: `invalid key "Bad_Key": keys are lower-case letters, digits and '-', and start with a letter or digit`}},
		},
		"KeyWithSlash": {
			reason: "pointer tokens are RFC 6901 escaped, not URL escaped",
			doc:    `{"apiVersion":"p1ctl/v1","populations":{"a/b c":{"environment":"qa","name":"x"}}}`,
			want: []Violation{{Pointer: "/populations/a~1b c", Keyword: "propertyNames", Field: "a/b c",
				Message: `invalid key "a/b c": keys are lower-case letters, digits and '-', and start with a letter or digit`}},
		},
		"ScopeExactlyOne": {
			reason: "a scope must name exactly one target",
			doc: `{"apiVersion":"p1ctl/v1","workerApps":{"bot":{"environment":"qa","name":"Bot",
				"roles":[{"role":"Environment Admin","scope":{"environment":"qa","organization":true}},
				         {"role":"Environment Admin","scope":{"organization":false}}]}}}`,
			want: []Violation{
				{Pointer: "/workerApps/bot/roles/0/scope", Keyword: "maxProperties", Message: "must set exactly one of environment, organization, population"},
				{Pointer: "/workerApps/bot/roles/1/scope/organization", Keyword: "const", Message: "must be true"},
			},
		},
		"ListsAndNumbers": {
			reason: "list, pattern and range keywords get short messages; repeats point at the later item",
			doc: `{"apiVersion":"p1ctl/v1","webApps":{"w":{"environment":"qa","name":"",
				"grantTypes":[],"responseTypes":["CODE","CODE"],"redirectUris":["localhost:3000"],
				"refreshTokenDuration":10,"refreshTokenRollingDuration":1.5}}}`,
			want: []Violation{
				{Pointer: "/webApps/w/grantTypes", Keyword: "minItems", Message: "must not be empty"},
				{Pointer: "/webApps/w/name", Keyword: "minLength", Message: "must not be empty"},
				{Pointer: "/webApps/w/redirectUris/0", Keyword: "pattern", Message: "must be an absolute URL such as https://app.example.com/callback"},
				{Pointer: "/webApps/w/refreshTokenDuration", Keyword: "minimum", Message: "must be at least 60"},
				{Pointer: "/webApps/w/refreshTokenRollingDuration", Keyword: "type", Message: "must be an integer"},
				{Pointer: "/webApps/w/responseTypes/1", Keyword: "uniqueItems", Message: "repeats item 1 of the list"},
			},
		},
		"RootNotMapping": {
			reason: "a document that is not a mapping says so",
			doc:    `["x"]`,
			want:   []Violation{{Pointer: "", Keyword: "type", Message: "must be a mapping"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Validate(doc(t, tc.doc))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nValidate: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	candidates := []string{"email", "enabled", "environment", "name", "password", "population", "username"}
	cases := map[string]struct {
		got  string
		want string
	}{
		"Transposition":   {got: "emial", want: "email"},
		"Case":            {got: "Email", want: "email"},
		"MissingLetter":   {got: "usrname", want: "username"},
		"TooFar":          {got: "colour", want: ""},
		"ShortNeedsClose": {got: "nm", want: ""},
		"Plural":          {got: "populations", want: "population"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Closest(tc.got, candidates); got != tc.want {
				t.Errorf("Closest(%q) = %q, want %q", tc.got, got, tc.want)
			}
		})
	}
}
