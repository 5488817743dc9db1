package emulator

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// ---- sign-on policies and their actions ------------------------------------

// signOnPolicy is the wire and stored shape of a sign-on policy.
type signOnPolicy struct {
	ID          string `json:"id"`
	Environment ref    `json:"environment"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Default     bool   `json:"default"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

func (p *signOnPolicy) setDefault(on bool, now string) { p.Default, p.UpdatedAt = on, now }

// signOnAction is a sign-on policy action (read-only here). Stored with
// ParentID = the policy, so that deleting the policy deletes its actions.
type signOnAction struct {
	ID                                 string        `json:"id"`
	Environment                        ref           `json:"environment"`
	SignOnPolicy                       ref           `json:"signOnPolicy"`
	Type                               string        `json:"type"`
	Priority                           int           `json:"priority"`
	Recovery                           *enabledFlag  `json:"recovery,omitempty"`
	Registration                       *registration `json:"registration,omitempty"`
	EnforceLockoutForIdentityProviders *bool         `json:"enforceLockoutForIdentityProviders,omitempty"`
	SocialProviders                    []ref         `json:"socialProviders,omitempty"`
	CreatedAt                          string        `json:"createdAt"`
	UpdatedAt                          string        `json:"updatedAt"`
}

type enabledFlag struct {
	Enabled bool `json:"enabled"`
}

type registration struct {
	Enabled    bool `json:"enabled"`
	Population *ref `json:"population,omitempty"`
}

// signOnPolicyName is PingOne's pattern for policy names (an absolute URI
// is also allowed when the name contains a colon).
var signOnPolicyName = regexp.MustCompile(`^[a-zA-Z0-9_. -]+$`)

func signOnPolicyLinks(r *http.Request, envID, id string) links {
	base := apiBase(r) + "/environments/" + envID
	return links{"self": base + "/signOnPolicies/" + id, "environment": base, "actions": base + "/signOnPolicies/" + id + "/actions"}
}

func (s *Server) listSignOnPolicies(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindSignOnPolicies, EnvID: envID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "signOnPolicies", page, func(o store.Object) json.RawMessage {
		return hal(o.Doc, signOnPolicyLinks(r, envID, o.ID))
	})
	return nil
}

func checkSignOnPolicy(p *signOnPolicy) *apiError {
	var ck checker
	ck.required("name", p.Name != "")
	ck.size("name", p.Name, 1, 256)
	if p.Name != "" && !strings.Contains(p.Name, ":") && !signOnPolicyName.MatchString(p.Name) {
		ck.add("INVALID_VALUE", "name", "name may contain only letters, digits, underscores, hyphens, periods and spaces, or be an absolute URI.",
			map[string]any{"allowedPattern": signOnPolicyName.String()})
	}
	ck.size("description", p.Description, 0, 1024)
	return ck.err()
}

// createSignOnPolicy serves POST .../signOnPolicies. A new policy has no
// actions until some are added (action writes are out of scope).
func (s *Server) createSignOnPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	var p signOnPolicy
	if e := decodeJSON(r, &p); e != nil {
		return e
	}
	if e := checkSignOnPolicy(&p); e != nil {
		return e
	}
	now := s.stamp()
	p.ID, p.Environment, p.CreatedAt, p.UpdatedAt = s.ids.New(), ref{envID}, now, now
	err := s.db.Tx(r.Context(), func(tx *store.Tx) error {
		if p.Default {
			if err := clearDefaults[signOnPolicy](r.Context(), tx, kindSignOnPolicies, envID, p.ID, now); err != nil {
				return err
			}
		}
		_, err := tx.Create(r.Context(), store.Object{Kind: kindSignOnPolicies, ID: p.ID, EnvID: envID, Unique: p.Name, Doc: mustJSON(p)})
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	writeCreated(w, mustJSON(p), signOnPolicyLinks(r, envID, p.ID))
	return nil
}

func (s *Server) getSignOnPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	o, e := getIn(r.Context(), s.db, kindSignOnPolicies, envID, r.PathValue("sopID"))
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, signOnPolicyLinks(r, envID, o.ID))
	return nil
}

