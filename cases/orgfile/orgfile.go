// Package orgfile reads the county's organisation file: YAML (docs/reference.md), or the
// filled org template workbook (docs/office.md).
package orgfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fangpin/fangpin/cases"
)

// Load reads and validates an org file (YAML, or .xlsx for the org template); the error
// lists every problem found.
func Load(path string) (*cases.Org, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("读取组织文件 %s 失败：%w", path, err)
	}
	return ParseNamed(path, b)
}

// Parse decodes and validates org YAML. Unknown keys are errors: a typo must not silently
// leave a township without its chat.
func Parse(b []byte) (*cases.Org, error) {
	var o cases.Org
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("组织文件格式不对：%w", err)
	}
	if len(o.Townships) == 0 {
		return nil, errors.New("组织文件中没有任何乡镇（townships）")
	}
	if errs := o.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("组织文件有 %d 处问题：\n%s", len(errs), strings.Join(errs, "\n"))
	}
	return &o, nil
}
