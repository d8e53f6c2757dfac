package bot_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
)

func tinyPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An image goes privately and to an app chat as an upload of type image, and to a group
// robot inline (base64 with its MD5); each arrives with the same bytes.
func TestOutboxSendsImagesOnEveryChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	chat, err := h.API.CreateAppChat(ctx, bot.AppChat{Name: "县扶贫办工作群", Owner: "zhaoliu", UserList: []string{"zhaoliu", "lisi"}, ChatID: "wrOF0001"})
	if err != nil {
		t.Fatal(err)
	}
	pic := tinyPNG(t)
	mt, body, data := bot.Image("progress.png", pic)
	err = pgqueue.Enqueue(ctx, h.DB,
		bot.Outgoing{Key: "img-private", Channel: bot.ToUsers, Target: "zhaoliu", MsgType: mt, Body: body, File: data},
		bot.Outgoing{Key: "img-chat", Channel: bot.ToAppChat, Target: chat, MsgType: mt, Body: body, File: data},
		bot.Outgoing{Key: "img-robot", Channel: bot.ToWebhook, Target: "robotkey1", MsgType: mt, Body: body, File: data})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWorker(t, h.worker())
	defer stop()
	if err := h.Sim.Wait(waitCtx(t, 20*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= 3 }); err != nil {
		t.Fatalf("%v: %+v", err, h.Sim.Sent())
	}
	for _, m := range h.Sim.Sent() {
		if m.MsgType != "image" || !bytes.Equal(m.MediaData, pic) {
			t.Errorf("%s: msgtype %s, %d bytes (want the image's %d)", m.API, m.MsgType, len(m.MediaData), len(pic))
		}
		if m.API == "webhook/send" {
			obj := m.Body["image"].(map[string]any)
			sum := md5.Sum(pic)
			if obj["md5"] != hex.EncodeToString(sum[:]) || obj["base64"] != base64.StdEncoding.EncodeToString(pic) {
				t.Errorf("robot image body: %v", obj)
			}
		}
	}
	if n := len(h.Sim.SentTo("zhaoliu")); n != 1 {
		t.Errorf("%d private images, want 1", n)
	}
	if n := len(h.Sim.SentInChat(chat)); n != 1 {
		t.Errorf("%d chat images, want 1", n)
	}
	// an image message without content is refused when queued, not sent empty
	if err := pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "img-empty", Channel: bot.ToUsers, Target: "zhaoliu", MsgType: mt, Body: body}); err == nil {
		t.Error("an image without content was queued")
	}
}

// The simulator takes as an image only a PNG or JPG uploaded as type image, as WeCom does.
func TestSimulatorRefusesWhatIsNotAnImage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.API.UploadMedia(ctx, "image", "x.png", []byte("not a picture")); err == nil {
		t.Error("a text file was taken as an image")
	}
	id, err := h.API.UploadMedia(ctx, "file", "x.png", tinyPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.API.SendMessage(ctx, map[string]any{"touser": "zhaoliu", "msgtype": "image", "agentid": h.API.AgentID, "image": map[string]any{"media_id": id}})
	if err == nil {
		t.Error("a file upload was sent as an image")
	}
	bad := map[string]any{"msgtype": "image", "image": map[string]any{"base64": base64.StdEncoding.EncodeToString(tinyPNG(t)), "md5": "00"}}
	if err := h.API.WebhookSend(ctx, "robotkey1", bad); err == nil {
		t.Error("a robot image with a wrong md5 was taken")
	}
}
