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

func TestIDKey(t *testing.T) {
	for _, tc := range []struct {
		id  string
		key uint64
		ok  bool
	}{
		{"11010119900307803X", 11010119900307803, true},
		{"110101199003078031", 11010119900307803, true}, // the check character is not part of the key
		{"000000000000000000", 0, true},
		{"11010119900307803", 0, false},
		{"1101011990030780X3", 0, false},
		{"１１0101199003078031", 0, false},
	} {
		if k, ok := IDKey(tc.id); k != tc.key || ok != tc.ok {
			t.Errorf("IDKey(%q) = %d, %v; want %d, %v", tc.id, k, ok, tc.key, tc.ok)
		}
	}
	s := IDKeySet{}
	s.Add("11010119900307803X")
	s.Add("not a number")
	if !s.MayHold("11010119900307803X") || s.MayHold("110101199003078049") || !s.MayHold("not a number either") || len(s) != 1 {
		t.Errorf("set %v: wrong answers", s)
	}
	var unread IDKeySet
	if !unread.MayHold("110101199003078049") {
		t.Error("a nil set (not read) must say every number may be in it")
	}
}

// AppendIDNumber gives back every valid number from its key (check characters X and digits,
// leading zeros), so that a push's people can be compared with stored rows by their text.
func TestAppendIDNumberGivesBackValidNumbers(t *testing.T) {
	for _, id := range []string{"11010119900307803X", "110101199003078048", "000000190001010017", "622626195512310018"} {
		if err := ValidateIDNumber(id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		k, _ := IDKey(id)
		if got := string(AppendIDNumber([]byte("前"), k)); got != "前"+id {
			t.Errorf("AppendIDNumber(%d) = %q, want %q", k, got, "前"+id)
		}
	}
}
