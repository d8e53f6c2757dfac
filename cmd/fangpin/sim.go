package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/orgfile"
)

// runSim is `fangpin sim`: the WeCom simulator on --addr, with the corp, app and callback
// secrets taken from the WECOM_* variables when set (so serve and sim share one
// environment) and printed as JSON. It serves the web page at / and the control
// endpoints of wecomtest.(*Server).WebHandler, with which a demo plays users:
//
//	POST /sim/say    {"user":"zhangsan","text":"帮助"}               private chat (XML callback)
//	POST /sim/say    {"user":"zhangsan","chat":"wrCG0001","text":"帮助"}  @bot in a group (JSON)
//	GET  /sim/sent   every message the bot sent
//	POST /sim/fail   {"api":"message/send","code":-1,"n":3} or {"api":"*","code":500,"rate":0.3}
func runSim(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	addr := fs.String("addr", ":8090", "监听地址")
	bot := fs.String("bot", "http://"+localAddr(env.Addr), "机器人的地址（回调发往 <bot>/wecom/callback 与 /wecom/aibot）")
	orgPath := fs.String("org", "", "组织文件：网页上列出其中的成员和各乡镇的群")
	if err := parseFlags(fs, args); err != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin sim [--addr :8090] [--bot http://127.0.0.1:8080] [--org examples/org.yaml]")
		return errUsage
	}
	s, err := wecomtest.NewServerAt(*addr)
	if err != nil {
		return err
	}
	defer s.Close()
	if env.CorpID != "" {
		s.CorpID = env.CorpID
	}
	if env.Secret != "" {
		s.Secret = env.Secret
	}
	if env.Token != "" {
		s.Token = env.Token
	}
	if len(env.AESKey) == 43 {
		s.AESKey = env.AESKey
	}
	if id, err := strconv.ParseInt(env.AgentID, 10, 64); err == nil {
		s.AgentID = id
	}
	s.AppCallbackURL = *bot + "/wecom/callback"
	s.AIBotCallbackURL = *bot + "/wecom/aibot"

	if *orgPath != "" {
		org, err := orgfile.Load(*orgPath)
		if err != nil {
			return err
		}
		simDirectory(s, org)
	}
	s.Swap(s.WebHandler())

	printJSON(map[string]any{"url": s.URL, "WECOM_API_BASE": s.URL, "WECOM_CORP_ID": s.CorpID,
		"WECOM_AGENT_ID": strconv.FormatInt(s.AgentID, 10), "WECOM_SECRET": s.Secret,
		"WECOM_TOKEN": s.Token, "WECOM_AES_KEY": s.AESKey})
	fmt.Fprintf(os.Stderr, "企业微信模拟器已在 %s 运行（网页：%s/），按 Ctrl+C 停止。\n", s.URL, s.URL)
	<-ctx.Done()
	return nil
}

// localAddr is how a process on this machine reaches a listen address (":8080" →
// "127.0.0.1:8080").
func localAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
