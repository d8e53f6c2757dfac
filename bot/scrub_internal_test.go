package bot

import "testing"

// PostgreSQL's jsonb refuses NUL: a file message's address and key lose theirs before the
// inbox stores it, and the caller's message is left as it was.
func TestScrubCleansAFileMessage(t *testing.T) {
	in := Message{ID: "aibot:1", File: &FileRef{URL: "https://qyapi.weixin.qq.com/f\x00/1", AESKey: "k\x00ey"}}
	out := scrub(in)
	if out.File.URL != "https://qyapi.weixin.qq.com/f/1" || out.File.AESKey != "key" {
		t.Fatalf("scrubbed file = %+v", out.File)
	}
	if in.File.AESKey != "k\x00ey" {
		t.Errorf("the caller's message was changed")
	}
}
