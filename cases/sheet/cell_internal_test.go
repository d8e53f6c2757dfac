package sheet

import "testing"

// CellAt trims every kind of space a clerk's cell may carry, full-width ones included, and
// leaves a cell without any as it is.
func TestCellAtTrimsSpaces(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"城关镇":                    "城关镇",
		"\u3000城关镇\u3000":        "城关镇",
		" 城关镇\t":                 "城关镇",
		"\u00a0王大明\u00a0":        "王大明",
		"412826197001010016\r\n": "412826197001010016",
		"户 主":                    "户 主",
		"\u3000\u3000":           "",
		" ":                      "",
		"a":                      "a",
		"\u2003名\u205f":          "名",
	} {
		if got := CellAt([]string{in}, 0); got != want {
			t.Errorf("CellAt(%q) = %q, want %q", in, got, want)
		}
	}
}
