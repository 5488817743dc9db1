package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/p1ctl/p1ctl/engine"
)

func init() { register(func(f *factory) *cobra.Command { return newOutputsCmd(f, outputsRun) }) }

// outputs is what --outputs and 'p1ctl outputs' write: per kind and key,
// the PingOne ids a script or test suite needs.
type outputs struct {
	AuthBase     string                `json:"authUrl"`
	APIBase      string                `json:"apiUrl"`
	Environments map[string]*outputObj `json:"environments"`
	Populations  map[string]*outputObj `json:"populations"`
	Users        map[string]*outputObj `json:"users"`
	WorkerApps   map[string]*outputObj `json:"workerApps"`
	WebApps      map[string]*outputObj `json:"webApps"`
}

type outputObj struct {
	ID            string `json:"id"`
	EnvironmentID string `json:"environmentId,omitempty"`
	// Issuer is an environment's OpenID Connect issuer.
	Issuer       string `json:"issuer,omitempty"`
	ClientID     string `json:"clientId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
}

// collectOutputs gathers ids from a plan and, after an apply, its result.
// Resources that do not exist (yet) are left out.
func collectOutputs(ctx context.Context, conn *connection, p *engine.Plan, res *engine.Result, secrets bool) (*outputs, error) {
	ids := map[engine.Address]string{}
	envOf := map[engine.Address]engine.Address{}
	public := map[engine.Address]bool{} // apps without a client secret
	for _, c := range p.Changes {
		if c.Desired != nil && c.Desired.Attrs["tokenEndpointAuthMethod"] == "NONE" {
			public[c.Addr] = true
		}
		if c.ID != "" && c.Action != engine.Delete {
			ids[c.Addr] = c.ID
		}
		if c.Desired != nil {
			envOf[c.Addr] = c.Desired.Env
		}
	}
	if res != nil {
		for a, id := range res.IDs {
			ids[a] = id
		}
		for _, o := range res.Outcomes {
			if o.Outcome == engine.Deleted {
				delete(ids, o.Addr)
			}
		}
	}
	out := &outputs{AuthBase: conn.AuthBase, APIBase: conn.Client.APIBase(), Environments: map[string]*outputObj{},
		Populations: map[string]*outputObj{}, Users: map[string]*outputObj{}, WorkerApps: map[string]*outputObj{}, WebApps: map[string]*outputObj{}}
	byKind := map[string]map[string]*outputObj{engine.KindEnvironments: out.Environments, engine.KindPopulations: out.Populations,
		engine.KindUsers: out.Users, engine.KindWorkerApps: out.WorkerApps, engine.KindWebApps: out.WebApps}
	addrs := make([]engine.Address, 0, len(ids))
	for a := range ids {
		if _, managed := envOf[a]; managed {
			addrs = append(addrs, a)
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Compare(addrs[j]) < 0 })
	for _, a := range addrs {
		o := &outputObj{ID: ids[a]}
		if env := envOf[a]; env != (engine.Address{}) {
			o.EnvironmentID = ids[env]
		} else {
			o.Issuer = conn.AuthBase + "/" + o.ID + "/as"
		}
		if a.Kind == engine.KindWorkerApps || a.Kind == engine.KindWebApps {
			o.ClientID = o.ID
			if secrets && !public[a] {
				s, err := conn.Provider.AppSecret(ctx, o.EnvironmentID, o.ID)
				if err != nil {
					return nil, fmt.Errorf("%s: read client secret: %w", a, err)
				}
				o.ClientSecret = s
			}
		}
		byKind[a.Kind][a.Key] = o
	}
	return out, nil
}

// writeOutputs writes --outputs after an apply (or a plan with no changes).
func writeOutputs(ctx context.Context, opts *applyOptions, conn *connection, p *engine.Plan, res *engine.Result) error {
	if opts.Outputs == "" {
		return nil
	}
	out, err := collectOutputs(ctx, conn, p, res, opts.IncludeSecrets)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := writeFileAtomic(opts.Outputs, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write outputs: %w", err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Wrote outputs to %s\n", opts.Outputs)
	return nil
}

type outputsOptions struct {
	IO     *iostreams
	Getenv func(string) string

	Files          []string
	VarFiles       []string
	Conn           connOptions
	Format         string
	IncludeSecrets bool
}

func newOutputsCmd(f *factory, runF func(context.Context, *outputsOptions) error) *cobra.Command {
	opts := &outputsOptions{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "outputs -f PATH... [--format json|dotenv] [--include-secrets]",
		Short: "Print the PingOne ids of the manifests' resources",
		Long: `Outputs reads live state, as plan does, and prints the PingOne id of every
resource of the manifests that exists, each environment's OpenID Connect
issuer, and the apps' client ids; with --include-secrets also their client
secrets. For scripts, e.g. a test suite that needs the new environment's id
and the web app's credentials.

--format dotenv prints KIND_KEY_FIELD=value lines, upper-cased with - as _,
e.g. WEBAPPS_PORTAL_CLIENT_ID.`,
		Example: `  p1ctl outputs --local -f manifests/examples/getting-started.yaml
  eval "$(p1ctl outputs -f manifests/ --format dotenv --include-secrets | sed 's/^/export /')"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Format != "json" && opts.Format != "dotenv" {
				return fmt.Errorf("--format %q: want json or dotenv", opts.Format)
			}
			return runF(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.Files, "filename", "f", nil, "manifest file or folder (repeatable)")
	cmd.Flags().StringArrayVar(&opts.VarFiles, "var-file", nil, "dotenv file of variables (repeatable)")
	cmd.Flags().StringVar(&opts.Format, "format", "json", "json or dotenv")
	cmd.Flags().BoolVar(&opts.IncludeSecrets, "include-secrets", false, "include the apps' client secrets")
	opts.Conn.addFlags(cmd.Flags())
	return cmd
}

func outputsRun(ctx context.Context, opts *outputsOptions) error {
	l, err := loadManifests(opts.IO, opts.Getenv, opts.Files, opts.VarFiles)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, &opts.Conn, opts.Getenv, userAgent())
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := makePlan(ctx, conn, l, engine.Options{})
	if err != nil {
		return err
	}
	out, err := collectOutputs(ctx, conn, p, nil, opts.IncludeSecrets)
	if err != nil {
		return err
	}
	if opts.Format == "dotenv" {
		return writeDotenv(opts.IO.Out, out)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	_, err = opts.IO.Out.Write(append(b, '\n'))
	return err
}

func writeDotenv(w io.Writer, out *outputs) error {
	var lines []string
	add := func(k, v string) {
		if v != "" {
			lines = append(lines, fmt.Sprintf("%s=%s", k, shellQuote(v)))
		}
	}
	add("PINGONE_AUTH_URL", out.AuthBase)
	add("PINGONE_API_URL", out.APIBase)
	for kind, m := range map[string]map[string]*outputObj{"ENVIRONMENTS": out.Environments, "POPULATIONS": out.Populations,
		"USERS": out.Users, "WORKERAPPS": out.WorkerApps, "WEBAPPS": out.WebApps} {
		for key, o := range m {
			prefix := kind + "_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_")) + "_"
			add(prefix+"ID", o.ID)
			add(prefix+"ENVIRONMENT_ID", o.EnvironmentID)
			add(prefix+"ISSUER", o.Issuer)
			add(prefix+"CLIENT_ID", o.ClientID)
			add(prefix+"CLIENT_SECRET", o.ClientSecret)
		}
	}
	sort.Strings(lines)
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// shellQuote quotes v for a dotenv line that a POSIX shell can also read.
func shellQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"\\$`#;&|<>()*?[]{}~!") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
