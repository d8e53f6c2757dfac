package handlers

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/fangpin/fangpin/bot"
)

// What a cadre types after a command (a 理由, a 说明, an ID number typed by mistake) may hold
// an ID number, a phone number, an amount or a diagnosis. docs/privacy.md: a reply in a group repeats
// nothing typed beyond the command, the case number and the result word; the full reply goes
// to the sender privately. The guard sits here, in the router, so that every command and every
// error message is covered, including those written later.

// withheldNote replaces each typed fragment in a group reply.
const withheldNote = "（不在群里显示）"

// privateNote ends a group reply whose full text went to the sender privately.
const privateNote = "\n完整回复已私信发给您。"

var (
	// A run of six or more digits: an ID number, a phone or bank number, a 户编号.
	longDigitsRE = regexp.MustCompile(`[0-9０-９]{6,}`)
	// Words that may always be repeated: a case number, a month or a date.
	caseNoRE = regexp.MustCompile(`(?i)^YJ[0-9]{6}-[0-9]{4}$`)
	monthRE  = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}(-[0-9]{1,2})?$`)
)

// resultWords are the verdicts a command may repeat (核查, 抽查, 排查).
var resultWords = map[string]bool{"纳入": true, "已在监测": true, "不纳入": true, "合格": true, "不合格": true, "完成": true}

// typedFragments lists what the user typed that a group reply must not repeat: every argument
// after the command's public ones, the free text as a whole, any argument that looks like a
// number or an amount, and the command word itself when it is not a known command.
func typedFragments(name string, known bool, args []string, rest string, public int) []string {
	var out []string
	// An unknown word is repeated back ("我不认识“代办”") only when it could not hold a number
	// or a sentence: a cadre who glued a reason to the command word must not see it echoed.
	if !known && (utf8.RuneCountInString(name) > 6 || longDigitsRE.MatchString(name) || bot.HasAmount(name)) {
		out = append(out, name)
	}
	free := rest
	for i, a := range args {
		switch {
		case caseNoRE.MatchString(a) || monthRE.MatchString(a) || resultWords[a]:
			// never private: fine to repeat
		case i < public && !longDigitsRE.MatchString(a) && !bot.HasAmount(a):
			// a public word (a township, a department): fine to repeat
		default:
			out = append(out, a)
		}
		if i < public {
			free = strings.TrimSpace(strings.TrimPrefix(free, a))
		}
	}
	if len(args) > public && free != "" {
		out = append(out, free)
	}
	return out
}

// groupSafe returns the reply as the group may see it, and whether anything was withheld (then
// the full reply must go to the sender privately).
func groupSafe(reply string, typed []string) (string, bool) {
	safe := reply
	// Longest first, so that the whole 理由 is replaced before its words are.
	sort.Slice(typed, func(i, j int) bool { return len(typed[i]) > len(typed[j]) })
	for _, f := range typed {
		f = strings.TrimSpace(f)
		if utf8.RuneCountInString(f) < 2 {
			continue
		}
		safe = strings.ReplaceAll(safe, f, withheldNote)
	}
	// Whatever the command made of the text (trimmed, cut, re-quoted), no number or amount
	// reaches the group.
	safe = bot.GroupSafe(safe, bot.GroupWords{})
	// Repeated notes (a reason cut into words) read as one.
	for strings.Contains(safe, withheldNote+withheldNote) {
		safe = strings.ReplaceAll(safe, withheldNote+withheldNote, withheldNote)
	}
	if safe == reply {
		return reply, false
	}
	return safe + privateNote, true
}
