package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

// runChats: `fangpin chats create` makes the township group chats the org file names
// (appchat ids) through appchat/create, with the township's cadres and the office as
// members. WeCom shows a new chat once its first message arrives. Run it once after
// org apply; a chat that already exists is reported and left alone.
func runChats(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("chats create", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if len(args) == 0 || args[0] != "create" || fs.Parse(args[1:]) != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin chats create [--json]")
		return errUsage
	}
	srv, err := NewServer(ctx, env, nil)
	if err != nil {
		return err
	}
	defer srv.Close()
	created, err := createTownshipChats(ctx, srv.DB, srv.API)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(map[string]any{"created": created})
	}
	fmt.Printf("已创建 %d 个乡镇群聊。\n", len(created))
	return nil
}

// createTownshipChats creates every township's appchat; it returns the chat ids created.
func createTownshipChats(ctx context.Context, db *postgres.DB, api *bot.Client) ([]string, error) {
	ts, err := db.Townships(ctx)
	if err != nil {
		return nil, err
	}
	office, err := db.UsersOf(ctx, cases.RoleOffice, "", "")
	if err != nil {
		return nil, err
	}
	var created []string
	for _, t := range ts {
		if t.AppChatID == "" {
			continue
		}
		cadres, err := db.UsersOf(ctx, cases.RoleCadre, t.Name, "")
		if err != nil {
			return nil, err
		}
		members := append(append([]string{}, cadres...), office...)
		if len(members) < 2 {
			fmt.Fprintf(os.Stderr, "%s 的群聊至少需要 2 名成员（乡村干部和县扶贫办），已跳过。\n", t.Name)
			continue
		}
		id, err := api.CreateAppChat(ctx, bot.AppChat{Name: t.Name + "防返贫预警工作群", Owner: members[0],
			UserList: members, ChatID: t.AppChatID})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s 的群聊 %s 未能创建（可能已存在）：%v\n", t.Name, t.AppChatID, err)
			continue
		}
		created = append(created, id)
	}
	return created, nil
}
