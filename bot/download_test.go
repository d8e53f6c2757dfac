package bot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
)

// fileServer serves body (already encrypted) with the given headers; chunked when
// length is false, so only the streaming check can see the size.
func fileServer(t *testing.T, body []byte, length bool, header map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if !length {
			// write in pieces with flushes: no Content-Length
			for i := 0; i < len(body); i += 1000 {
				w.Write(body[i:min(i+1000, len(body))])
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newKey(t *testing.T) ([]byte, string) {
	key := make([]byte, 32)
	rand.Read(key)
	return key, strings.TrimRight(base64.StdEncoding.EncodeToString(key), "=")
}

func TestDownloadDecryptsAndNamesTheFile(t *testing.T) {
	t.Parallel()
	key, aeskey := newKey(t)
	plain := bytes.Repeat([]byte("姓名,身份证号\n"), 5000) // not a multiple of 32
	srv := fileServer(t, bot.EncryptFile(key, plain), false,
		map[string]string{"Content-Disposition": `attachment; filename*=UTF-8''%E5%8C%BB%E4%BF%9D.xlsx`})
	c := bot.NewClient(srv.URL, "ww1", 1, "s", nil)
	var out bytes.Buffer
	name, n, err := c.Download(context.Background(), bot.FileRef{URL: srv.URL + "/f/1", AESKey: aeskey}, "", 1<<20, &out)
	if err != nil {
		t.Fatal(err)
	}
	if name != "医保.xlsx" || n != int64(len(plain)) || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("got name %q, %d bytes (equal: %v), want 医保.xlsx and %d bytes", name, n, bytes.Equal(out.Bytes(), plain), len(plain))
	}
}

func TestDownloadFallsBackToTheBotKey(t *testing.T) {
	t.Parallel()
	key, aeskey := newKey(t)
	plain := []byte("hello")
	srv := fileServer(t, bot.EncryptFile(key, plain), true, nil)
	c := bot.NewClient(srv.URL, "ww1", 1, "s", nil)
	var out bytes.Buffer
	if _, _, err := c.Download(context.Background(), bot.FileRef{URL: srv.URL + "/f"}, aeskey, 1<<20, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello" {
		t.Fatalf("got %q", out.String())
	}
	// A wrong key: the padding does not check out.
	_, other := newKey(t)
	out.Reset()
	if _, _, err := c.Download(context.Background(), bot.FileRef{URL: srv.URL + "/f", AESKey: other}, "", 1<<20, &out); !errors.Is(err, bot.ErrFileCipher) {
		t.Fatalf("wrong key: err = %v, want ErrFileCipher", err)
	}
}

func TestDownloadRefusesLargeFilesByDeclaredAndByStreamedSize(t *testing.T) {
	t.Parallel()
	key, aeskey := newKey(t)
	plain := bytes.Repeat([]byte("x"), 10_000)
	enc := bot.EncryptFile(key, plain)
	for _, declared := range []bool{true, false} {
		srv := fileServer(t, enc, declared, nil)
		c := bot.NewClient(srv.URL, "ww1", 1, "s", nil)
		var out bytes.Buffer
		_, _, err := c.Download(context.Background(), bot.FileRef{URL: srv.URL + "/f", AESKey: aeskey}, "", 4096, &out)
		if !errors.Is(err, bot.ErrDownloadTooLarge) {
			t.Errorf("declared=%v: err = %v, want ErrDownloadTooLarge", declared, err)
		}
		if out.Len() > 4096 {
			t.Errorf("declared=%v: %d bytes written past the 4096 limit", declared, out.Len())
		}
	}
	// Exactly at the limit is taken.
	srv := fileServer(t, bot.EncryptFile(key, plain[:4096]), false, nil)
	c := bot.NewClient(srv.URL, "ww1", 1, "s", nil)
	if _, n, err := c.Download(context.Background(), bot.FileRef{URL: srv.URL + "/f", AESKey: aeskey}, "", 4096, &bytes.Buffer{}); err != nil || n != 4096 {
		t.Fatalf("at the limit: n=%d err=%v", n, err)
	}
}

func TestDownloadRefusesForeignAndExpiredAddresses(t *testing.T) {
	t.Parallel()
	_, aeskey := newKey(t)
	hits := 0
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer foreign.Close()
	wecom := fileServer(t, []byte(`{"errcode":40007,"errmsg":"invalid media_id"}`), true, map[string]string{"Content-Type": "application/json"})
	c := bot.NewClient(wecom.URL, "ww1", 1, "s", nil)
	var fe *bot.ForeignURLError
	_, _, err := c.Download(context.Background(), bot.FileRef{URL: foreign.URL + "/f", AESKey: aeskey}, "", 1<<20, &bytes.Buffer{})
	if !errors.As(err, &fe) || hits != 0 {
		t.Fatalf("foreign host: err = %v, %d requests made; want ForeignURLError and none", err, hits)
	}
	if strings.Contains(err.Error(), "?") {
		t.Errorf("error names the query: %v", err)
	}
	if _, _, err := c.Download(context.Background(), bot.FileRef{URL: wecom.URL + "/f", AESKey: aeskey}, "", 1<<20, &bytes.Buffer{}); !errors.Is(err, bot.ErrDownloadGone) {
		t.Fatalf("expired: err = %v, want ErrDownloadGone", err)
	}
}

func TestParseAIBotFileMessage(t *testing.T) {
	t.Parallel()
	m, err := bot.ParseAIBotMessage([]byte(`{"msgid":"m1","chattype":"single","from":{"userid":"wangwu"},"msgtype":"file","file":{"url":"https://qyapi.weixin.qq.com/f/1","aeskey":"abc"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.File == nil || m.File.URL != "https://qyapi.weixin.qq.com/f/1" || m.File.AESKey != "abc" || m.UserID != "wangwu" {
		t.Fatalf("message = %+v, file %+v", m, m.File)
	}
	// Files come only in single chat; anything else is acknowledged and dropped.
	if _, err := bot.ParseAIBotMessage([]byte(`{"msgid":"m2","chattype":"group","chatid":"c","from":{"userid":"wangwu"},"msgtype":"file","file":{"url":"u"}}`)); !errors.Is(err, bot.ErrIgnored) {
		t.Fatalf("group file: err = %v, want ErrIgnored", err)
	}
}
