package scenario

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"regexp"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
)

// overviewLinkRe finds the signed overview link in the answer to 概览.
var overviewLinkRe = regexp.MustCompile(`https?://[^\s"<>）]+/overview/[^\s"<>）]+`)

// Leaders is the 领导小组's view: the office asks for 进度 and gets the chart as a picture,
// and a county leader (role leader) opens the overview page from 概览 (docs/charts.md).
func Leaders(round string) func(context.Context, *Play, cases.Date) error {
	return func(ctx context.Context, p *Play, day cases.Date) error {
		w, h, err := p.progressChart(ctx, "zhaoliu", "进度 "+round)
		if err != nil {
			return fmt.Errorf("进度 %s 的图表：%w", round, err)
		}
		p.say("  %s 扶贫办赵六：进度 %s\n    → 文字进度和一张 %d×%d 的进度图（各乡镇待核查、已核查待录入、已办结、逾期，近 6 个月按时率）", day, round, w, h)

		link, err := p.overviewLink(ctx, "zhoulingdao")
		if err != nil {
			return fmt.Errorf("概览：%w", err)
		}
		size, err := p.open(ctx, link)
		if err != nil {
			return fmt.Errorf("打开概览页面：%w", err)
		}
		p.say("  %s 县领导周领导：概览\n    → 收到签名链接，打开概览页面（%d 字节，图表与各乡镇、各部门情况，姓名脱敏）", day, size)
		return nil
	}
}

// progressChart sends text privately as user and waits for the chart picture that follows it.
func (p *Play) progressChart(ctx context.Context, user, text string) (width, height int, err error) {
	before := len(p.Sim.SentTo(user))
	if _, err := p.Sim.SayPrivately(ctx, user, text); err != nil {
		return 0, 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	var img []byte
	err = p.Sim.Wait(wctx, func([]wecomtest.Sent) bool {
		sent := p.Sim.SentTo(user)
		for _, m := range sent[min(before, len(sent)):] {
			if m.MsgType == "image" && len(m.MediaData) > 0 {
				img = m.MediaData
				return true
			}
		}
		return false
	})
	if err != nil {
		return 0, 0, err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return 0, 0, fmt.Errorf("图表不是 PNG：%w", err)
	}
	return cfg.Width, cfg.Height, nil
}

// overviewLink asks for 概览 as user and returns the link in the answer.
func (p *Play) overviewLink(ctx context.Context, user string) (string, error) {
	before := len(p.Sim.SentTo(user))
	if _, err := p.Sim.SayPrivately(ctx, user, "概览"); err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	var link string
	err := p.Sim.Wait(wctx, func([]wecomtest.Sent) bool {
		sent := p.Sim.SentTo(user)
		for _, m := range sent[min(before, len(sent)):] {
			if l := overviewLinkRe.FindString(m.Content); l != "" {
				link = l
				return true
			}
		}
		return false
	})
	return link, err
}

// open fetches a page and returns its size; anything but 200 is an error.
func (p *Play) open(ctx context.Context, link string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return len(body), nil
}
