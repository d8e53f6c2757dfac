package cases

import "testing"

func TestValidateIDNumber(t *testing.T) {
	good := "11010519491231002X"
	if err := ValidateIDNumber(good); err != nil {
		t.Fatalf("%s: %v", good, err)
	}
	for _, tc := range []struct{ id, why string }{
		{"110105194912310021", "wrong check digit"},
		{"11010519491331002X", "month 13"},
		{"11010519490230002X", "30 February"},
		{"1101051949123100", "16 characters"},
		{"11010519491231A02X", "a letter inside"},
	} {
		if err := ValidateIDNumber(tc.id); err == nil {
			t.Errorf("%s accepted, want refused (%s)", tc.id, tc.why)
		}
	}
}

func TestNormalizeIDNumber(t *testing.T) {
	if got := NormalizeIDNumber(" １１０１０５１９４９１２３１００２ｘ "); got != "11010519491231002X" {
		t.Errorf("full-width: %q", got)
	}
	if got := NormalizeIDNumber("11010519491231002x"); got != "11010519491231002X" {
		t.Errorf("lower x: %q", got)
	}
}

func TestMasks(t *testing.T) {
	if got := MaskIDNumber("11010519491231002X"); got != "110105********002X" {
		t.Errorf("MaskIDNumber = %s", got)
	}
	for in, want := range map[string]string{"张三": "张*", "张小明": "张*明", "欧阳小明": "欧**明", "李": "李*"} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%s) = %s, want %s", in, got, want)
		}
	}
}
