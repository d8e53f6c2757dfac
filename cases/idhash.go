package cases

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// DemoHashKey is the keyed hash's key when FANGPIN_HASH_KEY is not set: fine for the demo
// and the tests, useless as protection, since it is published here. It is the SHA-256 of
// "fangpin demo hash key - not for production".
var DemoHashKey = func() []byte {
	h := sha256.Sum256([]byte("fangpin demo hash key - not for production"))
	return h[:]
}()

// IDHash is the keyed hash of a normalised ID number (HMAC-SHA256, 64 hex digits): what is
// kept of a person once retention has removed the number, and the same person's key
// wherever their number must not be stored in plain. An empty number hashes to "".
func IDHash(key []byte, id string) string {
	id = NormalizeIDNumber(id)
	if id == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}
