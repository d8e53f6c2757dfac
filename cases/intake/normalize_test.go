package intake

import (
	"strings"
	"testing"
)

// An ID number Excel stored as a number is refused with the number as Excel shows it, but no
// more of it than a masked number shows (its first 6 digits): the message is kept with the
// push in plain text and sent to the liaison.
func TestCheckIDMasksANumberExcelMadeOfAnID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"9.906061986101897e+17", "9.90606…e+17"},
		{"9.90606E+17", "9.90606E+17"}, // what a CSV saved by Excel holds: nothing more to hide
		{"9.9060619861019E+17", "9.90606…E+17"},
	} {
		err := CheckID(tc.in)
		if err == nil || !strings.Contains(err.Error(), "存成了数字（"+tc.want+"）") {
			t.Errorf("CheckID(%q) = %v, want the number shown as %s", tc.in, err, tc.want)
		}
		if strings.Contains(err.Error(), "1986") {
			t.Errorf("CheckID(%q) = %v: shows the birth date", tc.in, err)
		}
	}
}
