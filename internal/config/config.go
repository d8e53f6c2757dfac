// Package config reads fangpin's configuration from the environment once, at start, and
// checks every variable there, so a typo fails the command at once with a message naming
// the variable instead of surfacing hours later in a worker. Libraries take values from
// Config; none of them reads the environment.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/fangpin/fangpin/cases/seal"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Config is every setting of docs/operations.md and the project's own FANGPIN_* variables.
type Config struct {
	DatabaseURL string // DATABASE_URL
	RedisURL    string // REDIS_URL
	RedisPrefix string // FANGPIN_REDIS_PREFIX: starts every Redis key

	CorpID      string // WECOM_CORP_ID
	AgentID     string // WECOM_AGENT_ID (digits)
	Secret      string // WECOM_SECRET
	Token       string // WECOM_TOKEN: app callback
	AESKey      string // WECOM_AES_KEY: app callback EncodingAESKey (43 characters)
	AIBotToken  string // WECOM_AIBOT_TOKEN, default the app's
	AIBotAESKey string // WECOM_AIBOT_AES_KEY, default the app's
	AIBotHost   string // WECOM_AIBOT_HOST: a host the AI bot's response_url may name besides the API's
	APIBase     string // WECOM_API_BASE

	Addr       string // FANGPIN_ADDR: HTTP listen address
	PublicURL  string // FANGPIN_PUBLIC_URL: the address put in form links
	FormSecret string // FANGPIN_FORM_SECRET: HMAC key of form links; empty: no links

	HolidaysFile string // FANGPIN_HOLIDAYS: holiday override file
	RulesFile    string // FANGPIN_RULES: rule threshold overrides
	// H5OAuth is FANGPIN_H5_OAUTH (1/on/true): H5 pages ask WeCom's OAuth who opens a signed
	// link and refuse anyone but its user (production); off, the link's user is trusted
	// (tests, the simulator). docs/privacy.md.
	H5OAuth bool
	// SpoolDir is FANGPIN_SPOOL_DIR: callbacks that come while Postgres is down wait here
	// (default: per database under the temp dir; "off": answer 503 instead).
	SpoolDir string

	// RetentionYears is FANGPIN_RETENTION_YEARS: cases closed longer ago are anonymized by
	// `fangpin retention --apply` (default 5).
	RetentionYears int
	// HashKey is FANGPIN_HASH_KEY (base64 of 32 bytes): the key of the ID numbers' keyed
	// hash. Empty: cases.DemoHashKey, which protects nothing.
	HashKey []byte
	// DataKeys is FANGPIN_DATA_KEYS ("id:base64,id:base64", 32-byte AES keys, the first
	// seals): the keys of personal data at rest (docs/encryption.md).
	DataKeys string
	// Keys is the keyring built from DataKeys and HashKey, or the published demo keyring
	// when neither is set (KeysAreDemo tells; serve and worker warn).
	Keys *seal.Keyring
	// DemoKeys is FANGPIN_DEMO_KEYS=1: a rehearsal against the simulator (or a test) runs on
	// the published demo keys. Without it, every command that opens the ledger refuses to
	// start without FANGPIN_DATA_KEYS and FANGPIN_HASH_KEY (docs/encryption.md).
	DemoKeys bool
}

// KeysAreDemo tells whether personal data is sealed under the published demo keys, which
// protect nothing: right for the demo, the simulator and tests only.
func (c Config) KeysAreDemo() bool { return c.Keys == nil || c.Keys.IsDemo() }

// Defaults suit this machine's local services.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/fangpin?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultAPIBase     = "https://qyapi.weixin.qq.com"
	DefaultAddr        = ":8080"
	DefaultRedisPrefix = "fangpin:"
	DefaultRetention   = 5
)

// Load reads the configuration through getenv (os.Getenv in production) and checks it.
// Every problem is reported, each naming its variable.
func Load(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL:  get("DATABASE_URL", DefaultDatabaseURL),
		RedisURL:     get("REDIS_URL", DefaultRedisURL),
		RedisPrefix:  get("FANGPIN_REDIS_PREFIX", DefaultRedisPrefix),
		CorpID:       get("WECOM_CORP_ID", ""),
		AgentID:      get("WECOM_AGENT_ID", ""),
		Secret:       get("WECOM_SECRET", ""),
		Token:        get("WECOM_TOKEN", ""),
		AESKey:       get("WECOM_AES_KEY", ""),
		AIBotHost:    get("WECOM_AIBOT_HOST", ""),
		APIBase:      strings.TrimRight(get("WECOM_API_BASE", DefaultAPIBase), "/"),
		Addr:         get("FANGPIN_ADDR", DefaultAddr),
		PublicURL:    strings.TrimRight(get("FANGPIN_PUBLIC_URL", ""), "/"),
		FormSecret:   get("FANGPIN_FORM_SECRET", ""),
		HolidaysFile: get("FANGPIN_HOLIDAYS", ""),
		RulesFile:    get("FANGPIN_RULES", ""),
		SpoolDir:     get("FANGPIN_SPOOL_DIR", ""),
	}
	switch strings.ToLower(get("FANGPIN_H5_OAUTH", "")) {
	case "1", "on", "true", "yes":
		c.H5OAuth = true
	}
	switch strings.ToLower(get("FANGPIN_DEMO_KEYS", "")) {
	case "1", "on", "true", "yes":
		c.DemoKeys = true
	}
	var errs []error
	if v := get("FANGPIN_RETENTION_YEARS", ""); v == "" {
		c.RetentionYears = DefaultRetention
	} else if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 100 {
		errs = append(errs, fmt.Errorf("环境变量 FANGPIN_RETENTION_YEARS 应为 1 到 100 之间的整数（年），现为 %q", v))
	} else {
		c.RetentionYears = n
	}
	if v := get("FANGPIN_HASH_KEY", ""); v != "" {
		if b, err := base64.StdEncoding.DecodeString(v); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("环境变量 FANGPIN_HASH_KEY 应为 32 字节密钥的 base64（例如 openssl rand -base64 32 的输出）"))
		} else {
			c.HashKey = b
		}
	}
	c.DataKeys = get("FANGPIN_DATA_KEYS", "")
	if k, err := keyring(c.DataKeys, c.HashKey); err != nil {
		errs = append(errs, err)
	} else {
		c.Keys = k
	}
	c.AIBotToken = get("WECOM_AIBOT_TOKEN", c.Token)
	c.AIBotAESKey = get("WECOM_AIBOT_AES_KEY", c.AESKey)
	if c.PublicURL == "" {
		c.PublicURL = DefaultPublicURL(c.Addr)
	}
	return c, errors.Join(append(errs, c.Check())...)
}

