package wecomtest

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

// An image the bot sends shows on the page as a picture: its kind is image and its address
// serves the PNG itself (not as a download).
func TestWebPageShowsImages(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.AddPerson(Person{UserID: "zhaoliu", Name: "赵六", Role: "县扶贫办", AllChats: true})
	s.Swap(s.WebHandler())
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 3, 3)))
	pic := buf.Bytes()

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "GET", s.URL+"/cgi-bin/gettoken?corpid="+s.CorpID+"&corpsecret="+s.Secret, nil, &tok)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("media", "progress.png")
	fw.Write(pic)
	mw.Close()
	resp, err := http.Post(s.URL+"/cgi-bin/media/upload?type=image&access_token="+tok.AccessToken, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		MediaID string `json:"media_id"`
		ErrCode int    `json:"errcode"`
	}
	decodeJSON(t, resp.Body, &up)
	if up.MediaID == "" {
		t.Fatalf("upload: %+v", up)
	}
	var res map[string]any
	call(t, "POST", s.URL+"/cgi-bin/message/send?access_token="+tok.AccessToken, map[string]any{"touser": "zhaoliu", "agentid": s.AgentID, "msgtype": "image", "image": map[string]any{"media_id": up.MediaID}}, &res)
	if res["errcode"] != float64(0) {
		t.Fatalf("image message: %v", res)
	}
	var p page
	call(t, "GET", s.URL+"/sim/api/messages?user=zhaoliu&chat=", nil, &p)
	if len(p.Messages) != 1 || p.Messages[0].Kind != "image" || p.Messages[0].File == "" {
		t.Fatalf("page messages: %+v", p.Messages)
	}
	got, err := http.Get(s.URL + "/" + p.Messages[0].File)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.Header.Get("Content-Type") != "image/png" || !bytes.Equal(data, pic) {
		t.Errorf("image served as %q, %d bytes", got.Header.Get("Content-Type"), len(data))
	}
}

func decodeJSON(t *testing.T, r io.ReadCloser, out any) {
	t.Helper()
	defer r.Close()
	if err := json.NewDecoder(r).Decode(out); err != nil {
		t.Fatal(err)
	}
}
