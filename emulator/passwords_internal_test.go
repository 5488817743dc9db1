package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/p1ctl/p1ctl/emulator/store"
)

func TestHashPassword(t *testing.T) {
	t.Parallel()
	h := hashPassword("s3cret")
	if !strings.HasPrefix(h, "{SSHA512}") || !verifyPassword(h, "s3cret") || verifyPassword(h, "S3cret") {
		t.Fatalf("hash %q does not verify", h)
	}
	if h == hashPassword("s3cret") {
		t.Error("two hashes of one password are equal: no salt")
	}
	if encoded, usable := preEncoded(h); !encoded || !usable {
		t.Errorf("preEncoded(%q) = %v, %v", h, encoded, usable)
	}
}

func TestPreEncoded(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		value           string
		encoded, usable bool
	}{
		"Cleartext":        {"hello", false, false},
		"BraceCleartext":   {"{not a scheme", false, false},
		"UnknownScheme":    {"{HELLO}world", false, false},
		"OpenAPIExample":   {"{SSHA512}UkGWfORubNKFpFBWh+Lgy4FrciclzUXneuryV+B+zBDR4Gqd5wvMqAvKRixgQWoZlZUgq8Wh40uMK3s6bWpzWt1/TqQH02hX", true, true},
		"LowerCaseScheme":  {"{ssha512}UkGWfORubNKFpFBWh+Lgy4FrciclzUXneuryV+B+zBDR4Gqd5wvMqAvKRixgQWoZlZUgq8Wh40uMK3s6bWpzWt1/TqQH02hX", true, true},
		"SSHA512NoSalt":    {"{SSHA512}" + base64.StdEncoding.EncodeToString(make([]byte, 64)), true, false},
		"SHA256":           {"{SHA256}47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", true, true},
		"NotBase64":        {"{SSHA256}***", true, false},
		"Bcrypt":           {"{BCRYPT}$2a$10$abc", true, false},
		"PBKDF2WithParams": {"{PBKDF2-SHA256}10000$abc", true, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			encoded, usable := preEncoded(tc.value)
			if encoded != tc.encoded || usable != tc.usable {
				t.Errorf("preEncoded(%q) = %v, %v; want %v, %v", tc.value, encoded, usable, tc.encoded, tc.usable)
			}
		})
	}
	if !verifyPassword("{SHA256}47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "") {
		t.Error("{SHA256} of the empty string does not verify")
	}
}

