package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// Personal data at rest (docs/encryption.md): what the store writes sealed or hashed, and
// how it opens it. Handlers and the rules see plain values; only these columns' contents
// change.

var emptyDetail = []byte("{}")

// headKey is the detail key under which a warning keeps its 户主身份证号 (the column holds
// its hash): the name rows stored before the columns of their own had.
const headKey = "户主身份证号"

// withHead appends detail (a JSON object) to dst with the head's ID number added.
func withHead(dst, detail []byte, head string) []byte {
	detail = bytes.TrimSpace(detail)
	dst = append(dst, detail[:len(detail)-1]...)
	if len(detail) > 2 {
		dst = append(dst, ',')
	}
	dst = append(dst, `"`+headKey+`":`...)
	dst = strconv.AppendQuote(dst, head)
	return append(dst, '}')
}

// warningProblem is the 问题类型 of a 保障 warning's detail (the problem column), else "".
func warningProblem(cat cases.Category, detail []byte) string {
	if cat != cases.CatAssurance || !bytes.Contains(detail, []byte("问题类型")) {
		return ""
	}
	var d map[string]any
	if json.Unmarshal(detail, &d) != nil {
		return ""
	}
	s, _ := d["问题类型"].(string)
	return s
}

// SealedWarning is what a warning row stores of a person: id_number, id_sealed, name,
// head_id_number, detail and problem.
type SealedWarning struct {
	IDHash, IDSealed, Name, HeadHash, Detail, Problem string
}

// SealWarning seals a warning's person for an INSERT of one row (申报, 走访, 人员变动, and
// tests that write rows of their own).
func SealWarning(k *seal.Keyring, cat cases.Category, id, name, head string, detail []byte) SealedWarning {
	d := detail
	if len(d) < 2 {
		d = emptyDetail
	}
	if head != "" {
		d = withHead(nil, d, head)
	}
	return SealedWarning{IDHash: k.IDHash(id), IDSealed: k.Seal(cases.NormalizeIDNumber(id)), Name: k.Seal(name),
		HeadHash: k.IDHash(head), Detail: k.Seal(string(d)), Problem: warningProblem(cat, detail)}
}

// isIDHash tells a keyed hash (64 lower-case hex digits) from an ID number.
func isIDHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// openErr names what could not be opened, without its content: a value sealed under a key
// the configuration no longer lists (or altered) is an error, never shown as garbage.
func openErr(what string, err error) error {
	return fmt.Errorf("无法解密%s（%w）：请确认 FANGPIN_DATA_KEYS 列出了加密它的密钥（docs/encryption.md）", what, err)
}

// sealText seals what a person typed — a 核查 reason, a task's 措施 or 说明, a spot check's or a
// 区域排查's note — for a column of its own: it may hold an ID number or a diagnosis
// (docs/encryption.md). "" stays "" (constraints ask whether there is one).
func sealText(k *seal.Keyring, s string) string {
	if s == "" {
		return s
	}
	return k.Seal(s)
}

// openText opens such a column; a value stored before it was sealed is returned as it is.
func openText(k *seal.Keyring, s, what string) (string, error) {
	p, err := k.Open(s)
	if err != nil {
		return "", openErr(what, err)
	}
	return p, nil
}

// openID is a stored ID number: the sealed one when there is one, else a number stored
// before encryption (kept in the key column until sealed).
func openID(k *seal.Keyring, sealed, key string) (string, error) {
	if sealed == "" {
		if isIDHash(key) {
			return "", nil
		}
		return key, nil
	}
	id, err := k.Open(sealed)
	if err != nil {
		return "", openErr("身份证号", err)
	}
	return id, nil
}

// sealEventDetail is an audit event's detail as stored: a JSON string holding the sealed
// object (what a person typed: a reason, a measure), or the object itself without a keyring
// (events that name no person, like a hold).
func sealEventDetail(k *seal.Keyring, detail map[string]any) ([]byte, error) {
	b, err := json.Marshal(detail)
	if err != nil || k == nil || len(detail) == 0 {
		return b, err
	}
	return json.Marshal(k.Seal(string(b)))
}

// openEventDetail opens a stored event detail; an object (not sealed) is returned as it is.
func openEventDetail(k *seal.Keyring, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("event detail: %w", err)
	}
	plain, err := k.Open(s)
	if err != nil {
		return nil, openErr("办理记录", err)
	}
	return json.RawMessage(plain), nil
}
