package intake

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
	"github.com/fangpin/fangpin/cases/sheet"
)

// Rows is a table's data rows after its header, with the file's own row numbers
// (header = 1). *sheet.Reader is one; Records adapts API records.
type Rows interface {
	Header() []string
	Next() ([]string, int, error)
}

// Store is what an import needs from the ledger. *postgres.DB implements it.
type Store interface {
	// PushDepartments lists the departments with their categories and token hashes.
	PushDepartments(ctx context.Context) ([]cases.OrgDepartment, error)
	// TownshipNames maps every township name and alias to the township's name.
	TownshipNames(ctx context.Context) (map[string]string, error)
	// RegistryLookup finds people by the keyed hash of their ID number (IDHasher's; the
	// number itself for a store without one): as registry members, or as the 户主身份证号 of
	// a registry household. The answer is keyed by what was asked.
	RegistryLookup(ctx context.Context, ids []string) (map[string]cases.RegistryMember, error)
	// RegistryIDKeys holds every ID hash RegistryLookup could find, and may hold more.
	RegistryIDKeys(ctx context.Context) (cases.IDKeySet, error)
	// ImportBatch stores b and the rows fill adds (only rows that raised a warning), in
	// one transaction, then b's counts.
	// When a batch with b.SHA256 exists it returns that batch, does not call fill and
	// changes nothing.
	ImportBatch(ctx context.Context, b *cases.Batch, fill func(add func(*cases.Warning) error) error) (earlier *cases.Batch, err error)
}

// IDHasher is a Store that looks people up by the keyed hash of their ID number
// (docs/encryption.md): the importer hashes each number once, for the look-up and the stored row.
type IDHasher interface {
	IDSealer() *seal.Sealer
}

// Request says who pushes what.
type Request struct {
	Department string
	Category   cases.Category
	Period     string // YYYY-MM; empty means DefaultPeriod
	SHA256     string // hex SHA-256 of the file (or of the API body)
	Filename   string
	Source     string      // "file" or "api"
	Rules      cases.Rules // nil means cases.DefaultRules()
	Today      cases.Date  // for the default period
	// Progress, if set, is called every ProgressEvery rows (for a line on stderr).
	Progress func(rows int)
	// Aliases are the department's own header words (file header → column), stored per
	// department; nil: the built-in names only.
	Aliases Aliases
	// ValueAliases are the department's own words for listed values, by column (救助类别 →
	// 农村五保 → 特困), stored per department; they come before the built-in value words.
	ValueAliases map[string]map[string]string
	// Refused, if set, is given every refused row as the file had it (header, the row's
	// own number, its cells: reused after the call, copy what you keep) with its errors,
	// so that the department can be sent back just those rows to correct.
	Refused func(header []string, row int, cells []string, errs []cases.RowError)
}

const (
	// ChunkSize is how many accepted rows are looked up in the registry at once.
	ChunkSize = 5000
	// firstChunkSize is the first chunk's: the store starts on it while the rest is read.
	firstChunkSize = 500
	// MaxErrors caps the row errors listed in the answer; Rejected still counts them all.
	MaxErrors = sheet.MaxListedErrors
	// ProgressEvery is how often Progress is called.
	ProgressEvery = 100000
	// ChunkBytes caps the row details a chunk holds, so that the chunks in flight between
	// reading, lookup and storing stay a few megabytes whatever the rows' width.
	ChunkBytes = 4 << 20
)

var validate = validator.New()

// DefaultPeriod is the month a push is about when the department does not say: monthly
// categories report last month (figures up to last month-end), the others the current month.
func DefaultPeriod(cat cases.Category, today cases.Date) string {
	if cat.Monthly() {
		return cases.NewDate(today.Year, today.Month-1, 1).MonthKey()
	}
	return today.MonthKey()
}

