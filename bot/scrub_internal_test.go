package bot

import (
	"bytes"
	"crypto/cipher"
	"testing"
)

// PostgreSQL's jsonb refuses NUL: a file message's address and key lose theirs before the
// inbox stores it, and the caller's message is left as it was.
func TestScrubCleansAFileMessage(t *testing.T) {
	t.Parallel()
	in := Message{ID: "aibot:1", File: &FileRef{URL: "https://qyapi.weixin.qq.com/f\x00/1", AESKey: "k\x00ey"}}
	out := scrub(in)
	if out.File.URL != "https://qyapi.weixin.qq.com/f/1" || out.File.AESKey != "key" {
		t.Fatalf("scrubbed file = %+v", out.File)
	}
	if in.File.AESKey != "k\x00ey" {
		t.Errorf("the caller's message was changed")
	}
}

// FuzzFileDecrypt feeds the streaming decryption of a downloaded file any bytes, cut
// anywhere: it never panics, never writes past its limit, and takes only whole blocks
// whose padding it removed (TestDownloadDecryptsAndNamesTheFile checks the round trip).
func FuzzFileDecrypt(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	f.Add(EncryptFile(key, []byte("姓名,身份证号\n")), uint8(5))
	f.Add([]byte("short"), uint8(1))
	f.Add(EncryptFile(key, bytes.Repeat([]byte("x"), 100)), uint8(33))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var out bytes.Buffer
		d := &cbcWriter{w: &out, mode: cipher.NewCBCDecrypter(mustCipher(key), key[:16]), limit: 64}
		n := max(int(step), 1)
		var err error
		for i := 0; i < len(data) && err == nil; i += n {
			_, err = d.Write(data[i:min(i+n, len(data))])
		}
		if err == nil {
			err = d.Close()
		}
		if out.Len() > 64 {
			t.Fatalf("wrote %d bytes past the limit of 64", out.Len())
		}
		if pad := len(data) - out.Len(); err == nil && (len(data)%16 != 0 || pad < 1 || pad > 32) {
			t.Fatalf("took %d bytes as %d: not whole blocks with 1–32 bytes of padding", len(data), out.Len())
		}
	})
}
