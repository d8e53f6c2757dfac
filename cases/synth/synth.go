// Package synth makes plainly fictional data for the demo and the tests: households whose
// members are called 王试一 and live in 示例村, with ID numbers in the non-existent area 99
// whose check digits are nonetheless valid.
package synth

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/fangpin/fangpin/cases"
)

var (
	surnames = []rune("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
	given    = []string{"试一", "试二", "试三", "试四", "试五", "试六", "试七", "试八", "试九", "试十", "样明", "样华", "样芳", "样军", "样丽"}
	villages = []string{"示例一村", "示例二村", "示例三村", "示例四村"}
)

// Townships are the demo county's townships (examples/org.yaml).
var Townships = []string{"城关镇", "河口乡", "青山镇", "石桥乡", "柳林镇", "白沙乡"}

// Gen draws fictional people from a seeded source: the same seed gives the same data.
type Gen struct {
	rng  *rand.Rand
	used map[string]bool
}

// New returns a generator for seed.
func New(seed uint64) *Gen {
	return &Gen{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), used: map[string]bool{}}
}

// IDNumber returns a new, unused ID number with a valid check digit for someone born in year.
func (g *Gen) IDNumber(year int) string {
	for {
		area := fmt.Sprintf("99%02d%02d", 1+g.rng.IntN(9), 1+g.rng.IntN(20))
		birth := cases.NewDate(year, 1, 1).AddDays(g.rng.IntN(365))
		first := fmt.Sprintf("%s%04d%02d%02d%03d", area, birth.Year, int(birth.Month), birth.Day, g.rng.IntN(1000))
		id := first + string(cases.IDCheckChar(first))
		if !g.used[id] {
			g.used[id] = true
			return id
		}
	}
}

// Name returns a plainly fictional name, sometimes of two characters.
func (g *Gen) Name() string {
	s := string(surnames[g.rng.IntN(len(surnames))])
	gn := given[g.rng.IntN(len(given))]
	if g.rng.IntN(4) == 0 {
		return s + string([]rune(gn)[1])
	}
	return s + gn
}

// Intn exposes the generator's source for callers making related data.
func (g *Gen) Intn(n int) int { return g.rng.IntN(n) }

// Registry makes n households spread over the townships, with 1–5 members each. About a
// third are monitored (不稳定/边缘/突发 with risk 未消除).
func (g *Gen) Registry(n int, townships []string) []cases.RegistryMember {
	var out []cases.RegistryMember
	relations := []string{"配偶", "之子", "之女", "之孙子", "之母"}
	for i := 0; i < n; i++ {
		town := townships[i%len(townships)]
		kind := cases.HouseholdKinds[g.rng.IntN(len(cases.HouseholdKinds))]
		risk := cases.RiskCleared
		if kind != cases.HouseholdLifted && g.rng.IntN(3) > 0 {
			risk = cases.RiskOpen
		}
		hno := fmt.Sprintf("SL%03d%05d", i%len(townships)+1, i+1)
		village := villages[g.rng.IntN(len(villages))]
		head := g.IDNumber(1950 + g.rng.IntN(40))
		members := 1 + g.rng.IntN(5)
		for j := 0; j < members; j++ {
			id, rel := head, "户主"
			if j > 0 {
				id, rel = g.IDNumber(1960+g.rng.IntN(60)), relations[j-1]
			}
			out = append(out, cases.RegistryMember{HouseholdNo: hno, HeadIDNumber: head, Name: g.Name(),
				IDNumber: id, Relation: rel, Township: town, Village: village, Kind: kind, RiskStatus: risk})
		}
	}
	return out
}

// RegistryHeader is the registry file's header.
var RegistryHeader = []string{"户编号", "户主身份证号", "成员姓名", "成员身份证号", "与户主关系", "乡镇", "村", "户类型", "风险状态"}

// RegistryRecord is one member as a registry row.
func RegistryRecord(m cases.RegistryMember) []string {
	return []string{m.HouseholdNo, m.HeadIDNumber, m.Name, m.IDNumber, m.Relation, m.Township, m.Village, m.Kind, m.RiskStatus}
}

// WriteRegistryCSV writes members as a UTF-8 registry CSV.
func WriteRegistryCSV(w io.Writer, ms []cases.RegistryMember) error {
	cw := csv.NewWriter(w)
	cw.Write(RegistryHeader)
	for _, m := range ms {
		cw.Write(RegistryRecord(m))
	}
	cw.Flush()
	return cw.Error()
}
