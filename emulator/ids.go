package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"github.com/google/uuid"
	mrand "math/rand/v2"
	"sync"
)

// idGen makes UUIDv4 ids: random, or from a seeded generator so that a run
// with --seed repeats its ids exactly.
type idGen struct {
	mu  sync.Mutex
	rng *mrand.ChaCha8 // nil: crypto/rand
}

func newIDGen(seed int64) *idGen {
	g := &idGen{}
	if seed != 0 {
		var s [32]byte
		for i := range 8 {
			s[i] = byte(uint64(seed) >> (8 * i))
		}
		copy(s[8:], "p1ctl emulator ids")
		g.rng = mrand.NewChaCha8(s)
	}
	return g
}

// New returns a fresh id.
func (g *idGen) New() string {
	var b [16]byte
	if g.rng == nil {
		rand.Read(b[:])
	} else {
		g.mu.Lock()
		g.rng.Read(b[:])
		g.mu.Unlock()
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

// Secret returns a random client secret. Secrets never come from the seeded
// generator unless a seed is set, in which case they repeat too (tests).
func (g *idGen) Secret() string {
	var b [32]byte
	if g.rng == nil {
		rand.Read(b[:])
	} else {
		g.mu.Lock()
		g.rng.Read(b[:])
		g.mu.Unlock()
	}
	return hex.EncodeToString(b[:])
}

// isUUID reports whether s looks like a UUID, as PingOne's path ids must.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
