package pingone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/engine/diff"
)

var envFields = []field{{"name", aString}, {"region", aString}, {"type", aString}, {"description", aString}, {"license", aRef}}

func envLive(o object) engine.Live {
	return engine.Live{Kind: engine.KindEnvironments, ID: o.id(), Name: o.str("name"), Attrs: project(o, envFields)}
}

// largePage is the page size asked for where PingOne pages; the server may
// serve less, and the next link says so.
const largePage = "1000"

func (p *Provider) listEnvironments(ctx context.Context) ([]engine.Live, error) {
	var out []engine.Live
	err := p.c.list(ctx, "/environments", url.Values{"limit": {largePage}}, "environments", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "environment")
		if err == nil {
			out = append(out, envLive(o))
		}
		return err
	})
	return out, err
}

// findEnvironment looks an environment up by name: filter name sw, then
// an exact match.
func (p *Provider) findEnvironment(ctx context.Context, name string) (json.RawMessage, bool, error) {
	var found json.RawMessage
	err := p.c.list(ctx, "/environments", url.Values{"filter": {"name sw " + filterValue(name)}, "limit": {largePage}},
		"environments", func(raw json.RawMessage) error {
			o, err := decodeObject(raw, "environment")
			if err == nil && o.str("name") == name {
				found = raw
			}
			return err
		})
	return found, found != nil, err
}

func (p *Provider) createEnvironment(ctx context.Context, r engine.Resource) (engine.Live, error) {
	body := without(r.Attrs)
	region, _ := body["region"].(string)
	typ, _ := body["type"].(string)
	if typ == "" {
		typ = "SANDBOX"
		body["type"] = typ
	}
	if d, _ := body["description"].(string); d == "" {
		delete(body, "description")
	}
	lic, _ := body["license"].(map[string]any)
	if id, _ := lic["id"].(string); id == "" {
		id, err := p.pickLicense(ctx, region, typ)
		if err != nil {
			return engine.Live{}, fmt.Errorf("create environment %q: %w", r.Name, err)
		}
		body["license"] = map[string]any{"id": id}
	}
	if _, ok := body["billOfMaterials"]; !ok {
		body["billOfMaterials"] = map[string]any{"products": []any{map[string]any{"type": "PING_ONE_BASE"}}}
	}
	raw, err := p.c.do(ctx, call{method: http.MethodPost, url: "/environments", body: body,
		lookup: func(ctx context.Context) (json.RawMessage, bool, error) { return p.findEnvironment(ctx, r.Name) }})
	if err != nil {
		return engine.Live{}, err
	}
	o, err := decodeObject(raw, "create environment")
	if err != nil {
		return engine.Live{}, err
	}
	p.c.markFresh(o.id())
	return envLive(o), nil
}

func (p *Provider) updateEnvironment(ctx context.Context, r engine.Resource, old engine.Live) (engine.Live, error) {
	changed := changedKeys(r.Attrs, old.Attrs, diff.Schema{})
	if len(changed) == 0 {
		return old, nil
	}
	o, err := p.replace(ctx, "/environments/"+url.PathEscape(old.ID), r.Attrs)
	if err != nil {
		return engine.Live{}, err
	}
	return envLive(o), nil
}

// replace reads the object at path and PUTs it back with set applied.
func (p *Provider) replace(ctx context.Context, path string, set map[string]any) (object, error) {
	var cur object
	if err := p.c.get(ctx, path, &cur); err != nil {
		return nil, err
	}
	raw, err := p.c.do(ctx, call{method: http.MethodPut, url: path, body: overlay(cur, set)})
	if err != nil {
		return nil, err
	}
	return decodeObject(raw, "PUT "+path)
}

// license is the part of a license the choice reads.
type license struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Environments *struct {
		AllowProduction bool     `json:"allowProduction"`
		Regions         []string `json:"regions"`
	} `json:"environments"`
}

