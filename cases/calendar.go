package cases

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Calendar knows the county's working days (docs/ledger.md): Monday to Friday, minus official
// holidays, plus the official adjusted working days (调休). Official data comes from
// lunar-go's HolidayUtil; an override file can add a year it does not know yet or correct a day.
type Calendar struct {
	mu        sync.RWMutex
	overrides map[Date]bool // date → is a working day
	cache     map[Date]bool
}

// NewCalendar returns the official calendar without overrides.
func NewCalendar() *Calendar {
	return &Calendar{overrides: map[Date]bool{}, cache: map[Date]bool{}}
}

// LoadOverrides reads lines "YYYY-MM-DD 上班" or "YYYY-MM-DD 休息" (also work/off);
// '#' starts a comment. A line that cannot be read is an error naming its line number.
func (c *Calendar) LoadOverrides(r io.Reader) error {
	sc := bufio.NewScanner(r)
	n := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return fmt.Errorf("节假日文件第 %d 行应为“日期 上班/休息”", n)
		}
		d, err := ParseDate(f[0])
		if err != nil {
			return fmt.Errorf("节假日文件第 %d 行：%v", n, err)
		}
		switch f[1] {
		case "上班", "班", "work":
			c.overrides[d] = true
		case "休息", "休", "off", "holiday":
			c.overrides[d] = false
		default:
			return fmt.Errorf("节假日文件第 %d 行：“%s”应为“上班”或“休息”", n, f[1])
		}
	}
	c.cache = map[Date]bool{}
	return sc.Err()
}

// IsWorkingDay reports whether d is a working day in mainland China.
func (c *Calendar) IsWorkingDay(d Date) bool {
	c.mu.RLock()
	if w, ok := c.overrides[d]; ok {
		c.mu.RUnlock()
		return w
	}
	w, ok := c.cache[d]
	c.mu.RUnlock()
	if ok {
		return w
	}
	w = official(d)
	c.mu.Lock()
	c.cache[d] = w
	c.mu.Unlock()
	return w
}

func official(d Date) bool {
	if h := HolidayUtil.GetHolidayByYmd(d.Year, int(d.Month), d.Day); h != nil {
		return h.IsWork()
	}
	wd := d.Weekday()
	return wd != 0 && wd != 6
}

// AddWorkingDays returns the n-th working day after d (n > 0), or before d (n < 0).
// n == 0 returns d itself.
func (c *Calendar) AddWorkingDays(d Date, n int) Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDays(step)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// WorkingDaysBetween counts working days in (from, to]; negative when to is before from.
func (c *Calendar) WorkingDaysBetween(from, to Date) int {
	sign := 1
	if to.Before(from) {
		from, to, sign = to, from, -1
	}
	n := 0
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n * sign
}

// NextWorkingDay returns d if it is a working day, else the first working day after it.
func (c *Calendar) NextWorkingDay(d Date) Date {
	for !c.IsWorkingDay(d) {
		d = d.AddDays(1)
	}
	return d
}

// LastWorkingDayOfMonth returns the last working day of d's month.
func (c *Calendar) LastWorkingDayOfMonth(d Date) Date {
	x := d.LastOfMonth()
	for !c.IsWorkingDay(x) {
		x = x.AddDays(-1)
	}
	return x
}

// HasOfficialData reports whether lunar-go ships holiday data for the year; without it and
// without overrides, only weekends are days off and the office should add an override file.
func HasOfficialData(year int) bool {
	return HolidayUtil.GetHolidaysByYear(year).Len() > 0
}

// WorkingDaysOverdue counts the working days a due date is past on day: 0 until it has
// passed, then at least 1 (a Saturday after a Friday due date is already overdue).
func (c *Calendar) WorkingDaysOverdue(due, day Date) int {
	if !day.After(due) {
		return 0
	}
	return max(c.WorkingDaysBetween(due, day), 1)
}

// DueText says where a due date stands on day, in working days: the one wording of 待办,
// 查看, 逾期, the digests and the reminders — "已逾期 3 个工作日", "今天到期", "还有 5 个工作日到期".
func (c *Calendar) DueText(due, day Date) string {
	switch {
	case day.After(due):
		return fmt.Sprintf("已逾期 %d 个工作日", c.WorkingDaysOverdue(due, day))
	case day == due:
		return "今天到期"
	}
	return fmt.Sprintf("还有 %d 个工作日到期", max(c.WorkingDaysBetween(day, due), 1))
}