// updateSignOnPolicy serves PUT .../signOnPolicies/{sopID}. default can
// only be set to true (which unsets it elsewhere); false leaves the current
// default as it is, as PingOne documents.
func (s *Server) updateSignOnPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, id := r.PathValue("envID"), r.PathValue("sopID")
	var p signOnPolicy
	if e := decodeJSON(r, &p); e != nil {
		return e
	}
	if e := checkSignOnPolicy(&p); e != nil {
		return e
	}
	now := s.stamp()
	err := s.db.Tx(r.Context(), func(tx *store.Tx) error {
		cur, e := getIn(r.Context(), tx, kindSignOnPolicies, envID, id)
		if e != nil {
			return e
		}
		var old signOnPolicy
		if err := json.Unmarshal(cur.Doc, &old); err != nil {
			return err
		}
		p.ID, p.Environment, p.CreatedAt, p.UpdatedAt = id, ref{envID}, old.CreatedAt, now
		p.Default = p.Default || old.Default
		if p.Default && !old.Default {
			if err := clearDefaults[signOnPolicy](r.Context(), tx, kindSignOnPolicies, envID, id, now); err != nil {
				return err
			}
		}
		_, err := tx.Put(r.Context(), store.Object{Kind: kindSignOnPolicies, ID: id, EnvID: envID, Unique: p.Name, Doc: mustJSON(p)})
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	writeObject(w, http.StatusOK, mustJSON(p), signOnPolicyLinks(r, envID, id))
	return nil
}

// deleteSignOnPolicy serves DELETE .../signOnPolicies/{sopID}. The default
// policy cannot be deleted; application assignments of a deleted policy go
// with it.
func (s *Server) deleteSignOnPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	return s.deletePolicy(w, r, kindSignOnPolicies, "sopID", "sign-on policy",
		"Cannot delete a default policy. Make another policy the default first.",
		func(ctx context.Context, tx *store.Tx, envID, id string) error {
			if err := tx.Delete(ctx, kindSignOnPolicies, id); err != nil {
				return err
			}
			return deleteWhere(ctx, tx, kindSOPAssignments, envID, "signOnPolicy.id", id)
		})
}

// deletePolicy deletes the policy of kind named by the path value idParam,
// in one transaction with del, refusing the environment's default policy
// with defaultMsg.
func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request, kind store.Kind, idParam, what, defaultMsg string,
	del func(ctx context.Context, tx *store.Tx, envID, id string) error) *apiError {
	ctx := r.Context()
	envID, id := r.PathValue("envID"), r.PathValue(idParam)
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, e := getIn(ctx, tx, kind, envID, id)
		if e != nil {
			return e
		}
		var p struct {
			Default bool `json:"default"`
		}
		if err := json.Unmarshal(o.Doc, &p); err != nil {
			return err
		}
		if p.Default {
			return errFailed("The "+what+" cannot be deleted.", errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "default", Message: defaultMsg})
		}
		return del(ctx, tx, envID, id)
	})
	if err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func signOnActionLinks(r *http.Request, envID, sopID, id string) links {
	base := apiBase(r) + "/environments/" + envID + "/signOnPolicies/" + sopID
	return links{"self": base + "/actions/" + id, "signOnPolicy": base, "environment": apiBase(r) + "/environments/" + envID}
}

// listSignOnActions serves GET .../signOnPolicies/{sopID}/actions, in
// priority order (actions are created in that order).
func (s *Server) listSignOnActions(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, sopID := r.PathValue("envID"), r.PathValue("sopID")
	if _, e := getIn(r.Context(), s.db, kindSignOnPolicies, envID, sopID); e != nil {
		return e
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindSignOnActions, EnvID: envID, ParentID: sopID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "actions", page, func(o store.Object) json.RawMessage {
		return hal(o.Doc, signOnActionLinks(r, envID, sopID, o.ID))
	})
	return nil
}

func (s *Server) getSignOnAction(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, sopID := r.PathValue("envID"), r.PathValue("sopID")
	o, e := getIn(r.Context(), s.db, kindSignOnActions, envID, r.PathValue("actionID"))
	if e != nil {
		return e
	}
	if o.ParentID != sopID {
		return errNotFound()
	}
	writeObject(w, http.StatusOK, o.Doc, signOnActionLinks(r, envID, sopID, o.ID))
	return nil
}

