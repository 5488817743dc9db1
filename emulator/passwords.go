package emulator

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Password statuses (pingone-api.md §5.5). The stored status is one of the
// first three; the others are computed when read.
const (
	pwStatusOK         = "OK"
	pwStatusNone       = "NO_PASSWORD"
	pwStatusMustChange = "MUST_CHANGE_PASSWORD"
	pwStatusExpired    = "PASSWORD_EXPIRED"
	pwStatusLocked     = "PASSWORD_LOCKED_OUT"
)

// passwordPrivate is a user's Private part: the password hash and its
// state. It never reaches a response.
//
// The emulator is a test double, not a vault: it hashes with one round of
// salted SHA-512 ({SSHA512}, as PingOne imports them) because benchmarks
// create thousands of users. Never point real credentials at it.
type passwordPrivate struct {
	Hash          string   `json:"hash,omitempty"`
	Status        string   `json:"status,omitempty"`
	LastChangedAt string   `json:"lastChangedAt,omitempty"`
	Failures      int      `json:"failures,omitempty"`
	LockedUntil   string   `json:"lockedUntil,omitempty"`
	History       []string `json:"history,omitempty"`
}

// lockSeconds is how long the password stays locked out after failed
// sign-ons; 0 when it is not locked.
func (p passwordPrivate) lockSeconds(now time.Time) int {
	if p.LockedUntil == "" {
		return 0
	}
	return secondsUntil(p.LockedUntil, now)
}

// state computes the status shown for the password under policy.
func (p passwordPrivate) state(policy *passwordPolicy, now time.Time) (status string, secondsUntilUnlock int) {
	switch {
	case p.Hash == "":
		return pwStatusNone, 0
	case p.lockSeconds(now) > 0:
		return pwStatusLocked, p.lockSeconds(now)
	case p.Status == pwStatusMustChange:
		return pwStatusMustChange, 0
	}
	if policy != nil && policy.MaxAgeDays > 0 && p.LastChangedAt != "" {
		if t, err := time.Parse(time.RFC3339, p.LastChangedAt); err == nil && !now.Before(t.AddDate(0, 0, policy.MaxAgeDays)) {
			return pwStatusExpired, 0
		}
	}
	return pwStatusOK, 0
}

// ---- encodings ---------------------------------------------------------------

// hashSchemes are the pre-encoded password formats accepted on import and
// set: {SCHEME}base64(digest[||salt]).
var hashSchemes = map[string]struct {
	newHash func() hash.Hash
	salted  bool
}{
	"SSHA512": {sha512.New, true}, "SSHA384": {sha512.New384, true}, "SSHA256": {sha256.New, true}, "SSHA": {sha1.New, true},
	"SHA512": {sha512.New, false}, "SHA384": {sha512.New384, false}, "SHA256": {sha256.New, false}, "SHA": {sha1.New, false},
}

// unsupportedSchemes are encodings PingOne knows that the emulator cannot
// verify; they are refused rather than taken for cleartext.
var unsupportedSchemes = []string{"PBKDF2", "BCRYPT", "SCRYPT", "ARGON2", "ARGON2I", "ARGON2ID", "MD5", "SMD5", "CRYPT", "SSHA-512", "AES"}

// scheme splits "{SCHEME}rest"; ok is false for a value without a brace
// prefix.
func scheme(v string) (name, rest string, ok bool) {
	if !strings.HasPrefix(v, "{") {
		return "", "", false
	}
	end := strings.IndexByte(v, '}')
	if end < 2 {
		return "", "", false
	}
	return strings.ToUpper(v[1:end]), v[end+1:], true
}

// preEncoded reports whether v is a pre-encoded password, and whether the
// emulator can use it (a valid encoding of a supported scheme).
func preEncoded(v string) (encoded, usable bool) {
	name, rest, ok := scheme(v)
	if !ok {
		return false, false
	}
	hs, known := hashSchemes[name]
	if !known {
		for _, u := range unsupportedSchemes {
			if strings.HasPrefix(name, u) {
				return true, false
			}
		}
		return false, false
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return true, false
	}
	size := hs.newHash().Size()
	if hs.salted {
		return true, len(raw) > size
	}
	return true, len(raw) == size
}