// Import validates and stores one department push. A push that cannot be taken at all
// (unknown category, a department pushing another's category, a missing column) is a
// *cases.Error naming the reason; bad rows are listed in the batch and the good ones kept.
func Import(ctx context.Context, store Store, req Request, rows Rows) (cases.Batch, error) {
	cat := req.Category
	if !cat.Valid() {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "不认识的风险类别“%s”，应为 medical、serious_illness、education、disaster、epidemic、industry、employment、assistance、assurance 或 population", cat)
	}
	dept, deptNames, err := pushingDepartment(ctx, store, req)
	if err != nil {
		return cases.Batch{}, err
	}
	today := req.Today
	if today.IsZero() {
		today = cases.DateOf(time.Now())
	}
	period := req.Period
	if period == "" {
		period = DefaultPeriod(cat, today)
	}
	if period, err = cases.ParsePushPeriod(cat, period, today); err != nil {
		return cases.Batch{}, err
	}
	pm, _ := cases.ParseMonth(period)
	if req, err = withMapping(ctx, store, req); err != nil {
		return cases.Batch{}, err
	}
	rules := req.Rules
	if rules == nil {
		rules = cases.DefaultRules()
	}
	place := Place(rows.Header(), cat, req.Aliases)
	if !place.Matches() {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "%s", MissingError(place.Missing))
	}
	cols := place.Columns
	towns, err := store.TownshipNames(ctx)
	if err != nil {
		return cases.Batch{}, fmt.Errorf("import: %w", err)
	}
	b := cases.Batch{Department: dept.Name, Category: cat, Period: period, SHA256: req.SHA256,
		Filename: req.Filename, Source: req.Source, Errors: []cases.RowError{}}
	if b.Source == "" {
		b.Source = "file"
	}
	if t, ok := rows.(interface{ sheetRead() (string, []string) }); ok {
		b.Sheet, b.PassedOver = t.sheetRead()
	}
	// A row's detail names its columns as docs/reference.md does (身份证号, not the file's
	// 证件号码); the file's other columns keep their own names.
	header := make([]string, len(rows.Header()))
	for i, h := range rows.Header() {
		header[i] = NormalizeText(h)
	}
	for c, i := range cols {
		header[i] = c
	}
	p := newParser(cat, cols, header)
	p.addValueAliases(req.ValueAliases)
	p.period, p.towns, p.depts, p.rules, p.store, p.progress = period, towns, deptNames, rules, store, req.Progress
	p.today = req.Today
	if req.Refused != nil {
		raw := rows.Header()
		p.refused = func(row int, cells []string, errs []cases.RowError) { req.Refused(raw, row, cells, errs) }
	}
	if cat == cases.CatEducation {
		p.schoolYear = cases.SchoolYearOf(pm)
	}
	b.Persons = p
	earlier, err := store.ImportBatch(ctx, &b, func(add func(*cases.Warning) error) error {
		return p.run(ctx, rows, &b, add)
	})
	if err != nil {
		return cases.Batch{}, err
	}
	if earlier != nil {
		e := *earlier
		id := e.ID
		e.DuplicateOf = &id
		if e.Errors == nil {
			e.Errors = []cases.RowError{}
		}
		return e, nil
	}
	b.Persons = nil
	return b, nil
}

// Has reports whether the file had an accepted row for the person (and 问题类型), by the
// keyed hash of their number that the look-up made of every accepted row: the store asks it,
// once the file is read, about the earlier pushes' rows that this push replaces.
func (p *parser) Has(hi, lo uint64, problemType string) bool {
	p.sortPersons.Do(func() {
		slices.SortFunc(p.persons, func(a, b [2]uint64) int {
			if c := cmp.Compare(a[0], b[0]); c != 0 {
				return c
			}
			return cmp.Compare(a[1], b[1])
		})
	})
	key := [2]uint64{hi, p.personLo(lo, problemTypeIndex(problemType)+1)}
	_, found := slices.BinarySearchFunc(p.persons, key, func(a, b [2]uint64) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	return found
}

// personLo is a person key's second half: for assurance the 问题类型 takes its lowest bits
// (rows are one per person and 问题类型); 125 bits of hash are plenty.
func (p *parser) personLo(lo uint64, problem int) uint64 {
	if p.iProblem < 0 {
		return lo
	}
	return lo&^7 | uint64(problem)
}

// Each calls f for every person (and 问题类型) the file had an accepted row for: the halves
// of their number's keyed hash as Has takes them (lo's lowest bits, for assurance, hold the
// 问题类型 instead; a caller comparing hashes leaves them out).
func (p *parser) Each(f func(hi, lo uint64, problemType string)) {
	for _, k := range p.persons {
		problem := ""
		if p.iProblem >= 0 {
			if i := k[1] & 7; i > 0 {
				problem = cases.ProblemTypes[i-1]
			}
		}
		f(k[0], k[1], problem)
	}
}

// pushingDepartment finds the department of a push and checks that it pushes the category;
// deptNames holds every department's name (for 责任部门).
func pushingDepartment(ctx context.Context, store Store, req Request) (*cases.OrgDepartment, map[string]bool, error) {
	depts, err := store.PushDepartments(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	var dept *cases.OrgDepartment
	deptNames := make(map[string]bool, len(depts))
	for i := range depts {
		deptNames[depts[i].Name] = true
		if depts[i].Name == req.Department {
			dept = &depts[i]
		}
	}
	if dept == nil {
		return nil, nil, cases.Errorf(cases.ENotFound, "部门“%s”不在组织文件中，请核对部门名称", req.Department)
	}
	if !hasCategory(dept.Categories, req.Category) {
		return nil, nil, cases.Errorf(cases.EForbidden, "%s不负责推送“%s”（%s）类预警，请选择本部门负责的类别：%s",
			dept.Name, req.Category.Label(), req.Category, categoryList(dept.Categories))
	}
	return dept, deptNames, nil
}

func hasCategory(cs []cases.Category, c cases.Category) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func categoryList(cs []cases.Category) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fmt.Sprintf("%s（%s）", c.Label(), c)
	}
	return strings.Join(s, "、")
}

