package cases

import "strings"

// CaseDepartment is the 责任部门 a household's new case is routed to, empty for none. A
// department a row names in its 责任部门 column must be in the org file: an unknown one is an
// error, never a case without its department. One that only the 问题类型 implies (饮水安全 →
// 水利局) is none when the county's org file lacks it, as its task is.
func CaseDepartment(h Household, known map[string]bool) (string, error) {
	if h.Department == "" || known[h.Department] {
		return h.Department, nil
	}
	for _, w := range h.Warnings {
		if w.Category == CatAssurance && strings.TrimSpace(w.Detail["责任部门"]) == h.Department {
			return "", Errorf(ENotFound, "责任部门“%s”不在组织文件中，请核对部门名称。", h.Department)
		}
	}
	return "", nil
}

// CadreVillages is a cadre's villages, trimmed; never nil (the store's column is NOT NULL);
// none for any other role.
func (u OrgUser) CadreVillages() []string {
	out := []string{}
	if u.Role != RoleCadre {
		return out
	}
	for _, v := range u.Villages {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
