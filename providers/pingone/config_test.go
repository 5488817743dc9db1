package pingone_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/providers/pingone"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

var creds = []string{"PINGONE_CLIENT_ID", "cid", "PINGONE_CLIENT_SECRET", "s3cret", "PINGONE_ENVIRONMENT_ID", "env-1"}

func withCreds(kv ...string) func(string) string {
	return env(append(append([]string{}, creds...), kv...)...)
}

func TestConfigFromEnvErrors(t *testing.T) {
	cases := map[string]struct {
		reason  string
		getenv  func(string) string
		wantVar string
	}{
		"NoCredentials": {"nothing set: the caller suggests --local", env(), ""},
		"NoClientID": {"a missing credential is named",
			env("PINGONE_CLIENT_SECRET", "s", "PINGONE_ENVIRONMENT_ID", "e", "PINGONE_REGION_CODE", "NA"), "PINGONE_CLIENT_ID"},
		"NoSecret": {"a missing credential is named",
			env("PINGONE_CLIENT_ID", "c", "PINGONE_ENVIRONMENT_ID", "e", "PINGONE_REGION_CODE", "NA"), "PINGONE_CLIENT_SECRET"},
		"NoEnvironment": {"a missing credential is named",
			env("PINGONE_CLIENT_ID", "c", "PINGONE_CLIENT_SECRET", "s", "PINGONE_REGION_CODE", "NA"), "PINGONE_ENVIRONMENT_ID"},
		"NoRegion":      {"without a region, hosts or URLs there is nowhere to go", withCreds(), "PINGONE_REGION_CODE"},
		"BadRegion":     {"regions are AP AU CA EU NA SG", withCreds("PINGONE_REGION_CODE", "US"), "PINGONE_REGION_CODE"},
		"HTTPRemoteAPI": {"http only for loopback", withCreds("PINGONE_API_URL", "http://api.example.com/v1", "PINGONE_AUTH_URL", "http://127.0.0.1:1"), "PINGONE_API_URL"},
		"HTTPRemoteAuth": {"http only for loopback",
			withCreds("PINGONE_API_URL", "http://127.0.0.1:1/v1", "PINGONE_AUTH_URL", "http://10.0.0.8:8080"), "PINGONE_AUTH_URL"},
		"URLNotURL":      {"a URL needs a scheme and host", withCreds("PINGONE_REGION_CODE", "EU", "PINGONE_API_URL", "api.example.com"), "PINGONE_API_URL"},
		"URLWithQuery":   {"a base URL has no query", withCreds("PINGONE_REGION_CODE", "EU", "PINGONE_AUTH_URL", "https://a.example.com/?x=1"), "PINGONE_AUTH_URL"},
		"HostWithScheme": {"host names are host names", withCreds("PINGONE_REGION_CODE", "EU", "PINGONE_API_SERVICE_HOSTNAME", "https://api.example.com"), "PINGONE_API_SERVICE_HOSTNAME"},
		"HostWithPath":   {"host names are host names", withCreds("PINGONE_REGION_CODE", "EU", "PINGONE_AUTH_SERVICE_HOSTNAME", "auth.example.com/x"), "PINGONE_AUTH_SERVICE_HOSTNAME"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pingone.ConfigFromEnv(tc.getenv)
			if err == nil {
				t.Fatalf("%s: no error", tc.reason)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q holds the secret", err)
			}
			if tc.wantVar == "" {
				if !errors.Is(err, pingone.ErrNoCredentials) {
					t.Errorf("%s: %v, want ErrNoCredentials", tc.reason, err)
				}
				return
			}
			var ce *pingone.ConfigError
			if !errors.As(err, &ce) || ce.Var != tc.wantVar || !strings.HasPrefix(err.Error(), tc.wantVar+": ") {
				t.Errorf("%s: %v, want an error naming %s", tc.reason, err, tc.wantVar)
			}
		})
	}
}

func TestConfigHosts(t *testing.T) {
	type hosts struct{ API, Token string }
	cases := map[string]struct {
		getenv func(string) string
		want   hosts
	}{
		"NA": {withCreds("PINGONE_REGION_CODE", "NA"), hosts{"https://api.pingone.com/v1", "https://auth.pingone.com/env-1/as/token"}},
		"EU": {withCreds("PINGONE_REGION_CODE", "EU"), hosts{"https://api.pingone.eu/v1", "https://auth.pingone.eu/env-1/as/token"}},
		"AP": {withCreds("PINGONE_REGION_CODE", "AP"), hosts{"https://api.pingone.asia/v1", "https://auth.pingone.asia/env-1/as/token"}},
		"CA": {withCreds("PINGONE_REGION_CODE", "CA"), hosts{"https://api.pingone.ca/v1", "https://auth.pingone.ca/env-1/as/token"}},
		"AU": {withCreds("PINGONE_REGION_CODE", "AU"), hosts{"https://api.pingone.com.au/v1", "https://auth.pingone.com.au/env-1/as/token"}},
		"SG": {withCreds("PINGONE_REGION_CODE", "sg"), hosts{"https://api.pingone.sg/v1", "https://auth.pingone.sg/env-1/as/token"}},
		"HostOverrides": {withCreds("PINGONE_REGION_CODE", "EU", "PINGONE_API_SERVICE_HOSTNAME", "api.example.com",
			"PINGONE_AUTH_SERVICE_HOSTNAME", "auth.example.com:8443"), hosts{"https://api.example.com/v1", "https://auth.example.com:8443/env-1/as/token"}},
		"LoopbackURLs": {withCreds("PINGONE_API_URL", "http://127.0.0.1:8080", "PINGONE_AUTH_URL", "http://localhost:8080/"),
			hosts{"http://127.0.0.1:8080/v1", "http://localhost:8080/env-1/as/token"}},
		"IPv6Loopback": {withCreds("PINGONE_API_URL", "http://[::1]:9/v1/", "PINGONE_AUTH_URL", "http://[::1]:9"),
			hosts{"http://[::1]:9/v1", "http://[::1]:9/env-1/as/token"}},
		"URLBeatsHost": {withCreds("PINGONE_API_URL", "https://gw.example.com/pingone/v1", "PINGONE_API_SERVICE_HOSTNAME", "api.example.com",
			"PINGONE_REGION_CODE", "CA"), hosts{"https://gw.example.com/pingone/v1", "https://auth.pingone.ca/env-1/as/token"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := pingone.ConfigFromEnv(tc.getenv)
			if err != nil {
				t.Fatal(err)
			}
			c, err := pingone.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := hosts{c.APIBase(), c.TokenURL()}
			if !strings.HasPrefix(got.Token, c.AuthBase()+"/env-1/") {
				t.Errorf("AuthBase %s is not the token URL's base %s", c.AuthBase(), got.Token)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hosts: -want +got:\n%s", diff)
			}
		})
	}
}

func TestConfigHidesSecret(t *testing.T) {
	cfg, err := pingone.ConfigFromEnv(withCreds("PINGONE_REGION_CODE", "NA"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("%q shows the client secret", s)
		}
	}
}
