package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// p1ctlBin is the CLI binary built once by TestMain for end-to-end tests.
var p1ctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "p1ctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p1ctlBin = filepath.Join(dir, "p1ctl")
	build := exec.Command("go", "build", "-o", p1ctlBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build p1ctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// emulatorProc is a `p1ctl emulator` process started by a test.
type emulatorProc struct {
	cmd  *exec.Cmd
	boot bootstrapFile
	done chan error
}

// startEmulator runs the real binary on a free loopback port and waits for
// its "listening" line on stderr (no polling, no sleeps).
func startEmulator(t *testing.T, args ...string) *emulatorProc {
	t.Helper()
	dir := t.TempDir()
	bootPath := filepath.Join(dir, "bootstrap.json")
	args = append([]string{"emulator", "--addr", "127.0.0.1:0", "--bootstrap-out", bootPath, "--log-level", "error"}, args...)
	cmd := exec.Command(p1ctlBin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &emulatorProc{cmd: cmd, done: make(chan error, 1)}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), "p1ctl emulator listening on ") {
			break
		}
	}
	go func() {
		io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	data, err := os.ReadFile(bootPath)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("emulator did not start: %v; stderr:\n%s", err, strings.Join(seen, "\n"))
	}
	if err := json.Unmarshal(data, &p.boot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *emulatorProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	p.done <- err // let Cleanup's receive return
	if sig == syscall.SIGTERM && err != nil {
		t.Fatalf("emulator exited with %v after SIGTERM", err)
	}
}

// apiClient is a minimal raw-HTTP PingOne client for end-to-end tests, so
// that they exercise the wire protocol, not our provider.
type apiClient struct {
	t     *testing.T
	boot  bootstrapFile
	token string
	http  *http.Client
}

func newAPIClient(t *testing.T, boot bootstrapFile) *apiClient {
	t.Helper()
	c := &apiClient{t: t, boot: boot, http: &http.Client{}}
	req, _ := http.NewRequest("POST", boot.AuthURL+"/"+boot.EnvironmentID+"/as/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(boot.ClientID, boot.ClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status := c.do(req, &tok); status != 200 {
		t.Fatalf("token: status %d", status)
	}
	c.token = tok.AccessToken
	return c
}

func (c *apiClient) do(req *http.Request, out any) int {
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", req.Method, req.URL.Path, err)
		}
	}
	return resp.StatusCode
}

// call makes a management call and returns the status; it may fail on a
// connection error only when tolerate is true (for kill tests).
func (c *apiClient) call(method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.boot.APIURL+path, body)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

func (c *apiClient) mustCall(method, path string, in, out any, want int) {
	c.t.Helper()
	status, err := c.call(method, path, in, out)
	if err != nil || status != want {
		c.t.Fatalf("%s %s: status %d, err %v; want %d", method, path, status, err, want)
	}
}

type idOnly struct {
	ID string `json:"id"`
}