// pickLicense chooses the organization's first ACTIVE license that allows
// an environment of type in region (PRODUCTION needs allowProduction).
func (p *Provider) pickLicense(ctx context.Context, region, typ string) (string, error) {
	lics, err := p.orgLicenses(ctx)
	if err != nil {
		return "", err
	}
	// Licenses name North America differently (reference §1).
	licRegion := region
	if region == "NA" {
		licRegion = "NORTH_AMERICA"
	}
	for _, l := range lics {
		if l.Status != "ACTIVE" {
			continue
		}
		if typ == "PRODUCTION" && (l.Environments == nil || !l.Environments.AllowProduction) {
			continue
		}
		if l.Environments != nil && len(l.Environments.Regions) > 0 && region != "" && !slices.Contains(l.Environments.Regions, licRegion) {
			continue
		}
		return l.ID, nil
	}
	return "", fmt.Errorf("no ACTIVE license of the organization allows a %s environment in region %s; set license.id", typ, region)
}

func (p *Provider) orgLicenses(ctx context.Context) ([]license, error) {
	cached := func() []license {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.licenses
	}
	if lics := cached(); lics != nil {
		return lics, nil
	}
	if err := p.lockLoad(ctx); err != nil {
		return nil, err
	}
	defer p.unlockLoad()
	if lics := cached(); lics != nil {
		return lics, nil
	}
	cl, err := p.claims(ctx)
	if err != nil {
		return nil, err
	}
	lics := []license{}
	err = p.c.list(ctx, "/organizations/"+url.PathEscape(cl.Org)+"/licenses", nil, "licenses", func(raw json.RawMessage) error {
		var l license
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("decode license: %w", err)
		}
		lics = append(lics, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list licenses: %w", err)
	}
	p.mu.Lock()
	p.licenses = lics
	p.mu.Unlock()
	return lics, nil
}

// ---- populations -------------------------------------------------------------

var populationFields = []field{{"name", aString}, {"description", aString}}

func populationLive(envID string, o object) engine.Live {
	l := engine.Live{Kind: engine.KindPopulations, ID: o.id(), EnvID: envID, Name: o.str("name"), Attrs: project(o, populationFields)}
	if d, _ := o["default"].(bool); d {
		l.Protected = "default population"
	}
	return l
}

func (p *Provider) listPopulations(ctx context.Context, envID string) ([]engine.Live, error) {
	var out []engine.Live
	err := p.c.list(ctx, envPath(envID, "populations"), url.Values{"limit": {largePage}}, "populations", func(raw json.RawMessage) error {
		o, err := decodeObject(raw, "population")
		if err == nil {
			out = append(out, populationLive(envID, o))
		}
		return err
	})
	return out, err
}

// findPopulation looks a population up by name: filter name sw, then an
// exact match.
func (p *Provider) findPopulation(ctx context.Context, envID, name string) (json.RawMessage, bool, error) {
	var found json.RawMessage
	err := p.c.list(ctx, envPath(envID, "populations"), url.Values{"filter": {"name sw " + filterValue(name)}, "limit": {largePage}},
		"populations", func(raw json.RawMessage) error {
			o, err := decodeObject(raw, "population")
			if err == nil && o.str("name") == name {
				found = raw
			}
			return err
		})
	return found, found != nil, err
}

func (p *Provider) createPopulation(ctx context.Context, r engine.Resource) (engine.Live, error) {
	body := dropEmpty(r.Attrs)
	raw, err := p.c.do(ctx, call{method: http.MethodPost, url: envPath(r.EnvID, "populations"), body: body,
		lookup: func(ctx context.Context) (json.RawMessage, bool, error) {
			return p.findPopulation(ctx, r.EnvID, r.Name)
		}})
	if err != nil {
		return engine.Live{}, err
	}
	o, err := decodeObject(raw, "create population")
	if err != nil {
		return engine.Live{}, err
	}
	return populationLive(r.EnvID, o), nil
}

func (p *Provider) updatePopulation(ctx context.Context, r engine.Resource, old engine.Live) (engine.Live, error) {
	if len(changedKeys(r.Attrs, old.Attrs, diff.Schema{})) == 0 {
		return old, nil
	}
	o, err := p.replace(ctx, envPath(old.EnvID, "populations", old.ID), r.Attrs)
	if err != nil {
		return engine.Live{}, err
	}
	return populationLive(old.EnvID, o), nil
}

// dropEmpty copies m without its empty-string attributes: on create,
// leaving an attribute out is how PingOne is told it has no value.
func dropEmpty(m map[string]any) map[string]any {
	out := without(m)
	for k, v := range out {
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			delete(out, k)
		}
	}
	return out
}
