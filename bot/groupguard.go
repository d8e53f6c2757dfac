package bot

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Every text that reaches a group chat (appchat/send, webhook/send, and an AI bot answer
// given in a group) passes GroupSafe in the outbox worker, whatever built it: a round's
// summary, a digest, a reply, a department's cell value copied into any of them. The
// messages' builders mask what they know to be personal; this is the net under them, and
// it is the one place a future message cannot go around. See docs/privacy.md.

// GroupWords are the words a group message must not show besides the patterns GroupSafe
// knows by itself (ID numbers, phone numbers, amounts of money).
type GroupWords struct {
	// Hide are words removed wherever they appear: diagnoses and 病种.
	Hide []string
	// Names maps a person's full name to its masked form (张三丰 → 张*丰).
	Names map[string]string
}

// GroupWordSource gives the words GroupSafe hides; the worker asks it before each group
// send (an implementation caches).
type GroupWordSource interface {
	GroupWords(ctx context.Context) (GroupWords, error)
}

// HiddenNote replaces a diagnosis in a group message.
const HiddenNote = "（不公开）"

var (
	// An 18-character ID number standing alone (a 15-digit old one is a long digit run).
	groupIDRE = regexp.MustCompile(`(^|[^0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])($|[^0-9])`)
	// A mobile phone number standing alone.
	groupPhoneRE = regexp.MustCompile(`(^|[^0-9０-９])(1[3-9][0-9])[0-9]{4}([0-9]{4})($|[^0-9０-９])`)
	// A landline: area code, dash, 7 or 8 digits.
	groupLandlineRE = regexp.MustCompile(`(^|[^0-9])0[0-9]{2,3}[-－ ][0-9]{7,8}($|[^0-9])`)
	// Any other run of 11 or more digits (bank cards, 户编号 with account numbers).
	groupLongDigitsRE = regexp.MustCompile(`[0-9０-９]{11,}`)
	// An amount of money: digits with 元/万元/万/块, or a currency sign before them.
	groupAmountRE = regexp.MustCompile(`(?:[¥￥]\s*[0-9０-９][0-9０-９,，.．]*)|(?:[0-9０-９][0-9０-９,，.．]*\s*(?:万元|元|万|块钱|块))`)
	// Links are kept as they are: their query strings are signatures, not personal data.
	groupURLRE = regexp.MustCompile(`https?://[^\s<>"'）)]+`)
)

// GroupSafe returns s as a group may read it: full ID numbers masked (first 6 + ******** +
// last 4), phone numbers masked, amounts of money and long digit runs replaced by ***,
// the words in w.Hide replaced by HiddenNote and the names in w.Names masked.
func GroupSafe(s string, w GroupWords) string {
	locs := groupURLRE.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return groupSafeText(s, w)
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		b.WriteString(groupSafeText(s[last:l[0]], w))
		b.WriteString(s[l[0]:l[1]])
		last = l[1]
	}
	b.WriteString(groupSafeText(s[last:], w))
	return b.String()
}

func groupSafeText(s string, w GroupWords) string {
	if s == "" {
		return s
	}
	for {
		t := groupIDRE.ReplaceAllString(s, "${1}${2}********${3}${4}")
		t = groupPhoneRE.ReplaceAllString(t, "${1}${2}****${3}${4}")
		t = groupLandlineRE.ReplaceAllString(t, "${1}***${2}")
		if t == s {
			break
		}
		s = t
	}
	s = groupLongDigitsRE.ReplaceAllString(s, "***")
	s = groupAmountRE.ReplaceAllString(s, "***")
	hide := append([]string(nil), w.Hide...)
	// Longest first, so that 肺癌晚期 goes before 肺癌.
	sort.Slice(hide, func(i, j int) bool { return len(hide[i]) > len(hide[j]) })
	for _, h := range hide {
		if h = strings.TrimSpace(h); h != "" && strings.Contains(s, h) {
			s = strings.ReplaceAll(s, h, HiddenNote)
		}
	}
	for strings.Contains(s, HiddenNote+HiddenNote) {
		s = strings.ReplaceAll(s, HiddenNote+HiddenNote, HiddenNote)
	}
	if len(w.Names) > 0 {
		names := make([]string, 0, len(w.Names))
		for n := range w.Names {
			if utf8.RuneCountInString(n) >= 2 && strings.Contains(s, n) {
				names = append(names, n)
			}
		}
		sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
		for _, n := range names {
			s = strings.ReplaceAll(s, n, w.Names[n])
		}
	}
	return s
}

// HasAmount reports whether s holds an amount of money as GroupSafe finds one.
func HasAmount(s string) bool { return groupAmountRE.MatchString(s) }

// groupSafeFields applies GroupSafe to every text of a message body (a card's titles and
// descriptions too), leaving alone what WeCom reads as an address or a key.
func groupSafeFields(v any, w GroupWords) any {
	switch x := v.(type) {
	case string:
		return GroupSafe(x, w)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = groupSafeFields(e, w)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			switch k {
			case "url", "pagepath", "appid", "key", "task_id", "media_id", "mentioned_list", "mentioned_mobile_list", "picurl", "jump_list":
				out[k] = e
			default:
				out[k] = groupSafeFields(e, w)
			}
		}
		return out
	}
	return v
}

// InGroup reports whether a row's message is read in a group chat.
func (r *OutboxRow) InGroup(payloadGroup bool) bool {
	return r.Channel == ToAppChat || r.Channel == ToWebhook || payloadGroup
}
