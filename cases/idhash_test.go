package cases

import "testing"

func TestIDHashIsKeyedAndNormalised(t *testing.T) {
	const id = "99010519700101001X"
	h := IDHash(DemoHashKey, id)
	if len(h) != 64 || h == id {
		t.Fatalf("hash %q", h)
	}
	// The same person however the number was typed.
	for _, typed := range []string{" 99010519700101001x", "９９０１０５１９７００１０１００１Ｘ", "990105 19700101001X"} {
		if got := IDHash(DemoHashKey, typed); got != h {
			t.Errorf("IDHash(%q) = %s, want %s", typed, got, h)
		}
	}
	if other := IDHash([]byte("another key of thirty-two bytes!"), id); other == h {
		t.Error("the hash does not depend on the key")
	}
	if IDHash(DemoHashKey, "990105197001010029") == h {
		t.Error("two numbers hash alike")
	}
	if IDHash(DemoHashKey, "  ") != "" {
		t.Error("an empty number should hash to empty")
	}
}
