package main

import (
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	io, _, out, _ := testStreams()
	if code := run([]string{"version"}, io, func(string) string { return "" }); code != exitOK {
		t.Fatalf("version exit code = %d, want %d", code, exitOK)
	}
	if !strings.HasPrefix(out.String(), "p1ctl ") {
		t.Errorf("version output = %q, want it to start with %q", out.String(), "p1ctl ")
	}
}

func TestUnknownCommand(t *testing.T) {
	io, _, _, errOut := testStreams()
	if code := run([]string{"frobnicate"}, io, func(string) string { return "" }); code != exitError {
		t.Fatalf("exit code = %d, want %d", code, exitError)
	}
	if !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("stderr = %q, want it to name the unknown command", errOut.String())
	}
}

func TestCompletion(t *testing.T) {
	io, _, out, _ := testStreams()
	if code := run([]string{"completion", "bash"}, io, func(string) string { return "" }); code != exitOK {
		t.Fatalf("completion exit code = %d", code)
	}
	if !strings.Contains(out.String(), "p1ctl") {
		t.Errorf("completion script does not mention p1ctl")
	}
}
