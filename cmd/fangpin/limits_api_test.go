package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
	"github.com/fangpin/fangpin/internal/redistest"
)

func TestPushAPIRefusesBombsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds files of 50 MB")
	}
	t.Parallel()
	dbURL := pgtest.MigratedURL(t)
	applyExampleOrg(t, dbURL)
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	prefix := redistest.Prefix()
	var stderr bytes.Buffer
	cmd := helper(t, fangpinBinary(t), []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redistest.URL(), "FANGPIN_REDIS_PREFIX=" + prefix,
		"WECOM_CORP_ID=" + sim.CorpID, "WECOM_AGENT_ID=" + strconv.FormatInt(sim.AgentID, 10), "WECOM_SECRET=" + sim.Secret,
		"WECOM_TOKEN=" + sim.Token, "WECOM_AES_KEY=" + sim.AESKey, "WECOM_API_BASE=" + sim.URL, "FANGPIN_ADDR=" + addr,
		"FANGPIN_PUBLIC_URL=http://" + addr}, io.Discard, &stderr, "serve", "--no-worker")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
		if opt, err := redis.ParseURL(redistest.URL()); err == nil {
			rdb := redis.NewClient(opt)
			redistest.Empty(t, rdb, prefix)
			rdb.Close()
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %v; stderr %s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	files, want := bombs(t, t.TempDir())
	for i, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pr, pw := io.Pipe()
			ctype := multipartStream(pw, f, filepath.Base(file))
			a := postRaw(t, base, ctype, pr)
			if a.Status != http.StatusRequestEntityTooLarge || !strings.Contains(a.Error, want[i]) {
				t.Fatalf("answer %d %q; want 413 naming %q", a.Status, a.Error, want[i])
			}
		})
	}
	t.Run("two bombs at once", func(t *testing.T) {
		// Pushed together they wait their turn rather than add up.
		var sstBomb string
		for i, f := range files {
			if filepath.Base(f) == "strings.xlsx" {
				sstBomb = files[i]
			}
		}
		answers := make(chan refusal, 2)
		for i := 0; i < 2; i++ {
			go func() {
				f, err := os.Open(sstBomb)
				if err != nil {
					answers <- refusal{Error: err.Error()}
					return
				}
				defer f.Close()
				pr, pw := io.Pipe()
				answers <- postRaw(t, base, multipartStream(pw, f, "strings.xlsx"), pr)
			}()
		}
		for i := 0; i < 2; i++ {
			if a := <-answers; a.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("answer %d %q; want 413", a.Status, a.Error)
			}
		}
	})
	t.Run("JSON of many tiny records", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(`{"category":"medical","records":[`),
			sheettest.NewReader("{}", ",{}", 15<<20), strings.NewReader(`]}`))
		a := postRaw(t, base, "application/json", body)
		if a.Status != http.StatusRequestEntityTooLarge || !strings.Contains(a.Error, "200000 条") {
			t.Fatalf("answer %d %q", a.Status, a.Error)
		}
	})

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	exited = true
	rss := cmd.Peak(t)
	t.Logf("serve: max RSS %d MB over all pushes", rss>>20)
	if rss > maxRSS {
		t.Errorf("max RSS %d MB, over %d MB", rss>>20, maxRSS>>20)
	}
}

// multipartStream writes a push of file to pw as it is read, and returns the content type.
func multipartStream(pw *io.PipeWriter, file io.Reader, name string) string {
	boundary := "limits-test-boundary"
	go func() {
		fmt.Fprintf(pw, "--%s\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nmedical\r\n", boundary)
		fmt.Fprintf(pw, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=%q\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, name)
		if _, err := io.Copy(pw, file); err != nil {
			pw.CloseWithError(err)
			return
		}
		fmt.Fprintf(pw, "\r\n--%s--\r\n", boundary)
		pw.Close()
	}()
	return "multipart/form-data; boundary=" + boundary
}

type refusal struct {
	Status int
	Error  string
}

// postRaw pushes body and returns the answer's status and error message.
func postRaw(t *testing.T, base, ctype string, body io.Reader) refusal {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/batches", body)
	req.Header.Set("Authorization", "Bearer demo-token-ybj")
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := refusal{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("answer %d is not JSON: %v", resp.StatusCode, err)
	}
	return a
}
