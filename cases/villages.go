package cases

import (
	"fmt"
	"sort"
	"strings"
)

// VillageWarnings compares the villages the org file gives cadres with the registry's
// villages (docs/registry.md): a cadre's village that no registry household is in (a typo,
// or a village merged away) routes no case to them, and a registry village no cadre is
// responsible for, in a township where some cadres have villages, has its cases given to
// whichever cadre has fewest. Both are warnings, never refusals: the org file and the
// registry change on their own schedules. cadres and registry are by township; registry
// counts each village's active households. An empty registry gives no warnings.
func VillageWarnings(cadres map[string][]Cadre, registry map[string]map[string]int) []string {
	if len(registry) == 0 {
		return nil
	}
	var towns []string
	for t := range cadres {
		towns = append(towns, t)
	}
	sort.Strings(towns)
	var out []string
	for _, t := range towns {
		known := registry[t]
		covered := map[string]bool{}
		for _, c := range cadres[t] {
			for _, v := range c.Villages {
				covered[v] = true
				if known[v] == 0 {
					out = append(out, fmt.Sprintf("%s：%s（%s）负责的村“%s”在名册中没有（名册中本乡镇的村：%s），这个村不会有案件分给他，请核对组织文件 villages 中的村名。",
						t, c.Name, c.UserID, v, villageList(known, nil)))
				}
			}
		}
		if len(covered) == 0 {
			continue // no cadre of the township has villages: every case goes to the least loaded
		}
		var free []string
		for v := range known {
			if !covered[v] {
				free = append(free, v)
			}
		}
		if len(free) > 0 {
			sort.Strings(free)
			out = append(out, fmt.Sprintf("%s：名册中有 %d 个村没有乡村干部负责（%s），这些村的案件将分给本乡镇案件最少的干部；如需指定，请在组织文件中为干部填写 villages。",
				t, len(free), villageList(known, free)))
		}
	}
	return out
}

// villageList names villages (all of known when only is nil) with their household counts,
// at most ten.
func villageList(known map[string]int, only []string) string {
	if only == nil {
		for v := range known {
			only = append(only, v)
		}
		sort.Strings(only)
	}
	if len(only) == 0 {
		return "无"
	}
	parts := make([]string, 0, min(len(only), 10))
	for i, v := range only {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("等 %d 个", len(only)))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d 户", v, known[v]))
	}
	return strings.Join(parts, "、")
}
