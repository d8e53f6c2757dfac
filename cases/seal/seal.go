// Package seal encrypts personal data at rest (ID numbers, names, warnings' row details,
// message bodies): AES-256-GCM under keys from configuration, each value naming its key, and
// the keyed hash by which an ID number is looked up without being stored in plain.
// docs/encryption.md explains the choices.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// prefix starts every sealed value, so a value stored before encryption (plain text, which
// `fangpin keys rotate` seals) is told apart from a sealed one.
const prefix = "fp1."

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

type key struct {
	id    string
	aead  cipher.AEAD
	nonce []byte // HMAC key deriving a value's nonce from the value (see Seal)
}

// Keyring holds the data keys (the first seals, all open) and the ID hash key.
type Keyring struct {
	keys    []key
	byID    map[string]*key
	hashKey []byte
	demo    bool
}

// ErrUnknownKey is returned (as an UnknownKeyError naming the key) for a value sealed under
// a key the configuration no longer lists.
var ErrUnknownKey = errors.New("所用密钥未配置")

// UnknownKeyError names the key a value needs; it reaches the office in a command's error.
type UnknownKeyError struct{ ID string }

func (e UnknownKeyError) Error() string        { return "所用密钥 " + e.ID + " 未配置" }
func (e UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// New builds a keyring from FANGPIN_DATA_KEYS' form ("id:base64,id:base64", 32-byte keys,
// the first encrypts) and the 32-byte hash key. Errors are in Chinese: they reach the
// person who set the variables.
func New(dataKeys string, hashKey []byte) (*Keyring, error) {
	if len(hashKey) != 32 {
		return nil, fmt.Errorf("FANGPIN_HASH_KEY 应为 32 字节密钥的 base64")
	}
	k := &Keyring{byID: map[string]*key{}, hashKey: append([]byte(nil), hashKey...)}
	seen := map[string]bool{}
	for i, item := range strings.Split(dataKeys, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, b64, ok := strings.Cut(item, ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("FANGPIN_DATA_KEYS 第 %d 项应为“编号:base64”，编号用字母、数字、_ 或 -（至多 16 个）", i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("FANGPIN_DATA_KEYS 第 %d 项（%s）的密钥应为 32 字节的 base64（例如 openssl rand -base64 32 的输出）", i+1, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("FANGPIN_DATA_KEYS 中密钥编号 %s 出现了两次", id)
		}
		seen[id] = true
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("seal: key %s: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %s: %w", id, err)
		}
		m := hmac.New(sha256.New, raw)
		m.Write([]byte("fangpin seal nonce"))
		k.keys = append(k.keys, key{id: id, aead: aead, nonce: m.Sum(nil)})
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("FANGPIN_DATA_KEYS 未列出任何密钥")
	}
	for i := range k.keys {
		k.byID[k.keys[i].id] = &k.keys[i]
	}
	return k, nil
}

// DemoDataKeys is FANGPIN_DATA_KEYS when it is not set: published here, so it protects
// nothing; for `fangpin demo`, the simulator and the tests. The key is the SHA-256 of
// "fangpin demo data key - not for production".
var DemoDataKeys = func() string {
	h := sha256.Sum256([]byte("fangpin demo data key - not for production"))
	return "demo:" + base64.StdEncoding.EncodeToString(h[:])
}()

// Demo is the keyring of the published demo keys.
func Demo() *Keyring {
	k, err := New(DemoDataKeys, cases.DemoHashKey)
	if err != nil {
		panic(err)
	}
	k.demo = true
	return k
}

// IsDemo tells whether the keyring is the published demo one.
func (k *Keyring) IsDemo() bool { return k.demo }

// KeyIDs lists the configured key ids, the sealing one first.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, c := range k.keys {
		ids[i] = c.id
	}
	return ids
}

// Current is the id of the key that seals.
func (k *Keyring) Current() string { return k.keys[0].id }

// IDHash is the keyed hash of a normalised ID number: the same person's key in every table
// (cases.IDHash with the configured hash key).
func (k *Keyring) IDHash(id string) string { return cases.IDHash(k.hashKey, id) }

// HashKey is the ID hash's key (retention hashes with it).
func (k *Keyring) HashKey() []byte { return k.hashKey }

// Seal encrypts plain under the current key. The empty string stays empty, so "is it set"
// needs no key. The nonce is derived from the value (an HMAC under a key of its own, as in
// SIV): one value sealed twice under one key gives the same text, which lets the store
// compare sealed values (a registry re-import finds a changed name) at the cost of showing
// which stored values are equal.
func (k *Keyring) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	return string(k.SealBytes([]byte(plain)))
}

// SealBytes is Seal for binary data; nil and empty stay as they are. One value at a time:
// a Sealer (sealer.go) does the work, so there is one definition of how a value is sealed.
func (k *Keyring) SealBytes(plain []byte) []byte {
	if len(plain) == 0 {
		return plain
	}
	return k.Sealer().AppendSeal(nil, plain)
}

// Open decrypts a sealed value. A value that is not sealed (stored before encryption, or
// empty) is returned as it is: `fangpin keys rotate` seals those.
func (k *Keyring) Open(s string) (string, error) {
	if !strings.HasPrefix(s, prefix) {
		return s, nil
	}
	b, err := k.OpenBytes([]byte(s))
	return string(b), err
}

// OpenBytes is Open for binary data.
func (k *Keyring) OpenBytes(s []byte) ([]byte, error) {
	if !IsSealed(s) {
		return s, nil
	}
	rest := s[len(prefix):]
	dot := -1
	for i, c := range rest {
		if c == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return nil, fmt.Errorf("密文格式有误")
	}
	c := k.byID[string(rest[:dot])]
	if c == nil {
		return nil, UnknownKeyError{ID: string(rest[:dot])}
	}
	raw, err := base64.RawURLEncoding.AppendDecode(nil, rest[dot+1:])
	if err != nil || len(raw) < c.aead.NonceSize() {
		return nil, fmt.Errorf("密钥 %s 下的密文格式有误", c.id)
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("密钥 %s 下的密文未通过校验（已被改动或密钥不符）", c.id)
	}
	return plain, nil
}

// IsSealed tells whether a stored value is sealed (under any key).
func IsSealed[T string | []byte](s T) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

// KeyOf is the id of the key a sealed value names ("" for a value that is not sealed).
func KeyOf(s string) string {
	if !IsSealed(s) {
		return ""
	}
	id, _, _ := strings.Cut(s[len(prefix):], ".")
	return id
}

// Stale tells whether `keys rotate` must rewrite a stored value: set, and not sealed under
// the current key.
func (k *Keyring) Stale(s string) bool {
	return s != "" && KeyOf(s) != k.keys[0].id
}

// OpenAll opens each of the strings in place, stopping at the first error.
func (k *Keyring) OpenAll(ps ...*string) error {
	for _, p := range ps {
		v, err := k.Open(*p)
		if err != nil {
			return err
		}
		*p = v
	}
	return nil
}
