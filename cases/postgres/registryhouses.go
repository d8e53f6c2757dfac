package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// A registry file names its household on every member's row. A load keeps each household
// once, from its first row, while the rows come, and sends it by a COPY of its own, before
// the chunk of members that names it first: into registry_households for a first import
// (registryfirst.go), into the temporary registry_fh for a diff (registrydiff.go). So the
// server never groups 300,000 rows back into their 100,000 households (which took a diff
// some 0.35 s of the server's time, and 0.14 s more for the key that checked them).

// registryFileHouseholdsCopy is a diff's households, in appendHouseholdRow's column order.
const registryFileHouseholdsCopy = `COPY registry_fh (household_no, head_id_number, township_id, village, kind, risk_status, updated_at)
	FROM STDIN (FORMAT binary)`

// fileHouseholds is what a load keeps of the file's households: small for a county's 100,000.
type fileHouseholds struct {
	townIDs    map[string]int           // township name, alias or former name → id
	households map[string]fileHousehold // 户编号 → what its first row said
	villages   map[string][]string      // 户编号 → the villages its rows name, when more than one
	seed       maphash.Seed
	last       *cases.RegistryMember // the row before, in the batch being added
	house      copyChunk             // households of the members being sent, not sent yet
	stmt       string                // the households' COPY
	updatedAt  int64                 // copyTime of the load's start
}

// fileHousehold is a household's first row's village, and a hash of its head, township,
// kind and risk, which every row of the household must repeat.
type fileHousehold struct {
	village string
	sig     uint64
}

func newFileHouseholds(townIDs map[string]int, stmt string, updatedAt int64) *fileHouseholds {
	return &fileHouseholds{townIDs: townIDs, households: map[string]fileHousehold{}, villages: map[string][]string{},
		seed: maphash.MakeSeed(), stmt: stmt, updatedAt: updatedAt}
}

// add notes m's household: a new one is written to the households' chunk (its head by the
// hash of their number, head), a known one must agree with its first row, and a row naming
// another village is kept for the smallest (fixVillages).
func (b *fileHouseholds) add(m *cases.RegistryMember, head string) error {
	if p := b.last; p != nil && m.HouseholdNo == p.HouseholdNo && m.HeadIDNumber == p.HeadIDNumber && m.Township == p.Township &&
		m.Kind == p.Kind && m.RiskStatus == p.RiskStatus && m.Village == p.Village {
		return nil // the household of the row before, as it said (a file lists a household's rows together)
	}
	b.last = m
	town, ok := b.townIDs[m.Township]
	if !ok {
		return errUnknownTownship(m.Township)
	}
	var sig maphash.Hash
	sig.SetSeed(b.seed)
	for _, v := range [...]string{m.HeadIDNumber, m.Kind, m.RiskStatus} {
		sig.WriteString(v)
		sig.WriteByte(0)
	}
	var id [4]byte
	binary.BigEndian.PutUint32(id[:], uint32(town))
	sig.Write(id[:])
	h, seen := b.households[m.HouseholdNo]
	if !seen {
		h = fileHousehold{village: strings.Clone(m.Village), sig: sig.Sum64()}
		b.households[strings.Clone(m.HouseholdNo)] = h
		b.house.data = appendHouseholdRow(b.house.data, m, head, int32(town), b.updatedAt)
		b.house.rows++
		return nil
	}
	if h.sig != sig.Sum64() {
		// registry.Import refuses such a row; a caller of ApplyRegistry gets what the
		// households' primary key would say.
		return fmt.Errorf("registry rows: the rows of household %s disagree on its head, township, kind or risk", m.HouseholdNo)
	}
	if m.Village != h.village {
		vs := b.villages[m.HouseholdNo]
		if len(vs) == 0 {
			vs = []string{h.village}
		}
		if !slices.Contains(vs, m.Village) {
			b.villages[m.HouseholdNo] = append(vs, strings.Clone(m.Village))
		}
	}
	return nil
}

// numbers is the file's household numbers in byte order.
func (b *fileHouseholds) numbers() []string {
	nos := make([]string, 0, len(b.households))
	for no := range b.households {
		nos = append(nos, no)
	}
	slices.Sort(nos)
	return nos
}

// fixVillages gives the households whose rows name several villages the smallest of them (in
// the database's order), in table (registry_households or registry_fh).
func (b *fileHouseholds) fixVillages(ctx context.Context, tx *sqlx.Tx, table string) error {
	if len(b.villages) == 0 {
		return nil
	}
	var nos, vs []string
	for no, v := range b.villages {
		for _, x := range v {
			nos, vs = append(nos, no), append(vs, x)
		}
	}
	if _, err := execTraced(ctx, tx, `
		UPDATE `+table+` h SET village = v.village
		FROM (SELECT household_no, min(village) AS village FROM unnest($1::text[], $2::text[]) AS x(household_no, village)
			GROUP BY household_no) v
		WHERE h.household_no = v.household_no AND h.village <> v.village`, nos, vs); err != nil {
		return fmt.Errorf("apply registry rows: %w", err)
	}
	return nil
}

// sendRows sends the households' chunk, then the members' chunk as a statement of stmt.
func (l *RegistryLoad) sendRows(ctx context.Context, stmt string) error {
	b := l.houses
	if b.house.rows > 0 {
		h := b.house
		h.stmt, h.label = b.stmt, "registry households"
		h.end()
		b.house = l.out.copier.next("", registryChunkBytes)
		if err := l.out.copier.send(ctx, h); err != nil {
			return err
		}
	}
	return l.out.send(ctx, stmt)
}

// addRows sends a batch of rows: members to their chunk (write writes one, hashed and
// sealed), households new to the load to the households' chunk, which goes first.
func (l *RegistryLoad) addRows(ctx context.Context, ms []cases.RegistryMember, stmt string,
	write func(b []byte, m *cases.RegistryMember, sr sealedRow) []byte) error {
	b := l.houses
	c := l.out.start(ctx, l.conn)
	if b.house.data == nil {
		b.house = c.copier.next("", registryChunkBytes)
	}
	b.last = nil // the batch's rows are the caller's, until Add returns
	for i := range ms {
		m := &ms[i]
		sr := l.sealer.row(m)
		if err := b.add(m, sr.head); err != nil {
			return err
		}
		c.chunk.data = write(c.chunk.data, m, sr)
		c.chunk.rows++
		if c.full() {
			if err := l.sendRows(ctx, stmt); err != nil {
				return err
			}
		}
	}
	l.rows += len(ms)
	return nil
}

// endRows sends the last rows (households first) and waits for the server to have stored them.
func (l *RegistryLoad) endRows(ctx context.Context, stmt string) error {
	if l.out.copier != nil && l.out.chunk.rows > 0 {
		if err := l.sendRows(ctx, stmt); err != nil {
			l.out.abort()
			return err
		}
	}
	return l.out.end(ctx, stmt)
}