// ---- sign-on policy assignments --------------------------------------------

// sopAssignment assigns a sign-on policy to an application. Stored with
// ParentID = the application and Unique = the policy id: a policy is
// assigned to an application at most once.
type sopAssignment struct {
	ID           string `json:"id"`
	Environment  ref    `json:"environment"`
	Application  ref    `json:"application"`
	SignOnPolicy ref    `json:"signOnPolicy"`
	Priority     int    `json:"priority"`
	CreatedAt    string `json:"createdAt,omitempty"`
	UpdatedAt    string `json:"updatedAt,omitempty"`
}

type sopAssignmentBody struct {
	SignOnPolicy *ref `json:"signOnPolicy"`
	Priority     *int `json:"priority"`
}

func sopAssignmentLinks(r *http.Request, envID, appID, id string) links {
	app := apiBase(r) + "/environments/" + envID + "/applications/" + appID
	return links{"self": app + "/signOnPolicyAssignments/" + id, "application": app}
}

func (s *Server) listSOPAssignments(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	if _, e := getIn(r.Context(), s.db, kindApplications, envID, appID); e != nil {
		return e
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindSOPAssignments, EnvID: envID, ParentID: appID})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "signOnPolicyAssignments", page, func(o store.Object) json.RawMessage {
		return hal(o.Doc, sopAssignmentLinks(r, envID, appID, o.ID))
	})
	return nil
}

// decodeSOPAssignment reads and checks an assignment body.
func (s *Server) decodeSOPAssignment(r *http.Request, envID string) (sopAssignmentBody, *apiError) {
	var b sopAssignmentBody
	if e := decodeJSON(r, &b); e != nil {
		return b, e
	}
	var ck checker
	ck.required("signOnPolicy.id", b.SignOnPolicy != nil && b.SignOnPolicy.ID != "")
	ck.required("priority", b.Priority != nil)
	if b.Priority != nil {
		ck.rangeInt("priority", *b.Priority, 1, 1<<31-1)
	}
	if b.SignOnPolicy != nil && b.SignOnPolicy.ID != "" {
		if _, e := getIn(r.Context(), s.db, kindSignOnPolicies, envID, b.SignOnPolicy.ID); e != nil {
			ck.add("INVALID_VALUE", "signOnPolicy.id", "signOnPolicy.id must reference a sign-on policy of the environment.", nil)
		}
	}
	return b, ck.err()
}

func (s *Server) createSOPAssignment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	if _, e := getIn(r.Context(), s.db, kindApplications, envID, appID); e != nil {
		return e
	}
	b, e := s.decodeSOPAssignment(r, envID)
	if e != nil {
		return e
	}
	now := s.stamp()
	a := sopAssignment{ID: s.ids.New(), Environment: ref{envID}, Application: ref{appID}, SignOnPolicy: *b.SignOnPolicy,
		Priority: *b.Priority, CreatedAt: now, UpdatedAt: now}
	if _, err := s.db.Create(r.Context(), store.Object{Kind: kindSOPAssignments, ID: a.ID, EnvID: envID, ParentID: appID,
		Unique: a.SignOnPolicy.ID, Doc: mustJSON(a)}); err != nil {
		return s.fail(err, "signOnPolicy.id")
	}
	writeCreated(w, mustJSON(a), sopAssignmentLinks(r, envID, appID, a.ID))
	return nil
}

// sopAssignmentIn reads an assignment of the application in the path.
func (s *Server) sopAssignmentIn(r *http.Request) (store.Object, *apiError) {
	envID, appID := r.PathValue("envID"), r.PathValue("appID")
	o, e := getIn(r.Context(), s.db, kindSOPAssignments, envID, r.PathValue("sopaID"))
	if e == nil && o.ParentID != appID {
		e = errNotFound()
	}
	return o, e
}

