package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/p1ctl/p1ctl/engine"
	"github.com/p1ctl/p1ctl/schema"
	"gopkg.in/yaml.v3"
)

// File is a manifest file's name, as problems will print it, and content.
type File struct {
	Name string
	Data []byte
}

// Options configures Load and LoadFiles.
type Options struct {
	// Getenv looks up the process environment for ${NAME} variables; nil
	// means an empty environment. An empty value counts as unset.
	Getenv func(string) string
	// VarFiles are paths of dotenv files that also define variables. Later
	// files override earlier ones; the process environment overrides them all.
	VarFiles []string
}

// Result is what Load found.
type Result struct {
	// Manifest is the merged desired state. It is never nil; when Load also
	// returns an error it is partial and must not be applied.
	Manifest *Manifest
	// Files lists the manifest files read, in load order.
	Files []string
	// Problems holds every error and warning, sorted by file, line and column.
	Problems []Problem
}

// Load reads the manifests at paths, which may be files or folders (each
// folder contributes its *.yaml and *.yml files in name order, not its
// subfolders; a file named twice is read once), substitutes variables,
// validates every document against the schema and the rules of this package,
// and merges them into one desired state.
//
// The error is nil when no problem is an error. Otherwise it is a
// *multierror.Error of every problem, warnings included, in Result.Problems
// order, printing one problem per line; or, when a file cannot be read, that
// error alone. Result is nil only in that last case.
func Load(opts Options, paths ...string) (*Result, error) {
	files, err := ReadFiles(paths...)
	if err != nil {
		return nil, err
	}
	return LoadFiles(opts, files...)
}

// ReadFiles reads the manifest files at paths, expanding folders as Load
// does. It fails on the first path that cannot be read or on a folder with no
// manifest in it.
func ReadFiles(paths ...string) ([]File, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("read manifests: no path given")
	}
	var names []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
		if !info.IsDir() {
			names = append(names, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
		found := false
		for _, e := range entries { // ReadDir sorts by name
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
				names = append(names, filepath.Join(p, e.Name()))
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("read manifests: no *.yaml or *.yml file in %s", p)
		}
	}
	var files []File
	seen := map[string]bool{}
	for _, name := range names {
		key := filepath.Clean(name)
		if abs, err := filepath.Abs(name); err == nil {
			key = abs
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
		files = append(files, File{Name: name, Data: data})
	}
	return files, nil
}

// LoadFiles is Load for manifests already in memory; opts.VarFiles are still
// read from disk. Problems name files by File.Name.
func LoadFiles(opts Options, files ...File) (*Result, error) {
	l := &loader{
		manifest: newManifest(),
		origins:  map[engine.Address]origin{},
		vars:     variables{getenv: opts.Getenv, files: map[string]string{}},
	}
	for _, path := range opts.VarFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read var file: %w", err)
		}
		vars, problems := parseVarFile(path, data)
		for k, v := range vars {
			l.vars.files[k] = v
		}
		l.problems = append(l.problems, problems...)
	}
	res := &Result{Manifest: l.manifest}
	for _, f := range files {
		res.Files = append(res.Files, f.Name)
		l.load(&source{name: f.Name, data: f.Data})
	}
	l.build()
	l.check()
	res.Problems = sortProblems(l.problems)
	return res, problemsError(res.Problems)
}

// loader carries one Load call from files to checked desired state.
type loader struct {
	vars     variables
	docs     []*document
	manifest *Manifest
	origins  map[engine.Address]origin
	problems []Problem
}

// origin is where a resource is defined: the document and the pointer of its
// entry, such as "/users/alice".
type origin struct {
	doc *document
	ptr string
	pos Pos // of the key
}

func (l *loader) load(src *source) {
	roots, syntax := parse(src)
	if syntax != nil {
		l.problems = append(l.problems, *syntax)
	}
	for _, root := range roots {
		doc, problems := convert(src, root, l.vars)
		l.problems = append(l.problems, problems...)
		for _, v := range schema.Validate(doc.value) {
			if p, ok := l.violation(doc, v); ok {
				l.problems = append(l.problems, p)
			}
		}
		l.docs = append(l.docs, doc)
	}
}

// violation turns a schema violation into a problem at the node the pointer
// leads to: the key for an unknown or badly named member, the key of the
// object for a missing member, and the value otherwise.
func (l *loader) violation(d *document, v schema.Violation) (Problem, bool) {
	e := d.index[v.Pointer]
	var pos Pos
	addr := addrOf(v.Pointer)
	msg := v.Message
	switch v.Keyword {
	case "additionalProperties", "propertyNames":
		pos = d.keyPos(v.Pointer)
		msg = v.String()
	case "required":
		pos = d.keyPos(v.Pointer)
		if v.Pointer == "" {
			addr = v.Field
		}
	default:
		if e.value != nil && d.unresolved[e.value] {
			return Problem{}, false // already reported as an unset variable
		}
		pos = d.valuePos(v.Pointer)
		if isImplicitNull(e.value) && e.key != nil {
			pos = d.posOf(e.key) // "alice:" with nothing after it: point at the key
		}
		names := d.vars[e.value]
		var notes []string
		if v.Hint != "" && names == nil {
			notes = append(notes, v.Hint) // a hint may reveal a variable's value: only for literals
		}
		if v.Keyword == "type" && isPlainScalar(e.value) {
			switch {
			case strings.Contains(v.Message, "a string"):
				notes = append(notes, "quote the value to keep it as text")
			case strings.Contains(v.Message, "a boolean") && yamlOneOneBool[strings.ToLower(e.value.Value)]:
				notes = append(notes, "write true or false")
			}
		}
		if names != nil {
			notes = append(notes, "value from "+varList(names))
		}
		if len(notes) > 0 {
			msg += " (" + strings.Join(notes, "; ") + ")"
		}
	}
	return at(pos, addr, Error, "%s", msg), true
}

// yamlOneOneBool are YAML 1.1 booleans, which YAML 1.2 and p1ctl read as
// strings.
var yamlOneOneBool = map[string]bool{"yes": true, "no": true, "on": true, "off": true, "y": true, "n": true}

func isPlainScalar(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Style == 0
}

// isImplicitNull reports a value left empty, as in "alice:" on its own.
func isImplicitNull(n *yaml.Node) bool {
	return isPlainScalar(n) && n.Value == ""
}

// varList renders variable names as "${A}, ${B}".
func varList(names []string) string {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	for i, n := range names {
		names[i] = "${" + n + "}"
	}
	return strings.Join(names, ", ")
}
