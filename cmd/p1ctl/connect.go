package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/store"
	"github.com/p1ctl/p1ctl/providers/pingone"
)

// connOptions say which PingOne to talk to: a tenant (flags, else the
// PINGONE_* variables the Terraform provider reads too), or, with --local,
// an emulator started in-process.
type connOptions struct {
	ClientID      string
	ClientSecret  string
	EnvironmentID string
	Region        string
	APIHostname   string
	AuthHostname  string
	APIURL        string
	AuthURL       string
	Local         bool
	LocalDir      string
	RateLimit     float64
}

func (o *connOptions) addFlags(fl *pflag.FlagSet) {
	fl.StringVar(&o.ClientID, "client-id", "", "worker app client id (env PINGONE_CLIENT_ID)")
	fl.StringVar(&o.ClientSecret, "client-secret", "", "worker app client secret (env PINGONE_CLIENT_SECRET; prefer the variable: flags show in process lists)")
	fl.StringVar(&o.EnvironmentID, "environment-id", "", "environment the worker app lives in (env PINGONE_ENVIRONMENT_ID)")
	fl.StringVar(&o.Region, "region", "", "region code AP, AU, CA, EU, NA or SG: selects the hosts (env PINGONE_REGION_CODE)")
	fl.StringVar(&o.APIHostname, "api-hostname", "", "API host override, https (env PINGONE_API_SERVICE_HOSTNAME)")
	fl.StringVar(&o.AuthHostname, "auth-hostname", "", "auth host override, https (env PINGONE_AUTH_SERVICE_HOSTNAME)")
	fl.StringVar(&o.APIURL, "api-url", "", "API base URL, e.g. http://127.0.0.1:8080/v1; http only for loopback (env PINGONE_API_URL)")
	fl.StringVar(&o.AuthURL, "auth-url", "", "auth base URL, e.g. http://127.0.0.1:8080 (env PINGONE_AUTH_URL)")
	fl.BoolVar(&o.Local, "local", false, "run against an emulator started in-process, its store in --local-dir (no tenant needed)")
	fl.StringVar(&o.LocalDir, "local-dir", filepath.Join(".p1ctl", "local"), "store of the --local emulator; 'p1ctl emulator --data DIR' serves the same state")
	fl.Float64Var(&o.RateLimit, "rate-limit", 0, fmt.Sprintf("client-side requests per second (default %v; PingOne's configuration limit is 600/minute per license)", pingone.DefaultRateLimit))
}

// connection is an open connection to PingOne or to the local emulator.
type connection struct {
	Provider *pingone.Provider
	Client   *pingone.Client
	// AuthBase is the auth base URL (for outputs such as issuers).
	AuthBase string
	close    func()
}

// Close stops the local emulator, if any.
func (c *connection) Close() {
	if c.close != nil {
		c.close()
	}
}

// errNoTarget is returned when neither credentials nor --local are given.
var errNoTarget = errors.New("no PingOne to talk to: set PINGONE_CLIENT_ID, PINGONE_CLIENT_SECRET, " +
	"PINGONE_ENVIRONMENT_ID and PINGONE_REGION_CODE (or the matching flags) for a tenant, or add --local to use the built-in emulator")

// connect opens the connection o describes.
func connect(ctx context.Context, o *connOptions, getenv func(string) string, userAgent string) (*connection, error) {
	if o.Local {
		return connectLocal(ctx, o, userAgent)
	}
	cfg, err := pingone.ConfigFromEnv(func(k string) string {
		flagged := map[string]string{
			pingone.EnvClientID: o.ClientID, pingone.EnvClientSecret: o.ClientSecret,
			pingone.EnvEnvironmentID: o.EnvironmentID, pingone.EnvRegionCode: o.Region,
			pingone.EnvAPIHostname: o.APIHostname, pingone.EnvAuthHostname: o.AuthHostname,
			pingone.EnvAPIURL: o.APIURL, pingone.EnvAuthURL: o.AuthURL,
		}
		if v := flagged[k]; v != "" {
			return v
		}
		return getenv(k)
	})
	if errors.Is(err, pingone.ErrNoCredentials) {
		return nil, errNoTarget
	}
	if err != nil {
		return nil, err
	}
	cfg.RateLimit = o.RateLimit
	cfg.UserAgent = userAgent
	c, err := pingone.New(cfg)
	if err != nil {
		return nil, err
	}
	return &connection{Provider: pingone.NewProvider(c), Client: c, AuthBase: c.AuthBase()}, nil
}

// connectLocal starts the emulator in-process on a loopback port, over the
// store in o.LocalDir, and connects to it with its bootstrap credentials.
func connectLocal(ctx context.Context, o *connOptions, userAgent string) (*connection, error) {
	db, err := store.Open(ctx, o.LocalDir)
	if err != nil {
		return nil, fmt.Errorf("--local: %w", err)
	}
	srv, err := emulator.New(ctx, emulator.Options{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("--local: %w", err)
	}
	srv.Instrument(emulator.Traffic{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("--local: %w", err)
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln, nil, 5*time.Second) }()
	base := "http://" + ln.Addr().String()
	b := srv.Bootstrap()
	rate := o.RateLimit
	if rate == 0 {
		rate = -1 // the local emulator has no limit to respect
	}
	c, err := pingone.New(pingone.Config{ClientID: b.ClientID, ClientSecret: b.ClientSecret, EnvironmentID: b.EnvironmentID,
		APIURL: base + "/v1", AuthURL: base, RateLimit: rate, UserAgent: userAgent})
	closeAll := func() {
		stop()
		<-done
		db.Close()
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	return &connection{Provider: pingone.NewProvider(c), Client: c, AuthBase: base, close: closeAll}, nil
}
