package emulatortest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/p1ctl/p1ctl/emulator/emulatortest"
)

func TestStartClient(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	resp, err := env.Client.Get(env.APIURL + "/environments")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusOK || m["count"] != float64(1) {
		t.Errorf("GET /environments as the bootstrap worker: %d %v", resp.StatusCode, m)
	}
	resp, err = env.ClientWithToken(env.Token(t)).Get(env.APIURL + "/environments/" + env.EnvironmentID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET environment with Token: %d", resp.StatusCode)
	}
}

// TestRestartOnSameDir stops an emulator and starts another on its data
// directory: the bootstrap credentials and the objects are still there.
func TestRestartOnSameDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var first *emulatortest.Env
	var envID string
	t.Run("First", func(t *testing.T) {
		first = emulatortest.Start(t, emulatortest.WithDir(dir))
		req, _ := http.NewRequest("POST", first.APIURL+"/environments", strings.NewReader(`{"name":"kept","region":"EU","type":"SANDBOX"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := first.ClientWithToken(first.Token(t)).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %v", resp.StatusCode, m)
		}
		envID = m["id"].(string)
	})
	t.Run("Second", func(t *testing.T) {
		second := emulatortest.Start(t, emulatortest.WithDir(dir))
		if second.ClientID != first.ClientID || second.ClientSecret != first.ClientSecret || second.OrganizationID != first.OrganizationID {
			t.Errorf("bootstrap changed across a restart")
		}
		resp, err := second.ClientWithToken(second.Token(t)).Get(second.APIURL + "/environments/" + envID + "/populations")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the environment's populations after a restart: %d", resp.StatusCode)
		}
	})
}

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := emulatortest.NewClock(start)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("Now = %v", got)
	}
}
