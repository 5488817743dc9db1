package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// Flow statuses (pingone-api.md §7.3) the emulator reaches. The default
// Single_Factor policy has one LOGIN action, so every flow starts at
// USERNAME_PASSWORD_REQUIRED.
const (
	flowUsernamePassword = "USERNAME_PASSWORD_REQUIRED"
	flowMustChange       = "MUST_CHANGE_PASSWORD"
	flowExpired          = "PASSWORD_EXPIRED"
	flowCompleted        = "COMPLETED"
)

// Flow action media types, lower-cased as mediaType returns them.
const (
	mtUsernamePasswordCheck = "application/vnd.pingidentity.usernamepassword.check+json"
	mtFlowPasswordReset     = "application/vnd.pingidentity.password.reset+json"
)

// flowState is a stored flow's Doc: what the flow object shows, and the
// user and session it ends with.
type flowState struct {
	ID        string `json:"id"`
	AppID     string `json:"appId"`
	AppName   string `json:"appName"`
	Policy    string `json:"policy"`
	Status    string `json:"status"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
	UserID    string `json:"userId,omitempty"`
	Username  string `json:"username,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	AuthTime  int64  `json:"authTime,omitempty"`
	Resumed   bool   `json:"resumed,omitempty"`
}

// flowRequest is a stored flow's Private part: the authorization request it
// was started by, and the hosted page's form token.
type flowRequest struct {
	RedirectURI     string   `json:"redirectUri"`
	RedirectSent    bool     `json:"redirectSent"`
	ResponseMode    string   `json:"responseMode,omitempty"`
	State           string   `json:"state,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	Scopes          []string `json:"scopes"`
	Audiences       []string `json:"audiences,omitempty"`
	Challenge       string   `json:"codeChallenge,omitempty"`
	ChallengeMethod string   `json:"codeChallengeMethod,omitempty"`
	LoginHint       string   `json:"loginHint,omitempty"`
	FormToken       string   `json:"formToken"`
}

// flow is a loaded flow.
type flow struct {
	EnvID string
	flowState
	req flowRequest
}

// loadFlow reads a flow of envID; unknown, foreign and expired flows are
// 404 NOT_FOUND.
func (s *Server) loadFlow(ctx context.Context, envID, id string) (flow, *apiError) {
	o, err := s.db.Get(ctx, kindFlows, id)
	if err != nil || o.EnvID != envID {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return flow{}, s.fail(err, "")
		}
		return flow{}, errNotFoundID("Flow", id)
	}
	f := flow{EnvID: o.EnvID}
	if err := json.Unmarshal(o.Doc, &f.flowState); err != nil {
		return flow{}, s.fail(err, "")
	}
	if err := json.Unmarshal(o.Private, &f.req); err != nil {
		return flow{}, s.fail(err, "")
	}
	if !s.now().Before(parseStamp(f.ExpiresAt)) {
		return flow{}, errNotFoundID("Flow", id)
	}
	return f, nil
}

// updateFlow changes a stored flow in one transaction. change sees the
// current state and returns an *apiError to refuse.
func (s *Server) updateFlow(ctx context.Context, id string, change func(*flowState) error) (flowState, error) {
	var st flowState
	_, err := s.db.Update(ctx, kindFlows, id, func(o *store.Object) error {
		if err := json.Unmarshal(o.Doc, &st); err != nil {
			return err
		}
		if err := change(&st); err != nil {
			return err
		}
		o.Doc = mustJSON(st)
		return nil
	})
	return st, err
}

func flowURL(r *http.Request, envID, id string) string {
	return authBase(r) + "/" + envID + "/flows/" + id
}
func resumeURL(r *http.Request, envID, id string) string {
	return authBase(r) + "/" + envID + "/as/resume?flowId=" + url.QueryEscape(id)
}
func signOnPageURL(r *http.Request, envID, id string) string {
	return origin(r) + "/" + envID + "/signon/?flowId=" + url.QueryEscape(id)
}

type flowWire struct {
	Embedded          flowEmbedded       `json:"_embedded"`
	ID                string             `json:"id"`
	Environment       ref                `json:"environment"`
	ResumeURL         string             `json:"resumeUrl"`
	Status            string             `json:"status"`
	Session           *ref               `json:"session,omitempty"`
	CreatedAt         string             `json:"createdAt"`
	ExpiresAt         string             `json:"expiresAt"`
	AuthorizeResponse *authorizeResponse `json:"authorizeResponse,omitempty"`
}

type flowEmbedded struct {
	Application struct {
		Name string `json:"name"`
	} `json:"application"`
	User *flowUser `json:"user,omitempty"`
}

type flowUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type authorizeResponse struct {
	Code  string `json:"code"`
	State string `json:"state,omitempty"`
}

// flowHAL renders the flow object. The action links all point at the flow
// itself: the POST's media type picks the action.
func flowHAL(r *http.Request, envID string, st flowState, ar *authorizeResponse) json.RawMessage {
	self := flowURL(r, envID, st.ID)
	l := links{"self": self, "signOnPage": signOnPageURL(r, envID, st.ID)}
	switch st.Status {
	case flowUsernamePassword:
		l["usernamePassword.check"] = self
	case flowMustChange, flowExpired:
		l["password.reset"] = self
	}
	fw := flowWire{ID: st.ID, Environment: ref{envID}, ResumeURL: resumeURL(r, envID, st.ID), Status: st.Status,
		CreatedAt: st.CreatedAt, ExpiresAt: st.ExpiresAt, AuthorizeResponse: ar}
	fw.Embedded.Application.Name = st.AppName
	if st.UserID != "" {
		fw.Embedded.User = &flowUser{ID: st.UserID, Username: st.Username}
	}
	if st.Status == flowCompleted {
		fw.Session = &ref{st.SessionID}
	}
	return hal(mustJSON(fw), l)
}

func writeFlow(w http.ResponseWriter, r *http.Request, envID string, st flowState, ar *authorizeResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	w.Write(flowHAL(r, envID, st, ar))
}

// getFlow serves GET /{envID}/flows/{flowID}. No token or cookie is
// required: the flow id is the capability.
func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) {
	f, e := s.loadFlow(r.Context(), r.PathValue("envID"), r.PathValue("flowID"))
	if e != nil {
		s.writeError(w, e)
		return
	}
	writeFlow(w, r, f.EnvID, f.flowState, nil)
}

// flowAction serves POST /{envID}/flows/{flowID}: usernamePassword.check and
// password.reset, chosen by the media type.
func (s *Server) flowAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	f, e := s.loadFlow(ctx, envID, r.PathValue("flowID"))
	if e != nil {
		s.writeError(w, e)
		return
	}
	var st flowState
	switch mediaType(r) {
	case mtUsernamePasswordCheck:
		var b struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if e = decodeJSON(r, &b, mtUsernamePasswordCheck); e == nil {
			st, e = s.checkCredentials(ctx, f, b.Username, b.Password)
		}
	case mtFlowPasswordReset:
		var b struct {
			CurrentPassword string `json:"currentPassword"`
			NewPassword     string `json:"newPassword"`
		}
		if e = decodeJSON(r, &b, mtFlowPasswordReset); e == nil {
			st, e = s.resetPassword(ctx, f, b.CurrentPassword, b.NewPassword)
		}
	default:
		e = errUnsupportedMedia(r.Header.Get("Content-Type"))
	}
	if e != nil {
		s.writeError(w, e)
		return
	}
	if st.Status == flowCompleted {
		setSessionCookies(w, r, envID, st.SessionID)
	}
	writeFlow(w, r, envID, st, nil)
}

// errWrongStatus refuses an action the flow's status does not offer.
func errWrongStatus(status string) *apiError {
	return errRequest(fmt.Sprintf("The request could not be completed. The action is not allowed in the flow's current status %s.", status))
}

func errCredentials() *apiError {
	return errInvalid(errorDetail{Code: "INVALID_CREDENTIALS", Target: "password", Message: "The provided username or password is incorrect."})
}

// checkCredentials performs usernamePassword.check on f. A wrong password
// and an unknown username get the same answer. The password policy's
// lock-out applies (checkPassword); the attempt that reaches the failure
// count already answers PASSWORD_LOCKED_OUT.
func (s *Server) checkCredentials(ctx context.Context, f flow, username, password string) (flowState, *apiError) {
	if f.Status != flowUsernamePassword {
		return flowState{}, errWrongStatus(f.Status)
	}
	var ck checker
	ck.required("username", username != "")
	ck.required("password", password != "")
	if e := ck.err(); e != nil {
		return flowState{}, e
	}
	page, err := s.db.List(ctx, store.ListQuery{Kind: kindUsers, EnvID: f.EnvID, Unique: strings.ToLower(username), Limit: 1})
	if err != nil {
		return flowState{}, s.fail(err, "")
	}
	if len(page.Items) == 0 {
		return flowState{}, errCredentials()
	}
	uo := page.Items[0]
	var u user
	if err := json.Unmarshal(uo.Doc, &u); err != nil {
		return flowState{}, s.fail(err, "")
	}
	res, err := s.checkPassword(ctx, f.EnvID, uo.ID, password)
	if err != nil {
		return flowState{}, s.fail(err, "")
	}
	next := flowCompleted
	switch {
	case res.Result == accountUnusable:
		return flowState{}, errInvalid(errorDetail{Code: "ACCOUNT_NOT_USABLE", Target: "username",
			Message: "The user account is disabled or locked and cannot be used to sign on."})
	case res.Result == passwordNotSet:
		return flowState{}, errInvalid(errorDetail{Code: "NO_PASSWORD", Target: "password", Message: "The user has no password."})
	case res.Status == pwStatusLocked:
		return flowState{}, errInvalid(errorDetail{Code: "PASSWORD_LOCKED_OUT", Target: "password",
			Message:    "The password is locked after too many failed sign-on attempts.",
			InnerError: map[string]any{"secondsUntilUnlock": res.SecondsUntilUnlock}})
	case res.Result != passwordValid:
		return flowState{}, errCredentials()
	case res.Status == pwStatusMustChange:
		next = flowMustChange
	case res.Status == pwStatusExpired:
		next = flowExpired
	}
	return s.advanceFlow(ctx, f, flowUsernamePassword, next, u)
}

// advanceFlow moves f from status from to next for u; reaching COMPLETED
// starts a session.
func (s *Server) advanceFlow(ctx context.Context, f flow, from, next string, u user) (flowState, *apiError) {
	now := s.now()
	sessionID := ""
	if next == flowCompleted {
		sessionID = s.ids.New()
		doc := mustJSON(map[string]any{"id": sessionID, "userId": u.ID, "createdAt": now.Format(timeFormat),
			"expiresAt": now.Add(sessionTTL).Format(timeFormat)})
		if _, err := s.db.Create(ctx, store.Object{Kind: kindSessions, ID: sessionID, EnvID: f.EnvID, Doc: doc}); err != nil {
			return flowState{}, s.fail(err, "")
		}
	}
	st, err := s.updateFlow(ctx, f.ID, func(st *flowState) error {
		if st.Status != from {
			return errWrongStatus(st.Status)
		}
		st.Status, st.UserID, st.Username = next, u.ID, u.Username
		if next == flowCompleted {
			st.SessionID, st.AuthTime = sessionID, now.Unix()
		}
		return nil
	})
	if err != nil {
		return flowState{}, s.fail(err, "")
	}
	return st, nil
}

// resetPassword performs password.reset on a flow at MUST_CHANGE_PASSWORD
// or PASSWORD_EXPIRED: the current password must match and the new one pass
// the user's password policy. Failures here are not counted for lock-out.
func (s *Server) resetPassword(ctx context.Context, f flow, current, next string) (flowState, *apiError) {
	if f.Status != flowMustChange && f.Status != flowExpired {
		return flowState{}, errWrongStatus(f.Status)
	}
	var ck checker
	ck.required("currentPassword", current != "")
	ck.required("newPassword", next != "")
	if e := ck.err(); e != nil {
		return flowState{}, e
	}
	var u user
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, err := tx.Get(ctx, kindUsers, f.UserID)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Doc, &u); err != nil {
			return err
		}
		var pw passwordPrivate
		if len(o.Private) > 0 {
			if err := json.Unmarshal(o.Private, &pw); err != nil {
				return err
			}
		}
		if pw.Hash == "" || !verifyPassword(pw.Hash, current) {
			return errInvalid(errorDetail{Code: "INVALID_CREDENTIALS", Target: "currentPassword", Message: "The current password is not correct."})
		}
		if encoded, _ := preEncoded(next); encoded {
			return errInvalid(errorDetail{Code: "INVALID_VALUE", Target: "newPassword", Message: "newPassword must be a cleartext password."})
		}
		pop, err := s.populationOf(ctx, tx, u)
		if err != nil {
			return err
		}
		h, e := s.newPasswordHash(ctx, tx, pop, next, "newPassword", &u.userProfile, false, pw.History)
		if e != nil {
			return e
		}
		pw.Hash, pw.Status, pw.LastChangedAt, pw.Failures, pw.LockedUntil = h, pwStatusOK, s.stamp(), 0, ""
		pw.remember(h)
		o.Private = mustJSON(pw)
		_, err = tx.Put(ctx, o)
		return err
	})
	if err != nil {
		return flowState{}, s.fail(err, "")
	}
	return s.advanceFlow(ctx, f, f.Status, flowCompleted, u)
}
