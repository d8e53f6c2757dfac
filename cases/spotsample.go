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

// SpotSeed is the seed of a month's draw when none is given: the month as a number
// (2026-11 → 202611). `fangpin spotcheck` without --seed and `抽查 抽取` in chat use it, so
// the office and anyone re-checking the draw get the same cases for the same month and rate.
func SpotSeed(month string) int64 {
	d, err := ParseMonth(month)
	if err != nil {
		return 0
	}
	return int64(d.Year*100 + int(d.Month))
}

// SampleSpotChecks draws a stratified sample of about rate × the candidates: they are grouped
// by township and primary category, and the ceil(rate × N) picks are shared among the groups in
// proportion to their sizes (largest remainder first; on a tie the township checked least so
// far, then a seeded draw), so a
// 10% check really checks about 10%. Every township with closed cases is checked at least
// once, even when its share rounds to nothing: its largest group gets one pick. Within a
// group the cases are ranked by SHA-256 of "seed|month|case number" and the lowest ranks are
// taken. The draw depends only on the seed, the month and the set of candidates (not on
// database order): the same seed always picks the same cases, another seed picks others,
// and anyone can re-compute the draw to check it was fair. The result is sorted by number.
func SampleSpotChecks(cands []SpotCandidate, month string, rate float64, seed int64) []SpotCandidate {
	if rate <= 0 || len(cands) == 0 {
		return nil
	}
	if rate > 1 {
		rate = 1
	}
	groups := spotStrata(cands, month, seed)
	n := int(math.Ceil(rate*float64(len(cands)) - 1e-9))
	perTown := shareSpotQuotas(groups, n, len(cands))
	checkEveryTownship(groups, perTown)

	var out []SpotCandidate
	for _, g := range groups {
		out = g.appendLowestRanks(out)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].No < out[j].No })
	return out
}

// spotRanked is a candidate with its seeded rank within its group.
type spotRanked struct {
	c    SpotCandidate
	rank uint64
}

// spotGroup is one stratum of the draw: a township and a primary category.
type spotGroup struct {
	key, township string
	cases         []spotRanked
	quota         int
	remainder     float64
	tie           uint64 // seeded, so that ties fall differently for another seed
}

// spotStrata groups the candidates by township and primary category, ranking each case by
// SHA-256 of "seed|month|case number"; the groups come sorted by key, so the draw does not
// depend on the candidates' order.
func spotStrata(cands []SpotCandidate, month string, seed int64) []*spotGroup {
	byKey := map[string]*spotGroup{}
	prefix := strconv.FormatInt(seed, 10) + "|" + month + "|"
	for _, c := range cands {
		key := c.Township + "\x00" + string(PrimaryCategory(c.Categories))
		g := byKey[key]
		if g == nil {
			t := sha256.Sum256([]byte(prefix + "group|" + key))
			g = &spotGroup{key: key, township: c.Township, tie: binary.BigEndian.Uint64(t[:8])}
			byKey[key] = g
		}
		h := sha256.Sum256([]byte(prefix + c.No))
		g.cases = append(g.cases, spotRanked{c, binary.BigEndian.Uint64(h[:8])})
	}
	groups := make([]*spotGroup, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].key < groups[j].key })
	return groups
}

// shareSpotQuotas shares n picks among the groups in proportion to their sizes (of total
// candidates) and returns the picks per township.
func shareSpotQuotas(groups []*spotGroup, n, total int) map[string]int {
	given := 0
	for _, g := range groups {
		exact := float64(n) * float64(len(g.cases)) / float64(total)
		g.quota = int(math.Floor(exact + 1e-9))
		g.remainder = exact - float64(g.quota)
		given += g.quota
	}
	perTown := map[string]int{}
	for _, g := range groups {
		perTown[g.township] += g.quota
	}
	// The picks left go to the largest remainders; on a tie, to the township checked least
	// so far, so that the rounding spreads over townships instead of piling up in one.
	for ; given < n; given++ {
		best := nextSpotRemainder(groups, perTown)
		if best == nil {
			break
		}
		best.quota++
		best.remainder = 0
		perTown[best.township]++
	}
	return perTown
}

// nextSpotRemainder is the group that gets the next rounding pick: the largest remainder with
// room left; on a tie the township checked least so far, then the seeded tie. Nil when none.
func nextSpotRemainder(groups []*spotGroup, perTown map[string]int) *spotGroup {
	var best *spotGroup
	for _, g := range groups {
		if g.quota >= len(g.cases) || g.remainder <= 0 {
			continue
		}
		if best == nil || g.remainder > best.remainder+1e-12 {
			best = g
			continue
		}
		if math.Abs(g.remainder-best.remainder) <= 1e-12 &&
			(perTown[g.township] < perTown[best.township] ||
				perTown[g.township] == perTown[best.township] && g.tie < best.tie) {
			best = g
		}
	}
	return best
}

// checkEveryTownship gives one pick to the largest group of each township whose share
// rounded to nothing, so every township with closed cases is checked at least once.
func checkEveryTownship(groups []*spotGroup, perTown map[string]int) {
	for _, g := range groups {
		if perTown[g.township] > 0 {
			continue
		}
		largest := g
		for _, h := range groups {
			if h.township == g.township && (len(h.cases) > len(largest.cases) ||
				len(h.cases) == len(largest.cases) && h.tie < largest.tie) {
				largest = h
			}
		}
		largest.quota = 1
		perTown[g.township] = 1
	}
}

// appendLowestRanks appends the group's quota of cases with the lowest ranks (the case number
// breaks a tie), in rank order.
func (g *spotGroup) appendLowestRanks(out []SpotCandidate) []SpotCandidate {
	sort.Slice(g.cases, func(i, j int) bool {
		if g.cases[i].rank != g.cases[j].rank {
			return g.cases[i].rank < g.cases[j].rank
		}
		return g.cases[i].c.No < g.cases[j].c.No
	})
	for _, r := range g.cases[:g.quota] {
		out = append(out, r.c)
	}
	return out
}
