package cases

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sort"
	"strconv"
)

// SpotCandidate is a closed case that may be drawn for a spot check (抽查).
type SpotCandidate struct {
	No         string
	Township   string
	Categories []Category
}

// PrimaryCategory is the first of cs in the seed's order (Categories), "" when there is none.
// A case with several risks is stratified under its first one so it is drawn at most once.
func PrimaryCategory(cs []Category) Category {
	best := -1
	for _, c := range cs {
		for i, k := range Categories {
			if k == c && (best < 0 || i < best) {
				best = i
			}
		}
	}
	if best < 0 {
		if len(cs) > 0 {
			return cs[0]
		}
		return ""
	}
	return Categories[best]
}

// SampleSpotChecks draws a stratified sample: the candidates are grouped by township and
// primary category, and from every group ceil(rate × size) cases are taken — so each
// township and each kind of risk is checked, small groups at least once. Within a group the
// cases are ranked by SHA-256 of "seed|month|case number" and the lowest ranks are taken.
// The draw therefore depends only on the seed, the month and the set of candidates (not on
// database order): the same seed always picks the same cases, another seed picks others,
// and anyone can re-compute the draw to check it was fair. The result is sorted by number.
func SampleSpotChecks(cands []SpotCandidate, month string, rate float64, seed int64) []SpotCandidate {
	if rate <= 0 || len(cands) == 0 {
		return nil
	}
	if rate > 1 {
		rate = 1
	}
	type ranked struct {
		c    SpotCandidate
		rank uint64
		no   string
	}
	groups := map[string][]ranked{}
	prefix := strconv.FormatInt(seed, 10) + "|" + month + "|"
	for _, c := range cands {
		key := c.Township + "\x00" + string(PrimaryCategory(c.Categories))
		h := sha256.Sum256([]byte(prefix + c.No))
		groups[key] = append(groups[key], ranked{c, binary.BigEndian.Uint64(h[:8]), c.No})
	}
	var out []SpotCandidate
	for _, g := range groups {
		sort.Slice(g, func(i, j int) bool {
			if g[i].rank != g[j].rank {
				return g[i].rank < g[j].rank
			}
			return g[i].no < g[j].no
		})
		n := int(math.Ceil(rate*float64(len(g)) - 1e-9))
		for _, r := range g[:n] {
			out = append(out, r.c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].No < out[j].No })
	return out
}
