package sheet

import (
	"bytes"
	"testing"
)

// FuzzLineGuardUnquoted: the fast path for bytes without a quote ends in the same state,
// record length, line and error as following the bytes one by one, whatever the chunks.
func FuzzLineGuardUnquoted(f *testing.F) {
	f.Add([]byte("姓名,身份证号\n张三,1\r\n,,\n"), uint8(0), uint8(7), false)
	f.Add([]byte("a,b\nccccccccc\n"), uint8(3), uint8(2), true)
	f.Add([]byte(",\r\r\n\n,"), uint8(1), uint8(1), false)
	f.Fuzz(func(t *testing.T, data []byte, max, chunk uint8, unquoted bool) {
		data = bytes.ReplaceAll(data, []byte{'"'}, []byte{'x'})
		if chunk == 0 {
			chunk = 1
		}
		start := csvFieldStart
		if unquoted {
			start = csvUnquoted
		}
		fast := &lineGuard{max: int(max) + 1, state: start, line: 1, recLine: 1}
		slow := *fast
		for p := data; len(p) > 0 && fast.err == nil; {
			n := min(len(p), int(chunk))
			okFast, okSlow := fast.scanUnquoted(p[:n]), slow.scanBytes(p[:n])
			if okFast != okSlow {
				t.Fatalf("%q in chunks of %d: fast %v, byte by byte %v", data, chunk, okFast, okSlow)
			}
			p = p[n:]
		}
		if (fast.err == nil) != (slow.err == nil) || (fast.err != nil && fast.err.Error() != slow.err.Error()) {
			t.Fatalf("%q in chunks of %d from state %d: fast %v, byte by byte %v", data, chunk, start, fast.err, slow.err)
		}
		// after an error the guard only repeats it; before, it must be where the bytes left it
		if fast.err == nil && (fast.state != slow.state || fast.recLen != slow.recLen || fast.line != slow.line || fast.recLine != slow.recLine) {
			t.Fatalf("%q in chunks of %d from state %d: fast %+v, byte by byte %+v", data, chunk, start, *fast, slow)
		}
	})
}