// pending is an accepted row that may raise a warning, waiting for its registry lookup.
type pending struct {
	w          cases.Warning
	problem    int8 // 问题类型's index + 1 (assurance), for Has
	facts      cases.Facts
	kindSaysIt bool       // 人员类别 says 脱贫人口 / 建档立卡
	event      cases.Date // epidemic: the event's 发生日期; population: 变动日期
}

// field is one of the category's columns with its index in the file (-1 if absent).
type field struct {
	column
	idx     int
	allowed map[string]bool   // the Oneof values, so the usual valid cell needs no validator call
	words   map[string]string // a department's words for the values (农村低保 → 低保)
}

type parser struct {
	cat                                  cases.Category
	period                               string
	iName, iID, iTown, iVillage, iHeadID int // common columns' indexes, -1 if absent
	fields                               []field
	header                               []string
	towns                                map[string]string
	depts                                map[string]bool
	rules                                cases.Rules
	store                                Store
	hasher, readHasher                   *seal.Sealer // the look-up's and the reading goroutine's, when the store hashes IDs
	seen                                 personKeys   // first 17 digits of an ID number (×8 + 问题类型) → row; exact and small
	persons                              [][2]uint64  // the accepted rows' people as Has asks (hash halves), 16 bytes a row
	sortPersons                          sync.Once
	iProblem                             int    // index in fields of 问题类型 (assurance), -1 if none
	dateCol                              []bool // by column index: a date column, stored as YYYY-MM-DD
	ownCol                               []bool // by column index: stored in a warning column of its own, so not in detail
	progress                             func(int)
	lastKind                             string // the last 人员类别 read, and what registeredKind said
	lastKindSays                         bool
	scope                                cases.Scope // the category's scope (docs/rules.md); zero: every row
	iScope                               int         // the scope column's index, -1 if none
	iChange                              int         // population: 变动类型's index
	notInRegistry                        int         // population rows naming nobody in the registry
	outOfScope                           int         // rows read out of scope (the reading goroutine's count)
	today                                cases.Date  // the day the push arrived
	late                                 bool        // an in-scope epidemic row reports an event more than 3 days old
	// schoolYear is an education push's 学年; rows of another 学年 are errors.
	schoolYear string
	// used names, by column index, the columns the import reads ("" for the others).
	used []string
	// wordsAt: by column index, the value words of the column (nil for most).
	wordsAt []map[string]string
	refused func(row int, cells []string, errs []cases.RowError) // Request.Refused
}

// newParser resolves the column names to indexes once, so a row costs no map lookups.
func newParser(cat cases.Category, cols map[string]int, header []string) *parser {
	idx := func(name string) int {
		if i, ok := cols[name]; ok {
			return i
		}
		return -1
	}
	p := &parser{cat: cat, header: header,
		iName: idx(ColName), iID: idx(ColID), iTown: idx(ColTownship), iVillage: idx(ColVillage), iHeadID: idx(ColHeadID), iProblem: -1}
	p.iChange = idx(ColChange)
	for c, i := range cols {
		for len(p.used) <= i {
			p.used = append(p.used, "")
		}
		p.used[i] = c
	}
	p.scope, _ = cases.ScopeOf(cat)
	p.iScope = -1
	if p.scope.Column != "" {
		p.iScope = idx(p.scope.Column)
	}
	for _, i := range []int{p.iName, p.iID, p.iTown, p.iVillage, p.iHeadID} {
		if i >= 0 {
			for len(p.ownCol) <= i {
				p.ownCol = append(p.ownCol, false)
			}
			p.ownCol[i] = true
		}
	}
	for _, c := range layouts[cat] {
		f := field{column: c, idx: idx(c.Name), words: valueWords[c.Name]}
		if c.Oneof != "" {
			f.allowed = map[string]bool{}
			for _, v := range strings.Fields(c.Oneof) {
				f.allowed[v] = true
			}
		}
		if c.Name == ColProblemType {
			p.iProblem = len(p.fields)
		}
		if f.words != nil && f.idx >= 0 {
			for len(p.wordsAt) <= f.idx {
				p.wordsAt = append(p.wordsAt, nil)
			}
			p.wordsAt[f.idx] = f.words
		}
		p.fields = append(p.fields, f)
		if c.Kind == kindDate && f.idx >= 0 {
			for len(p.dateCol) <= f.idx {
				p.dateCol = append(p.dateCol, false)
			}
			p.dateCol[f.idx] = true
		}
	}
	return p
}

