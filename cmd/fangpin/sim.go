package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/fangpin/fangpin/bot/wecomtest"
)

// runSim is `fangpin sim`: the WeCom simulator on --addr, with the corp, app and callback
// secrets taken from the WECOM_* variables when set (so serve and sim share one
// environment) and printed as JSON. Control endpoints let a demo play users:
//
//	POST /sim/say    {"user":"zhangsan","text":"帮助"}               private chat (XML callback)
//	POST /sim/say    {"user":"zhangsan","chat":"wrCG0001","text":"帮助"}  @bot in a group (JSON)
//	GET  /sim/sent   every message the bot sent
//	POST /sim/fail   {"api":"message/send","code":-1,"n":3} or {"api":"*","code":500,"rate":0.3}
func runSim(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	addr := fs.String("addr", ":8090", "监听地址")
	bot := fs.String("bot", "http://127.0.0.1"+env.Addr, "机器人的地址（回调发往 <bot>/wecom/callback 与 /wecom/aibot）")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin sim [--addr :8090] [--bot http://127.0.0.1:8080]")
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

	mux := http.NewServeMux()
	mux.Handle("/cgi-bin/", s.Handler())
	mux.HandleFunc("POST /sim/say", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ User, Chat, Text string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.User == "" {
			http.Error(w, `需要 {"user","text"}，群聊再加 "chat"`, http.StatusBadRequest)
			return
		}
		var id string
		var err error
		if req.Chat != "" {
			id, err = s.SayInGroup(r.Context(), req.Chat, req.User, req.Text)
		} else {
			id, err = s.SayPrivately(r.Context(), req.User, req.Text)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"msgid": id})
	})
	mux.HandleFunc("GET /sim/sent", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"sent": s.Sent(), "dropped": s.Dropped()})
	})
	mux.HandleFunc("POST /sim/fail", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			API  string
			Code int
			N    int
			Rate float64
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.API == "" {
			http.Error(w, `需要 {"api","code","n"} 或 {"api","code","rate"}`, http.StatusBadRequest)
			return
		}
		if req.Rate > 0 {
			s.FailRate(req.API, req.Code, req.Rate)
		} else {
			s.FailNext(req.API, req.Code, max(req.N, 1))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /sim/clear", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	s.Swap(mux)

	printJSON(map[string]any{"url": s.URL, "WECOM_API_BASE": s.URL, "WECOM_CORP_ID": s.CorpID,
		"WECOM_AGENT_ID": strconv.FormatInt(s.AgentID, 10), "WECOM_SECRET": s.Secret,
		"WECOM_TOKEN": s.Token, "WECOM_AES_KEY": s.AESKey})
	fmt.Fprintf(os.Stderr, "企业微信模拟器已在 %s 运行，按 Ctrl+C 停止。\n", s.URL)
	<-ctx.Done()
	return nil
}