func (s *Server) getSOPAssignment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := s.sopAssignmentIn(r)
	if e != nil {
		return e
	}
	writeObject(w, http.StatusOK, o.Doc, sopAssignmentLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

func (s *Server) updateSOPAssignment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := s.sopAssignmentIn(r)
	if e != nil {
		return e
	}
	b, e := s.decodeSOPAssignment(r, o.EnvID)
	if e != nil {
		return e
	}
	var a sopAssignment
	json.Unmarshal(o.Doc, &a)
	a.SignOnPolicy, a.Priority, a.UpdatedAt = *b.SignOnPolicy, *b.Priority, s.stamp()
	o.Doc, o.Unique = mustJSON(a), a.SignOnPolicy.ID
	if _, err := s.db.Put(r.Context(), o); err != nil {
		return s.fail(err, "signOnPolicy.id")
	}
	writeObject(w, http.StatusOK, o.Doc, sopAssignmentLinks(r, o.EnvID, o.ParentID, o.ID))
	return nil
}

func (s *Server) deleteSOPAssignment(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := s.sopAssignmentIn(r)
	if e != nil {
		return e
	}
	if err := s.db.Delete(r.Context(), kindSOPAssignments, o.ID); err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- password policies -----------------------------------------------------

// The character classes of minCharacters, as PingOne spells its keys.
const (
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	digitChars   = "0123456789"
	specialChars = "~!@#$%^&*()-_=+[]{}|;:,.<>/?"
)

// passwordPolicy is the wire and stored shape of a password policy.
// populationCount is computed on read.
type passwordPolicy struct {
	ID                           string         `json:"id"`
	Environment                  ref            `json:"environment"`
	Name                         string         `json:"name"`
	Description                  string         `json:"description,omitempty"`
	Default                      bool           `json:"default"`
	ExcludesCommonlyUsed         bool           `json:"excludesCommonlyUsed"`
	ExcludesProfileData          bool           `json:"excludesProfileData"`
	NotSimilarToCurrent          bool           `json:"notSimilarToCurrent"`
	History                      *ppHistory     `json:"history,omitempty"`
	Length                       *ppLength      `json:"length,omitempty"`
	Lockout                      *ppLockout     `json:"lockout,omitempty"`
	MaxAgeDays                   int            `json:"maxAgeDays,omitempty"`
	MinAgeDays                   int            `json:"minAgeDays,omitempty"`
	MaxRepeatedCharacters        int            `json:"maxRepeatedCharacters,omitempty"`
	MinUniqueCharacters          int            `json:"minUniqueCharacters,omitempty"`
	MinComplexity                int            `json:"minComplexity,omitempty"`
	MinCharacters                map[string]int `json:"minCharacters,omitempty"`
	AlphabetSequenceRule         *ppSequence    `json:"alphabetSequenceRule,omitempty"`
	NumberSequenceRule           *ppSequence    `json:"numberSequenceRule,omitempty"`
	ShiftedNumberRowSequenceRule *ppSequence    `json:"shiftedNumberRowSequenceRule,omitempty"`
	QwertySequenceRule           *ppSequence    `json:"qwertySequenceRule,omitempty"`
	CreatedAt                    string         `json:"createdAt"`
	UpdatedAt                    string         `json:"updatedAt"`
}

func (p *passwordPolicy) setDefault(on bool, now string) { p.Default, p.UpdatedAt = on, now }

type ppHistory struct {
	Count         int `json:"count,omitempty"`
	RetentionDays int `json:"retentionDays,omitempty"`
}

type ppLength struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

type ppLockout struct {
	FailureCount    int `json:"failureCount,omitempty"`
	DurationSeconds int `json:"durationSeconds,omitempty"`
}

type ppSequence struct {
	MaxLength int `json:"maxLength"`
}

// passwordPolicyBody is a create/replace body. The three booleans the
// OpenAPI requires, and the length bounds, are decoded a second time as
// pointers (required) so that leaving one out is noticed.
type passwordPolicyBody struct {
	passwordPolicy
	required struct {
		ExcludesCommonlyUsed *bool `json:"excludesCommonlyUsed"`
		ExcludesProfileData  *bool `json:"excludesProfileData"`
		NotSimilarToCurrent  *bool `json:"notSimilarToCurrent"`
		Length               *struct {
			Min *int `json:"min"`
			Max *int `json:"max"`
		} `json:"length"`
	}
}

func (b *passwordPolicyBody) decode(r *http.Request) *apiError {
	return decodeParts(r, []string{mtJSON}, &b.passwordPolicy, &b.required)
}

// policy validates b and returns the policy it describes (PingOne's length
// defaults: min 8, max 255).
func (b *passwordPolicyBody) policy() (passwordPolicy, *apiError) {
	p, req := b.passwordPolicy, b.required
	var ck checker
	ck.required("name", strings.TrimSpace(p.Name) != "")
	ck.size("name", p.Name, 1, 256)
	ck.required("excludesCommonlyUsed", req.ExcludesCommonlyUsed != nil)
	ck.required("excludesProfileData", req.ExcludesProfileData != nil)
	ck.required("notSimilarToCurrent", req.NotSimilarToCurrent != nil)
	if req.ExcludesCommonlyUsed != nil {
		p.ExcludesCommonlyUsed = *req.ExcludesCommonlyUsed
	}
	if req.ExcludesProfileData != nil {
		p.ExcludesProfileData = *req.ExcludesProfileData
	}
	if req.NotSimilarToCurrent != nil {
		p.NotSimilarToCurrent = *req.NotSimilarToCurrent
	}
	p.Length = nil
	if req.Length != nil {
		p.Length = &ppLength{Min: 8, Max: 255}
		if req.Length.Min != nil {
			p.Length.Min = *req.Length.Min
		}
		if req.Length.Max != nil {
			p.Length.Max = *req.Length.Max
		}
		ck.rangeInt("length.min", p.Length.Min, 8, 32)
		ck.rangeInt("length.max", p.Length.Max, max(p.Length.Min, 8), 255)
	}
	if p.History != nil {
		ck.rangeInt("history.count", p.History.Count, 1, 1<<31-1)
		ck.rangeInt("history.retentionDays", p.History.RetentionDays, 1, 1<<31-1)
	}
	if p.Lockout != nil {
		ck.rangeInt("lockout.failureCount", p.Lockout.FailureCount, 1, 1<<31-1)
		ck.rangeInt("lockout.durationSeconds", p.Lockout.DurationSeconds, 1, 1<<31-1)
	}
	if p.MinAgeDays != 0 {
		ck.rangeInt("minAgeDays", p.MinAgeDays, 1, 1<<31-1)
	}
	if p.MaxAgeDays != 0 && p.MaxAgeDays <= p.MinAgeDays+21 {
		ck.add("OUT_OF_RANGE", "maxAgeDays", "maxAgeDays must be greater than minAgeDays + 21.",
			map[string]any{"rangeMinimumValue": p.MinAgeDays + 22})
	}
	keys := slices.Sorted(maps.Keys(p.MinCharacters))
	for _, k := range keys {
		switch k {
		case upperChars, lowerChars, digitChars, specialChars:
			ck.rangeInt("minCharacters."+k, p.MinCharacters[k], 0, 32)
		default:
			ck.add("INVALID_VALUE", "minCharacters", "minCharacters keys must be one of the four character classes.",
				map[string]any{"allowedValues": []string{upperChars, lowerChars, digitChars, specialChars}})
		}
	}
	for _, rule := range []struct {
		target   string
		seq      *ppSequence
		min, max int
	}{
		{"alphabetSequenceRule.maxLength", p.AlphabetSequenceRule, 2, 3},
		{"numberSequenceRule.maxLength", p.NumberSequenceRule, 2, 3},
		{"shiftedNumberRowSequenceRule.maxLength", p.ShiftedNumberRowSequenceRule, 3, 3},
		{"qwertySequenceRule.maxLength", p.QwertySequenceRule, 3, 3},
	} {
		if rule.seq != nil {
			ck.rangeInt(rule.target, rule.seq.MaxLength, rule.min, rule.max)
		}
	}
	return p, ck.err()
}

func passwordPolicyLinks(r *http.Request, envID, id string) links {
	base := apiBase(r) + "/environments/" + envID
	return links{"self": base + "/passwordPolicies/" + id, "environment": base}
}

// passwordPolicyHAL renders a policy with its computed populationCount.
func (s *Server) passwordPolicyHAL(r *http.Request, o store.Object) json.RawMessage {
	n, err := count(r.Context(), s.db, kindPopulations, o.EnvID, "passwordPolicy.id", o.ID)
	if err != nil {
		s.log.Error("count populations", "policy", o.ID, "err", err)
	}
	return hal(splice(o.Doc, "populationCount", json.RawMessage(strconv.Itoa(n))), passwordPolicyLinks(r, o.EnvID, o.ID))
}

func (s *Server) listPasswordPolicies(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindPasswordPolicy, EnvID: r.PathValue("envID")})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "passwordPolicies", page, func(o store.Object) json.RawMessage { return s.passwordPolicyHAL(r, o) })
	return nil
}

