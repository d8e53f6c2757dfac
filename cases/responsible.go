package cases

// Cadre is a township cadre as the round assigns cases: the villages the org file gives
// them (none: any village of the township).
type Cadre struct {
	UserID   string
	Name     string
	Villages []string
}

// Assigner gives each new case of one township its responsible cadre (docs/chat.md): a cadre
// whose villages include the case's village, else any of the township's cadres; among
// those, whoever has the fewest cases so far (this round, plus Load), then by order.
type Assigner struct {
	Cadres []Cadre
	Load   map[string]int // cases each cadre already has
}

// Assign picks the responsible cadre for a case in village ("" when the township has no cadre).
func (a *Assigner) Assign(village string) string {
	if a.Load == nil {
		a.Load = map[string]int{}
	}
	var cands []Cadre
	for _, c := range a.Cadres {
		for _, v := range c.Villages {
			if v == village {
				cands = append(cands, c)
				break
			}
		}
	}
	if len(cands) == 0 {
		cands = a.Cadres
	}
	best := ""
	for _, c := range cands {
		if best == "" || a.Load[c.UserID] < a.Load[best] {
			best = c.UserID
		}
	}
	if best != "" {
		a.Load[best]++
	}
	return best
}
