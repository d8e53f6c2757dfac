package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/sheet"
)

// HashFile returns the hex SHA-256 of a file's bytes, reading it as a stream.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", sheet.OpenError(path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("读取文件失败：%w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ImportFile imports a department's file (XLSX, XLS, CSV or tab-separated text; see
// OpenTable for how its sheet and header are found): it hashes the file, then streams its
// rows. req.SHA256 and req.Filename are filled in when empty. This is the one entry point
// for a file, whichever way it came (CLI, push API, chat, upload page).
func ImportFile(ctx context.Context, store Store, req Request, path string) (cases.Batch, error) {
	// Refuse a file over the limit before hashing it all.
	if st, err := os.Stat(path); err == nil && st.Size() > sheet.MaxFileBytes {
		return cases.Batch{}, cases.Errorf(cases.ETooLarge, "%s", sheet.ErrFileTooLarge.Error())
	}
	if req.SHA256 == "" {
		sum, err := HashFile(path)
		if err != nil {
			return cases.Batch{}, cases.Errorf(cases.EInvalid, "%s", err.Error())
		}
		req.SHA256 = sum
	}
	if req.Filename == "" {
		req.Filename = filepath.Base(path)
	}
	if !req.Category.Valid() {
		return Import(ctx, store, req, &records{}) // refused there, with the list of categories
	}
	// Who may push what is answered before the file is read: a department pushing another's
	// category hears so, not that its file lacks that category's columns.
	if _, _, err := pushingDepartment(ctx, store, req); err != nil {
		return cases.Batch{}, err
	}
	if err := sheet.RefuseName(req.Filename); err != nil {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "%s", err.Error()) // an upload's name, its path being a temporary file's
	}
	// The department's own header words find the header too, so they are read before the file.
	req, err := withMapping(ctx, store, req)
	if err != nil {
		return cases.Batch{}, err
	}
	t, err := OpenTable(path, req.Category, req.Aliases)
	if err != nil {
		return cases.Batch{}, err
	}
	defer t.Close()
	return Import(ctx, store, req, t)
}

// MatchCategories returns those of cats whose required columns a header of the file names
// (found as an import finds it: any sheet, under titles, by synonyms), in the order given:
// how a file sent without its category (in chat) finds it. A file that cannot be read at
// all is an error, as ImportFile would report it.
func MatchCategories(path string, cats []cases.Category) ([]cases.Category, error) {
	return matchCategories(path, cats, nil)
}

// MatchCategoriesAliased is MatchCategories with a department's own header words (its
// stored mapping) taken as well: a department whose file needed a card once is recognised
// by the same words later.
func MatchCategoriesAliased(path string, cats []cases.Category, aliases Aliases) ([]cases.Category, error) {
	return matchCategories(path, cats, aliases)
}

// records adapts API records to Rows.
type records struct {
	header []string
	recs   []map[string]any
	i      int
	row    []string
}

// Records adapts pushed JSON records (column name of docs/intake.md → value) to Rows. The header
// is every key used by any record; a record's row number is its 1-based position.
// Values may be strings, numbers (decode with UseNumber to keep them exact) or null.
func Records(recs []map[string]any) Rows {
	seen := map[string]bool{}
	var header []string
	for _, r := range recs {
		for k := range r {
			if !seen[k] {
				seen[k] = true
				header = append(header, k)
			}
		}
	}
	sort.Strings(header)
	for i, h := range header {
		header[i] = sheet.NormalizeHeader(h)
	}
	return &records{header: header, recs: recs, row: make([]string, len(header))}
}

func (r *records) Header() []string { return r.header }

func (r *records) Next() ([]string, int, error) {
	if r.i >= len(r.recs) {
		return nil, r.i + 1, io.EOF
	}
	rec := r.recs[r.i]
	r.i++
	fillRow(r.header, r.row, rec)
	return r.row, r.i, nil
}

// fillRow puts rec's values in header's order into row.
func fillRow(header, row []string, rec map[string]any) {
	for j, h := range header {
		row[j] = cellString(rec[h])
	}
	// Keys were normalised for the header; look up the raw key when it differs.
	for k, v := range rec {
		if n := sheet.NormalizeHeader(k); n != k {
			for j, h := range header {
				if h == n && row[j] == "" {
					row[j] = cellString(v)
				}
			}
		}
	}
}

// MaxRecords is the most records one JSON push may hold.
const MaxRecords = 200000

// JSONPush is a push in JSON, {"category","period","records":[{column: value}]}, read as
// a stream from its body: the records are decoded one at a time, never all at once, so a
// body of many tiny records costs no more memory than the body itself.
type JSONPush struct {
	Category, Period string
	body             []byte
	header           []string
	dec              *json.Decoder
	row              []string
	i                int
}

