package schema

import (
	"strings"
	"unicode/utf8"
)

// Closest returns the candidate that got was most likely meant to be, or ""
// when none is close enough: a candidate equal to got ignoring case wins,
// otherwise the nearest by edit distance (Levenshtein counting a swap of two
// neighbouring letters as one edit) if that distance is at most 1 + len/4
// (capped at 3). Ties go to the earlier candidate.
func Closest(got string, candidates []string) string {
	lower := strings.ToLower(got)
	for _, c := range candidates {
		if c != got && strings.ToLower(c) == lower {
			return c
		}
	}
	limit := min(1+utf8.RuneCountInString(got)/4, 3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if c == got {
			continue
		}
		if d := distance(lower, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the optimal-string-alignment edit distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows: two back (for swaps), previous and current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
