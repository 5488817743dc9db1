package engine

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAddress(t *testing.T) {
	t.Parallel()
	if got := (Address{Kind: KindUsers, Key: "alice"}).String(); got != "users.alice" {
		t.Errorf("String() = %q, want %q", got, "users.alice")
	}
	got := []Address{
		{KindWebApps, "a"}, {KindUsers, "bob"}, {"zeta", "x"}, {KindUsers, "alice"}, {KindEnvironments, "qa"},
	}
	slices.SortFunc(got, Address.Compare)
	want := []Address{
		{KindEnvironments, "qa"}, {KindUsers, "alice"}, {KindUsers, "bob"}, {KindWebApps, "a"}, {"zeta", "x"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Compare orders by kind (dependency order), then key: -want +got:\n%s", diff)
	}
}
