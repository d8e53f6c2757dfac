package bot

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
)

// idNumberRE finds 18-character 居民身份证号 (17 digits and a digit or X) standing alone.
var idNumberRE = regexp.MustCompile(`(^|[^0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])($|[^0-9])`)

// MaskIDNumbers replaces every full ID number in s with its masked form
// (first 6 + ******** + last 4), the same shape as cases.MaskIDNumber.
func MaskIDNumbers(s string) string {
	if len(s) < 18 {
		return s
	}
	// Matches may share a separator, so run until nothing changes.
	for {
		t := idNumberRE.ReplaceAllString(s, "${1}${2}********${3}${4}")
		if t == s {
			return t
		}
		s = t
	}
}

// RedactAttr is a slog ReplaceAttr that masks ID numbers in every string, error and
// stringer attribute, the message included.
func RedactAttr(_ []string, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) >= 18 {
			return slog.String(a.Key, MaskIDNumbers(s))
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, MaskIDNumbers(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, MaskIDNumbers(x.String()))
		case []byte:
			return slog.String(a.Key, MaskIDNumbers(string(x)))
		default:
			// Structs and maps: only when their printed form holds an ID number is it
			// replaced by the masked print.
			if s := fmt.Sprintf("%+v", x); MaskIDNumbers(s) != s {
				return slog.String(a.Key, MaskIDNumbers(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// NewLogger returns a JSON logger that never writes a full ID number.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: RedactAttr}))
}