// hashPassword encodes a cleartext password as {SSHA512} with a fresh salt.
func hashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	h := sha512.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA512}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// verifyPassword reports whether pw matches an encoded password.
func verifyPassword(encoded, pw string) bool {
	name, rest, ok := scheme(encoded)
	hs, known := hashSchemes[name]
	if !ok || !known {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	size := hs.newHash().Size()
	if err != nil || len(raw) < size {
		return false
	}
	h := hs.newHash()
	h.Write([]byte(pw))
	if hs.salted {
		h.Write(raw[size:])
	}
	return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1
}

// ---- policies ----------------------------------------------------------------

// policyFor returns the password policy for users of pop: its own, else the
// environment's default; nil when there is none.
func policyFor(ctx context.Context, rd reader, envID string, pop population) (*passwordPolicy, error) {
	var o store.Object
	var err error
	found := false
	if pop.PasswordPolicy != nil && pop.PasswordPolicy.ID != "" {
		o, err = rd.Get(ctx, kindPasswordPolicy, pop.PasswordPolicy.ID)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	}
	if !found && err == nil {
		o, found, err = defaultOf(ctx, rd, kindPasswordPolicy, envID)
	}
	if err != nil || !found {
		return nil, err
	}
	var p passwordPolicy
	if err := json.Unmarshal(o.Doc, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// commonPasswords is a small sample of the lists PingOne's
// excludesCommonlyUsed rule checks against.
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "password123": true, "123456": true, "12345678": true, "123456789": true,
	"1234567890": true, "qwerty": true, "qwerty123": true, "letmein": true, "welcome": true, "welcome1": true,
	"iloveyou": true, "admin": true, "admin123": true, "abc123": true, "passw0rd": true, "p@ssw0rd": true,
	"p@ssword1": true, "password!": true, "changeme": true, "monkey": true, "dragon": true, "football": true,
}

// policyProblems lists the rules of p that pw breaks, as error details on
// target. profile (may be nil) feeds excludesProfileData.
func policyProblems(p *passwordPolicy, pw, target string, profile *userProfile) []errorDetail {
	var out []errorDetail
	bad := func(rule, msg string) {
		out = append(out, errorDetail{Code: "INVALID_VALUE", Target: target,
			Message: fmt.Sprintf("The password does not satisfy the password policy %q (%s): %s", p.Name, rule, msg)})
	}
	n := utf8.RuneCountInString(pw)
	if p.Length != nil && p.Length.Min > 0 && n < p.Length.Min {
		bad("length.min", fmt.Sprintf("it must be at least %d characters long.", p.Length.Min))
	}
	if p.Length != nil && p.Length.Max > 0 && n > p.Length.Max {
		bad("length.max", fmt.Sprintf("it must be at most %d characters long.", p.Length.Max))
	}
	for _, class := range []string{upperChars, lowerChars, digitChars, specialChars} {
		want := p.MinCharacters[class]
		if want == 0 {
			continue
		}
		got := 0
		for _, r := range pw {
			if strings.ContainsRune(class, r) {
				got++
			}
		}
		if got < want {
			bad("minCharacters", fmt.Sprintf("it must contain at least %d of the characters %s.", want, class))
		}
	}
	if p.MaxRepeatedCharacters > 0 {
		run, last := 0, rune(-1)
		for _, r := range pw {
			if r == last {
				run++
			} else {
				run, last = 1, r
			}
			if run > p.MaxRepeatedCharacters {
				bad("maxRepeatedCharacters", fmt.Sprintf("no character may repeat more than %d times in a row.", p.MaxRepeatedCharacters))
				break
			}
		}
	}
	if p.MinUniqueCharacters > 0 {
		seen := map[rune]bool{}
		for _, r := range pw {
			seen[r] = true
		}
		if len(seen) < p.MinUniqueCharacters {
			bad("minUniqueCharacters", fmt.Sprintf("it must contain at least %d different characters.", p.MinUniqueCharacters))
		}
	}
	if p.ExcludesCommonlyUsed && commonPasswords[strings.ToLower(pw)] {
		bad("excludesCommonlyUsed", "it is a commonly used password.")
	}
	if p.ExcludesProfileData && profile != nil {
		for _, v := range []string{profile.Username, profile.Email, profile.MobilePhone, profile.PrimaryPhone} {
			if v != "" && strings.EqualFold(v, pw) {
				bad("excludesProfileData", "it must not be the value of a profile attribute.")
				break
			}
		}
	}
	return out
}

// newPasswordHash turns a new password value into its stored encoding: a
// supported pre-encoded value as is, a cleartext value hashed after the
// policy of the user's population (unless bypass) and the password history
// are checked.
func (s *Server) newPasswordHash(ctx context.Context, rd reader, pop population, value, target string, profile *userProfile, bypass bool, history []string) (string, *apiError) {
	if encoded, usable := preEncoded(value); encoded {
		if !usable {
			return "", errInvalid(errorDetail{Code: "INVALID_VALUE", Target: target,
				Message: "The pre-encoded password is not in a format the emulator supports ({SSHA512}, {SSHA384}, {SSHA256}, {SSHA}, {SHA512}, {SHA384}, {SHA256}, {SHA}) or is malformed."})
		}
		return value, nil
	}
	if !bypass {
		policy, err := policyFor(ctx, rd, pop.Environment.ID, pop)
		if err != nil {
			return "", s.fail(err, "")
		}
		if policy != nil {
			problems := policyProblems(policy, value, target, profile)
			if policy.History != nil && policy.History.Count > 0 {
				for i, h := range history {
					if i >= policy.History.Count {
						break
					}
					if verifyPassword(h, value) {
						problems = append(problems, errorDetail{Code: "INVALID_VALUE", Target: target,
							Message: fmt.Sprintf("The password does not satisfy the password policy %q (history.count): it was used recently.", policy.Name)})
						break
					}
				}
			}
			if len(problems) > 0 {
				return "", errInvalid(problems...)
			}
		}
	}
	return hashPassword(value), nil
}

// remember puts a new hash at the front of the password history.
func (p *passwordPrivate) remember(h string) {
	p.History = append([]string{h}, p.History...)
	if len(p.History) > 24 {
		p.History = p.History[:24]
	}
}

// ---- endpoints -----------------------------------------------------------------

// passwordStateWire is PingOne's password state object.
type passwordStateWire struct {
	Environment        ref    `json:"environment"`
	User               ref    `json:"user"`
	PasswordPolicy     *ref   `json:"passwordPolicy,omitempty"`
	Status             string `json:"status"`
	LastChangedAt      string `json:"lastChangedAt,omitempty"`
	SecondsUntilUnlock int    `json:"secondsUntilUnlock,omitempty"`
}

func passwordLinks(r *http.Request, envID, userID string) links {
	env := apiBase(r) + "/environments/" + envID
	return links{"self": env + "/users/" + userID + "/password", "user": env + "/users/" + userID, "environment": env}
}

// passwordState renders a user's password state.
func (s *Server) passwordState(ctx context.Context, o store.Object, u user) (passwordStateWire, error) {
	var pw passwordPrivate
	if len(o.Private) > 0 {
		if err := json.Unmarshal(o.Private, &pw); err != nil {
			return passwordStateWire{}, err
		}
	}
	pop, err := s.populationOf(ctx, s.db, u)
	if err != nil {
		return passwordStateWire{}, err
	}
	policy, err := policyFor(ctx, s.db, o.EnvID, pop)
	if err != nil {
		return passwordStateWire{}, err
	}
	st := passwordStateWire{Environment: ref{o.EnvID}, User: ref{o.ID}, LastChangedAt: pw.LastChangedAt}
	if policy != nil {
		st.PasswordPolicy = &ref{policy.ID}
	}
	st.Status, st.SecondsUntilUnlock = pw.state(policy, s.now())
	return st, nil
}

// populationOf reads the population of u.
func (s *Server) populationOf(ctx context.Context, rd reader, u user) (population, error) {
	var pop population
	o, err := rd.Get(ctx, kindPopulations, u.Population.ID)
	if err == nil {
		err = json.Unmarshal(o.Doc, &pop)
	}
	if errors.Is(err, store.ErrNotFound) {
		return population{Environment: u.Environment}, nil
	}
	return pop, err
}

// getPassword serves GET .../users/{userID}/password: the password state.
func (s *Server) getPassword(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	o, u, e := s.loadUser(r, c, userReadRoles)
	if e != nil {
		return e
	}
	st, err := s.passwordState(r.Context(), o, u)
	if err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, mustJSON(st), passwordLinks(r, o.EnvID, o.ID))
	return nil
}

// passwordBody is the union of the password action bodies.
type passwordBody struct {
	Value           *string `json:"value"`
	ForceChange     bool    `json:"forceChange"`
	BypassPolicy    bool    `json:"bypassPolicy"`
	CurrentPassword *string `json:"currentPassword"`
	NewPassword     *string `json:"newPassword"`
	RecoveryCode    *string `json:"recoveryCode"`
}

// setPassword serves PUT .../users/{userID}/password by media type:
// password.set (an administrator sets it; may bypass the policy),
// password.setValue (set, or unset with no value) and password.reset
// (change it, knowing the current one). Anything else is 415.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	mt := mediaType(r)
	var b passwordBody
	if e := decodeOptional(r, &b, mtPasswordSet, mtPasswordSetValue, mtPasswordReset); e != nil {
		return e
	}
	var ck checker
	switch mt {
	case mtPasswordSet:
		ck.required("value", b.Value != nil && *b.Value != "")
	case mtPasswordReset:
		ck.required("currentPassword", b.CurrentPassword != nil && *b.CurrentPassword != "")
		ck.required("newPassword", b.NewPassword != nil && *b.NewPassword != "")
	}
	if e := ck.err(); e != nil {
		return e
	}
	return s.changePassword(w, r, c, func(ctx context.Context, tx *store.Tx, u user, pop population, pw *passwordPrivate, now string) *apiError {
		switch mt {
		case mtPasswordSetValue:
			if b.Value == nil || *b.Value == "" {
				*pw = passwordPrivate{History: pw.History}
				return nil
			}
			fallthrough
		case mtPasswordSet:
			h, e := s.newPasswordHash(ctx, tx, pop, *b.Value, "value", &u.userProfile, b.BypassPolicy, pw.History)
			if e != nil {
				return e
			}
			status := pwStatusOK
			if b.ForceChange {
				status = pwStatusMustChange
			}
			pw.Hash, pw.Status, pw.LastChangedAt, pw.Failures, pw.LockedUntil = h, status, now, 0, ""
			pw.remember(h)
		case mtPasswordReset:
			if pw.Hash == "" {
				return errInvalid(errorDetail{Code: "NO_PASSWORD", Target: "currentPassword", Message: "The user has no password to change."})
			}
			if secs := pw.lockSeconds(s.now()); secs > 0 {
				return errInvalid(errorDetail{Code: "PASSWORD_LOCKED_OUT", Target: "currentPassword",
					Message: "The password is locked after too many failed attempts.", InnerError: map[string]any{"secondsUntilUnlock": secs}})
			}
			if !verifyPassword(pw.Hash, *b.CurrentPassword) {
				return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "currentPassword", Message: "The current password is not correct."})
			}
			if _, _, ok := scheme(*b.NewPassword); ok {
				if encoded, _ := preEncoded(*b.NewPassword); encoded {
					return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "newPassword", Message: "newPassword must be a cleartext password."})
				}
			}
			h, e := s.newPasswordHash(ctx, tx, pop, *b.NewPassword, "newPassword", &u.userProfile, false, pw.History)
			if e != nil {
				return e
			}
			pw.Hash, pw.Status, pw.LastChangedAt, pw.Failures, pw.LockedUntil = h, pwStatusOK, now, 0, ""
			pw.remember(h)
		}
		return nil
	})
}

