package cases

import (
	"fmt"
	"strings"
)

// CaseNumber is a case's number (spec §5): YJ, the year and month of its round, and a
// four-digit sequence within the round — YJ202611-0001.
func CaseNumber(round string, seq int) string {
	return fmt.Sprintf("YJ%s-%04d", strings.ReplaceAll(round, "-", ""), seq)
}