// addValueAliases puts a department's own value words before the built-in ones.
func (p *parser) addValueAliases(va map[string]map[string]string) {
	for i := range p.fields {
		f := &p.fields[i]
		own := va[f.Name]
		if len(own) == 0 {
			continue
		}
		words := make(map[string]string, len(f.words)+len(own))
		for w, v := range f.words {
			words[w] = v
		}
		for w, v := range own {
			words[NormalizeText(w)] = v
		}
		f.words = words
		if f.idx >= 0 {
			for len(p.wordsAt) <= f.idx {
				p.wordsAt = append(p.wordsAt, nil)
			}
			p.wordsAt[f.idx] = words
		}
	}
}

// run streams the file through three stages so that reading, the registry lookups and
// the COPY to the store overlap: parse rows into chunks → look each chunk up in the
// registry → apply the rules and store. At most a few chunks are in flight at once.
func (p *parser) run(ctx context.Context, rows Rows, b *cases.Batch, add func(*cases.Warning) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type looked struct {
		chunk []pending
		reg   map[string]cases.RegistryMember
	}
	if h, ok := p.store.(IDHasher); ok {
		p.hasher, p.readHasher = h.IDSealer(), h.IDSealer() // one each for the look-up and the reading goroutine
	}
	parsed := make(chan []pending, 1)
	lookedUp := make(chan looked, 1)
	var wg sync.WaitGroup
	var readErr, lookupErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(parsed)
		readErr = p.read(ctx, rows, b, parsed)
	}()
	go func() {
		defer wg.Done()
		defer close(lookedUp)
		heads := map[string]headAnswer{}
		var known cases.IDKeySet
		asked := 0 // rows looked up so far
		for chunk := range parsed {
			// Once ChunkSize rows have been looked up, only people the registry may hold are:
			// in a department's file most people are not in it. A smaller push does not read
			// the registry's ID numbers for so few rows.
			var err error
			if known == nil && asked >= ChunkSize {
				if known, err = p.store.RegistryIDKeys(ctx); err != nil {
					lookupErr = fmt.Errorf("import: %w", err)
					cancel()
					return
				}
			}
			asked += len(chunk)
			reg, err := p.lookup(ctx, chunk, heads, known)
			if err != nil {
				lookupErr = err
				cancel()
				return
			}
			select {
			case lookedUp <- looked{chunk, reg}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var storeErr error
	for l := range lookedUp {
		if storeErr != nil {
			continue // drain so the other stages can finish
		}
		if storeErr = p.store1(l.chunk, l.reg, b, add); storeErr != nil {
			cancel()
		}
	}
	wg.Wait()
	b.OutOfScope += p.outOfScope
	b.Late = b.Late || p.late
	if p.cat == cases.CatPopulation {
		// The store adds the rows the registry itself cannot place, and counts the updates.
		n, zero := p.notInRegistry, 0
		b.NotInRegistry = &n
		if b.RegistryUpdates == nil {
			b.RegistryUpdates = &zero
		}
	}
	for _, err := range []error{storeErr, lookupErr, readErr} {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// read parses rows into chunks of accepted rows; refused rows go to b's errors.
func (p *parser) read(ctx context.Context, rows Rows, b *cases.Batch, out chan<- []pending) error {
	chunk := make([]pending, 0, firstChunkSize)
	chunkBytes, size := 0, firstChunkSize
	send := func() bool {
		select {
		case out <- chunk:
			chunk = make([]pending, 0, ChunkSize)
			chunkBytes, size = 0, ChunkSize
			return true
		case <-ctx.Done():
			return false
		}
	}
	uc, _ := rows.(interface{ Uncomputed() []int })
	for {
		rec, row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if sheet.IsLimit(err) {
				return cases.Errorf(cases.ETooLarge, "%s", err.Error())
			}
			return cases.Errorf(cases.EInvalid, "第 %d 行读取失败：%v", row, err)
		}
		if skippedRow(rec) {
			b.Skipped++ // a 合计 row or a footer line (制表人、注：…): not data, not an error
			continue
		}
		b.Rows++
		if p.progress != nil && b.Rows%ProgressEvery == 0 {
			p.progress(b.Rows)
		}
		var pd pending
		var errs []cases.RowError
		if uc != nil {
			errs = p.uncomputed(uc.Uncomputed(), row)
		}
		if len(errs) == 0 {
			errs = p.parse(rec, row, &pd)
		}
		if len(errs) > 0 {
			b.Rejected++
			if p.refused != nil {
				p.refused(row, rec, errs)
			}
			for _, e := range errs {
				if len(b.Errors) < MaxErrors {
					e.Message = sheet.ClipMessage(e.Message)
					b.Errors = append(b.Errors, e)
				}
			}
			continue
		}
		b.Accepted++
		p.hashPerson(&pd)
		if !p.scope.AdmitsValue(pd.facts.ScopeValue) {
			p.outOfScope++ // wrong 学段 or 事件级别: counted, neither a warning nor stored
			continue
		}
		// A 建档立卡-only category needs the registry's answer even for a quiet row: a row
		// that is not 建档立卡 is out of scope, not merely quiet.
		if p.cat == cases.CatEpidemic && !p.today.IsZero() && cases.EpidemicLate(pd.event, p.today) {
			p.late = true // 于3日内推送: accepted, and marked late (docs/rules.md)
		}
		needRegistry := p.scope.Registered && !pd.kindSaysIt
		if !needRegistry && !p.mayWarn(&pd) {
			continue // counted, never stored: neither a registry lookup nor a detail is needed
		}
		pd.w.Detail = p.detail(rec)
		chunk = append(chunk, pd)
		chunkBytes += len(pd.w.Detail)
		if (len(chunk) == size || chunkBytes >= ChunkBytes) && !send() {
			return ctx.Err()
		}
	}
	if len(chunk) > 0 && !send() {
		return ctx.Err()
	}
	return nil
}

// maxCachedHeads bounds the registry answers kept for household heads across chunks:
// at a few hundred bytes an answer, a few megabytes.
const maxCachedHeads = 20000

// headAnswer is the registry's answer for one 户主身份证号, found or not.
type headAnswer struct {
	m     cases.RegistryMember
	found bool
}

// lookup finds the chunk's people and household heads in the registry. A person's ID
// appears once a file (the duplicate check refuses it again), but a household head's
// appears on the row of every member, chunk after chunk: heads answered by an earlier chunk
// are taken from heads, which only the lookup goroutine uses, and not asked again. IDs that
// known says the registry does not hold are not asked at all (a nil known holds all). The answer for an
// ID does not depend on the other IDs asked with it, so this changes nothing but the work.
func (p *parser) lookup(ctx context.Context, chunk []pending, heads map[string]headAnswer, known cases.IDKeySet) (map[string]cases.RegistryMember, error) {
	ids := make([]string, 0, 2*len(chunk))
	var asked map[string]bool // heads asked in this chunk, to cache their answers
	for i := range chunk {
		w := &chunk[i].w
		person, head := p.hashIDs(w, known)
		if person {
			ids = append(ids, w.IDHash)
		}
		if h := w.HeadIDHash; head {
			if _, ok := heads[h]; ok || asked[h] {
				continue
			}
			if asked == nil {
				asked = map[string]bool{}
			}
			asked[h] = true
			ids = append(ids, h)
		}
	}
	var reg map[string]cases.RegistryMember
	if len(ids) > 0 {
		var err error
		if reg, err = p.store.RegistryLookup(ctx, ids); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	if reg == nil {
		reg = map[string]cases.RegistryMember{}
	}
	for h := range asked {
		if len(heads) >= maxCachedHeads {
			break
		}
		m, found := reg[h]
		// The key is a slice of the row's record: a copy keeps the record collectable.
		heads[strings.Clone(h)] = headAnswer{m, found}
	}
	for i := range chunk {
		h := chunk[i].w.HeadIDHash
		if h == "" || asked[h] {
			continue
		}
		if _, ok := reg[h]; !ok && heads[h].found {
			reg[h] = heads[h].m
		}
	}
	return reg, nil
}

// hashPerson hashes an accepted row's ID number, once for everything after (hashIDs), and
// records the person for Has: every accepted row, quiet ones included, replaces an earlier
// push's row of the same person.
func (p *parser) hashPerson(pd *pending) {
	if p.readHasher == nil || !p.readHasher.SumID(&pd.w.IDSum, pd.w.IDNumber) {
		return
	}
	sum := &pd.w.IDSum
	p.persons = append(p.persons, [2]uint64{binary.BigEndian.Uint64(sum[:8]),
		p.personLo(binary.BigEndian.Uint64(sum[8:16]), int(pd.problem))})
}

// hashIDs makes the row's ID hashes, once for the look-up and the stored row, and says
// whether the registry may hold the person and the head: only then is a hash written out
// as the hex the look-up asks by. Without a hasher (a store that does not hash, in tests)
// the numbers stand for themselves.
func (p *parser) hashIDs(w *cases.Warning, known cases.IDKeySet) (person, head bool) {
	if p.hasher == nil {
		w.IDHash, w.HeadIDHash = w.IDNumber, w.HeadIDNumber
		return w.IDNumber != "" && known.MayHold(w.IDNumber), w.HeadIDNumber != "" && known.MayHold(w.HeadIDNumber)
	}
	w.Hashed = true // the person's number was hashed as the row was read (hashPerson)
	person = w.IDNumber != "" && known.MayHoldSum(&w.IDSum)
	switch w.HeadIDNumber {
	case "":
	case w.IDNumber:
		w.HeadSum, head = w.IDSum, person
	default:
		head = p.hasher.SumID(&w.HeadSum, w.HeadIDNumber) && known.MayHoldSum(&w.HeadSum)
	}
	if person {
		w.IDHash = hex.EncodeToString(w.IDSum[:])
	}
	if head {
		w.HeadIDHash = w.IDHash
		if w.HeadIDNumber != w.IDNumber {
			w.HeadIDHash = hex.EncodeToString(w.HeadSum[:])
		}
	}
	return person, head
}

// store1 applies the rules to a looked-up chunk and stores its rows.
func (p *parser) store1(chunk []pending, reg map[string]cases.RegistryMember, b *cases.Batch, add func(*cases.Warning) error) error {
	for i := range chunk {
		pd := &chunk[i]
		w := &pd.w
		person, inPerson := reg[w.IDHash]
		head, inHead := reg[w.HeadIDHash]
		inPerson = inPerson && w.IDHash != ""
		inHead = inHead && w.HeadIDHash != ""
		if p.cat != cases.CatPopulation {
			// Later comparisons use the updated registry: the deceased and those who moved out
			// of the county no longer place a row in a household (a 人员变动 row still finds them).
			inPerson = inPerson && person.Active()
		}
		pd.facts.InRegistry = inPerson || inHead
		pd.facts.Registered = pd.kindSaysIt || (inPerson && cases.Registered(person.Kind)) || (inHead && cases.Registered(head.Kind))
		w.Registered = pd.facts.Registered
		if !p.scope.Admits(&pd.facts) {
			b.OutOfScope++ // not 建档立卡 where only 建档立卡 counts
			continue
		}
		w.Hits = p.rules.Evaluate(p.cat, &pd.facts)
		if p.cat == cases.CatPopulation {
			w.ChangedOn = pd.event
			if !pd.facts.InRegistry {
				p.notInRegistry++ // names nobody in the registry: changes nothing
			}
		}
		if len(w.Hits) == 0 {
			continue // quiet after all (the registry said so): counted, not stored
		}
		h := w.Hits[0]
		w.Rule = h.Rule
		if h.HasAmount {
			a := h.Amount
			w.Amount = &a
		}
		b.Warnings++
		if len(w.Hits) > 1 {
			w.Detail = appendHits(w.Detail, w.Hits)
		}
		if err := add(w); err != nil {
			return err
		}
	}
	return nil
}

// parse checks one row into pd; it returns every problem of the row, each naming its
// column. It allocates nothing for a good row: the strings are slices of the record's.
func (p *parser) parse(rec []string, row int, pd *pending) []cases.RowError {
	e := rowErrs{row: row}
	r := record(rec)
	w := &pd.w
	*w = cases.Warning{Row: row, Category: p.cat, Period: p.period}
	p.parsePerson(r, w, &e)
	for i := range p.fields {
		p.parseField(&p.fields[i], r.cell(p.fields[i].idx), pd, &e)
	}
	if p.iScope >= 0 {
		pd.facts.ScopeValue = r.cell(p.iScope)
	}
	if p.cat == cases.CatPopulation {
		w.Change = r.cell(p.iChange)
	}
	if len(e.list) == 0 && w.IDNumber != "" {
		p.checkRepeat(r, w, &e)
		if p.iProblem >= 0 {
			pd.problem = int8(problemTypeIndex(r.cell(p.fields[p.iProblem].idx)) + 1)
		}
	}
	return e.list
}

// rowErrs collects a row's problems, each naming its column.
type rowErrs struct {
	row  int
	list []cases.RowError
}

func (e *rowErrs) bad(col, format string, args ...any) {
	e.list = append(e.list, cases.RowError{Row: e.row, Column: col, Message: fmt.Sprintf(format, args...)})
}

// record is a row's cells as read.
type record []string

// cell is cell i normalised, "" when the row is shorter or the column absent (i < 0).
func (r record) cell(i int) string {
	if i < 0 || i >= len(r) {
		return ""
	}
	return NormalizeText(r[i])
}

// parsePerson reads who and where: name and ID number (both empty for an area alert where
// the category allows one), township, village and the head's ID number.
func (p *parser) parsePerson(r record, w *cases.Warning, e *rowErrs) {
	w.Name = r.cell(p.iName)
	rawID := r.cell(p.iID)
	alert := alertsAllowed(p.cat) && w.Name == "" && rawID == ""
	if !alert {
		if w.Name == "" {
			e.bad(ColName, "姓名不能为空")
		} else if len(w.Name) > 50 && utf8.RuneCountInString(w.Name) > 50 {
			e.bad(ColName, "姓名过长")
		}
		if rawID == "" {
			if alertsAllowed(p.cat) {
				e.bad(ColID, "身份证号不能为空（区域排查请把姓名和身份证号都留空）")
			} else {
				e.bad(ColID, "身份证号不能为空")
			}
		} else {
			w.IDNumber = NormalizeID(rawID)
			if err := CheckID(w.IDNumber); err != nil {
				e.bad(ColID, "%s", err.Error())
				w.IDNumber = ""
			}
		}
	}
	if t := r.cell(p.iTown); t == "" {
		e.bad(ColTownship, "乡镇不能为空")
	} else if name, ok := p.towns[t]; ok {
		w.Township = name
	} else {
		e.bad(ColTownship, "乡镇“%s”不在组织文件中，请核对乡镇名称", t)
	}
	w.Village = r.cell(p.iVillage)
	if h := r.cell(p.iHeadID); h != "" {
		w.HeadIDNumber = NormalizeID(h)
		if err := CheckID(w.HeadIDNumber); err != nil {
			e.bad(ColHeadID, "户主%s", err.Error())
			w.HeadIDNumber = ""
		}
	}
}

// parseField checks the category's column c, whose cell is v, into pd.
func (p *parser) parseField(c *field, v string, pd *pending, e *rowErrs) {
	if c.Name == ColPersonKind {
		// The same few values repeat row after row; remember the last answer.
		if v != p.lastKind {
			p.lastKind, p.lastKindSays = v, registeredKind(v)
		}
		pd.kindSaysIt = p.lastKindSays
		return
	}
	if v == "" {
		if !c.Empty {
			e.bad(c.Name, "%s不能为空", c.Name)
			return
		}
		if c.Kind == kindMoney && c.Zero {
			addFigure(&pd.facts, c.column, 0)
		}
		return
	}
	switch c.Kind {
	case kindMoney:
		m, err := NormalizeAmount(v)
		if err != nil {
			e.bad(c.Name, "%s：%s", c.Name, err.Error())
			return
		}
		addFigure(&pd.facts, c.column, m)
	case kindDate:
		if d, err := NormalizeDate(v); err != nil {
			e.bad(c.Name, "%s：%s", c.Name, err.Error())
		} else if c.Name == ColEventDate || c.Name == ColChangeDate {
			pd.event = d
		}
	default:
		p.checkWord(c, v, e)
	}
}

// checkWord checks a text cell: one of its column's values (after the department's own
// words), the push's 学年, a department of the org file.
func (p *parser) checkWord(c *field, v string, e *rowErrs) {
	if w, ok := c.words[v]; ok {
		v = w
	}
	// The validator stays the judge of "oneof"; the set only spares it the valid cells.
	if c.Oneof != "" && !c.allowed[v] {
		if err := validate.Var(v, "oneof="+c.Oneof); err != nil {
			e.bad(c.Name, "%s“%s”应为：%s", c.Name, v, strings.ReplaceAll(c.Oneof, " ", "、"))
		}
	}
	if c.Name == ColSchoolYear && p.schoolYear != "" {
		if sy, err := cases.NormalizeSchoolYear(v); err != nil {
			e.bad(c.Name, "%s", cases.ErrorMessage(err))
		} else if sy != p.schoolYear {
			e.bad(c.Name, "学年“%s”不是本次推送的学年 %s（每年 4 月 30 日前推送当年夏天结束的学年），请放到该学年的推送中", v, p.schoolYear)
		}
	}
	if c.Name == "责任部门" && !p.depts[v] {
		e.bad(c.Name, "责任部门“%s”不在组织文件中，请写部门全称（例如 住建局）", v)
	}
}

// checkRepeat refuses a row that repeats an earlier one: the same person, category, 问题类型
// and period — two 问题类型 of one person are two problems of one
// household, both kept.
func (p *parser) checkRepeat(r record, w *cases.Warning, e *rowErrs) {
	key, _ := cases.IDKey(w.IDNumber)
	if p.iProblem >= 0 {
		key = key*8 + uint64(problemTypeIndex(r.cell(p.fields[p.iProblem].idx))+1)
	}
	prev, dup := p.seen.firstOrAdd(key, int32(e.row))
	switch {
	case !dup:
	case p.schoolYear != "":
		e.bad(ColID, "与第 %d 行是同一个人（同一学年 %s），重复了", prev, p.schoolYear)
	case p.iProblem >= 0:
		e.bad(ColID, "与第 %d 行是同一个人的同一问题类型（同一期次），重复了", prev)
	default:
		e.bad(ColID, "与第 %d 行是同一个人（同一类别、同一期次），重复了", prev)
	}
}

// uncomputed is a row error for each column the import reads whose cell is a formula
// saved without its result: never read as 0 or empty.
func (p *parser) uncomputed(cols []int, row int) []cases.RowError {
	var errs []cases.RowError
	for _, i := range cols {
		if i >= len(p.used) || p.used[i] == "" {
			continue
		}
		errs = append(errs, cases.RowError{Row: row, Column: p.used[i],
			Message: fmt.Sprintf("%s（%s）：公式没有计算结果，请在 Excel 中打开并保存后重发", p.used[i], sheet.CellRef(i+1, row))})
	}
	return errs
}

// mayWarn reports whether the row would raise a warning for some answer of the registry
// (建档立卡 or not, in the registry or not). A row that cannot warn whatever the registry
// says, such as a medical row below 5000 yuan 住院 and 500 yuan 门诊+门特, needs no lookup
// and is not stored; that is most rows, so the lookups shrink to the few that matter.
func (p *parser) mayWarn(pd *pending) bool {
	f := pd.facts
	for _, registered := range [2]bool{false, true} {
		if pd.kindSaysIt && !registered {
			continue // 人员类别 already makes the row 建档立卡
		}
		for _, inRegistry := range [2]bool{false, true} {
			f.Registered, f.InRegistry = registered, inRegistry
			if len(p.rules.Evaluate(p.cat, &f)) > 0 {
				return true
			}
		}
	}
	return false
}

func addFigure(f *cases.Facts, c column, m cases.Money) {
	if c.Sign == 0 {
		f.Set(c.Figure, m)
		return
	}
	cur, _ := f.Get(c.Figure)
	f.Set(c.Figure, cur+cases.Money(c.Sign)*m)
}

// registeredKind reads 人员类别: 脱贫人口 or 建档立卡 (but not 非建档立卡).
func registeredKind(v string) bool {
	if v == "" || strings.Contains(v, "非") || strings.Contains(v, "未") {
		return false
	}
	return strings.Contains(v, "脱贫") || strings.Contains(v, "建档立卡")
}

// detail writes the row as a JSON object of header → normalised value (extra columns
// included, empty cells left out). 姓名, 身份证号, 乡镇, 村 and 户主身份证号 are left out: the
// warning has columns for them, and repeating them was about a third of the bytes the server
// had to check and store per warning row. Readers put them back from the columns
// (postgres.warningRow.fact).
func (p *parser) detail(rec []string) []byte {
	buf := make([]byte, 0, 256)
	buf = append(buf, '{')
	first := true
	for i, h := range p.header {
		if h == "" || i >= len(rec) || (i < len(p.ownCol) && p.ownCol[i]) {
			continue
		}
		v := NormalizeText(rec[i])
		if v == "" {
			continue
		}
		// Every date a person reads is YYYY-MM-DD (docs/chat.md), whether the cell held text or an
		// Excel date serial such as 46308.
		if i < len(p.wordsAt) && p.wordsAt[i] != nil {
			if w, ok := p.wordsAt[i][v]; ok {
				v = w
			}
		}
		if i < len(p.dateCol) && p.dateCol[i] {
			if d, err := NormalizeDate(v); err == nil {
				v = d.String()
			}
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, h)
		buf = append(buf, ':')
		buf = appendJSONString(buf, v)
	}
	return append(buf, '}')
}

func appendHits(detail []byte, hits []cases.Hit) []byte {
	var b []byte
	b = append(b, `"_rules":[`...)
	for i, h := range hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = appendJSONString(b, h.Rule)
		if h.HasAmount {
			b = append(b, `,"amount":"`...)
			b = append(b, h.Amount.String()...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ']', '}')
	out := detail[:len(detail)-1]
	if len(out) > 1 {
		out = append(out, ',')
	}
	return append(out, b...)
}

// appendJSONString quotes s for JSON; s is valid UTF-8 without NUL (NormalizeText).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
