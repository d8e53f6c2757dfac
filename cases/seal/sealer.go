package seal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"

	"github.com/fangpin/fangpin/cases"
)

// Sealer seals and hashes many values on one goroutine without allocating for each: an
// import seals every stored row, and Keyring's one-off methods set up their HMACs anew each
// time. It gives the same texts and hashes as the Keyring it comes from.
type Sealer struct {
	k     *Keyring
	nonce hash.Hash // HMAC of the sealing key's nonce key
	id    hash.Hash // HMAC of the hash key
	sum   []byte
	buf   []byte
	idBuf []byte
	ctr   [12]byte // AppendSealFresh's last nonce; counted from a random start
	ctrOK bool
}

// Sealer makes a Sealer of the keyring's current key; it is not safe for concurrent use.
func (k *Keyring) Sealer() *Sealer {
	return &Sealer{k: k, nonce: hmac.New(sha256.New, k.keys[0].nonce), id: hmac.New(sha256.New, k.hashKey)}
}

// AppendSeal appends plain, sealed, to dst (nothing for an empty plain), as SealBytes.
func (s *Sealer) AppendSeal(dst, plain []byte) []byte {
	if len(plain) == 0 {
		return dst
	}
	s.nonce.Reset()
	s.nonce.Write(plain)
	s.sum = s.nonce.Sum(s.sum[:0])
	return s.appendSealed(dst, s.sum[:s.k.keys[0].aead.NonceSize()], plain)
}

// AppendSealFresh appends plain sealed as AppendSeal does, but under a nonce of its own
// rather than one derived from the value: sealing the same value twice gives two texts, so
// it is for values SQL never compares (a warning row's name, number and detail). It costs
// no HMAC, which is a third of an import's sealing. The nonces count up from a random
// 96-bit start drawn once per Sealer: two Sealers' runs of nonces overlap with a chance of
// about (values sealed) × (Sealers)² / 2⁹⁶, nothing a county reaches; a nonce repeated
// under one key would break GCM, which is why the start is random and not zero.
func (s *Sealer) AppendSealFresh(dst, plain []byte) []byte {
	if len(plain) == 0 {
		return dst
	}
	if !s.ctrOK {
		rand.Read(s.ctr[:]) // never fails (crypto/rand panics rather than return short)
		s.ctrOK = true
	}
	binary.BigEndian.PutUint64(s.ctr[4:], binary.BigEndian.Uint64(s.ctr[4:])+1)
	return s.appendSealed(dst, s.ctr[:], plain)
}

// AppendSealFreshString is AppendSealFresh of a string.
func (s *Sealer) AppendSealFreshString(dst []byte, plain string) []byte {
	return s.AppendSealFresh(dst, s.bytesOf(plain))
}

// appendSealed appends the stored form of plain sealed under nonce by the current key: the
// one definition of the format Keyring.OpenBytes reads.
func (s *Sealer) appendSealed(dst, nonce, plain []byte) []byte {
	c := &s.k.keys[0]
	s.buf = append(s.buf[:0], nonce...)
	s.buf = c.aead.Seal(s.buf, nonce, plain, nil)
	dst = append(dst, prefix...)
	dst = append(dst, c.id...)
	dst = append(dst, '.')
	return base64.RawURLEncoding.AppendEncode(dst, s.buf)
}

// AppendSealString is AppendSeal of a string.
func (s *Sealer) AppendSealString(dst []byte, plain string) []byte {
	return s.AppendSeal(dst, s.bytesOf(plain))
}

// bytesOf is plain in the Sealer's scratch buffer: a string sealed without allocating.
func (s *Sealer) bytesOf(plain string) []byte {
	s.idBuf = append(s.idBuf[:0], plain...)
	return s.idBuf
}

// Seal is Keyring.Seal.
func (s *Sealer) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	return string(s.AppendSealString(nil, plain))
}

// AppendIDHash appends the keyed hash of id (Keyring.IDHash) to dst: 64 hex digits, nothing
// for an empty number.
func (s *Sealer) AppendIDHash(dst []byte, id string) []byte {
	var sum [32]byte
	if !s.SumID(&sum, id) {
		return dst
	}
	return hex.AppendEncode(dst, sum[:])
}

// SumID puts the keyed hash of id into sum, raw (AppendIDHash's hex is its encoding); false
// for an empty number.
func (s *Sealer) SumID(sum *[32]byte, id string) bool {
	id = cases.NormalizeIDNumber(id)
	if id == "" {
		return false
	}
	s.id.Reset()
	s.id.Write(s.bytesOf(id))
	s.sum = s.id.Sum(s.sum[:0])
	copy(sum[:], s.sum)
	return true
}

// IDHash is Keyring.IDHash.
func (s *Sealer) IDHash(id string) string { return string(s.AppendIDHash(nil, id)) }
