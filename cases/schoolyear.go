package cases

import (
	"fmt"
	"regexp"
	"strconv"
)

// SchoolYearOf is the 学年 of an education push for the month of d (docs/rules.md and docs/intake.md): the
// 学年 ending the coming summer — "2026-2027" for the push due by 30 April 2027, and for a
// push labelled November 2026. It is PushCycle's rule (September starts the next 学年), so
// the row check and the push deadline never disagree.
func SchoolYearOf(d Date) string {
	end, err := strconv.Atoi(PushCycle(CatEducation, d.MonthKey()))
	if err != nil {
		end = d.Year
	}
	return fmt.Sprintf("%d-%d", end-1, end)
}

var schoolYearPattern = regexp.MustCompile(`^\s*(\d{4})\s*(?:-|－|—|–|/|至|~|～)\s*(\d{4})\s*(?:学年)?\s*$`)

// NormalizeSchoolYear reads a 学年 cell (2026-2027, 2026—2027, 2026/2027, 2026至2027学年) as
// "2026-2027"; the two years must follow each other.
func NormalizeSchoolYear(s string) (string, error) {
	m := schoolYearPattern.FindStringSubmatch(s)
	if m == nil {
		return "", Errorf(EInvalid, "学年“%s”看不懂，请写成 2026-2027 这样的格式", s)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	if b != a+1 {
		return "", Errorf(EInvalid, "学年“%s”的两个年份应相邻，例如 2026-2027", s)
	}
	return fmt.Sprintf("%d-%d", a, b), nil
}
