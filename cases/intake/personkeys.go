package intake

// personKeys maps a person's key (cases.IDKey, ×8 + 问题类型 for assurance) to the row that
// first named them: the duplicate check asks it once for every row, and a push's people
// are read from it (parser.Has, parser.Each). Open addressing in one array of keys: a look-up
// touches one cache line where a Go map of half a million keys touched two, and a row's
// check asks once where the map was asked twice (look up, then store).
type personKeys struct {
	keys  []uint64 // key+1; 0 is an empty slot
	rows  []int32
	n     int
	shift uint // 64 - log2(len(keys))
}

const personKeysMin = 1 << 10

// firstOrAdd returns the row that first named key, or adds key with row.
func (s *personKeys) firstOrAdd(key uint64, row int32) (int32, bool) {
	if 4*(s.n+1) > 3*len(s.keys) {
		s.grow()
	}
	k := key + 1
	mask := len(s.keys) - 1
	for i := s.slot(k); ; i = (i + 1) & mask {
		switch s.keys[i] {
		case k:
			return s.rows[i], true
		case 0:
			s.keys[i], s.rows[i] = k, row
			s.n++
			return 0, false
		}
	}
}

// has reports whether key was added.
func (s *personKeys) has(key uint64) bool {
	if s.n == 0 {
		return false
	}
	k := key + 1
	mask := len(s.keys) - 1
	for i := s.slot(k); ; i = (i + 1) & mask {
		switch s.keys[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}

// each calls f with every key added, in no order.
func (s *personKeys) each(f func(key uint64)) {
	for _, k := range s.keys {
		if k != 0 {
			f(k - 1)
		}
	}
}

// slot is where k's probe starts: ID numbers' keys are far from random (a county's region
// code, birth dates), so they are mixed first (Fibonacci hashing).
func (s *personKeys) slot(k uint64) int {
	return int((k * 0x9e3779b97f4a7c15) >> s.shift)
}

func (s *personKeys) grow() {
	old, oldRows := s.keys, s.rows
	size := max(2*len(old), personKeysMin)
	s.keys, s.rows, s.n = make([]uint64, size), make([]int32, size), 0
	s.shift = 64
	for n := size; n > 1; n /= 2 {
		s.shift--
	}
	for i, k := range old {
		if k != 0 {
			s.firstOrAdd(k-1, oldRows[i])
		}
	}
}