func (s *Server) createPasswordPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	var b passwordPolicyBody
	if e := b.decode(r); e != nil {
		return e
	}
	p, e := b.policy()
	if e != nil {
		return e
	}
	now := s.stamp()
	p.ID, p.Environment, p.CreatedAt, p.UpdatedAt = s.ids.New(), ref{envID}, now, now
	var out store.Object
	err := s.db.Tx(r.Context(), func(tx *store.Tx) (err error) {
		if p.Default {
			if err := clearDefaults[passwordPolicy](r.Context(), tx, kindPasswordPolicy, envID, p.ID, now); err != nil {
				return err
			}
		}
		out, err = tx.Create(r.Context(), store.Object{Kind: kindPasswordPolicy, ID: p.ID, EnvID: envID, Unique: p.Name, Doc: mustJSON(p)})
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	w.Header().Set("Location", passwordPolicyLinks(r, envID, p.ID)["self"])
	writeRaw(w, http.StatusCreated, s.passwordPolicyHAL(r, out))
	return nil
}

func (s *Server) getPasswordPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := getIn(r.Context(), s.db, kindPasswordPolicy, r.PathValue("envID"), r.PathValue("ppID"))
	if e != nil {
		return e
	}
	writeRaw(w, http.StatusOK, s.passwordPolicyHAL(r, o))
	return nil
}

