package cases

import (
	"fmt"
	"strings"
)

// CaseNumber is a case's number (docs/dispatch.md): YJ, the year and month of its round, and a
// four-digit sequence within the round — YJ202611-0001.
func CaseNumber(round string, seq int) string {
	return fmt.Sprintf("YJ%s-%04d", strings.ReplaceAll(round, "-", ""), seq)
}

// NormalizeCaseNo makes case numbers case-insensitive and forgiving of full-width input.
func NormalizeCaseNo(no string) string {
	no = strings.ToUpper(strings.TrimSpace(no))
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r >= 'Ａ' && r <= 'Ｚ':
			return 'A' + (r - 'Ａ')
		case r >= 'ａ' && r <= 'ｚ':
			return 'A' + (r - 'ａ')
		case r == '－' || r == '—':
			return '-'
		}
		return r
	}, no)
}
