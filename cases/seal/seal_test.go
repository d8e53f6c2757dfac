package seal

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := Demo()
	for _, plain := range []string{"", "王大明", "412826197001010016", `{"病种":"肺癌"}`} {
		s := k.Seal(plain)
		if plain != "" && (s == plain || strings.Contains(s, plain) || !IsSealed(s)) {
			t.Fatalf("Seal(%q) = %q: not sealed", plain, s)
		}
		got, err := k.Open(s)
		if err != nil || got != plain {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
	if k.Seal("王大明") != k.Seal("王大明") {
		t.Fatal("one value sealed twice under one key should compare equal")
	}
	if k.Seal("王大明") == k.Seal("王大朋") {
		t.Fatal("two values sealed to one text")
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	hash := make([]byte, 32)
	oldKey, newKey := newKey(t), newKey(t)
	old, err := New("k1:"+oldKey, hash)
	if err != nil {
		t.Fatal(err)
	}
	sealedOld := old.Seal("王大明")
	both, err := New("k2:"+newKey+", k1:"+oldKey, hash)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := both.Open(sealedOld); err != nil || got != "王大明" {
		t.Fatalf("old value under the new keyring: %q, %v", got, err)
	}
	if !both.Stale(sealedOld) || both.Stale(both.Seal("王大明")) || both.Stale("") || !both.Stale("王大明") {
		t.Fatal("Stale: wrong answer")
	}
	if KeyOf(both.Seal("x")) != "k2" || both.Current() != "k2" {
		t.Fatal("the first key listed must seal")
	}
	onlyNew, _ := New("k2:"+newKey, hash)
	if _, err := onlyNew.Open(sealedOld); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a dropped key: %v, want ErrUnknownKey", err)
	}
	tampered := []byte(sealedOld)
	tampered[len(tampered)-3] ^= 1
	if _, err := old.Open(string(tampered)); err == nil {
		t.Fatal("an altered value opened")
	}
	if got, _ := old.Open("张三"); got != "张三" {
		t.Fatal("a value stored before encryption should read as it is")
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	hash := make([]byte, 32)
	for _, keys := range []string{"", "k1", "k1:abc", "bad id:" + newKey(t), "k1:" + newKey(t) + ",k1:" + newKey(t)} {
		if _, err := New(keys, hash); err == nil {
			t.Errorf("New(%q) accepted", keys)
		}
	}
	if _, err := New("k1:"+newKey(t), []byte("short")); err == nil {
		t.Error("a short hash key accepted")
	}
}

// The import's Sealer gives what the keyring's own methods give, value after value.
func TestSealerMatchesKeyring(t *testing.T) {
	k := Demo()
	s := k.Sealer()
	for _, v := range []string{"王大明", "", "412826197001010016", `{"病种":"肺癌","户主身份证号":"412826197001010016"}`, "王大明"} {
		if got, want := s.Seal(v), k.Seal(v); got != want {
			t.Fatalf("Sealer.Seal(%q) = %q, want %q", v, got, want)
		}
		if got, want := s.IDHash(v), k.IDHash(v); got != want {
			t.Fatalf("Sealer.IDHash(%q) = %q, want %q", v, got, want)
		}
		var sum [32]byte
		if ok := s.SumID(&sum, v); ok != (v != "") {
			t.Fatalf("SumID(%q) = %v", v, ok)
		}
	}
}

// A fresh seal opens like any other, and never gives one text twice: not for one value
// sealed again, nor for the same value from two Sealers (whose nonces start apart).
func TestSealFreshOpensAndNeverRepeats(t *testing.T) {
	k := Demo()
	a, b := k.Sealer(), k.Sealer()
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for i := 0; i < 1000; i++ {
		for _, s := range []*Sealer{a, b} {
			for _, plain := range []string{"王大明", "412826197001010016", `{"病种":"肺癌"}`} {
				text := string(s.AppendSealFreshString(nil, plain))
				if seen[text] {
					t.Fatalf("sealed %q to %q a second time", plain, text)
				}
				seen[text] = true
				got, err := k.Open(text)
				if err != nil || got != plain {
					t.Fatalf("Open(fresh seal of %q) = %q, %v", plain, got, err)
				}
				raw, err := base64.RawURLEncoding.DecodeString(text[strings.LastIndexByte(text, '.')+1:])
				if err != nil {
					t.Fatal(err)
				}
				nonce := string(raw[:12])
				if nonces[nonce] {
					t.Fatalf("nonce %x used twice", nonce)
				}
				nonces[nonce] = true
			}
		}
	}
	if got := a.AppendSealFreshString([]byte("x"), ""); string(got) != "x" {
		t.Fatalf("an empty value should stay empty, got %q", got)
	}
}

// The import seals every warning row with one Sealer: it must not allocate per value.
func TestSealFreshDoesNotAllocate(t *testing.T) {
	s := Demo().Sealer()
	detail := []byte(`{"住院自付累计":"25952.54","门诊统筹费用":"162.52"}`)
	dst := make([]byte, 0, 1024)
	s.AppendSealFresh(dst, detail) // the first call draws the nonces' start and sizes buffers
	if n := testing.AllocsPerRun(100, func() { dst = s.AppendSealFresh(dst[:0], detail) }); n != 0 {
		t.Fatalf("AppendSealFresh allocates %v times a call", n)
	}
}