// ReadJSONPush checks a JSON push in one pass (its shape, the record count, the columns
// and the cells against the limits of package sheet) and returns it ready to be read as
// Rows. A malformed body is a cases.EInvalid error, one over a limit cases.ETooLarge.
func ReadJSONPush(body []byte) (*JSONPush, error) {
	p := &JSONPush{body: body}
	seen := map[string]bool{}
	n := 0
	hasRecords := false
	err := p.walk(func(key string, dec *json.Decoder) error {
		switch key {
		case "category", "period":
			var s *string
			if err := dec.Decode(&s); err != nil {
				return cases.Errorf(cases.EInvalid, "%s 应为字符串", key)
			}
			if s != nil && key == "category" {
				p.Category = *s
			} else if s != nil {
				p.Period = *s
			}
			return nil
		case "records":
			hasRecords = true
			return eachRecord(dec, func(rec map[string]any) error {
				n++
				if n > MaxRecords {
					return cases.Errorf(cases.ETooLarge, "records 超过 %d 条的上限，请分几次推送", MaxRecords)
				}
				for k, v := range rec {
					if !seen[k] {
						if len(seen) >= sheet.MaxColumns {
							return cases.Errorf(cases.ETooLarge, "第 %d 条记录使记录的列超过 %d 列的上限", n, sheet.MaxColumns)
						}
						seen[k] = true
					}
					if s := cellString(v); len(s) > sheet.MaxCellChars && utf8.RuneCountInString(s) > sheet.MaxCellChars {
						return cases.Errorf(cases.ETooLarge, "第 %d 条记录的“%s”超过 %d 个字符的单元格上限", n, sheet.ClipMessage(k), sheet.MaxCellChars)
					}
				}
				return nil
			})
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return cases.Errorf(cases.EInvalid, "JSON 格式不对：%v", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Category) == "" {
		return nil, cases.Errorf(cases.EInvalid, "缺少 category（风险类别代码，例如 medical）")
	}
	if p.Period != "" {
		if _, err := time.Parse("2006-01", p.Period); err != nil && !isSchoolYear(p.Period) {
			return nil, cases.Errorf(cases.EInvalid, "period 应写成 YYYY-MM，例如 2026-10（因学数据也可写学年，例如 2026-2027）")
		}
	}
	if !hasRecords || n == 0 {
		return nil, cases.Errorf(cases.EInvalid, "records 应为 1 到 %d 条记录", MaxRecords)
	}
	header := make([]string, 0, len(seen))
	for k := range seen {
		header = append(header, k)
	}
	sort.Strings(header)
	for i, h := range header {
		header[i] = sheet.NormalizeHeader(h)
	}
	p.header, p.row = header, make([]string, len(header))
	return p, nil
}

// walk calls fn for each key of the body's top-level object with the decoder at its
// value; fn must consume the value.
func (p *JSONPush) walk(fn func(key string, dec *json.Decoder) error) error {
	dec := json.NewDecoder(bytes.NewReader(p.body))
	dec.UseNumber()
	bad := func(err error) error { return cases.Errorf(cases.EInvalid, "JSON 格式不对：%v", err) }
	if t, err := dec.Token(); err != nil {
		return bad(err)
	} else if d, ok := t.(json.Delim); !ok || d != '{' {
		return cases.Errorf(cases.EInvalid, "JSON 格式不对：应为一个对象 {\"category\",\"period\",\"records\"}")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		key, _ := t.(string)
		if err := fn(key, dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad(err)
	}
	return nil
}

// eachRecord reads the records array at dec one record at a time.
func eachRecord(dec *json.Decoder, fn func(map[string]any) error) error {
	t, err := dec.Token()
	if err != nil {
		return cases.Errorf(cases.EInvalid, "JSON 格式不对：%v", err)
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return cases.Errorf(cases.EInvalid, "records 应为记录的数组")
	}
	for i := 1; dec.More(); i++ {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			return cases.Errorf(cases.EInvalid, "records 第 %d 条不是 JSON 对象：%v", i, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return cases.Errorf(cases.EInvalid, "JSON 格式不对：%v", err)
	}
	return nil
}

// Header is every key used by any record, normalised and sorted.
func (p *JSONPush) Header() []string { return p.header }

// Next decodes the next record; its row number is its 1-based position.
func (p *JSONPush) Next() ([]string, int, error) {
	if p.dec == nil {
		// Walk again up to the records array.
		dec := json.NewDecoder(bytes.NewReader(p.body))
		dec.UseNumber()
		dec.Token() // {
		for p.dec == nil && dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, p.i + 1, err
			}
			if t == "records" {
				if _, err := dec.Token(); err != nil { // [
					return nil, p.i + 1, err
				}
				p.dec = dec
				break
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, p.i + 1, err
			}
		}
		if p.dec == nil {
			return nil, p.i + 1, io.EOF
		}
	}
	if !p.dec.More() {
		return nil, p.i + 1, io.EOF
	}
	var rec map[string]any
	if err := p.dec.Decode(&rec); err != nil {
		return nil, p.i + 1, err
	}
	p.i++
	fillRow(p.header, p.row, rec)
	return p.row, p.i, nil
}

func cellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// isSchoolYear reports whether a period names a 学年 (an education push, docs/rules.md).
func isSchoolYear(p string) bool {
	_, err := cases.NormalizeSchoolYear(p)
	return err == nil
}
