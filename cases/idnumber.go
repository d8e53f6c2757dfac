package cases

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NormalizeIDNumber trims spaces, turns full-width digits and letters into ASCII and a
// lower-case x into X, so that the same person always has the same key.
func NormalizeIDNumber(s string) string {
	if plainIDNumber(s) {
		return s // what exports mostly hold: nothing to change, nothing to copy
	}
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '０' && r <= '９':
			r = '0' + (r - '０')
		case r == 'ｘ' || r == 'Ｘ' || r == 'x':
			r = 'X'
		case r == ' ' || r == '\u3000' || r == '\t':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// plainIDNumber reports whether s is 17 ASCII digits and a digit or X, which
// NormalizeIDNumber returns unchanged.
func plainIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[17] >= '0' && s[17] <= '9' || s[17] == 'X'
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// IDCheckChar computes the GB 11643 check character for the first 17 digits.
func IDCheckChar[T string | []byte](first17 T) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// ValidateIDNumber checks an already normalised 18-character resident ID number:
// digits, a real birth date and the GB 11643 check character. The error is Chinese
// and never repeats the full number.
func ValidateIDNumber(id string) error {
	if utf8.RuneCountInString(id) != 18 {
		return fmt.Errorf("身份证号应为 18 位，这里是 %d 位", utf8.RuneCountInString(id))
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return fmt.Errorf("身份证号前 17 位应全是数字")
		}
	}
	last := id[17]
	if (last < '0' || last > '9') && last != 'X' {
		return fmt.Errorf("身份证号最后一位应为数字或 X")
	}
	birth := id[6:14]
	d, err := ParseDate(birth)
	if err != nil || d.Year < 1900 {
		return fmt.Errorf("身份证号中的出生日期 %s 不存在", birth)
	}
	if want := IDCheckChar(id[:17]); want != last {
		return fmt.Errorf("身份证号校验位不对（%s），请核对号码", MaskIDNumber(id))
	}
	return nil
}

// MaskIDNumber keeps the first 6 and last 4 characters (docs/privacy.md): 110101********1234.
func MaskIDNumber(id string) string {
	r := []rune(id)
	if len(r) < 10 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
}

// MaskName keeps the surname and, for names of three or more characters, the last
// character (张*明); two-character names become 张* (docs/privacy.md).
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch len(r) {
	case 0:
		return ""
	case 1:
		return string(r) + "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// IDKey is an 18-character ID number's first 17 digits as a number. The check character
// follows from them, so for valid ID numbers the key stands for the number in 8 bytes, for
// sets of hundreds of thousands of people. ok is false when id has no such key.
func IDKey(id string) (key uint64, ok bool) {
	if len(id) != 18 {
		return 0, false
	}
	for i := 0; i < 17; i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		key = key*10 + uint64(c-'0')
	}
	return key, true
}

// AppendIDNumber appends to dst the ID number whose IDKey is key: its 17 digits and their
// check character. It is the number IDKey read when that number was valid.
func AppendIDNumber(dst []byte, key uint64) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 18)[:n+18]
	d := dst[n : n+17]
	d[0] = byte('0' + key/1e16%10)
	key %= 1e16
	for i := 15; i >= 1; i -= 2 { // two digits a step: a push asks this of each of its people
		two := key % 100
		key /= 100
		d[i], d[i+1] = twoDigits[2*two], twoDigits[2*two+1]
	}
	dst[n+17] = IDCheckChar(d)
	return dst
}

const twoDigits = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// IDKeySet holds the IDKey of a set of ID numbers, or of their keyed hashes (IDHash).
type IDKeySet map[uint64]struct{}

// Add adds id; an ID number without a key is left out.
func (s IDKeySet) Add(id string) {
	if k, ok := setKey(id); ok {
		s[k] = struct{}{}
	}
}

// MayHoldSum is MayHold for a raw keyed hash (seal.Sealer.SumID): the set's key of its hex.
func (s IDKeySet) MayHoldSum(sum *[32]byte) bool {
	if s == nil {
		return true
	}
	_, in := s[binary.BigEndian.Uint64(sum[:8])]
	return in
}

// setKey is an ID number's IDKey, or a keyed hash's first 64 bits: two hashes that share
// them only make a look-up that finds nothing.
func setKey(id string) (uint64, bool) {
	if len(id) == 64 {
		k, err := strconv.ParseUint(id[:16], 16, 64)
		return k, err == nil
	}
	return IDKey(id)
}

// MayHold reports whether id may be in the set: it is false only for an ID number with a
// key that no number of the set has. A number without a key may be anything, and a nil set
// stands for a set not read, so both are true.
func (s IDKeySet) MayHold(id string) bool {
	k, ok := setKey(id)
	if !ok || s == nil {
		return true
	}
	_, in := s[k]
	return in
}
