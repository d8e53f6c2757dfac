package cases

import (
	"encoding/json"
	"strings"
	"testing"
)

// An education batch answers with its 学年, as the department named it; others with YYYY-MM.
func TestBatchJSONNamesTheSchoolYear(t *testing.T) {
	edu, _ := json.Marshal(Batch{Category: CatEducation, Period: "2027-04"})
	med, _ := json.Marshal(Batch{Category: CatMedical, Period: "2026-10"})
	if !strings.Contains(string(edu), `"period":"2026-2027"`) || !strings.Contains(string(med), `"period":"2026-10"`) {
		t.Errorf("education %s, medical %s", edu, med)
	}
}
