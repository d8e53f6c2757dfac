package seal

import (
	"testing"

	"github.com/fangpin/fangpin/cases"
)

// A Batch must give exactly what the keyring gives: the registry's rows are compared with
// values sealed and hashed either way.
func TestSealerMatchesKeyring(t *testing.T) {
	k, err := New("k2:"+newKey(t)+",k1:"+newKey(t), []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	b := k.Sealer()
	for _, v := range []string{"110101199003070016", "王大明", "", "１１０１０１１９９００３０７００１ｘ", "a much longer value than the others, to grow the buffers", "李四"} {
		if got, want := b.IDHash(v), k.IDHash(v); got != want {
			t.Errorf("IDHash(%q) = %q, keyring says %q", v, got, want)
		}
		if got, want := b.Seal(v), k.Seal(v); got != want {
			t.Errorf("Seal(%q) = %q, keyring says %q", v, got, want)
		}
		if open, err := k.Open(b.Seal(v)); err != nil || open != v {
			t.Errorf("Open(Seal(%q)) = %q, %v", v, open, err)
		}
	}
	if b.IDHash("110101199003070016") != cases.IDHash(k.HashKey(), "110101199003070016") {
		t.Error("Sealer.IDHash differs from cases.IDHash")
	}
}

func BenchmarkSealerMember(b *testing.B) {
	k := Demo()
	s := k.Sealer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _, _ = s.IDHash("110101199001011234"), s.Seal("110101199001011234"), s.Seal("王大明")
	}
}

func BenchmarkKeyringMember(b *testing.B) {
	k := Demo()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _, _ = k.IDHash("110101199001011234"), k.Seal("110101199001011234"), k.Seal("王大明")
	}
}
