package sheet

import (
	"archive/zip"
	"io"
)

// writeTestXLSX writes a minimal workbook around a sheet part and, if not empty, a shared
// strings part (sheettest builds bombs; this is the small in-package form for fuzzing).
func writeTestXLSX(w io.Writer, sheetXML, sstXML string) error {
	zw := zip.NewWriter(w)
	parts := [][2]string{
		{"_rels/.rels", `<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<workbook xmlns:r="r"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/sharedStrings.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", sheetXML},
	}
	if sstXML != "" {
		parts = append(parts, [2]string{"xl/sharedStrings.xml", sstXML})
	}
	for _, p := range parts {
		fw, err := zw.Create(p[0])
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, p[1]); err != nil {
			return err
		}
	}
	return zw.Close()
}