// passwordAction serves POST .../users/{userID}/password: password.forceChange
// makes the user change the password at the next sign-on. Recovery with a
// recovery code is refused: the emulator sends no codes.
func (s *Server) passwordAction(w http.ResponseWriter, r *http.Request, c *caller) *apiError {
	mt := mediaType(r)
	var b passwordBody
	if e := decodeOptional(r, &b, mtPasswordForce, mtPasswordForceJSON, mtPasswordRecover); e != nil {
		return e
	}
	if mt == mtPasswordRecover {
		return errFailed("Password recovery is not supported by the p1ctl emulator: it sends no recovery codes.",
			errorDetail{Code: "INVALID_VALUE", Target: "recoveryCode", Message: "The recovery code is not valid."})
	}
	return s.changePassword(w, r, c, func(_ context.Context, _ *store.Tx, _ user, _ population, pw *passwordPrivate, _ string) *apiError {
		if pw.Hash == "" {
			return errInvalid(errorDetail{Code: "NO_PASSWORD", Message: "The user has no password."})
		}
		pw.Status = pwStatusMustChange
		return nil
	})
}

// changePassword loads the user in the path (for the password roles),
// lets change modify its password in one transaction, and answers with the
// password state.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *caller,
	change func(ctx context.Context, tx *store.Tx, u user, pop population, pw *passwordPrivate, now string) *apiError) *apiError {
	ctx := r.Context()
	o, _, e := s.loadUser(r, c, passwordRoles)
	if e != nil {
		return e
	}
	now := s.stamp()
	var out store.Object
	var u user
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = tx.Get(ctx, kindUsers, o.ID); err != nil {
			return err
		}
		if err := json.Unmarshal(out.Doc, &u); err != nil {
			return err
		}
		pop, err := s.populationOf(ctx, tx, u)
		if err != nil {
			return err
		}
		var pw passwordPrivate
		if len(out.Private) > 0 {
			if err := json.Unmarshal(out.Private, &pw); err != nil {
				return err
			}
		}
		if e := change(ctx, tx, u, pop, &pw, now); e != nil {
			return e
		}
		out.Private = mustJSON(pw)
		if pw.Hash == "" && len(pw.History) == 0 {
			out.Private = nil
		}
		out, err = tx.Put(ctx, out)
		return err
	})
	if err != nil {
		return s.fail(err, "")
	}
	st, err := s.passwordState(ctx, out, u)
	if err != nil {
		return s.fail(err, "")
	}
	writeObject(w, http.StatusOK, mustJSON(st), passwordLinks(r, out.EnvID, out.ID))
	return nil
}

