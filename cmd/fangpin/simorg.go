package main

import (
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
)

// simDirectory tells the simulator who is who in the org file, for its web page: every
// user with a role label, and each township's group robot chat with the township's cadres
// in it. The county office and the supervisors see every group. Appchats are not added:
// as in WeCom, they exist once `fangpin chats create` made them (createTownshipChats).
func simDirectory(s *wecomtest.Server, org *cases.Org) {
	members := map[string][]string{}
	for _, u := range org.Users {
		role := u.Role.Label()
		switch {
		case u.Township != "":
			role += " · " + u.Township
		case u.Department != "":
			role += " · " + u.Department
		}
		all := u.Role == cases.RoleOffice || u.Role == cases.RoleSupervisor
		s.AddPerson(wecomtest.Person{UserID: u.UserID, Name: u.Name, Role: role, AllChats: all})
		if u.Role == cases.RoleCadre && u.Township != "" {
			members[u.Township] = append(members[u.Township], u.UserID)
		}
	}
	for _, t := range org.Townships {
		if t.Chat.AppChat == "" && t.Chat.WebhookKey != "" {
			s.AddChat(t.Chat.WebhookKey, t.Name+"防返贫预警工作群", members[t.Name])
		}
	}
}
