package cases

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Shanghai is the county's time zone; people read every time in it.
var Shanghai = mustLoadShanghai()

func mustLoadShanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// A machine without tzdata still needs the right offset; China has no DST.
		return time.FixedZone("Asia/Shanghai", 8*3600)
	}
	return loc
}

// Date is a civil date in Asia/Shanghai, without a time of day.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the Shanghai date of t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

// NewDate builds a date, normalising overflow like time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 12, 0, 0, 0, Shanghai))
}

// ParseDate reads YYYY-MM-DD, YYYY/M/D and YYYYMMDD; the date must exist.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	var y, m, d int
	var err error
	if len(s) == 8 && allDigits(s) {
		// Sscanf's work without its cost: every ID number's birth date comes this way.
		y = int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
		m = int(s[4]-'0')*10 + int(s[5]-'0')
		d = int(s[6]-'0')*10 + int(s[7]-'0')
	} else {
		y, m, d, err = scanDate(s)
	}
	if err != nil || y < 1900 || y > 2999 {
		return Date{}, fmt.Errorf("日期“%s”格式不对，请写成 2026-11-05", s)
	}
	dt := Date{y, time.Month(m), d}
	// The last day of the month from UTC, which is cheap; a Shanghai noon has the same date.
	if m < 1 || m > 12 || d < 1 || d > time.Date(y, time.Month(m)+1, 0, 12, 0, 0, 0, time.UTC).Day() {
		return Date{}, fmt.Errorf("日期“%s”不存在", s)
	}
	return dt, nil
}

// scanDate reads the forms ParseDate accepts with Sscanf; its own function so that the
// fast path's variables do not escape to the heap.
func scanDate(s string) (y, m, d int, err error) {
	if len(s) == 8 && !strings.ContainsAny(s, "-/.") {
		_, err = fmt.Sscanf(s, "%4d%2d%2d", &y, &m, &d)
		return
	}
	r := strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-", "日", "")
	_, err = fmt.Sscanf(r.Replace(s), "%d-%d-%d", &y, &m, &d)
	return
}

// MustDate parses a YYYY-MM-DD literal; for tests and constants.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// IsZero reports whether d is the zero date.
func (d Date) IsZero() bool { return d == Date{} }

// At returns the moment hh:mm of day d in Shanghai.
func (d Date) At(hour, min int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, min, 0, 0, Shanghai)
}

// AddDays adds calendar days.
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// Weekday of the date.
func (d Date) Weekday() time.Weekday { return d.At(12, 0).Weekday() }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.compare(o) < 0 }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.compare(o) > 0 }

func (d Date) compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return d.Year - o.Year
	case d.Month != o.Month:
		return int(d.Month) - int(o.Month)
	}
	return d.Day - o.Day
}

// Month returns the YYYY-MM the date belongs to.
func (d Date) MonthKey() string { return fmt.Sprintf("%04d-%02d", d.Year, int(d.Month)) }

// Value stores a Date as a SQL date.
func (d Date) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.String(), nil
}

// Scan reads a SQL date (lib/pq returns time.Time at UTC midnight) or text.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Date{}
	case time.Time:
		y, m, dd := v.Date() // the stored calendar date, not a moment
		*d = Date{y, m, dd}
	case []byte:
		p, err := ParseDate(string(v)[:10])
		if err != nil {
			return err
		}
		*d = p
	case string:
		p, err := ParseDate(v[:10])
		if err != nil {
			return err
		}
		*d = p
	default:
		return fmt.Errorf("cannot scan %T into Date", src)
	}
	return nil
}

// MarshalText writes YYYY-MM-DD (JSON and YAML).
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte(""), nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads what ParseDate reads.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseMonth reads YYYY-MM and returns its first day.
func ParseMonth(s string) (Date, error) {
	m := monthForm.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Date{}, fmt.Errorf("月份“%s”格式不对，请写成 2026-11", s)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	if mo < 1 || mo > 12 || y < 1900 || y > 2100 {
		return Date{}, fmt.Errorf("月份“%s”格式不对，请写成 2026-11", s)
	}
	return Date{y, time.Month(mo), 1}, nil
}

// monthForm is a month as people write it: 2026-11, or 2026-1 for 2026-01; nothing after it.
var monthForm = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})$`)

// LastOfMonth returns the last calendar day of d's month.
func (d Date) LastOfMonth() Date { return NewDate(d.Year, d.Month+1, 0) }
