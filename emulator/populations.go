package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/p1ctl/p1ctl/emulator/store"
)

// population is the wire and stored shape of a population. userCount is
// computed on every read, never stored.
type population struct {
	ID                     string   `json:"id"`
	Environment            ref      `json:"environment"`
	Name                   string   `json:"name"`
	Description            string   `json:"description,omitempty"`
	Default                bool     `json:"default"`
	PasswordPolicy         *ref     `json:"passwordPolicy,omitempty"`
	Theme                  *ref     `json:"theme,omitempty"`
	PreferredLanguage      string   `json:"preferredLanguage,omitempty"`
	AlternativeIdentifiers []string `json:"alternativeIdentifiers,omitempty"`
	CreatedAt              string   `json:"createdAt"`
	UpdatedAt              string   `json:"updatedAt"`
}

func (p *population) setDefault(on bool, now string) { p.Default, p.UpdatedAt = on, now }

var populationFilter = filterAttrs{"name": {"sw"}, "id": {"eq"}}

func populationLinks(r *http.Request, envID, id string) links {
	return links{"self": apiBase(r) + "/environments/" + envID + "/populations/" + id,
		"environment": apiBase(r) + "/environments/" + envID}
}

// populationHAL renders a population with its computed userCount.
func (s *Server) populationHAL(r *http.Request, rd reader, o store.Object) json.RawMessage {
	n, err := count(r.Context(), rd, kindUsers, o.EnvID, "population.id", o.ID)
	if err != nil {
		s.log.Error("count users", "population", o.ID, "err", err)
	}
	return hal(splice(o.Doc, "userCount", json.RawMessage(strconv.Itoa(n))), populationLinks(r, o.EnvID, o.ID))
}

// listPopulations serves GET /v1/environments/{envID}/populations.
func (s *Server) listPopulations(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	pg, e := parsePaging(r, 250, 1000)
	if e != nil {
		return e
	}
	var f store.Filter
	if src := r.URL.Query().Get("filter"); src != "" {
		if f, e = parseFilter(src, populationFilter); e != nil {
			return e
		}
	}
	page, err := s.db.List(r.Context(), store.ListQuery{Kind: kindPopulations, EnvID: envID, Filter: f, After: pg.After, Limit: pg.Limit})
	if err != nil {
		return s.fail(err, "")
	}
	s.writePage(w, r, "populations", page, func(o store.Object) json.RawMessage { return s.populationHAL(r, s.db, o) })
	return nil
}

// checkPopulation validates a population body and its password policy
// reference.
func (s *Server) checkPopulation(r *http.Request, envID string, p *population) *apiError {
	var ck checker
	ck.required("name", strings.TrimSpace(p.Name) != "")
	ck.size("name", p.Name, 1, 256)
	ck.size("description", p.Description, 0, 1024)
	if p.PasswordPolicy != nil {
		ck.required("passwordPolicy.id", p.PasswordPolicy.ID != "")
		if p.PasswordPolicy.ID != "" {
			if _, e := getIn(r.Context(), s.db, kindPasswordPolicy, envID, p.PasswordPolicy.ID); e != nil {
				ck.add("INVALID_VALUE", "passwordPolicy.id", "passwordPolicy.id must reference a password policy of the environment.", nil)
			}
		}
	}
	if p.Theme != nil && p.Theme.ID == "" {
		p.Theme = nil
	}
	return ck.err()
}

