package seal

import (
	"strings"
	"testing"
)

// What an import pays per row: the ID's keyed hash (every row read) and the three seals of a
// stored warning row (number, name, detail).
func BenchmarkSumID(b *testing.B) {
	s := Demo().Sealer()
	var sum [32]byte
	for b.Loop() {
		s.SumID(&sum, "410101199001011234")
	}
}

func BenchmarkSealName(b *testing.B) {
	s := Demo().Sealer()
	var dst []byte
	for b.Loop() {
		dst = s.AppendSealString(dst[:0], "王大明")
	}
}

func BenchmarkSealDetail(b *testing.B) {
	s := Demo().Sealer()
	detail := []byte(`{"病种":"慢性肾衰竭","住院自付累计":"52310.5","就诊机构":"县人民医院","` + strings.Repeat("备注", 40) + `"}`)
	var dst []byte
	b.SetBytes(int64(len(detail)))
	for b.Loop() {
		dst = s.AppendSeal(dst[:0], detail)
	}
}

// A warning row's detail as the import seals it (a counted nonce, no HMAC), beside
// BenchmarkSealDetail's value-derived nonce.
func BenchmarkSealDetailFresh(b *testing.B) {
	s := Demo().Sealer()
	detail := []byte(`{"病种":"慢性肾衰竭","住院自付累计":"52310.5","就诊机构":"县人民医院","` + strings.Repeat("备注", 40) + `"}`)
	var dst []byte
	b.SetBytes(int64(len(detail)))
	for b.Loop() {
		dst = s.AppendSealFresh(dst[:0], detail)
	}
}
