package pingone

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultRateLimit is 20 requests per second. PingOne shares its rate
	// limits across every environment of a license (reference §3.6): the
	// configuration group allows 600 requests a minute and the directory
	// groups are quoted at about 100 per second. One p1ctl run at 20/s leaves
	// most of that to the other clients of the same license (the Terraform
	// provider, sign-on traffic), and the configuration calls of an apply
	// are few next to its user writes. Raise it with --rate-limit when the
	// license is yours alone.
	DefaultRateLimit = 20.0
	// DefaultConcurrency bounds requests in flight, across all callers of a
	// Client.
	DefaultConcurrency = 8
	// DefaultMaxRetries bounds the retries of one request (429, 5xx,
	// network errors); the readiness window has its own bound.
	DefaultMaxRetries = 8
	// DefaultRequestTimeout bounds one attempt of one request.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultReadinessWindow is how long after creating an environment a
	// 404 or 403 from inside it counts as PingOne catching up.
	DefaultReadinessWindow = 30 * time.Second
	// DefaultTokenRefreshEarly is how long before expiry a token is renewed.
	DefaultTokenRefreshEarly = 2 * time.Minute
	// DefaultUserAgent is sent when Config.UserAgent is empty.
	DefaultUserAgent = "p1ctl/dev"

	defaultRetryBaseDelay = 250 * time.Millisecond
	defaultRetryMaxDelay  = 10 * time.Second
	// defaultMaxRetryAfter caps a server's Retry-After, as PingOne's SDK
	// does (30 s), so a bad header cannot stall an apply.
	defaultMaxRetryAfter = 30 * time.Second
)

// Regions are PingOne's region codes (PINGONE_REGION_CODE), with the
// top-level domain of their hosts (reference §1).
var regionTLD = map[string]string{"AP": "asia", "AU": "com.au", "CA": "ca", "EU": "eu", "NA": "com", "SG": "sg"}

