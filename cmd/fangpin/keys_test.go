package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/seal"
	"github.com/fangpin/fangpin/internal/config"
)

// `keys rotate --json` moves every sealed value to the new first key (docs/encryption.md):
// afterwards `cases --json` prints the same members under the new key alone, and under a
// configuration that lacks it, fails with a message naming the key instead of printing
// garbage.
func TestKeysRotateCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.MigratedURL(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := dispatchtest.Setup(t, db) // sealed under the demo keys
	dispatchtest.Warn(t, db, p)
	t.Setenv("DATABASE_URL", url)
	if code, out := run(t, "dispatch", "--date", "2026-11-10", "--json"); code != 0 {
		t.Fatalf("dispatch: %d %s", code, out)
	}
	_, before := run(t, "cases", "--json")
	if !strings.Contains(before, p.A.ID) {
		t.Fatalf("cases --json lacks the members' numbers: %s", before)
	}

	k2 := sha256.Sum256([]byte("a county's second key"))
	newKey := "k2:" + base64.StdEncoding.EncodeToString(k2[:])
	t.Setenv("FANGPIN_HASH_KEY", base64.StdEncoding.EncodeToString(cases.DemoHashKey)) // never changes
	t.Setenv("FANGPIN_DATA_KEYS", newKey+","+seal.DemoDataKeys)
	code, out := run(t, "keys", "rotate", "--json")
	var res struct {
		Key    string `json:"key"`
		Tables []struct {
			Table     string `json:"table"`
			Rewritten int    `json:"rewritten"`
			Left      int    `json:"left"`
		} `json:"tables"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Key != "k2" {
		t.Fatalf("keys rotate: %d %s", code, out)
	}
	rewritten := map[string]int{}
	for _, tb := range res.Tables {
		rewritten[tb.Table] = tb.Rewritten
		if tb.Left != 0 {
			t.Errorf("keys rotate left %d rows of %s", tb.Left, tb.Table)
		}
	}
	if rewritten["warnings"] == 0 || rewritten["cases"] == 0 || rewritten["registry_members"] == 0 {
		t.Errorf("keys rotate rewrote %v", rewritten)
	}

	t.Setenv("FANGPIN_DATA_KEYS", newKey)
	if code, after := run(t, "cases", "--json"); code != 0 || after != before {
		t.Errorf("cases --json under k2 alone: %d\n%s\nwant\n%s", code, after, before)
	}
	t.Setenv("FANGPIN_DATA_KEYS", seal.DemoDataKeys)
	if code, after := run(t, "cases", "--json"); code == 0 || strings.Contains(after, p.A.ID) {
		t.Errorf("cases --json without the key the data is sealed under: %d %s", code, after)
	}
}

// serve and worker say on stderr when personal data is sealed under the published demo keys,
// and say nothing once a county's keys are set.
func TestDemoKeysWarning(t *testing.T) {
	stderrOf := func(vars map[string]string) string {
		t.Helper()
		c, err := config.Load(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stderr
		os.Stderr = w
		warnDemoKeys(&Env{Config: c})
		w.Close()
		os.Stderr = old
		b, _ := io.ReadAll(r)
		return string(b)
	}
	if got := stderrOf(map[string]string{}); !strings.Contains(got, "演示密钥") || !strings.Contains(got, "FANGPIN_DATA_KEYS") {
		t.Errorf("demo keys: stderr %q", got)
	}
	k := sha256.Sum256([]byte("a county's key"))
	key := base64.StdEncoding.EncodeToString(k[:])
	if got := stderrOf(map[string]string{"FANGPIN_DATA_KEYS": "k1:" + key, "FANGPIN_HASH_KEY": key}); got != "" {
		t.Errorf("configured keys: stderr %q", got)
	}
}
