package cases

import (
	"strings"
	"testing"
)

func TestVillageWarnings(t *testing.T) {
	registry := map[string]map[string]int{
		"城关镇": {"示例一村": 33, "示例二村": 53, "示例三村": 33},
		"河口乡": {"示例一村": 50},
	}
	cadres := map[string][]Cadre{
		"城关镇": {{UserID: "zhangsan", Name: "张三", Villages: []string{"东村", "示例一村"}}, {UserID: "lisi", Name: "李四", Villages: []string{"示例二村"}}},
		"河口乡": {{UserID: "qianyi", Name: "钱一"}}, // no villages: nothing to say
	}
	ws := VillageWarnings(cadres, registry)
	if len(ws) != 2 {
		t.Fatalf("warnings %q, want two: 东村 unknown, 示例三村 without a cadre", ws)
	}
	if !strings.Contains(ws[0], "张三（zhangsan）负责的村“东村”在名册中没有") || !strings.Contains(ws[0], "示例二村 53 户") {
		t.Errorf("unknown village: %s", ws[0])
	}
	if !strings.HasPrefix(ws[1], "城关镇：名册中有 1 个村没有乡村干部负责（示例三村 33 户）") {
		t.Errorf("uncovered village: %s", ws[1])
	}
	if ws := VillageWarnings(cadres, nil); ws != nil {
		t.Errorf("before any registry import: %q, want none", ws)
	}
	cadres["城关镇"][0].Villages = []string{"示例一村", "示例三村"}
	if ws := VillageWarnings(cadres, registry); len(ws) != 0 {
		t.Errorf("org and registry agreeing: %q, want none", ws)
	}
}
