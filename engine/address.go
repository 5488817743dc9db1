package engine

import (
	"cmp"
	"strings"
)

// Kinds of resource, spelled as the manifest's top-level maps so that an
// address reads the same in a manifest, an error, a plan and a log line.
const (
	KindEnvironments = "environments"
	KindPopulations  = "populations"
	KindUsers        = "users"
	KindWorkerApps   = "workerApps"
	KindWebApps      = "webApps"
)

// Kinds lists every kind in dependency order: a kind may only depend on kinds
// before it. Callers must not modify the slice.
var Kinds = []string{KindEnvironments, KindPopulations, KindUsers, KindWorkerApps, KindWebApps}

// Address names one resource of the desired state by its kind and local key,
// for example Address{Kind: KindUsers, Key: "alice"}, which prints
// "users.alice". Addresses are comparable and usable as map keys.
type Address struct {
	Kind string
	Key  string
}

// String returns "kind.key", the form used everywhere a resource is named.
func (a Address) String() string { return a.Kind + "." + a.Key }

// Compare orders addresses by kind in the order of Kinds (unknown kinds sort
// after known ones, by name), then by key. It returns -1, 0 or +1.
func (a Address) Compare(b Address) int {
	if a.Kind != b.Kind {
		ra, rb := kindRank(a.Kind), kindRank(b.Kind)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		return strings.Compare(a.Kind, b.Kind)
	}
	return strings.Compare(a.Key, b.Key)
}

func kindRank(k string) int {
	for i, known := range Kinds {
		if k == known {
			return i
		}
	}
	return len(Kinds)
}
