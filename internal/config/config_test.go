package config

import (
	"strings"
	"testing"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.Addr != ":8080" || c.PublicURL != "http://localhost:8080" || c.RedisPrefix != "fangpin:" {
		t.Errorf("defaults: %+v", c)
	}
	if c.NeedWeCom() == nil {
		t.Error("an empty WeCom configuration passed NeedWeCom")
	}
}

func TestAIBotDefaultsToTheApp(t *testing.T) {
	key := strings.Repeat("a", 43)
	c, err := Load(env(map[string]string{"WECOM_TOKEN": "tok", "WECOM_AES_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AIBotToken != "tok" || c.AIBotAESKey != key {
		t.Errorf("AI bot keys: %q %q", c.AIBotToken, c.AIBotAESKey)
	}
}

// Every bad variable is named in one error, at start.
func TestEveryBadVariableIsNamed(t *testing.T) {
	_, err := Load(env(map[string]string{
		"DATABASE_URL":     "mysql://x/y",
		"REDIS_URL":        "localhost:6379",
		"WECOM_AGENT_ID":   "abc",
		"WECOM_AES_KEY":    "short",
		"FANGPIN_ADDR":     "8080",
		"FANGPIN_HOLIDAYS": "/no/such/file",
		"WECOM_API_BASE":   "https://",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, k := range []string{"DATABASE_URL", "REDIS_URL", "WECOM_AGENT_ID", "WECOM_AES_KEY", "FANGPIN_ADDR", "FANGPIN_HOLIDAYS", "WECOM_API_BASE"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s:\n%v", k, err)
		}
	}
}

func TestPasswordsAreNotPrinted(t *testing.T) {
	_, err := Load(env(map[string]string{"DATABASE_URL": "mysql://u:hunter2@h/db"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

func TestKeyValueDSN(t *testing.T) {
	if _, err := Load(env(map[string]string{"DATABASE_URL": "host=/var/run/postgresql dbname=fangpin"})); err != nil {
		t.Fatal(err)
	}
}

// FANGPIN_PUBLIC_URL's default is a valid URL for any FANGPIN_ADDR (it once read
// http://localhost127.0.0.1:8080).
func TestPublicURLDefaultsFromTheAddress(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080",
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"[::1]:8080":     "http://[::1]:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		"fp.local:80":    "http://fp.local:80",
	} {
		c, err := Load(env(map[string]string{"FANGPIN_ADDR": addr}))
		if err != nil {
			t.Errorf("FANGPIN_ADDR=%s: %v", addr, err)
			continue
		}
		if c.PublicURL != want {
			t.Errorf("FANGPIN_ADDR=%s: public URL %q, want %q", addr, c.PublicURL, want)
		}
	}
}

func TestRetentionYearsAndHashKey(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.RetentionYears != 5 || c.HashKey != nil {
		t.Fatalf("defaults: %d %v %v", c.RetentionYears, c.HashKey, err)
	}
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // "0123456789abcdef0123456789abcdef"
	c, err = Load(env(map[string]string{"FANGPIN_RETENTION_YEARS": "7", "FANGPIN_HASH_KEY": key, "FANGPIN_DATA_KEYS": "k1:" + key}))
	if err != nil || c.RetentionYears != 7 || string(c.HashKey) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("set: %d %q %v", c.RetentionYears, c.HashKey, err)
	}
	if c.KeysAreDemo() || c.Keys.Current() != "k1" {
		t.Fatalf("configured keys: demo %v", c.KeysAreDemo())
	}
	_, err = Load(env(map[string]string{"FANGPIN_RETENTION_YEARS": "0", "FANGPIN_HASH_KEY": "c2hvcnQ="}))
	if err == nil || !strings.Contains(err.Error(), "FANGPIN_RETENTION_YEARS") || !strings.Contains(err.Error(), "FANGPIN_HASH_KEY") {
		t.Fatalf("bad values: %v", err)
	}
}

func TestDataKeys(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || !c.KeysAreDemo() {
		t.Fatalf("no keys set: want the demo keyring, got demo=%v, %v", c.KeysAreDemo(), err)
	}
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	for name, vars := range map[string]map[string]string{
		"data keys without hash key": {"FANGPIN_DATA_KEYS": "k1:" + key},
		"hash key without data keys": {"FANGPIN_HASH_KEY": key},
		"short data key":             {"FANGPIN_HASH_KEY": key, "FANGPIN_DATA_KEYS": "k1:c2hvcnQ="},
	} {
		if _, err := Load(env(vars)); err == nil || !strings.Contains(err.Error(), "FANGPIN_") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, err = Load(env(map[string]string{"FANGPIN_HASH_KEY": key, "FANGPIN_DATA_KEYS": "new:" + key + ",old:" + key}))
	if err != nil || c.Keys.Current() != "new" || len(c.Keys.KeyIDs()) != 2 {
		t.Fatalf("two keys: %v", err)
	}
}
