package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/p1ctl/p1ctl/emulator"
	"github.com/p1ctl/p1ctl/emulator/certs"
	"github.com/p1ctl/p1ctl/emulator/middleware"
	"github.com/p1ctl/p1ctl/emulator/store"
)

func init() { register(func(f *factory) *cobra.Command { return newEmulatorCmd(f, emulatorRun) }) }

type emulatorOptions struct {
	IO     *iostreams
	Getenv func(string) string

	Addr         string
	DataDir      string
	InMemory     bool
	BootstrapOut string
	ClientID     string
	ClientSecret string
	TokenTTL     time.Duration
	RateLimit    string
	Faults       string
	Seed         int64
	TLS          bool
	TLSCert      string
	TLSKey       string
	TLSNames     []string
	LogLevel     string

	// ready, when set, receives the bootstrap once the server listens
	// (tests use it instead of polling).
	ready func(bootstrapFile)
}

// bootstrapFile is what the emulator writes for clients: where it listens
// and the worker credentials to get a token with.
type bootstrapFile struct {
	OrganizationID string `json:"organizationId"`
	EnvironmentID  string `json:"environmentId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	APIURL         string `json:"apiUrl"`
	AuthURL        string `json:"authUrl"`
	CAFile         string `json:"caFile,omitempty"`
}

func newEmulatorCmd(f *factory, runF func(context.Context, *emulatorOptions) error) *cobra.Command {
	opts := &emulatorOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run a local PingOne-compatible server",
		Long: `Run the p1ctl emulator: a local server that speaks PingOne's management and auth
APIs (same paths, JSON, HAL envelopes, errors and role checks) over an embedded
SQLite store. One port serves the auth base (http://HOST:PORT/{envId}/as/...)
and the API base (http://HOST:PORT/v1/...).

On an empty store it bootstraps an organization, its licenses, an
administrators' environment and a worker app holding Organization Admin and
Environment Admin, and writes their ids and the worker's credentials to the
bootstrap file (mode 0600).

With --tls the same port also serves HTTPS (told apart by the first byte of
each connection) and acts as an HTTPS proxy for the certificate's names only:
a client started with HTTPS_PROXY=http://HOST:PORT and SSL_CERT_FILE=ca.pem
reaches it as https://api.pingone.test/v1 and https://auth.pingone.test, as
Ping's Terraform provider and Go SDK require. It is not an open proxy: CONNECT
to any other target is refused and nothing is ever dialled.

Fault injection (--faults) and rate limiting (--rate-limit) let clients test
their retry logic; --seed makes ids and faults repeat from run to run.`,
		Example: `  # Serve on a fixed port with a persistent store in ./.p1ctl/emulator
  p1ctl emulator

  # A throw-away emulator on a free port, for CI, with fixed credentials
  P1CTL_EMULATOR_CLIENT_ID=6f1c1f5e-0000-4000-8000-000000000001 \
  P1CTL_EMULATOR_CLIENT_SECRET=ci-secret \
    p1ctl emulator --in-memory --addr 127.0.0.1:0 --bootstrap-out bootstrap.json

  # HTTPS and an HTTPS proxy for api.pingone.test and auth.pingone.test
  p1ctl emulator --tls --addr 127.0.0.1:8443

  # Flaky PingOne: 5% server errors, 5% rate limiting, 2 s eventual consistency
  p1ctl emulator --faults "5xx=0.05,429=0.05,lag=2s" --seed 42`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.InMemory && cmd.Flags().Changed("data") {
				return errors.New("--data and --in-memory exclude each other")
			}
			if (opts.TLSCert == "") != (opts.TLSKey == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			if opts.TLS && opts.TLSCert != "" {
				return errors.New("--tls generates a certificate; do not combine it with --tls-cert/--tls-key")
			}
			if opts.ClientID == "" {
				opts.ClientID = opts.Getenv("P1CTL_EMULATOR_CLIENT_ID")
			}
			if opts.ClientSecret == "" {
				opts.ClientSecret = opts.Getenv("P1CTL_EMULATOR_CLIENT_SECRET")
			}
			return runF(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on; port 0 picks a free port")
	fl.StringVar(&opts.DataDir, "data", filepath.Join(".p1ctl", "emulator"), "directory of the SQLite store and bootstrap file")
	fl.BoolVar(&opts.InMemory, "in-memory", false, "keep the store in memory (nothing survives a restart)")
	fl.StringVar(&opts.BootstrapOut, "bootstrap-out", "", "where to write the bootstrap JSON (default DATA/bootstrap.json; required with --in-memory to get one)")
	fl.StringVar(&opts.ClientID, "client-id", "", "bootstrap worker client id, a UUID (env P1CTL_EMULATOR_CLIENT_ID); generated when empty")
	fl.StringVar(&opts.ClientSecret, "client-secret", "", "bootstrap worker client secret (env P1CTL_EMULATOR_CLIENT_SECRET); generated when empty")
	fl.DurationVar(&opts.TokenTTL, "token-ttl", time.Hour, "lifetime of access tokens")
	fl.StringVar(&opts.RateLimit, "rate-limit", "", `per-caller request rate, e.g. "100/s" or "6000/m"; off when empty`)
	fl.StringVar(&opts.Faults, "faults", "", `faults to inject, e.g. "5xx=0.05,429=0.05,latency=20ms,reset=0.01,timeout-after-commit=0.02,lag=2s"`)
	fl.Int64Var(&opts.Seed, "seed", 0, "seed for ids, secrets and faults; 0 means random")
	fl.BoolVar(&opts.TLS, "tls", false, "serve HTTPS, plain HTTP and an HTTPS proxy for the certificate's names on one port, with a certificate from a local CA kept in the data dir (ca.pem is written next to the bootstrap file)")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fl.StringSliceVar(&opts.TLSNames, "tls-name", []string{"api.pingone.test", "auth.pingone.test"}, "extra host names for the --tls certificate (localhost and 127.0.0.1 are always included)")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "request log level: debug, info, warn, error")
	return cmd
}

func emulatorRun(ctx context.Context, opts *emulatorOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", opts.LogLevel)
	}
	logger := slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: level}))

	faults, err := middleware.ParseFaults(opts.Faults)
	if err != nil {
		return fmt.Errorf("--faults: %w", err)
	}
	var rate float64
	if opts.RateLimit != "" {
		if rate, err = middleware.ParseRate(opts.RateLimit); err != nil {
			return fmt.Errorf("--rate-limit: %w", err)
		}
	}

	dir := opts.DataDir
	if opts.InMemory {
		dir = ""
	}
	db, err := store.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()

	srv, err := emulator.New(ctx, emulator.Options{
		Store: db, Seed: opts.Seed, ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
		TokenTTL: opts.TokenTTL, Lag: faults.Lag, Logger: logger,
	})
	if err != nil {
		return err
	}
	srv.Instrument(emulator.Traffic{Faults: faults, RateLimit: rate})

	bootOut := opts.BootstrapOut
	if bootOut == "" && !opts.InMemory {
		bootOut = filepath.Join(dir, "bootstrap.json")
	}

	var tlsConfig *tls.Config
	var caFile string
	switch {
	case opts.TLS:
		certDir := dir
		if certDir == "" {
			if bootOut == "" {
				return errors.New("--tls with --in-memory needs --bootstrap-out (the CA is written next to it)")
			}
			certDir = filepath.Dir(bootOut)
		}
		bundle, err := certs.Ensure(certDir, opts.TLSNames)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsConfig = bundle.TLSConfig()
		caFile = bundle.CAFile
		if bootOut != "" && filepath.Dir(bootOut) != certDir {
			caFile = filepath.Join(filepath.Dir(bootOut), "ca.pem")
			if err := writeFileAtomic(caFile, bundle.CAPEM, 0o644); err != nil {
				return err
			}
		}
	case opts.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	base := scheme + "://" + hostForURL(ln.Addr().(*net.TCPAddr))
	b := srv.Bootstrap()
	bf := bootstrapFile{OrganizationID: b.OrganizationID, EnvironmentID: b.EnvironmentID, ClientID: b.ClientID,
		ClientSecret: b.ClientSecret, APIURL: base + "/v1", AuthURL: base, CAFile: caFile}
	if bootOut != "" {
		data, _ := json.MarshalIndent(bf, "", "  ")
		if err := writeFileAtomic(bootOut, append(data, '\n'), 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("write bootstrap file: %w", err)
		}
	}
	if host, _, _ := net.SplitHostPort(opts.Addr); !isLoopbackHost(host) {
		logger.Warn("listening on a non-loopback address: the /_emulator/ control endpoints have no authentication", "addr", ln.Addr().String())
	}
	fmt.Fprintf(opts.IO.ErrOut, "p1ctl emulator listening on %s (API %s/v1, auth %s)\n", base, base, base)
	if tlsConfig != nil {
		plain := "http://" + hostForURL(ln.Addr().(*net.TCPAddr))
		fmt.Fprintf(opts.IO.ErrOut, "same port: plain HTTP at %s, and HTTPS_PROXY=%s for %s on port 443\n",
			plain, plain, strings.Join(tlsNames(tlsConfig), ", "))
	}
	if bootOut != "" {
		fmt.Fprintf(opts.IO.ErrOut, "bootstrap: %s\n", bootOut)
	}
	if opts.ready != nil {
		opts.ready(bf)
	}
	return srv.Serve(ctx, ln, tlsConfig, 10*time.Second)
}

// tlsNames lists the names of the served certificate, which are the
// CONNECT targets the emulator tunnels to.
func tlsNames(cfg *tls.Config) []string {
	if len(cfg.Certificates) == 0 || cfg.Certificates[0].Leaf == nil {
		return nil
	}
	leaf := cfg.Certificates[0].Leaf
	names := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

func hostForURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(a.Port))
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// writeFileAtomic writes data to path through a temporary file and a rename,
// so readers never see a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