// updatePasswordPolicy serves PUT .../passwordPolicies/{ppID}: a full
// replace. As with sign-on policies, default: false does not unset the
// current default (an environment always has one).
func (s *Server) updatePasswordPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, id := r.PathValue("envID"), r.PathValue("ppID")
	var b passwordPolicyBody
	if e := b.decode(r); e != nil {
		return e
	}
	p, e := b.policy()
	if e != nil {
		return e
	}
	now := s.stamp()
	var out store.Object
	err := s.db.Tx(r.Context(), func(tx *store.Tx) error {
		cur, e := getIn(r.Context(), tx, kindPasswordPolicy, envID, id)
		if e != nil {
			return e
		}
		var old passwordPolicy
		if err := json.Unmarshal(cur.Doc, &old); err != nil {
			return err
		}
		p.ID, p.Environment, p.CreatedAt, p.UpdatedAt = id, ref{envID}, old.CreatedAt, now
		p.Default = p.Default || old.Default
		if p.Default && !old.Default {
			if err := clearDefaults[passwordPolicy](r.Context(), tx, kindPasswordPolicy, envID, id, now); err != nil {
				return err
			}
		}
		var err error
		out, err = tx.Put(r.Context(), store.Object{Kind: kindPasswordPolicy, ID: id, EnvID: envID, Unique: p.Name, Doc: mustJSON(p)})
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	writeRaw(w, http.StatusOK, s.passwordPolicyHAL(r, out))
	return nil
}

// deletePasswordPolicy serves DELETE .../passwordPolicies/{ppID}. The
// default policy, and a policy populations still use, cannot be deleted.
func (s *Server) deletePasswordPolicy(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	return s.deletePolicy(w, r, kindPasswordPolicy, "ppID", "password policy", "Default Password Policy can not be deleted",
		func(ctx context.Context, tx *store.Tx, envID, id string) error {
			n, err := count(ctx, tx, kindPopulations, envID, "passwordPolicy.id", id)
			if err != nil {
				return err
			}
			if n > 0 {
				return errFailed("The password policy cannot be deleted.", errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "populationCount",
					Message: "The password policy is used by " + strconv.Itoa(n) + " populations."})
			}
			return tx.Delete(ctx, kindPasswordPolicy, id)
		})
}
