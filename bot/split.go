package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Byte limits of WeCom's text fields.
const (
	LimitText            = 2048  // text.content: message/send, appchat/send, webhook/send
	LimitMarkdown        = 2048  // markdown.content: message/send, appchat/send
	LimitWebhookMarkdown = 4096  // markdown.content: webhook/send
	LimitResponseURL     = 20480 // AI bot markdown through response_url (unverified)
)

// CutUTF8 returns the longest prefix of s that is at most n bytes and ends on a character
// boundary.
func CutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SplitText cuts s into parts of at most limit bytes each, on character boundaries
// (preferring line breaks), numbered "（1/3）" when there is more than one, so nothing is
// lost to WeCom's silent truncation.
func SplitText(s string, limit int) []string {
	if len(s) <= limit {
		return []string{s}
	}
	// The numbering's width depends on the number of parts: retry until it is stable.
	for n := 2; ; n++ {
		prefix := len(fmt.Sprintf("（%d/%d）\n", n, n))
		parts := chunk(s, limit-prefix)
		if len(parts) <= n {
			for i := range parts {
				parts[i] = fmt.Sprintf("（%d/%d）\n", i+1, len(parts)) + parts[i]
			}
			return parts
		}
		n = len(parts) - 1
	}
}

func chunk(s string, n int) []string {
	var out []string
	for len(s) > n {
		c := CutUTF8(s, n)
		// Break at the last line break in the final quarter, if any.
		if i := strings.LastIndexByte(c, '\n'); i > len(c)*3/4 {
			c = c[:i+1]
		}
		if c == "" { // n smaller than one character: cannot happen with WeCom's limits
			_, sz := utf8.DecodeRuneInString(s)
			c = s[:sz]
		}
		out = append(out, strings.TrimRight(c, "\n"))
		s = s[len(c):]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
