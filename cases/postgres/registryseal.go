package postgres

import (
	"fmt"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// The registry's personal data at rest (docs/encryption.md): ID numbers are stored as their
// keyed hash (what joins and look-ups compare), a member's also sealed beside it (id_sealed;
// a household's head is read from their member row), names sealed in place. Names are sealed
// deterministically under one key, so the re-import compares sealed names as they are; the
// sealed numbers are never compared (their hashes are), so they get a counted nonce
// (seal.Sealer.AppendSealFresh), sparing an HMAC a member.

// registrySealer hashes and seals a file's rows for the registry. A household's head is named
// on each of its members' rows and is usually one of them, so the last head and the last
// member are kept: each ID number of a file is hashed and sealed about once.
type registrySealer struct {
	b    *seal.Sealer
	head sealedID
	last sealedID
	buf  []byte
}

// sealedID is an ID number with its hash and sealed text.
type sealedID struct{ plain, hash, sealed string }

func newRegistrySealer(k *seal.Keyring) *registrySealer { return &registrySealer{b: k.Sealer()} }

// id hashes a (normalised) ID number, and seals a member's (a head's number is stored only
// as its hash, the sealed one being read from their member row); isHead keeps it as the
// household's head.
func (s *registrySealer) id(plain string, isHead bool) (hash, sealed string) {
	var v sealedID
	switch plain {
	case s.head.plain:
		v = s.head
	case s.last.plain:
		v = s.last
	default:
		v = sealedID{plain: plain, hash: s.b.IDHash(plain)}
	}
	if !isHead && v.sealed == "" && plain != "" {
		s.buf = s.b.AppendSealFreshString(s.buf[:0], plain)
		v.sealed = string(s.buf)
	}
	if isHead || plain == s.head.plain {
		s.head = v
	}
	if !isHead {
		s.last = v
	}
	return v.hash, v.sealed
}

// sealedRow is what a registry row stores of its person: the head's and the member's hashes,
// the member's sealed number and name.
type sealedRow struct{ head, id, idSealed, name string }

// row hashes and seals a file's row.
func (s *registrySealer) row(m *cases.RegistryMember) sealedRow {
	var r sealedRow
	r.head, _ = s.id(m.HeadIDNumber, true)
	r.id, r.idSealed = s.id(m.IDNumber, false)
	r.name = s.seal(m.Name)
	return r
}

// seal seals a value (a name) through the sealer's buffer.
func (s *registrySealer) seal(plain string) string {
	s.buf = s.b.AppendSealString(s.buf[:0], plain)
	return string(s.buf)
}

// hashIDs hashes ID numbers for a look-up, and maps each hash back to the number asked.
func hashIDs(k *seal.Keyring, ids []string) ([]string, map[string]string) {
	b := k.Sealer()
	hs := make([]string, 0, len(ids))
	back := make(map[string]string, len(ids))
	for _, id := range ids {
		h := b.IDHash(id)
		if h == "" {
			continue
		}
		if _, ok := back[h]; !ok {
			hs = append(hs, h)
		}
		back[h] = id
	}
	return hs, back
}

// open opens sealed registry values in place.
func openRegistry(k *seal.Keyring, ps ...*string) error {
	if err := k.OpenAll(ps...); err != nil {
		return fmt.Errorf("open registry data: %w", err)
	}
	return nil
}
