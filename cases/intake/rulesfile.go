package intake

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/fangpin/fangpin/cases"
)

// LoadRules reads a rules override file (YAML or JSON, rule ID → threshold in yuan):
//
//	medical.inpatient.registered: "6000"
//	education.self_paid: 12000.50
//
// and returns the default table with those thresholds. The values are read as the text
// written, never through a float.
func LoadRules(path string) (cases.Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("无法读取规则配置文件 %s：%w", path, err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("规则配置文件 %s 格式不对：%w", path, err)
	}
	overrides := make(map[string]string, len(doc))
	for id, n := range doc {
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("规则配置：规则“%s”的标准应为一个金额", id)
		}
		overrides[id] = n.Value
	}
	return cases.DefaultRules().With(overrides)
}
