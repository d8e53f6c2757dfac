package cases

import "testing"

func TestParsePushPeriod(t *testing.T) {
	today := NewDate(2026, 12, 7)
	for _, tc := range []struct {
		cat  Category
		in   string
		want string // "" means refused
	}{
		{CatMedical, "2026-11", "2026-11"},
		{CatMedical, " 2026-12 ", "2026-12"},
		{CatMedical, "2026-11x", ""},
		{CatMedical, "2026-1", ""},
		{CatMedical, "2026-13", ""},
		{CatMedical, "2026-00", ""},
		{CatMedical, "2099-01", ""},
		{CatMedical, "2027-01", ""},
		{CatMedical, "2026-2027", ""}, // a 学年 only for education
		{CatMedical, "2026/11", ""},
		{CatMedical, "", ""},
		{CatEducation, "2026-2027", "2027-04"},
		{CatEducation, "2025-2026", "2026-04"},
		{CatEducation, "2027-2028", ""}, // next 学年
		{CatEducation, "2026-2028", ""},
		{CatEducation, "2026-11", "2027-04"}, // a month of a 学年 is that 学年
		{CatEducation, "2027-03", "2027-04"}, // a month of the current 学年
		{CatEducation, "2026-05", "2026-04"}, // of the last one
		{CatEducation, "2027-09", ""},        // the next 学年's
		{CatEducation, "2026—2027", ""},
	} {
		got, err := ParsePushPeriod(tc.cat, tc.in, today)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParsePushPeriod(%s, %q) = %q, want refused", tc.cat, tc.in, got)
			} else if ErrorCode(err) != EInvalid {
				t.Errorf("ParsePushPeriod(%s, %q): code %s, want EInvalid", tc.cat, tc.in, ErrorCode(err))
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePushPeriod(%s, %q) = %q, %v; want %q", tc.cat, tc.in, got, err, tc.want)
		}
	}
	_, err := ParsePushPeriod(CatMedical, "2026-11x", today)
	if msg := ErrorMessage(err); msg != "期次“2026-11x”格式不对，请写成 YYYY-MM（例如 2026-12）" {
		t.Errorf("message %q does not name the expected form", msg)
	}
	_, err = ParsePushPeriod(CatMedical, "2099-01", today)
	if msg := ErrorMessage(err); msg != "期次“2099-01”晚于本月（2026-12），只能推送本月或以往月份的数据" {
		t.Errorf("message %q", msg)
	}
}
