package main

import (
	"context"
	"errors"
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
// org apply; a chat that already exists is reported and left alone, so running it again
// is harmless.
func runChats(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("chats create", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if len(args) == 0 || args[0] != "create" || parseFlags(fs, args[1:]) != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin chats create [--json]")
		return errUsage
	}
	srv, err := NewServer(ctx, env, nil)
	if err != nil {
		return err
	}
	defer srv.Close()
	res, err := createTownshipChats(ctx, srv.DB, srv.API)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "乡镇群聊：新建 %d 个，已存在 %d 个，未能创建 %d 个。\n", len(res.Created), len(res.Existing), len(res.Failed))
	if *asJSON {
		if err := printJSON(res); err != nil {
			return err
		}
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("%d 个乡镇群聊未能创建，原因见上", len(res.Failed))
	}
	return nil
}

// chatsCreated is what `chats create` did, by appchat id.
type chatsCreated struct {
	Created  []string `json:"created"`
	Existing []string `json:"existing"`
	Failed   []string `json:"failed"`
}

// errChatExists is WeCom's errcode for an appchat id already taken (86215).
const errChatExists = 86215

// townshipChat is a township's group chat as `chats create` makes it: the township's
// cadres and the county office.
func townshipChat(ctx context.Context, db *postgres.DB, t cases.Township, office []string) (bot.AppChat, error) {
	cadres, err := db.UsersOf(ctx, cases.RoleCadre, t.Name, "")
	if err != nil {
		return bot.AppChat{}, err
	}
	members := append(append([]string{}, cadres...), office...)
	chat := bot.AppChat{Name: t.Name + "防返贫预警工作群", UserList: members, ChatID: t.AppChatID}
	if len(members) > 0 {
		chat.Owner = members[0]
	}
	return chat, nil
}

// createTownshipChats creates every township's appchat.
func createTownshipChats(ctx context.Context, db *postgres.DB, api *bot.Client) (chatsCreated, error) {
	res := chatsCreated{Created: []string{}, Existing: []string{}, Failed: []string{}}
	ts, err := db.Townships(ctx)
	if err != nil {
		return res, err
	}
	office, err := db.UsersOf(ctx, cases.RoleOffice, "", "")
	if err != nil {
		return res, err
	}
	for _, t := range ts {
		if t.AppChatID == "" {
			continue
		}
		chat, err := townshipChat(ctx, db, t, office)
		if err != nil {
			return res, err
		}
		if len(chat.UserList) < 2 {
			fmt.Fprintf(os.Stderr, "%s 的群聊至少需要 2 名成员（乡村干部和县扶贫办），已跳过。\n", t.Name)
			res.Failed = append(res.Failed, t.AppChatID)
			continue
		}
		id, err := api.CreateAppChat(ctx, chat)
		var apiErr *bot.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Code == errChatExists:
			res.Existing = append(res.Existing, t.AppChatID)
		case err != nil:
			fmt.Fprintf(os.Stderr, "%s 的群聊 %s 未能创建：%v\n", t.Name, t.AppChatID, err)
			res.Failed = append(res.Failed, t.AppChatID)
		default:
			res.Created = append(res.Created, id)
		}
	}
	return res, nil
}
