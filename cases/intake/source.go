package intake

import (
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

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/sheet"
)

// HashFile returns the hex SHA-256 of a file's bytes, reading it as a stream.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("打开文件失败：%w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("读取文件失败：%w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ImportFile imports a CSV or XLSX file: it hashes the file, then streams its rows.
// req.SHA256 and req.Filename are filled in when empty.
func ImportFile(ctx context.Context, store Store, req Request, path string) (cases.Batch, error) {
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
	r, err := sheet.Open(path)
	if err != nil {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "文件无法读取：%s", err.Error())
	}
	defer r.Close()
	return Import(ctx, store, req, r)
}

// records adapts API records to Rows.
type records struct {
	header []string
	recs   []map[string]any
	i      int
	row    []string
}

// Records adapts pushed JSON records (column name of spec §3 → value) to Rows. The header
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
	for j, h := range r.header {
		r.row[j] = cellString(rec[h])
	}
	// Keys were normalised for the header; look up the raw key when it differs.
	for k, v := range rec {
		if n := sheet.NormalizeHeader(k); n != k {
			for j, h := range r.header {
				if h == n && r.row[j] == "" {
					r.row[j] = cellString(v)
				}
			}
		}
	}
	return r.row, r.i, nil
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