func (c *apiClient) createSandbox(name string) string {
	c.t.Helper()
	var lic struct {
		Embedded struct {
			Licenses []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"licenses"`
		} `json:"_embedded"`
	}
	c.mustCall("GET", "/organizations/"+c.boot.OrganizationID+"/licenses", nil, &lic, 200)
	var licID string
	for _, l := range lic.Embedded.Licenses {
		if l.Status == "ACTIVE" {
			licID = l.ID
		}
	}
	var env idOnly
	c.mustCall("POST", "/environments", map[string]any{"name": name, "region": "NA", "type": "SANDBOX",
		"license": map[string]string{"id": licID}}, &env, 201)
	return env.ID
}

func TestEmulatorRestartKeepsData(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := startEmulator(t, "--data", data)
	c := newAPIClient(t, p.boot)
	envID := c.createSandbox("Restart")
	var pop, user idOnly
	c.mustCall("POST", "/environments/"+envID+"/populations", map[string]any{"name": "Testers"}, &pop, 201)
	c.mustCall("POST", "/environments/"+envID+"/users", map[string]any{"username": "alice", "email": "alice@example.com",
		"population": map[string]string{"id": pop.ID}}, &user, 201)
	p.stop(t, syscall.SIGTERM)

	p2 := startEmulator(t, "--data", data)
	if p2.boot.ClientID != p.boot.ClientID || p2.boot.ClientSecret != p.boot.ClientSecret || p2.boot.EnvironmentID != p.boot.EnvironmentID {
		t.Fatalf("bootstrap changed across restart")
	}
	c2 := newAPIClient(t, p2.boot)
	var got struct {
		Username   string `json:"username"`
		Population idOnly `json:"population"`
	}
	c2.mustCall("GET", "/environments/"+envID+"/users/"+user.ID, nil, &got, 200)
	if got.Username != "alice" || got.Population.ID != pop.ID {
		t.Errorf("after restart user = %+v", got)
	}
	// Uniqueness survives the restart too.
	if status, _ := c2.call("POST", "/environments/"+envID+"/users", map[string]any{"username": "ALICE", "email": "a@example.com"}, nil); status != 400 {
		t.Errorf("duplicate username after restart: status %d, want 400", status)
	}
	// And a token issued before the restart still verifies (keys persist).
	c.boot = p2.boot
	c.mustCall("GET", "/environments/"+envID, nil, nil, 200)
}

func TestEmulatorKillKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := startEmulator(t, "--data", data)
	c := newAPIClient(t, p.boot)
	envID := c.createSandbox("Kill")

	const writers, killAfter = 8, 400
	var (
		mu    sync.Mutex
		acked []string
		n     atomic.Int64
		kill  = make(chan struct{})
		once  sync.Once
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				var u idOnly
				status, err := c.call("POST", "/environments/"+envID+"/users",
					map[string]any{"username": fmt.Sprintf("w%d-u%d", w, i), "email": fmt.Sprintf("w%d-u%d@example.com", w, i)}, &u)
				if err != nil {
					return // the server is gone
				}
				if status != 201 {
					t.Errorf("create user: status %d", status)
					return
				}
				mu.Lock()
				acked = append(acked, u.ID)
				mu.Unlock()
				if n.Add(1) == killAfter {
					once.Do(func() { close(kill) })
				}
				if i > 10*killAfter {
					return // bounded, whatever happens
				}
			}
		})
	}
	<-kill
	p.stop(t, syscall.SIGKILL)
	wg.Wait()

	p2 := startEmulator(t, "--data", data)
	c2 := newAPIClient(t, p2.boot)
	have := map[string]bool{}
	next := "/environments/" + envID + "/users?limit=1000"
	for next != "" {
		var page struct {
			Links struct {
				Next *struct{ Href string } `json:"next"`
			} `json:"_links"`
			Embedded struct {
				Users []idOnly `json:"users"`
			} `json:"_embedded"`
		}
		c2.mustCall("GET", next, nil, &page, 200)
		for _, u := range page.Embedded.Users {
			have[u.ID] = true
		}
		next = ""
		if page.Links.Next != nil {
			next = strings.TrimPrefix(page.Links.Next.Href, p2.boot.APIURL)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, id := range acked {
		if !have[id] {
			missing++
		}
	}
	if missing > 0 || len(acked) < killAfter {
		t.Errorf("%d of %d acknowledged users missing after kill -9 and restart", missing, len(acked))
	}
	t.Logf("%d acknowledged writes before kill -9, %d users after restart", len(acked), len(have))
}

func TestEmulatorTLS(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := startEmulator(t, "--data", data, "--tls")
	if !strings.HasPrefix(p.boot.APIURL, "https://") || p.boot.CAFile == "" {
		t.Fatalf("bootstrap = %+v, want an https API URL and a CA file", p.boot)
	}
	pem, err := os.ReadFile(p.boot.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	c := &apiClient{t: t, boot: p.boot, http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	req, _ := http.NewRequest("POST", p.boot.AuthURL+"/"+p.boot.EnvironmentID+"/as/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.boot.ClientID, p.boot.ClientSecret)
	if status := c.do(req, nil); status != 200 {
		t.Fatalf("token over https trusting only ca.pem: status %d", status)
	}
}

func TestEmulatorFlagErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args []string
		want string
	}{
		"BadFaults":       {args: []string{"--faults", "5xx=2"}, want: "--faults"},
		"UnknownFault":    {args: []string{"--faults", "teapot=0.1"}, want: "teapot"},
		"BadRate":         {args: []string{"--rate-limit", "fast"}, want: "--rate-limit"},
		"DataAndInMemory": {args: []string{"--data", "x", "--in-memory"}, want: "exclude each other"},
		"ClientIDNotUUID": {args: []string{"--in-memory", "--client-id", "bob"}, want: "not a UUID"},
		"BadLogLevel":     {args: []string{"--log-level", "loud"}, want: "--log-level"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			io, _, _, errOut := testStreams()
			args := append([]string{"emulator", "--addr", "127.0.0.1:0"}, tc.args...)
			if code := run(args, io, func(string) string { return "" }); code != exitError {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, exitError, errOut)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr = %q, want it to mention %q", errOut.String(), tc.want)
			}
		})
	}
}

func TestEmulatorFixedCredentialsFromEnvironment(t *testing.T) {
	t.Parallel()
	const id, secret = "6f1c1f5e-0000-4000-8000-000000000001", "ci-secret-value"
	dir := t.TempDir()
	bootPath := filepath.Join(dir, "b.json")
	cmd := exec.Command(p1ctlBin, "emulator", "--in-memory", "--addr", "127.0.0.1:0", "--bootstrap-out", bootPath)
	cmd.Env = append(os.Environ(), "P1CTL_EMULATOR_CLIENT_ID="+id, "P1CTL_EMULATOR_CLIENT_SECRET="+secret)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "p1ctl emulator listening on ") {
	}
	go io.Copy(io.Discard, stderr)
	var boot bootstrapFile
	data, err := os.ReadFile(bootPath)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(data, &boot)
	if boot.ClientID != id || boot.ClientSecret != secret {
		t.Errorf("bootstrap credentials = %s/%s, want the ones from the environment", boot.ClientID, boot.ClientSecret)
	}
	fi, _ := os.Stat(bootPath)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap file mode = %v, want 0600", fi.Mode().Perm())
	}
	newAPIClient(t, boot) // the credentials work
}
