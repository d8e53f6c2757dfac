package bot

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
)

// FileRef is a file a user sent the AI bot in single chat: where to fetch it (a WeCom
// address valid for a few minutes) and the key its bytes are encrypted with.
type FileRef struct {
	URL    string `json:"url"`
	AESKey string `json:"aeskey,omitempty"`
}

// Download errors. Each says what a person can be told; none carries the URL's query.
var (
	// ErrDownloadTooLarge is a file beyond the limit, declared or found while streaming.
	ErrDownloadTooLarge = errors.New("wecom file: larger than the limit")
	// ErrDownloadGone is an address WeCom no longer serves (expired: it lives minutes).
	ErrDownloadGone = errors.New("wecom file: the download address has expired or is unknown")
	// ErrFileKey is a file key that is not base64 of 32 bytes.
	ErrFileKey = errors.New("wecom file: bad aeskey")
	// ErrFileCipher is content that does not decrypt (length or padding wrong).
	ErrFileCipher = errors.New("wecom file: cannot decrypt the content")
)

// FileKey is the AES key of a downloaded file: base64 of aeskey, padded with "=" to 44
// characters; without aeskey, the AI bot's own EncodingAESKey (fallback, 43 characters).
func FileKey(aeskey, fallback string) ([]byte, error) {
	k := strings.TrimSpace(aeskey)
	if k == "" {
		k = fallback
	}
	if len(k) < 44 {
		k += strings.Repeat("=", 44-len(k))
	}
	key, err := base64.StdEncoding.DecodeString(k)
	if err != nil || len(key) != 32 {
		return nil, ErrFileKey
	}
	return key, nil
}

// Download fetches a file a user sent the AI bot, decrypts it and writes the plain bytes
// to w, at most limit of them. The URL must be on WeCom's host, by the rule of
// CheckResponseURL (a *ForeignURLError otherwise, before any request). The declared length
// and the bytes as they stream are both held to the limit, so a large file is refused
// without being read whole. It returns the file's name from Content-Disposition ("" when
// WeCom gives none) and the plain length.
func (c *Client) Download(ctx context.Context, ref FileRef, fallbackKey string, limit int64, w io.Writer) (name string, n int64, err error) {
	if err := c.CheckResponseURL(ref.URL); err != nil {
		return "", 0, err
	}
	key, err := FileKey(ref.AESKey, fallbackKey)
	if err != nil {
		return "", 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.URL, nil)
	if err != nil {
		return "", 0, fmt.Errorf("wecom file: %w", err)
	}
	// The client's own timeout is for small API calls; a 50 MB file takes longer.
	hc := &http.Client{Transport: c.HTTP.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, &CallError{API: "file download", Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusForbidden:
		return "", 0, ErrDownloadGone
	case resp.StatusCode != http.StatusOK:
		return "", 0, &APIError{API: "file download", Status: resp.StatusCode}
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		// WeCom answers an expired address with an errcode, not the file.
		return "", 0, ErrDownloadGone
	}
	// PKCS#7 to 32 adds at most 32 bytes to the plain file.
	maxCipher := limit + padBlock
	if resp.ContentLength > maxCipher {
		return "", 0, ErrDownloadTooLarge
	}
	name = dispositionName(resp.Header.Get("Content-Disposition"))
	dec := &cbcWriter{w: w, mode: cipher.NewCBCDecrypter(mustCipher(key), key[:16]), limit: limit}
	body := io.LimitReader(resp.Body, maxCipher+1)
	read, err := io.Copy(dec, body)
	if err != nil {
		return "", dec.n, err
	}
	if read > maxCipher {
		return "", dec.n, ErrDownloadTooLarge
	}
	if err := dec.Close(); err != nil {
		return "", dec.n, err
	}
	return name, dec.n, nil
}

func mustCipher(key []byte) cipher.Block {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // FileKey returned 32 bytes
	}
	return b
}

// dispositionName reads filename* (RFC 5987, UTF-8) or filename from a
// Content-Disposition header, keeping only the last path element.
func dispositionName(h string) string {
	if h == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(h)
	if err != nil {
		return ""
	}
	name := params["filename"] // mime decodes filename* into filename
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// cbcWriter decrypts AES-CBC as it is written, keeping the last block back until Close,
// where its PKCS#7 padding (to 32 bytes) is checked and removed.
type cbcWriter struct {
	w     io.Writer
	mode  cipher.BlockMode
	limit int64
	buf   []byte // ciphertext not yet decrypted: less than a block, or the held-back last one
	n     int64  // plain bytes written
}

func (d *cbcWriter) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	// Keep at least one whole block back: it may be the last, with the padding.
	keep := padBlock
	if r := len(d.buf) % aes.BlockSize; r != 0 {
		keep = padBlock + r
	}
	if len(d.buf) <= keep {
		return len(p), nil
	}
	cut := len(d.buf) - keep
	plain := make([]byte, cut)
	d.mode.CryptBlocks(plain, d.buf[:cut])
	d.buf = append(d.buf[:0], d.buf[cut:]...)
	if err := d.emit(plain); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (d *cbcWriter) emit(plain []byte) error {
	if d.n+int64(len(plain)) > d.limit {
		return ErrDownloadTooLarge
	}
	n, err := d.w.Write(plain)
	d.n += int64(n)
	if err != nil {
		return fmt.Errorf("wecom file: write: %w", err)
	}
	return nil
}

// Close decrypts the held-back blocks and removes the padding.
func (d *cbcWriter) Close() error {
	if len(d.buf) == 0 || len(d.buf)%aes.BlockSize != 0 {
		return ErrFileCipher
	}
	plain := make([]byte, len(d.buf))
	d.mode.CryptBlocks(plain, d.buf)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > padBlock || pad > len(plain) {
		return ErrFileCipher
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return ErrFileCipher
		}
	}
	return d.emit(plain[:len(plain)-pad])
}

// EncryptFile encrypts content as WeCom serves a file the AI bot receives (the simulator
// and tests use it): AES-256-CBC, IV = key[:16], PKCS#7 padding to 32 bytes.
func EncryptFile(key, content []byte) []byte {
	pad := padBlock - len(content)%padBlock
	out := make([]byte, len(content)+pad)
	copy(out, content)
	for i := len(content); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(mustCipher(key), key[:16]).CryptBlocks(out, out)
	return out
}