// ---- sign-on -------------------------------------------------------------------

// passwordResult is the outcome of a password check.
type passwordResult int

const (
	// passwordValid: the password matches. Status may still require a
	// change (MUST_CHANGE_PASSWORD, PASSWORD_EXPIRED).
	passwordValid passwordResult = iota
	// passwordInvalid: wrong password; the failure was counted.
	passwordInvalid
	// passwordLockedOut: too many failures; SecondsUntilUnlock says for how
	// long. The attempt was not checked.
	passwordLockedOut
	// passwordNotSet: the user has no password.
	passwordNotSet
	// accountUnusable: the user is disabled or its account is locked by an
	// administrator.
	accountUnusable
)

// passwordCheck is what checkPassword found.
type passwordCheck struct {
	Result passwordResult
	// Status is the password status after the check (pwStatus...).
	Status             string
	SecondsUntilUnlock int
	// FailuresLeft is how many more failures lock the password out (0 when
	// the policy has no lock-out).
	FailuresLeft int
}

// checkPassword checks a sign-on attempt for a user, applying the lock-out
// rule of the user's password policy (lockout.failureCount failures lock
// the password for lockout.durationSeconds). It counts failures and resets
// them on success, in one transaction. It returns an error wrapping
// store.ErrNotFound when envID has no such user. For the sign-on flow.
func (s *Server) checkPassword(ctx context.Context, envID, userID, password string) (passwordCheck, error) {
	var res passwordCheck
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, err := tx.Get(ctx, kindUsers, userID)
		if err != nil {
			return err
		}
		if o.EnvID != envID {
			return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
		}
		var u user
		if err := json.Unmarshal(o.Doc, &u); err != nil {
			return err
		}
		var pw passwordPrivate
		if len(o.Private) > 0 {
			if err := json.Unmarshal(o.Private, &pw); err != nil {
				return err
			}
		}
		pop, err := s.populationOf(ctx, tx, u)
		if err != nil {
			return err
		}
		policy, err := policyFor(ctx, tx, envID, pop)
		if err != nil {
			return err
		}
		now := s.now()
		res.Status, res.SecondsUntilUnlock = pw.state(policy, now)
		switch {
		case !u.Enabled || u.Account.Status == accountStatusLocked:
			res.Result = accountUnusable
			return nil
		case res.Status == pwStatusNone:
			res.Result = passwordNotSet
			return nil
		case res.Status == pwStatusLocked:
			res.Result = passwordLockedOut
			return nil
		}
		before := pw
		if pw.LockedUntil != "" { // an expired lock-out starts a fresh count
			pw.LockedUntil, pw.Failures = "", 0
		}
		if verifyPassword(pw.Hash, password) {
			res.Result = passwordValid
			pw.Failures = 0
		} else {
			res.Result = passwordInvalid
			pw.Failures++
			if policy != nil && policy.Lockout != nil && policy.Lockout.FailureCount > 0 {
				res.FailuresLeft = max(0, policy.Lockout.FailureCount-pw.Failures)
				if res.FailuresLeft == 0 {
					d := time.Duration(policy.Lockout.DurationSeconds) * time.Second
					pw.LockedUntil, pw.Failures = now.Add(d).Format(timeFormat), 0
					res.Status, res.SecondsUntilUnlock = pwStatusLocked, policy.Lockout.DurationSeconds
				}
			}
		}
		if pw.Failures == before.Failures && pw.LockedUntil == before.LockedUntil {
			return nil
		}
		o.Private = mustJSON(pw)
		_, err = tx.Put(ctx, o)
		return err
	})
	if err != nil {
		return passwordCheck{}, fmt.Errorf("check password of user %s: %w", userID, err)
	}
	return res, nil
}
