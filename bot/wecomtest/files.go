package wecomtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
)

// Files users send the AI bot in single chat: WeCom keeps the encrypted bytes at a
// download address on its own host for a few minutes and names it, with the key, in a
// msgtype=file callback (wecom.md, "Files from users"). The simulator does the same.

// FileTTL is how long a file's download address works (WeCom: about five minutes).
const FileTTL = 5 * time.Minute

type userFile struct {
	name      string
	encrypted []byte
	expires   time.Time
}

// FileMessageJSON is the decrypted JSON of a file a user sends the AI bot in single chat.
func (s *Server) FileMessageJSON(userid, msgid, fileURL, aeskey string) []byte {
	m := map[string]any{"msgid": msgid, "aibotid": "aibot" + s.CorpID, "chattype": "single",
		"from": map[string]any{"userid": userid}, "msgtype": "file",
		"response_url": s.URL + "/cgi-bin/aibot/response?response_code=rc" + randHex(10),
		"file":         map[string]any{"url": fileURL, "aeskey": aeskey}}
	b, _ := json.Marshal(m)
	return b
}

// SendFile plays userid sending a file to the AI bot in single chat: its bytes are
// encrypted under a fresh key and served at a download address on the simulator's host,
// and the bot gets the signed, encrypted msgtype=file callback naming address and key.
func (s *Server) SendFile(ctx context.Context, userid, name string, content []byte) (msgid string, err error) {
	u, aeskey := s.ServeFile(name, content)
	return s.PostFileMessage(ctx, userid, u, aeskey)
}

// ServeFile encrypts content under a fresh key and serves it for FileTTL: it returns the
// download address and the aeskey a file message names.
func (s *Server) ServeFile(name string, content []byte) (fileURL, aeskey string) {
	key := make([]byte, 32)
	rand.Read(key)
	id := "f" + randHex(12)
	s.mu.Lock()
	s.files[id] = &userFile{name: name, encrypted: bot.EncryptFile(key, content), expires: time.Now().Add(FileTTL)}
	s.mu.Unlock()
	// WeCom's aeskey is the key in base64 without its padding.
	return s.URL + "/cgi-bin/aibot/file/" + id, strings.TrimRight(base64.StdEncoding.EncodeToString(key), "=")
}

// PostFileMessage posts a msgtype=file callback naming any address and key (a test's
// foreign or expired address).
func (s *Server) PostFileMessage(ctx context.Context, userid, fileURL, aeskey string) (msgid string, err error) {
	msgid = "aibotfile" + s.nextID()
	q, body := s.SealAIBot(s.FileMessageJSON(userid, msgid, fileURL, aeskey))
	_, err = s.Post(ctx, s.AIBotCallbackURL, q, body)
	return msgid, err
}

// ExpireFiles makes every download address served so far stale, as WeCom's are after a
// few minutes.
func (s *Server) ExpireFiles() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		f.expires = time.Time{}
	}
}

// Downloads is how many times the bot fetched a file users sent.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// fileDownload serves a file's encrypted bytes, named in Content-Disposition; a stale or
// unknown address gets WeCom's JSON error instead.
func (s *Server) fileDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.files[r.PathValue("id")]
	ok := f != nil && time.Now().Before(f.expires)
	if ok {
		s.downloads++
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"errcode": 40007, "errmsg": "invalid media_id or expired"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.name}))
	w.Header().Set("Content-Length", fmt.Sprint(len(f.encrypted)))
	w.Write(f.encrypted)
}

// SayFile plays userid sending a file in the private chat, as the page shows it.
func (s *Server) SayFile(ctx context.Context, userid, name string, content []byte) (string, error) {
	s.recordSaid(Said{UserID: userid, FileName: name, FileData: append([]byte(nil), content...)})
	return s.SendFile(ctx, userid, name, content)
}
