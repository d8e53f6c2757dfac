package orgfile_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/templatexlsx"
)

func TestParseXLSXNamesSheetRowAndColumn(t *testing.T) {
	var buf bytes.Buffer
	if err := templatexlsx.Org(&buf); err != nil {
		t.Fatal(err)
	}
	if !orgfile.IsXLSX(buf.Bytes()) {
		t.Fatal("the org template is not recognised as one")
	}
	// Untouched, the template is refused for its example rows.
	_, err := orgfile.ParseXLSX(buf.Bytes())
	if err == nil || !strings.Contains(err.Error(), "工作表“人员”第 2 行：这是模板中虚构的示例行") {
		t.Fatalf("the untouched template: %v", err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	f.SetSheetRow(orgfile.SheetTownships, "A2", &[]string{"城关镇", "城关、老城", "", "wrCG0001", ""})
	f.SetSheetRow(orgfile.SheetTownships, "A3", &[]string{"河口乡", "", "", "", "hekou-key"})
	f.SetSheetRow(orgfile.SheetDepartments, "A2", &[]string{"医保局", "medical、assurance", ""})
	f.SetSheetRow(orgfile.SheetUsers, "A2", &[]string{"zhang", "张一", "cadre", "城关", "", "东村，西村"})
	f.SetSheetRow(orgfile.SheetUsers, "A4", &[]string{"li", "李二", "liaison", "", "民政局", ""}) // row 3 left blank
	out, _ := f.WriteToBuffer()
	_, err = orgfile.ParseXLSX(out.Bytes())
	if err == nil || !strings.Contains(err.Error(), "工作表“人员”第 4 行（li）：联络员的部门“民政局”不在 departments 中") {
		t.Fatalf("a liaison of an unknown department: %v", err)
	}
	f.SetCellStr(orgfile.SheetUsers, "E4", "医保局")
	out, _ = f.WriteToBuffer()
	o, err := orgfile.ParseXLSX(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Townships) != 2 || o.Townships[1].Chat.WebhookKey != "hekou-key" || len(o.Departments[0].Categories) != 2 ||
		len(o.Users) != 2 || strings.Join(o.Users[0].Villages, "|") != "东村|西村" {
		t.Errorf("read %+v", o)
	}
	// A push template is not an org file.
	buf.Reset()
	if err := templatexlsx.Department(&buf, "medical", templatexlsx.Options{}); err != nil {
		t.Fatal(err)
	}
	if orgfile.IsXLSX(buf.Bytes()) {
		t.Error("a push template taken for an org file")
	}
	_, err = orgfile.ParseXLSX(buf.Bytes())
	if err == nil || !strings.Contains(err.Error(), "缺少工作表“乡镇”") {
		t.Errorf("a push template read as an org file: %v", err)
	}
}
