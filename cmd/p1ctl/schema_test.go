package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/p1ctl/p1ctl/schema"
)

func TestSchema(t *testing.T) {
	t.Parallel()
	io, _, out, errOut := testStreams()
	if code := run([]string{"schema"}, io, env(nil)); code != exitOK {
		t.Fatalf("exit code = %d; stderr: %s", code, errOut)
	}
	if diff := cmp.Diff(string(schema.JSON()), out.String()); diff != "" {
		t.Errorf("p1ctl schema prints the embedded schema: -want +got:\n%s", diff)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if doc["$id"] != schema.URL {
		t.Errorf("$id = %v, want %s", doc["$id"], schema.URL)
	}
}

func TestSchemaRejectsArguments(t *testing.T) {
	t.Parallel()
	io, _, _, _ := testStreams()
	if code := run([]string{"schema", "extra"}, io, env(nil)); code != exitError {
		t.Errorf("exit code = %d, want %d", code, exitError)
	}
}
