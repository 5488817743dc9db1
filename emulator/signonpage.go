package emulator

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// The hosted sign-on page. PingOne serves it at
// https://apps.pingone.{tld}/{envID}/signon/?flowId=...; the emulator serves
// it on its own origin, at /{envID}/signon/?flowId=..., so that one port
// does everything. It needs no script and loads nothing from elsewhere.

//go:embed signon.html
var signOnHTML string

var signOnTemplate = template.Must(template.New("signon").Parse(signOnHTML))

// signOnCSP allows nothing but the page's own inline style, by hash. There
// is no form-action rule: browsers apply it to the redirects after the POST
// (resume, then the application's redirect URI on another origin).
var signOnCSP = func() string {
	css := signOnHTML[strings.Index(signOnHTML, "<style>")+len("<style>") : strings.Index(signOnHTML, "</style>")]
	sum := sha256.Sum256([]byte(css))
	return fmt.Sprintf("default-src 'none'; style-src 'sha256-%s'; img-src 'none'; base-uri 'none'; frame-ancestors 'none'",
		base64.StdEncoding.EncodeToString(sum[:]))
}()

// signOnView is the template's data.
type signOnView struct {
	Title, AppName, Error, Message string
	Mode                           string // "login", "reset" or "" (a message only)
	Action, FlowID, FormToken      string
	Username                       string
}

func (s *Server) renderSignOn(w http.ResponseWriter, status int, v signOnView) {
	var b bytes.Buffer
	if err := signOnTemplate.Execute(&b, v); err != nil {
		s.log.Error("render sign-on page", "err", err)
		s.writeError(w, errUnexpected())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", signOnCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// renderMessage shows a page with a title and a message only.
func (s *Server) renderMessage(w http.ResponseWriter, status int, title, msg string) {
	s.renderSignOn(w, status, signOnView{Title: title, Message: msg})
}

const msgFlowGone = "This sign-on request has expired or is not valid. Return to the application and sign on again."

// flowView is the page for f in its current status.
func flowView(r *http.Request, f flow, username string) signOnView {
	v := signOnView{Title: "Sign On", AppName: f.AppName, Mode: "login", Action: origin(r) + "/" + f.EnvID + "/signon/",
		FlowID: f.ID, FormToken: f.req.FormToken, Username: username}
	if f.Status == flowMustChange || f.Status == flowExpired {
		v.Title, v.Mode, v.Username = "Change Password", "reset", f.Username
	}
	return v
}

// signOnPage serves GET /{envID}/signon/?flowId=.
func (s *Server) signOnPage(w http.ResponseWriter, r *http.Request) {
	envID := r.PathValue("envID")
	f, e := s.loadFlow(r.Context(), envID, r.URL.Query().Get("flowId"))
	if e != nil {
		s.renderMessage(w, e.Status, "Sign On", msgFlowGone)
		return
	}
	if f.Status == flowCompleted {
		http.Redirect(w, r, resumeURL(r, envID, f.ID), http.StatusSeeOther)
		return
	}
	s.renderSignOn(w, http.StatusOK, flowView(r, f, f.req.LoginHint))
}

// signOnSubmit serves POST /{envID}/signon/: the page's form performs the
// flow's usernamePassword.check (or password.reset), then sends the browser
// to the resume URL. A failure shows the form again with the message; only
// the username is echoed back.
func (s *Server) signOnSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	envID := r.PathValue("envID")
	if mediaType(r) != "application/x-www-form-urlencoded" {
		s.renderMessage(w, http.StatusUnsupportedMediaType, "Sign On", "The form could not be read.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.renderMessage(w, http.StatusBadRequest, "Sign On", "The form could not be read.")
		return
	}
	form := r.PostForm
	f, e := s.loadFlow(ctx, envID, form.Get("flowId"))
	if e != nil {
		s.renderMessage(w, e.Status, "Sign On", msgFlowGone)
		return
	}
	if !constantTimeEqual(form.Get("formToken"), f.req.FormToken) {
		s.renderMessage(w, http.StatusBadRequest, "Sign On", msgFlowGone)
		return
	}
	username := form.Get("username")
	var st flowState
	if form.Get("action") == "password.reset" {
		st, e = s.resetPassword(ctx, f, form.Get("currentPassword"), form.Get("newPassword"))
	} else {
		st, e = s.checkCredentials(ctx, f, username, form.Get("password"))
	}
	if e != nil {
		v := flowView(r, f, username)
		v.Error = pageMessage(e)
		s.renderSignOn(w, http.StatusBadRequest, v)
		return
	}
	if st.Status == flowCompleted {
		setSessionCookies(w, r, envID, st.SessionID)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, resumeURL(r, envID, st.ID), http.StatusSeeOther)
		return
	}
	f.flowState = st
	s.renderSignOn(w, http.StatusOK, flowView(r, f, username))
}

// pageMessage is what the page tells a person about a failed action.
func pageMessage(e *apiError) string {
	code, msg := "", e.Message
	if len(e.Details) > 0 {
		code, msg = e.Details[0].Code, e.Details[0].Message
	}
	switch code {
	case "INVALID_CREDENTIALS":
		if e.Details[0].Target == "currentPassword" {
			return "Your current password is incorrect."
		}
		return "Incorrect username or password."
	case "PASSWORD_LOCKED_OUT":
		secs, _ := e.Details[0].InnerError["secondsUntilUnlock"].(int)
		mins := max(1, (secs+59)/60)
		return fmt.Sprintf("Too many unsuccessful sign-on attempts. Your account is locked; try again in %d minute%s.", mins, plural(mins))
	case "ACCOUNT_NOT_USABLE":
		return "Your account cannot be used to sign on. Contact your administrator."
	case "NO_PASSWORD":
		return "Your account has no password. Contact your administrator."
	case "REQUIRED_VALUE":
		if t := e.Details[0].Target; t == "currentPassword" || t == "newPassword" {
			return "Enter your current and your new password."
		}
		return "Enter your username and password."
	}
	if e.Status == http.StatusNotFound {
		return msgFlowGone
	}
	return msg
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