// createPopulation serves POST /v1/environments/{envID}/populations.
func (s *Server) createPopulation(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID := r.PathValue("envID")
	var p population
	if e := decodeJSON(r, &p); e != nil {
		return e
	}
	if e := s.checkPopulation(r, envID, &p); e != nil {
		return e
	}
	now := s.stamp()
	p.ID, p.Environment, p.CreatedAt, p.UpdatedAt = s.ids.New(), ref{envID}, now, now
	if p.Theme == nil {
		p.Theme = &ref{themeID(envID)}
	}
	var out store.Object
	err := s.db.Tx(r.Context(), func(tx *store.Tx) (err error) {
		if p.Default {
			if err := clearDefaults[population](r.Context(), tx, kindPopulations, envID, p.ID, now); err != nil {
				return err
			}
		}
		out, err = tx.Create(r.Context(), store.Object{Kind: kindPopulations, ID: p.ID, EnvID: envID, Unique: p.Name, Doc: mustJSON(p)})
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	doc := s.populationHAL(r, s.db, out)
	w.Header().Set("Location", populationLinks(r, envID, p.ID)["self"])
	writeRaw(w, http.StatusCreated, doc)
	return nil
}

// getPopulation serves GET /v1/environments/{envID}/populations/{popID}.
func (s *Server) getPopulation(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	o, e := getIn(r.Context(), s.db, kindPopulations, r.PathValue("envID"), r.PathValue("popID"))
	if e != nil {
		return e
	}
	writeRaw(w, http.StatusOK, s.populationHAL(r, s.db, o))
	return nil
}

// updatePopulation serves PUT /v1/environments/{envID}/populations/{popID}:
// a full replace. Setting default makes every other population non-default.
func (s *Server) updatePopulation(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	envID, id := r.PathValue("envID"), r.PathValue("popID")
	var p population
	if e := decodeJSON(r, &p); e != nil {
		return e
	}
	cur, e := getIn(r.Context(), s.db, kindPopulations, envID, id)
	if e != nil {
		return e
	}
	if e := s.checkPopulation(r, envID, &p); e != nil {
		return e
	}
	var old population
	json.Unmarshal(cur.Doc, &old)
	now := s.stamp()
	p.ID, p.Environment, p.CreatedAt, p.UpdatedAt = id, ref{envID}, old.CreatedAt, now
	if p.Theme == nil {
		p.Theme = old.Theme
	}
	var out store.Object
	err := s.db.Tx(r.Context(), func(tx *store.Tx) (err error) {
		if p.Default {
			if err := clearDefaults[population](r.Context(), tx, kindPopulations, envID, id, now); err != nil {
				return err
			}
		}
		out, err = tx.Put(r.Context(), store.Object{Kind: kindPopulations, ID: id, EnvID: envID, Unique: p.Name, Doc: mustJSON(p)})
		return err
	})
	if err != nil {
		return s.fail(err, "name")
	}
	writeRaw(w, http.StatusOK, s.populationHAL(r, s.db, out))
	return nil
}

// deletePopulation serves DELETE /v1/environments/{envID}/populations/{popID}.
// PingOne deletes only a population that holds no users and is not the
// default, and an environment keeps at least one population.
func (s *Server) deletePopulation(w http.ResponseWriter, r *http.Request, _ *caller) *apiError {
	ctx := r.Context()
	envID, id := r.PathValue("envID"), r.PathValue("popID")
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		o, e := getIn(ctx, tx, kindPopulations, envID, id)
		if e != nil {
			return e
		}
		var p population
		if err := json.Unmarshal(o.Doc, &p); err != nil {
			return err
		}
		users, err := count(ctx, tx, kindUsers, envID, "population.id", id)
		if err != nil {
			return err
		}
		pops, err := tx.List(ctx, store.ListQuery{Kind: kindPopulations, EnvID: envID, Limit: 1})
		if err != nil {
			return err
		}
		switch {
		case users > 0:
			return errFailed("The population cannot be deleted because it contains users.",
				errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "userCount",
					Message: "Population " + id + " contains " + strconv.Itoa(users) + " users; move or delete them first."})
		case pops.Total <= 1:
			return errFailed("The population cannot be deleted.",
				errorDetail{Code: "CONSTRAINT_VIOLATION", Message: "An environment must contain at least one population."})
		case p.Default:
			return errFailed("The population cannot be deleted.",
				errorDetail{Code: "CONSTRAINT_VIOLATION", Target: "default", Message: "The default population cannot be deleted."})
		}
		if err := tx.Delete(ctx, kindPopulations, id); err != nil {
			return err
		}
		return deleteScopedAssignments(ctx, tx, []string{id})
	})
	if err != nil {
		return s.fail(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeRaw writes an already rendered HAL object.
func writeRaw(w http.ResponseWriter, status int, b json.RawMessage) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	w.Write(b)
}