// keyring builds the personal data keyring: both variables or neither (the demo keys).
func keyring(dataKeys string, hashKey []byte) (*seal.Keyring, error) {
	switch {
	case dataKeys == "" && hashKey == nil:
		return seal.Demo(), nil
	case dataKeys == "":
		return nil, fmt.Errorf("环境变量 FANGPIN_DATA_KEYS 未设置：设置了 FANGPIN_HASH_KEY 时也要设置数据密钥（格式“编号:base64”，见 docs/encryption.md）")
	case hashKey == nil:
		return nil, fmt.Errorf("环境变量 FANGPIN_HASH_KEY 未设置：设置了 FANGPIN_DATA_KEYS 时也要设置身份证号哈希密钥（见 docs/encryption.md）")
	}
	k, err := seal.New(dataKeys, hashKey)
	if err != nil {
		return nil, fmt.Errorf("环境变量 %w", err)
	}
	return k, nil
}

// DefaultPublicURL is FANGPIN_PUBLIC_URL's default: http:// and FANGPIN_ADDR, with localhost
// for an empty host (":8080" → "http://localhost:8080", "127.0.0.1:8080" kept, "[::1]:8080"
// kept with its brackets). An address that does not split is left for Check to name.
func DefaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost" // listening on every address: this machine answers as localhost
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Check reports every variable whose value cannot work.
func (c Config) Check() error {
	var errs []error
	bad := func(k, format string, a ...any) {
		errs = append(errs, fmt.Errorf("环境变量 %s %s", k, fmt.Sprintf(format, a...)))
	}
	checkURL := func(k, v string, schemes ...string) {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" && (u.Scheme == "http" || u.Scheme == "https") {
			bad(k, "不是有效的地址：%q", redact(v))
			return
		}
		for _, s := range schemes {
			if u.Scheme == s {
				return
			}
		}
		bad(k, "应以 %s:// 开头：%q", strings.Join(schemes, ":// 或 "), redact(v))
	}
	// lib/pq also takes a key=value string (host=/var/run/postgresql dbname=fangpin).
	if !strings.Contains(c.DatabaseURL, "://") && strings.Contains(c.DatabaseURL, "=") {
	} else {
		checkURL("DATABASE_URL", c.DatabaseURL, "postgres", "postgresql")
	}
	checkURL("REDIS_URL", c.RedisURL, "redis", "rediss")
	checkURL("WECOM_API_BASE", c.APIBase, "http", "https")
	checkURL("FANGPIN_PUBLIC_URL", c.PublicURL, "http", "https")
	if c.AgentID != "" {
		if _, err := strconv.ParseInt(c.AgentID, 10, 64); err != nil {
			bad("WECOM_AGENT_ID", "应为数字：%q", c.AgentID)
		}
	}
	for k, v := range map[string]string{"WECOM_AES_KEY": c.AESKey, "WECOM_AIBOT_AES_KEY": c.AIBotAESKey} {
		if v == "" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(v + "="); len(v) != 43 || err != nil || len(b) != 32 {
			bad(k, "应为企业微信后台给出的 43 位 EncodingAESKey")
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("FANGPIN_ADDR", "应为“主机:端口”或“:端口”，例如 :8080，现为 %q", c.Addr)
	}
	if strings.ContainsAny(c.AIBotHost, "/: ") {
		bad("WECOM_AIBOT_HOST", "应只写主机名，例如 qyapi.weixin.qq.com，现为 %q", c.AIBotHost)
	}
	for k, v := range map[string]string{"FANGPIN_HOLIDAYS": c.HolidaysFile, "FANGPIN_RULES": c.RulesFile} {
		if v == "" {
			continue
		}
		if st, err := os.Stat(v); err != nil || st.IsDir() {
			bad(k, "指向的文件 %s 读不到", v)
		}
	}
	return errors.Join(errs...)
}

// NeedWeCom reports what is missing for talking to WeCom (serve, chats, demo's server).
func (c Config) NeedWeCom() error {
	var missing []string
	for _, kv := range [][2]string{{"WECOM_CORP_ID", c.CorpID}, {"WECOM_AGENT_ID", c.AgentID}, {"WECOM_SECRET", c.Secret}, {"WECOM_TOKEN", c.Token}, {"WECOM_AES_KEY", c.AESKey}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("请设置企业微信配置：%s（离线可先运行 fangpin sim）", strings.Join(missing, "、"))
	}
	return nil
}

// redact hides a password in a URL before it is printed.
func redact(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}
