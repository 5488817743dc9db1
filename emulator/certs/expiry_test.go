package certs

import (
	"strings"
	"testing"
	"time"
)

func TestEnsureRenewsBeforeExpiry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	names := []string{"api.pingone.test"}
	start := time.Now()
	first, err := ensure(dir, names, start)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		at      time.Time
		wantNew bool
	}{
		{"MonthsLeft", first.NotAfter.Add(-90 * 24 * time.Hour), false},
		{"JustOver30Days", first.NotAfter.Add(-renewBefore - time.Minute), false},
		{"Within30Days", first.NotAfter.Add(-renewBefore + time.Minute), true},
	}
	for _, tc := range cases {
		b, err := ensure(dir, names, tc.at)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if b.NewCert != tc.wantNew || b.NewCA {
			t.Errorf("%s: NewCert %v NewCA %v, want NewCert %v and the same CA", tc.name, b.NewCert, b.NewCA, tc.wantNew)
		}
		if tc.wantNew && !b.NotAfter.After(first.NotAfter) {
			t.Errorf("%s: renewed certificate expires %v, not after %v", tc.name, b.NotAfter, first.NotAfter)
		}
	}
}

func TestEnsureReportsExpiredCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	if _, err := ensure(dir, nil, start); err != nil {
		t.Fatal(err)
	}
	_, err := ensure(dir, nil, start.Add(caValidity+time.Hour))
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("error = %v, want the CA expired", err)
	}
}
