package cases

// RowError is one refused row of an imported file: the file's own row number (header = 1),
// the column at fault and what is wrong, in Chinese.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// Household kinds (户类型) and risk states (风险状态) of the national registry.
const (
	HouseholdLifted   = "脱贫户"
	HouseholdUnstable = "脱贫不稳定户"
	HouseholdEdge     = "边缘易致贫户"
	HouseholdSudden   = "突发严重困难户"
	RiskOpen          = "未消除"
	RiskCleared       = "已消除"
)

// HouseholdKinds are the four 户类型 the registry may hold.
var HouseholdKinds = []string{HouseholdLifted, HouseholdUnstable, HouseholdEdge, HouseholdSudden}

// ValidHouseholdKind reports whether k is one of the four 户类型.
func ValidHouseholdKind(k string) bool {
	for _, x := range HouseholdKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Monitored reports whether a household is a 监测对象: unstable, edge or sudden hardship
// with its risk not yet cleared (docs/reference.md).
func Monitored(kind, risk string) bool {
	return risk == RiskOpen && (kind == HouseholdUnstable || kind == HouseholdEdge || kind == HouseholdSudden)
}

// Registered reports whether members of a household of this kind are 建档立卡 (docs/rules.md).
func Registered(kind string) bool {
	return kind == HouseholdLifted || kind == HouseholdUnstable
}

// RegistryMember is one row of the registry: a person and their household.
type RegistryMember struct {
	HouseholdNo  string
	HeadIDNumber string
	Name         string
	IDNumber     string
	Relation     string
	Township     string
	Village      string
	Kind         string
	RiskStatus   string
	Status       string // active, deceased or moved_out (人员变动); "" reads as active
}

// Active reports whether the member still lives in the county's registry (not deceased, not
// moved out): only active members make a row 建档立卡 or place it in a household.
func (m RegistryMember) Active() bool { return m.Status == "" || m.Status == MemberActive }
