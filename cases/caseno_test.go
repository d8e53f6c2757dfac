package cases

import "testing"

func TestCaseNumber(t *testing.T) {
	if got := CaseNumber("2026-11", 7); got != "YJ202611-0007" {
		t.Errorf("CaseNumber: %s", got)
	}
}
