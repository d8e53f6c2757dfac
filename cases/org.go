package cases

import (
	"fmt"
	"regexp"
	"strings"
)

// Org is the county's organisation file (docs/reference.md).
type Org struct {
	County      string          `yaml:"county" json:"county"`
	Townships   []OrgTownship   `yaml:"townships" json:"townships"`
	Departments []OrgDepartment `yaml:"departments" json:"departments"`
	Users       []OrgUser       `yaml:"users" json:"users"`
}

// OrgPreview is what applying an org file would change (docs/office.md): people named
// "姓名（userid）", townships "旧名 → 新名".
type OrgPreview struct {
	Deactivated []string
	Added       []string
	Renamed     []string
}

// OrgTownship is a township and the group chat its cases go to.
type OrgTownship struct {
	Name    string   `yaml:"name" json:"name"`
	Aliases []string `yaml:"aliases" json:"aliases"`
	// Formerly lists the township's former names (docs/registry.md): a renamed township keeps its
	// identity under the new name, townships merged into it hand over their cases, and the
	// old names still find it.
	Formerly []string `yaml:"formerly" json:"formerly"`
	Chat     struct {
		AppChat    string `yaml:"appchat" json:"appchat"`
		WebhookKey string `yaml:"webhook_key" json:"webhook_key"`
		// AIBotChat is the chat id the AI bot sees in the township's group, when known; else
		// the first use by a cadre of the township records it (docs/privacy.md).
		AIBotChat string `yaml:"aibot_chat" json:"aibot_chat,omitempty"`
	} `yaml:"chat" json:"chat"`
}

// OrgDepartment is a department, the categories it pushes and its API token's hash.
type OrgDepartment struct {
	Name        string     `yaml:"name" json:"name"`
	Categories  []Category `yaml:"categories" json:"categories"`
	TokenSHA256 string     `yaml:"token_sha256" json:"token_sha256"`
}

// OrgUser is a person the bot knows.
type OrgUser struct {
	UserID     string `yaml:"userid" json:"userid"`
	Name       string `yaml:"name" json:"name"`
	Role       Role   `yaml:"role" json:"role"`
	Township   string `yaml:"township" json:"township"`
	Department string `yaml:"department" json:"department"`
	// Villages a cadre is responsible for: each new case of these villages goes to them.
	Villages []string `yaml:"villages" json:"villages,omitempty"`
}

var (
	chatIDPattern  = regexp.MustCompile(`^[0-9a-zA-Z]{1,32}$`)
	sha256Pattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	userIDPattern  = regexp.MustCompile(`^[0-9a-zA-Z_.@-]{1,64}$`)
	webhookPattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,64}$`)
	// aibotChatPattern: WeCom does not document the AI bot's chatid; ids seen are letters and digits.
	aibotChatPattern = regexp.MustCompile(`^[0-9a-zA-Z_-]{1,64}$`)
)

// Validate checks the whole file and returns every problem, each naming where it is.
func (o *Org) Validate() []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	names := map[string]string{} // name or alias → township
	aibotChats := map[string]string{}
	for i, t := range o.Townships {
		where := fmt.Sprintf("townships 第 %d 项", i+1)
		if strings.TrimSpace(t.Name) == "" {
			add("%s：缺少乡镇名称 name", where)
			continue
		}
		own := map[string]bool{}
		for _, n := range append(append([]string{t.Name}, t.Aliases...), t.Formerly...) {
			if own[n] {
				continue // the same name twice within one township is harmless
			}
			own[n] = true
			if prev, ok := names[n]; ok {
				add("%s（%s）：名称、别名或曾用名“%s”与%s重复，一个名称只能属于一个乡镇", where, t.Name, n, prev)
			}
			names[n] = t.Name
		}
		if t.Chat.AppChat != "" && !chatIDPattern.MatchString(t.Chat.AppChat) {
			add("%s（%s）：群聊 appchat “%s”只能是 1–32 位字母或数字", where, t.Name, t.Chat.AppChat)
		}
		if t.Chat.WebhookKey != "" && !webhookPattern.MatchString(t.Chat.WebhookKey) {
			add("%s（%s）：群机器人 webhook_key 格式不对", where, t.Name)
		}
		if t.Chat.AIBotChat != "" && !aibotChatPattern.MatchString(t.Chat.AIBotChat) {
			add("%s（%s）：智能机器人群聊 aibot_chat “%s”只能是 1–64 位字母、数字、- 或 _", where, t.Name, t.Chat.AIBotChat)
		}
		if t.Chat.AIBotChat != "" {
			if prev, ok := aibotChats[t.Chat.AIBotChat]; ok {
				add("%s（%s）：aibot_chat “%s”已属于%s，一个群只能属于一个乡镇", where, t.Name, t.Chat.AIBotChat, prev)
			}
			aibotChats[t.Chat.AIBotChat] = t.Name
		}
		if t.Chat.AppChat != "" && t.Chat.WebhookKey != "" {
			add("%s（%s）：chat 只能填 appchat 或 webhook_key 其中一个", where, t.Name)
		}
	}
	depts := map[string]bool{}
	for i, d := range o.Departments {
		where := fmt.Sprintf("departments 第 %d 项", i+1)
		if strings.TrimSpace(d.Name) == "" {
			add("%s：缺少部门名称 name", where)
			continue
		}
		if depts[d.Name] {
			add("%s：部门“%s”重复", where, d.Name)
		}
		depts[d.Name] = true
		for _, c := range d.Categories {
			if !c.Valid() {
				add("%s（%s）：不认识的风险类别“%s”", where, d.Name, c)
			}
		}
		if d.TokenSHA256 != "" && !sha256Pattern.MatchString(d.TokenSHA256) {
			add("%s（%s）：token_sha256 应为 64 位小写十六进制（令牌的 SHA-256），不要填令牌本身", where, d.Name)
		}
	}
	users := map[string]bool{}
	for i, u := range o.Users {
		where := fmt.Sprintf("users 第 %d 项", i+1)
		if !userIDPattern.MatchString(u.UserID) {
			add("%s：userid “%s”格式不对", where, u.UserID)
			continue
		}
		if users[u.UserID] {
			add("%s：userid “%s”重复", where, u.UserID)
		}
		users[u.UserID] = true
		if strings.TrimSpace(u.Name) == "" {
			add("%s（%s）：缺少姓名 name", where, u.UserID)
		}
		if !u.Role.Valid() {
			add("%s（%s）：角色“%s”应为 liaison、office、cadre、supervisor 或 leader", where, u.UserID, u.Role)
			continue
		}
		switch u.Role {
		case RoleCadre:
			if _, ok := names[u.Township]; !ok {
				add("%s（%s）：乡村干部的乡镇“%s”不在 townships 中", where, u.UserID, u.Township)
			}
		case RoleLiaison:
			if !depts[u.Department] {
				add("%s（%s）：联络员的部门“%s”不在 departments 中", where, u.UserID, u.Department)
			}
		}
		if len(u.Villages) > 0 && u.Role != RoleCadre {
			add("%s（%s）：只有乡村干部可以填写负责的村 villages", where, u.UserID)
		}
	}
	return errs
}

// TownshipName resolves a name, alias or former name to the township's name.
func (o *Org) TownshipName(s string) (string, bool) {
	for _, t := range o.Townships {
		if t.Name == s {
			return t.Name, true
		}
	}
	for _, t := range o.Townships {
		for _, a := range append(append([]string{}, t.Aliases...), t.Formerly...) {
			if a == s {
				return t.Name, true
			}
		}
	}
	return "", false
}
