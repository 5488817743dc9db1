package manifests

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader, seeded with every example and
// every manifest of the test corpus. Nothing may panic; every problem must be
// locatable; Load fails exactly when a problem is an error; and no problem may
// show a variable's value unless the input itself contains that text.
func FuzzLoad(f *testing.F) {
	for _, root := range []string{"examples", filepath.Join("testdata", "invalid")} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				f.Add(data)
			}
			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	f.Add([]byte("apiVersion: p1ctl/v1\nenvironments:\n  qa: {name: \"${CANARY}\", region: NA}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := LoadFiles(Options{Getenv: testGetenv}, File{Name: "fuzz.yaml", Data: data})
		if res == nil {
			t.Fatalf("LoadFiles returned no result (error %v)", err)
		}
		errs, _ := Count(res.Problems)
		if (errs > 0) != (err != nil) {
			t.Fatalf("error = %v with %d error problems", err, errs)
		}
		lines := yamlLines(data)
		for _, p := range res.Problems {
			if p.File == "" || p.Line < 1 || p.Col < 1 {
				t.Fatalf("problem without a position: %#v", p)
			}
			if p.File == "fuzz.yaml" && p.Line > lines {
				t.Fatalf("problem past the end of the input (%d lines): %#v", lines, p)
			}
			if !bytes.Contains(data, []byte(canary)) && strings.Contains(p.Error(), canary) {
				t.Fatalf("a variable's value leaked: %s", p.Error())
			}
		}
	})
}

// yamlLines counts lines as YAML does: \r\n, \r, \n, NEL, LS and PS break them.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, br := range []string{"\r", "\n", "\u0085", "\u2028", "\u2029"} {
		n += strings.Count(s, br)
	}
	return n
}
