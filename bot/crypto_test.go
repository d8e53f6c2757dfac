package bot

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// readVectors reads testdata/vectors.txt, written by testdata/vectors.sh with openssl.
func readVectors(t *testing.T) (common map[string]string, sections map[string]map[string]string) {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	common, sections = map[string]string{}, map[string]map[string]string{}
	cur := common
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "[") {
			cur = map[string]string{}
			sections[strings.Trim(line, "[]")] = cur
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		cur[k] = v
	}
	return common, sections
}

func TestCryptoMatchesOpensslVectors(t *testing.T) {
	t.Parallel()
	common, sections := readVectors(t)
	for _, name := range []string{"app", "aibot"} {
		t.Run(name, func(t *testing.T) {
			v := sections[name]
			msg, err := os.ReadFile(filepath.Join("testdata", v["msg_file"]))
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewCrypto(common["token"], common["encoding_aes_key"], v["receive_id"])
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Open(v["msg_signature"], common["timestamp"], common["nonce"], v["encrypt"])
			if err != nil {
				t.Fatalf("open openssl's vector: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("decrypted %q, want %q", got, msg)
			}
			enc, err := c.Encrypt(msg, strings.NewReader(common["random"]))
			if err != nil {
				t.Fatal(err)
			}
			if enc != v["encrypt"] {
				t.Errorf("our ciphertext differs from openssl's:\n got %s\nwant %s", enc, v["encrypt"])
			}
			if sig := c.Sign(common["timestamp"], common["nonce"], enc); sig != v["msg_signature"] {
				t.Errorf("signature %s, want %s", sig, v["msg_signature"])
			}
			// The vectors parse into the message the bot expects.
			var m Message
			if name == "app" {
				m, err = ParseAppMessage(got, v["receive_id"])
			} else {
				m, err = ParseAIBotMessage(got)
			}
			if err != nil || m.Text != "帮助" || m.UserID != "zhangsan" {
				t.Errorf("parsed %+v, %v; want zhangsan saying 帮助", m, err)
			}
		})
	}
}

func TestCryptoRefusals(t *testing.T) {
	t.Parallel()
	common, sections := readVectors(t)
	v := sections["app"]
	c, _ := NewCrypto(common["token"], common["encoding_aes_key"], v["receive_id"])
	ts, nonce := common["timestamp"], common["nonce"]

	if _, err := c.Open(strings.Repeat("0", 40), ts, nonce, v["encrypt"]); !errors.Is(err, ErrSignature) {
		t.Errorf("forged signature: %v, want ErrSignature", err)
	}
	if _, err := c.Open(v["msg_signature"], "1409659814", nonce, v["encrypt"]); !errors.Is(err, ErrSignature) {
		t.Errorf("changed timestamp: %v, want ErrSignature", err)
	}
	other, _ := NewCrypto(common["token"], common["encoding_aes_key"], "wwOTHERCORP")
	if _, err := other.Decrypt(v["encrypt"]); !errors.Is(err, ErrReceiveID) {
		t.Errorf("wrong ReceiveId: %v, want ErrReceiveID", err)
	}
	ai, _ := NewCrypto(common["token"], common["encoding_aes_key"], "")
	if _, err := ai.Decrypt(v["encrypt"]); !errors.Is(err, ErrReceiveID) {
		t.Errorf("app message at the AI bot: %v, want ErrReceiveID", err)
	}
	// Flipping a bit of the last block breaks the padding.
	raw, _ := base64.StdEncoding.DecodeString(v["encrypt"])
	raw[len(raw)-1] ^= 0x5a
	if _, err := c.Decrypt(base64.StdEncoding.EncodeToString(raw)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("bad padding: %v, want ErrDecrypt", err)
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := c.Decrypt(bad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Decrypt(%q): %v, want ErrDecrypt", bad, err)
		}
	}
	if _, err := NewCrypto("t", "tooshort", ""); err == nil {
		t.Error("a short EncodingAESKey was accepted")
	}
}

// The SDK's encryption (ReceiveId = CorpID) is readable by ours and the other way round.
func TestCryptoInteropWithSDK(t *testing.T) {
	t.Parallel()
	common, _ := readVectors(t)
	key := common["encoding_aes_key"]
	c, _ := NewCrypto("tok", key, "wwcorp")
	sdk, err := util.EncryptMsg([]byte("0123456789abcdef"), []byte("<xml>你好</xml>"), "wwcorp", key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(string(sdk))
	if err != nil || string(got) != "<xml>你好</xml>" {
		t.Fatalf("decrypt SDK ciphertext: %q, %v", got, err)
	}
	ours, _ := c.Encrypt([]byte("<xml>再见</xml>"), nil)
	_, plain, err := util.DecryptMsg("wwcorp", ours, key)
	if err != nil || string(plain) != "<xml>再见</xml>" {
		t.Fatalf("SDK decrypting ours: %q, %v", plain, err)
	}
}
