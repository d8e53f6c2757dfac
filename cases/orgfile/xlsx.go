package orgfile

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
)

// Column is one column of the org template: its Chinese name and the org file's key it fills.
type Column struct {
	Name string
	Key  string
}

// Header is the column's title in the template: the Chinese name with the key in brackets.
func (c Column) Header() string { return c.Name + "（" + c.Key + "）" }

// Sheet is one sheet of the org template.
type Sheet struct {
	Name    string
	Columns []Column
	// Example is the fictional row under the header, named 示例 so it cannot be a real
	// county's; a workbook still holding it is refused.
	Example []string
}

// Sheet names of the org template.
const (
	SheetTownships   = "乡镇"
	SheetDepartments = "部门"
	SheetUsers       = "人员"
)

// Sheets is the one definition of the org template's columns, shared by the writer
// (cases/templatexlsx) and the reader below; they mirror the org file's keys.
var Sheets = []Sheet{
	{SheetTownships, []Column{{"名称", "name"}, {"简称", "aliases"}, {"曾用名", "formerly"}, {"群聊ID", "chat.appchat"}, {"群机器人key", "chat.webhook_key"}},
		[]string{"示例镇", "示例", "", "wrSL0001", ""}},
	{SheetDepartments, []Column{{"名称", "name"}, {"推送类别", "categories"}, {"令牌SHA-256", "token_sha256"}},
		[]string{"示例局", "medical、assurance", "c7ff228a18fa0f09a309632ad6a09705ce4f0ae03f8a91ba2069647328c1b572"}},
	{SheetUsers, []Column{{"企业微信账号", "userid"}, {"姓名", "name"}, {"角色", "role"}, {"乡镇", "township"}, {"部门", "department"}, {"负责的村", "villages"}},
		[]string{"wangshiyi", "王试一", "cadre", "示例镇", "", "示例一村、示例二村"}},
}

// IsXLSX tells whether data is a workbook laid out as the org template: it has the sheet 人员
// with the 企业微信账号 column, which no department push or registry export has.
func IsXLSX(data []byte) bool {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return false
	}
	defer f.Close()
	rows, err := f.GetRows(SheetUsers)
	if err != nil || len(rows) == 0 {
		return false
	}
	_, ok := columnIndex(rows[0])["userid"]
	return ok
}

// columnIndex maps each key to its column in a header row; a header may be the template's
// "名称（name）", the Chinese name alone or the key alone.
func columnIndex(header []string) map[string]int {
	idx := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		h = strings.NewReplacer("(", "（", ")", "）").Replace(h)
		name, key := h, ""
		if j := strings.Index(h, "（"); j >= 0 && strings.HasSuffix(h, "）") {
			name, key = strings.TrimSpace(h[:j]), strings.TrimSpace(strings.TrimSuffix(h[j+len("（"):], "）"))
		}
		for _, s := range Sheets {
			for _, c := range s.Columns {
				if key == c.Key || (key == "" && (name == c.Name || name == c.Key)) {
					if _, dup := idx[c.Key]; !dup {
						idx[c.Key] = i
					}
				}
			}
		}
	}
	return idx
}

var listSep = regexp.MustCompile(`[、,，;；\s]+`)

func list(s string) []string {
	var out []string
	for _, p := range listSep.Split(strings.TrimSpace(s), -1) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// where is the sheet and row (as the spreadsheet numbers them) of each item, so that the
// org's own checks, which count items, can name rows instead.
type where struct {
	townships, departments, users []int
}

// ParseXLSX reads the org template back into the same org the YAML gives, checked the same
// way; every problem names its sheet, row and column.
func ParseXLSX(data []byte) (*cases.Org, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("组织文件不是能打开的 Excel 文件（.xlsx）：%w", err)
	}
	defer f.Close()
	var o cases.Org
	var w where
	var errs []string
	for _, s := range Sheets {
		rows, err := f.GetRows(s.Name)
		if err != nil || len(rows) == 0 {
			if s.Name == SheetDepartments {
				continue // a county may keep no pushing department in the file
			}
			errs = append(errs, fmt.Sprintf("缺少工作表“%s”（或其第 1 行表头为空）", s.Name))
			continue
		}
		idx := columnIndex(rows[0])
		for _, c := range s.Columns {
			if _, ok := idx[c.Key]; !ok && (c.Key == "name" || c.Key == "userid" || c.Key == "role") {
				errs = append(errs, fmt.Sprintf("工作表“%s”第 1 行：缺少列“%s”", s.Name, c.Header()))
			}
		}
		for r := 1; r < len(rows); r++ {
			cell := func(key string) string {
				i, ok := idx[key]
				if !ok || i >= len(rows[r]) {
					return ""
				}
				return strings.TrimSpace(rows[r][i])
			}
			blank, example := true, true
			for ci, c := range s.Columns {
				v := cell(c.Key)
				if v != "" {
					blank = false
				}
				if v != s.Example[ci] {
					example = false
				}
			}
			if blank {
				continue
			}
			row := r + 1
			if example {
				errs = append(errs, fmt.Sprintf("工作表“%s”第 %d 行：这是模板中虚构的示例行，请删除", s.Name, row))
				continue
			}
			switch s.Name {
			case SheetTownships:
				var t cases.OrgTownship
				t.Name, t.Aliases, t.Formerly = cell("name"), list(cell("aliases")), list(cell("formerly"))
				t.Chat.AppChat, t.Chat.WebhookKey = cell("chat.appchat"), cell("chat.webhook_key")
				o.Townships = append(o.Townships, t)
				w.townships = append(w.townships, row)
			case SheetDepartments:
				d := cases.OrgDepartment{Name: cell("name"), TokenSHA256: strings.ToLower(cell("token_sha256"))}
				for _, c := range list(cell("categories")) {
					d.Categories = append(d.Categories, cases.Category(c))
				}
				o.Departments = append(o.Departments, d)
				w.departments = append(w.departments, row)
			case SheetUsers:
				o.Users = append(o.Users, cases.OrgUser{UserID: cell("userid"), Name: cell("name"), Role: cases.Role(cell("role")),
					Township: cell("township"), Department: cell("department"), Villages: list(cell("villages"))})
				w.users = append(w.users, row)
			}
		}
	}
	if len(errs) == 0 && len(o.Townships) == 0 {
		errs = append(errs, "工作表“乡镇”中没有任何乡镇")
	}
	if len(errs) == 0 {
		for _, e := range o.Validate() {
			errs = append(errs, w.rename(e))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("组织文件有 %d 处问题：\n%s", len(errs), strings.Join(errs, "\n"))
	}
	return &o, nil
}

var itemRef = regexp.MustCompile(`^(townships|departments|users) 第 (\d+) 项`)

// rename turns the org check's "users 第 3 项" into the sheet and row it came from.
func (w where) rename(msg string) string {
	m := itemRef.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	n, _ := strconv.Atoi(m[2])
	sheet, rows := SheetUsers, w.users
	switch m[1] {
	case "townships":
		sheet, rows = SheetTownships, w.townships
	case "departments":
		sheet, rows = SheetDepartments, w.departments
	}
	if n < 1 || n > len(rows) {
		return msg
	}
	return fmt.Sprintf("工作表“%s”第 %d 行", sheet, rows[n-1]) + msg[len(m[0]):]
}

// ParseNamed reads an org file by its name: the org template (.xlsx) or YAML.
func ParseNamed(name string, data []byte) (*cases.Org, error) {
	if strings.HasSuffix(strings.ToLower(name), ".xlsx") {
		return ParseXLSX(data)
	}
	return Parse(data)
}
