package export

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/manifests"
	"github.com/p1ctl/p1ctl/schema"
)

// File is one file of a split export.
type File struct {
	Name string
	Data []byte
}

// SplitNames are the file names of a split export, per kind.
var SplitNames = map[string]string{
	engine.KindEnvironments: "00-environments.yaml",
	engine.KindPopulations:  "10-populations.yaml",
	engine.KindUsers:        "20-users.yaml",
	engine.KindWorkerApps:   "30-worker-apps.yaml",
	engine.KindWebApps:      "40-web-apps.yaml",
}

// YAML returns the manifest as one document. Kinds without entries are
// left out.
func (r *Result) YAML() []byte {
	var kinds []string
	for _, k := range engine.Kinds {
		if len(r.Entries[k]) > 0 {
			kinds = append(kinds, k)
		}
	}
	return r.document(kinds)
}

// Split returns one complete document per kind, every kind included (an
// empty kind as an empty map), so that a re-export into the same folder
// replaces every file.
func (r *Result) Split() []File {
	out := make([]File, 0, len(engine.Kinds))
	for _, k := range engine.Kinds {
		out = append(out, File{Name: SplitNames[k], Data: r.document([]string{k})})
	}
	return out
}

func (r *Result) header() string {
	names := make([]string, len(r.EnvNames))
	for i, n := range r.EnvNames {
		names[i] = strconv.Quote(n)
	}
	lines := []string{
		"yaml-language-server: $schema=" + schema.URL,
		"",
		"Exported by 'p1ctl export' from PingOne, environment " + strings.Join(names, ", ") + ".",
		"Values equal to PingOne's defaults are left out. No secret is exported: client",
		"secrets stay in PingOne, and passwords cannot be read back.",
	}
	if len(r.PasswordVars) > 0 {
		lines = append(lines, "Passwords come from PASSWORD_<KEY> variables, which every command that",
			"reads this manifest needs.")
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight("# "+l, " ")
	}
	return strings.Join(lines, "\n")
}

func (r *Result) document(kinds []string) []byte {
	root := mapping()
	root.HeadComment = r.header()
	add(root, "apiVersion", scalar(manifests.APIVersion))
	for _, k := range kinds {
		m := mapping()
		for _, e := range r.Entries[k] {
			key := scalar(e.Addr.Key)
			var c []string
			if e.Comment != "" {
				c = append(c, e.Comment)
			}
			key.HeadComment = strings.Join(c, "\n")
			if e.ID != "" && !r.noIDs {
				key.LineComment = "id: " + e.ID
			}
			m.Content = append(m.Content, key, entryNode(e))
		}
		add(root, k, m)
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("export: encode: %v", err)) // nodes built here always encode
	}
	enc.Close()
	return buf.Bytes()
}

func entryNode(e *Entry) *yaml.Node {
	m := mapping()
	for _, f := range e.Fields {
		add(m, f.Name, valueNode(f.Value))
	}
	return m
}

func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case string:
		return scalar(x)
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(x)}
	case []string:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, e := range x {
			s.Content = append(s.Content, scalar(e))
		}
		return s
	case []Field:
		m := mapping()
		m.Style = yaml.FlowStyle
		for _, f := range x {
			add(m, f.Name, valueNode(f.Value))
		}
		return m
	case []roleValue:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, r := range x {
			item := mapping()
			add(item, "role", scalar(r.Role))
			sc := mapping()
			sc.Style = yaml.FlowStyle
			if r.ScopeField == "organization" {
				add(sc, "organization", valueNode(true))
			} else {
				add(sc, r.ScopeField, scalar(r.ScopeKey))
			}
			add(item, "scope", sc)
			s.Content = append(s.Content, item)
		}
		return s
	case password:
		// Block style: in a flow mapping the "}" of ${NAME} would end it.
		m := mapping()
		add(m, "value", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "${" + x.variable + "}"})
		return m
	}
	panic(fmt.Sprintf("export: no YAML for %T", v))
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func add(m *yaml.Node, k string, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
}

// scalar is a string from PingOne. "${" is written "$${", so that the loader
// reads it back as text and never as a variable.
func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.ReplaceAll(s, "${", "$${")}
}