func TestPolicyProblems(t *testing.T) {
	t.Parallel()
	standard := builtinPasswordPolicies("env", "now")[0]
	cases := map[string]struct {
		pw    string
		rules []string
	}{
		"Good":       {"Corr3ct-Horse", nil},
		"Short":      {"Ab1!xyz", []string{"length.min"}},
		"NoUpper":    {"corr3ct-horse", []string{"minCharacters"}},
		"NoClasses":  {"correcthorse", []string{"minCharacters", "minCharacters", "minCharacters"}},
		"Repeats":    {"Corr333ct-Horse", []string{"maxRepeatedCharacters"}},
		"FewUnique":  {"Aa1!Aa1!Aa1!", []string{"minUniqueCharacters"}},
		"Common":     {"P@ssw0rd", []string{"excludesCommonlyUsed"}},
		"IsUsername": {"Alice-Adm1n", []string{"excludesProfileData"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var rules []string
			for _, d := range policyProblems(&standard, tc.pw, "value", &userProfile{Username: "alice-adm1n"}) {
				if d.Target != "value" || d.Code != "INVALID_VALUE" {
					t.Errorf("detail %+v", d)
				}
				rule := d.Message[strings.Index(d.Message, "(")+1 : strings.Index(d.Message, ")")]
				rules = append(rules, rule)
			}
			if diff := cmp.Diff(tc.rules, rules); diff != "" {
				t.Errorf("policyProblems(%q): -want +got:\n%s", tc.pw, diff)
			}
		})
	}
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// newTestServer starts a server over an in-memory store on clock.
func newTestServer(t *testing.T, clock *testClock) *Server {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(context.Background(), Options{Store: db, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// putUser stores a user of the bootstrap environment's default population
// with a password (none when pw is "").
func putUser(t *testing.T, s *Server, name, pw string, change func(*user)) string {
	t.Helper()
	ctx := t.Context()
	envID := s.Bootstrap().EnvironmentID
	pop, ok, err := defaultOf(ctx, s.db, kindPopulations, envID)
	if err != nil || !ok {
		t.Fatalf("default population: %v", err)
	}
	u := user{ID: s.ids.New(), Environment: ref{envID}, Population: ref{pop.ID}, userProfile: userProfile{Username: name, Email: name + "@example.com"},
		Enabled: true, Account: userAccount{CanAuthenticate: true, Status: accountStatusOK}}
	if change != nil {
		change(&u)
	}
	var private json.RawMessage
	if pw != "" {
		private = mustJSON(passwordPrivate{Hash: hashPassword(pw), Status: pwStatusOK, LastChangedAt: s.stamp()})
	}
	if _, err := s.db.Create(ctx, store.Object{Kind: kindUsers, ID: u.ID, EnvID: envID, Unique: name, Doc: mustJSON(u), Private: private}); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestCheckPassword walks the lock-out rule of the Standard policy
// (5 failures lock the password for 900 s) with a moving clock.
func TestCheckPassword(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := newTestServer(t, clock)
	envID := s.Bootstrap().EnvironmentID
	ctx := t.Context()
	id := putUser(t, s, "alice", "Right-Pa55word", nil)
	check := func(pw string) passwordCheck {
		t.Helper()
		res, err := s.checkPassword(ctx, envID, id, pw)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	steps := []struct {
		name    string
		advance time.Duration
		pw      string
		want    passwordCheck
	}{
		{"Right", 0, "Right-Pa55word", passwordCheck{Result: passwordValid, Status: pwStatusOK}},
		{"Wrong1", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusOK, FailuresLeft: 4}},
		{"Wrong2", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusOK, FailuresLeft: 3}},
		{"Wrong3", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusOK, FailuresLeft: 2}},
		{"Wrong4", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusOK, FailuresLeft: 1}},
		{"Wrong5LocksOut", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusLocked, SecondsUntilUnlock: 900}},
		{"RightWhileLocked", 100 * time.Second, "Right-Pa55word", passwordCheck{Result: passwordLockedOut, Status: pwStatusLocked, SecondsUntilUnlock: 800}},
		{"RightAfterLockOut", 801 * time.Second, "Right-Pa55word", passwordCheck{Result: passwordValid, Status: pwStatusOK}},
		{"CountRestarted", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusOK, FailuresLeft: 4}},
		{"RightResetsCount", 0, "Right-Pa55word", passwordCheck{Result: passwordValid, Status: pwStatusOK}},
		{"CountFromZero", 0, "wrong", passwordCheck{Result: passwordInvalid, Status: pwStatusOK, FailuresLeft: 4}},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if diff := cmp.Diff(st.want, check(st.pw)); diff != "" {
			t.Fatalf("%s: -want +got:\n%s", st.name, diff)
		}
		if st.name == "Wrong5LocksOut" {
			// While locked, the user shows as LOCKED with the time left.
			o, _ := s.db.Get(ctx, kindUsers, id)
			var shown map[string]any
			json.Unmarshal(s.userHAL(httptest.NewRequest("GET", "/v1/environments/"+envID+"/users/"+id, nil), o), &shown)
			if diff := cmp.Diff(map[string]any{"canAuthenticate": false, "status": "LOCKED", "secondsUntilUnlock": float64(900),
				"unlockAt": "2025-05-01T12:15:00.000Z"}, shown["account"]); diff != "" {
				t.Errorf("locked account: -want +got:\n%s", diff)
			}
		}
	}

	others := map[string]struct {
		id   string
		want passwordResult
	}{
		"NoPassword":  {putUser(t, s, "nopw", "", nil), passwordNotSet},
		"Disabled":    {putUser(t, s, "disabled", "Right-Pa55word", func(u *user) { u.Enabled = false }), accountUnusable},
		"AdminLocked": {putUser(t, s, "locked", "Right-Pa55word", func(u *user) { u.Account.Status = accountStatusLocked }), accountUnusable},
	}
	for name, tc := range others {
		res, err := s.checkPassword(ctx, envID, tc.id, "Right-Pa55word")
		if err != nil || res.Result != tc.want {
			t.Errorf("%s: %+v, %v; want result %v", name, res, err, tc.want)
		}
	}
	if _, err := s.checkPassword(ctx, "00000000-0000-4000-8000-000000000000", id, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user of another environment: err = %v, want ErrNotFound", err)
	}
}