// Regions lists the region codes, sorted.
func Regions() []string {
	out := make([]string, 0, len(regionTLD))
	for r := range regionTLD {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Environment variables ConfigFromEnv reads, named as the Terraform
// provider names them.
const (
	EnvClientID      = "PINGONE_CLIENT_ID"
	EnvClientSecret  = "PINGONE_CLIENT_SECRET"
	EnvEnvironmentID = "PINGONE_ENVIRONMENT_ID"
	EnvRegionCode    = "PINGONE_REGION_CODE"
	EnvAPIHostname   = "PINGONE_API_SERVICE_HOSTNAME"
	EnvAuthHostname  = "PINGONE_AUTH_SERVICE_HOSTNAME"
	EnvAPIURL        = "PINGONE_API_URL"
	EnvAuthURL       = "PINGONE_AUTH_URL"
)

// ErrNoCredentials is wrapped by the error of ConfigFromEnv and New when no
// credential is configured at all, so that callers can suggest --local.
var ErrNoCredentials = errors.New("no PingOne credentials configured")

// Config configures a Client. ClientID, ClientSecret, EnvironmentID and a
// way to the hosts (Region, host names or URLs) are required; zero values
// elsewhere mean the documented defaults.
type Config struct {
	// ClientID and ClientSecret are the worker app's credentials, sent by
	// HTTP Basic (CLIENT_SECRET_BASIC).
	ClientID, ClientSecret string
	// EnvironmentID is the environment the worker app lives in; tokens come
	// from its token endpoint.
	EnvironmentID string
	// Region is one of AP, AU, CA, EU, NA, SG and selects the regional
	// hosts, e.g. EU: https://auth.pingone.eu and https://api.pingone.eu/v1.
	Region string
	// APIHostname and AuthHostname override the hosts (https only), as the
	// Terraform provider's PINGONE_API_SERVICE_HOSTNAME and
	// PINGONE_AUTH_SERVICE_HOSTNAME do: "api.example.com".
	APIHostname, AuthHostname string
	// APIURL and AuthURL override the base URLs outright (for the
	// emulator): "http://127.0.0.1:8080/v1" and "http://127.0.0.1:8080".
	// http is allowed only for loopback hosts. An APIURL without a path
	// gets /v1.
	APIURL, AuthURL string

	// HTTPClient sends every request, token requests included;
	// http.DefaultClient's transport when nil. Its Timeout should be zero:
	// RequestTimeout bounds each attempt.
	HTTPClient *http.Client
	// RateLimit is the client-side limit in requests per second;
	// DefaultRateLimit when 0, none when negative.
	RateLimit float64
	// Concurrency bounds requests in flight; DefaultConcurrency when 0.
	Concurrency int
	// MaxRetries bounds retries per request; DefaultMaxRetries when 0, none
	// when negative.
	MaxRetries int
	// RequestTimeout bounds one attempt; DefaultRequestTimeout when 0.
	RequestTimeout time.Duration
	// ReadinessWindow is how long after this client created an environment
	// 404 and 403 answers from inside it are retried;
	// DefaultReadinessWindow when 0, off when negative.
	ReadinessWindow time.Duration
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with
	// full jitter (250 ms doubling up to 10 s when 0); MaxRetryAfter caps a
	// server's Retry-After (30 s when 0).
	RetryBaseDelay, RetryMaxDelay, MaxRetryAfter time.Duration
	// TokenRefreshEarly renews tokens this long before they expire
	// (DefaultTokenRefreshEarly when 0), or at 3/4 of their lifetime when
	// that is sooner.
	TokenRefreshEarly time.Duration
	// UserAgent is sent with every request: "p1ctl/<version>".
	UserAgent string
	// Logger receives retries and waits at debug level (method, route,
	// status; never bodies or tokens); discarded when nil.
	Logger *slog.Logger
}

// ConfigFromEnv reads the PINGONE_* variables through getenv (os.Getenv in
// the CLI). Errors name the variable at fault; with none of the credential
// variables set the error wraps ErrNoCredentials.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		ClientID:      get(EnvClientID),
		ClientSecret:  getenv(EnvClientSecret), // a secret may have spaces
		EnvironmentID: get(EnvEnvironmentID),
		Region:        get(EnvRegionCode),
		APIHostname:   get(EnvAPIHostname),
		AuthHostname:  get(EnvAuthHostname),
		APIURL:        get(EnvAPIURL),
		AuthURL:       get(EnvAuthURL),
	}
	if _, err := c.endpoints(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// endpoints are a Config's resolved base URLs, without trailing slashes.
type endpoints struct {
	api  *url.URL // e.g. https://api.pingone.com/v1
	auth *url.URL // e.g. https://auth.pingone.com
}

// endpoints validates c and resolves its base URLs.
func (c Config) endpoints() (endpoints, error) {
	var ep endpoints
	if c.ClientID == "" && c.ClientSecret == "" && c.EnvironmentID == "" {
		return ep, fmt.Errorf("%w: set %s, %s and %s", ErrNoCredentials, EnvClientID, EnvClientSecret, EnvEnvironmentID)
	}
	for _, req := range []struct{ v, name string }{
		{c.ClientID, EnvClientID}, {c.ClientSecret, EnvClientSecret}, {c.EnvironmentID, EnvEnvironmentID},
	} {
		if req.v == "" {
			return ep, &ConfigError{Var: req.name, Msg: "is not set"}
		}
	}
	if strings.ContainsAny(c.EnvironmentID, "/?#% ") {
		return ep, &ConfigError{Var: EnvEnvironmentID, Msg: "is not an environment id"}
	}
	region := strings.ToUpper(c.Region)
	if region != "" {
		if _, ok := regionTLD[region]; !ok {
			return ep, &ConfigError{Var: EnvRegionCode, Msg: fmt.Sprintf("%q is not a region; use one of %s",
				c.Region, strings.Join(Regions(), ", "))}
		}
	}
	var err error
	if ep.api, err = baseURL(c.APIURL, EnvAPIURL, c.APIHostname, EnvAPIHostname, region, "api", "/v1"); err != nil {
		return ep, err
	}
	if ep.auth, err = baseURL(c.AuthURL, EnvAuthURL, c.AuthHostname, EnvAuthHostname, region, "auth", ""); err != nil {
		return ep, err
	}
	return ep, nil
}

// baseURL picks the full URL, else the host name, else the region's host.
func baseURL(full, fullVar, host, hostVar, region, prefix, path string) (*url.URL, error) {
	switch {
	case full != "":
		u, err := url.Parse(full)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
			return nil, &ConfigError{Var: fullVar, Msg: fmt.Sprintf("%q is not an http(s) URL such as https://%s.example.com%s", full, prefix, path)}
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, &ConfigError{Var: fullVar, Msg: "must be a base URL without user, query or fragment"}
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return nil, &ConfigError{Var: fullVar, Msg: fmt.Sprintf(
				"http is allowed only for loopback hosts (localhost, 127.0.0.1, ::1), not %q; use https", u.Hostname())}
		}
		u.Path = strings.TrimRight(u.Path, "/")
		if u.Path == "" {
			u.Path = path
		}
		u.RawPath = ""
		return u, nil
	case host != "":
		u, err := url.Parse("https://" + host)
		if err != nil || u.Host != host || u.Hostname() == "" {
			return nil, &ConfigError{Var: hostVar, Msg: fmt.Sprintf("%q is not a host name such as %s.example.com (no scheme, no path)", host, prefix)}
		}
		u.Path = path
		return u, nil
	case region != "":
		return &url.URL{Scheme: "https", Host: prefix + ".pingone." + regionTLD[region], Path: path}, nil
	}
	return nil, &ConfigError{Var: EnvRegionCode, Msg: "is not set; use one of " + strings.Join(Regions(), ", ") +
		" (or set " + hostVar + " or " + fullVar + ")"}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String describes the configuration without its secret.
func (c Config) String() string {
	ep, err := c.endpoints()
	if err != nil {
		return "pingone.Config(invalid)"
	}
	return "pingone.Config{client " + c.ClientID + " in environment " + c.EnvironmentID + ", API " + ep.api.String() +
		", auth " + ep.auth.String() + ", rate " + strconv.FormatFloat(c.rateLimit(), 'g', -1, 64) + "/s}"
}

// GoString keeps %#v from printing the secret.
func (c Config) GoString() string { return c.String() }

func (c Config) rateLimit() float64 {
	if c.RateLimit == 0 {
		return DefaultRateLimit
	}
	return c.RateLimit
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
