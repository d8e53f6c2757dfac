package bot

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/silenceper/wechat/v2/util"
)

// Errors of the callback crypto. Each is a refusal with no side effect (HTTP 4xx).
var (
	ErrSignature = errors.New("wecom callback: bad msg_signature")
	ErrDecrypt   = errors.New("wecom callback: cannot decrypt (bad base64, length or padding)")
	ErrReceiveID = errors.New("wecom callback: wrong ReceiveId")
)

// padBlock is WeCom's PKCS#7 block: 32 bytes, not AES's 16.
const padBlock = 32

// Crypto is WeCom's callback scheme (消息加解密): the msg_signature over the sorted token,
// timestamp, nonce and ciphertext, and AES-256-CBC with IV = key[:16] over
// 16 random bytes | 4-byte big-endian length | message | ReceiveId.
type Crypto struct {
	token     string
	key       []byte
	block     cipher.Block
	receiveID []byte
}

// NewCrypto checks the EncodingAESKey (43 characters) and returns the scheme for one
// endpoint. receiveID is the CorpID for the app callback and "" for the AI bot.
func NewCrypto(token, encodingAESKey, receiveID string) (*Crypto, error) {
	if token == "" {
		return nil, errors.New("wecom crypto: empty Token")
	}
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wecom crypto: EncodingAESKey must be 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("wecom crypto: EncodingAESKey is not valid base64 of 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wecom crypto: %w", err)
	}
	return &Crypto{token: token, key: key, block: block, receiveID: []byte(receiveID)}, nil
}

// Sign is the msg_signature of one ciphertext (the SDK's sorted SHA-1).
func (c *Crypto) Sign(timestamp, nonce, encrypt string) string {
	return util.Signature(c.token, timestamp, nonce, encrypt)
}

// Verify checks a msg_signature in constant time.
func (c *Crypto) Verify(signature, timestamp, nonce, encrypt string) bool {
	want := c.Sign(timestamp, nonce, encrypt)
	return subtle.ConstantTimeCompare([]byte(want), []byte(signature)) == 1
}

// Open verifies the signature and decrypts; it is the whole check of one callback.
func (c *Crypto) Open(signature, timestamp, nonce, encrypt string) ([]byte, error) {
	if !c.Verify(signature, timestamp, nonce, encrypt) {
		return nil, ErrSignature
	}
	return c.Decrypt(encrypt)
}

// Decrypt decrypts a base64 ciphertext and checks padding, length and ReceiveId. The SDK's
// util.DecryptMsg cannot be used for the AI bot because it refuses an empty ReceiveId.
func (c *Crypto) Decrypt(encrypt string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.block, c.key[:16]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > padBlock || pad > len(pt) {
		return nil, ErrDecrypt
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, ErrDecrypt
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, ErrDecrypt
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, ErrDecrypt
	}
	msg, rid := pt[20:20+n], pt[20+n:]
	if !bytes.Equal(rid, c.receiveID) {
		return nil, ErrReceiveID
	}
	return msg, nil
}

// Encrypt encrypts msg for this endpoint's ReceiveId with random bytes from r (nil means
// crypto/rand). The simulator and passive replies use it.
func (c *Crypto) Encrypt(msg []byte, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	pt := make([]byte, 20, 20+len(msg)+len(c.receiveID)+padBlock)
	if _, err := io.ReadFull(r, pt[:16]); err != nil {
		return "", fmt.Errorf("wecom encrypt: random: %w", err)
	}
	binary.BigEndian.PutUint32(pt[16:20], uint32(len(msg)))
	pt = append(pt, msg...)
	pt = append(pt, c.receiveID...)
	pad := padBlock - len(pt)%padBlock
	pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(c.block, c.key[:16]).CryptBlocks(pt, pt)
	return base64.StdEncoding.EncodeToString(pt), nil
}

// Seal encrypts and signs: it returns the ciphertext and its msg_signature.
func (c *Crypto) Seal(msg []byte, timestamp, nonce string) (encrypt, signature string, err error) {
	encrypt, err = c.Encrypt(msg, nil)
	if err != nil {
		return "", "", err
	}
	return encrypt, c.Sign(timestamp, nonce, encrypt), nil
}
