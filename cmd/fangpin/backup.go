package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/seal"
)

// A backup file is a tar of two members: manifest.json, then ledger.dump (pg_dump's custom
// format). docs/operations.md tells how to take one daily and rehearse a restore.
const (
	backupFormat   = "fangpin-backup/1"
	manifestMember = "manifest.json"
	dumpMember     = "ledger.dump"
)

// manifest describes a backup: what wrote it, the schema's version and the dump's checksum.
type manifest struct {
	Format           string   `json:"format"`
	FangpinVersion   string   `json:"fangpin_version"`
	MigrationVersion int64    `json:"migration_version"`
	KeyIDs           []string `json:"key_ids"` // the data keys the personal data is sealed under (docs/encryption.md)
	// HashKeyCheck tells the FANGPIN_HASH_KEY the key columns were hashed under without
	// showing it (hashKeyCheck): a restore under another one would find nobody.
	HashKeyCheck  string    `json:"hash_key_check,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	Database      string    `json:"database"`
	DumpSHA256    string    `json:"dump_sha256"`
	DumpBytes     int64     `json:"dump_bytes"`
	PgDumpVersion string    `json:"pg_dump_version"`
	ServerVersion string    `json:"server_version"`
}

// fangpinVersion is the module's version and, in a build from a checkout, its commit.
func fangpinVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// pgTool runs pg_dump or pg_restore against dbURL. A password in the URL goes through
// PGPASSWORD rather than the command line, where any user of the machine could read it.
func pgTool(ctx context.Context, dbURL, tool string, args ...string) *exec.Cmd {
	conn, pass := dbURL, ""
	if u, err := url.Parse(dbURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.User != nil {
		if p, ok := u.User.Password(); ok {
			pass = p
			u.User = url.User(u.User.Username())
			conn = u.String()
		}
	}
	cmd := exec.CommandContext(ctx, tool, append(args, "--dbname="+conn)...)
	cmd.Env = os.Environ()
	if pass != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+pass)
	}
	return cmd
}

// toolMessage is what pg_dump or pg_restore said, fit for a log: a failed COPY quotes the
// row, so ID numbers are masked, and the text is cut short.
func toolMessage(s string) string {
	s = bot.MaskIDNumbers(strings.TrimSpace(s))
	if r := []rune(s); len(r) > 500 {
		s = string(r[:500]) + "…"
	}
	return s
}

var pgVersionRE = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// pgMajor is the major version in a version string ("pg_dump (PostgreSQL) 15.20 (Debian…)").
func pgMajor(v string) int {
	if i := strings.Index(v, ")"); i >= 0 && strings.HasPrefix(v, "pg_") {
		v = v[i+1:]
	}
	m := pgVersionRE.FindStringSubmatch(v)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// toolVersion checks that the PostgreSQL client tool is installed and not older than the
// server (pg_dump refuses a newer server; pg_restore cannot read a newer dump).
func toolVersion(ctx context.Context, tool, server string) (string, error) {
	out, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("找不到 %s：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client-%d）", tool, max(pgMajor(server), 13))
	}
	v := strings.TrimSpace(string(out))
	if c, s := pgMajor(v), pgMajor(server); c < s {
		return "", fmt.Errorf("%s 的版本（%d）比数据库服务器（%d）旧，无法备份或恢复：请安装 postgresql-client-%d，并让它排在 PATH 前面", tool, c, s, s)
	}
	return v, nil
}

// runBackup: `fangpin backup [--json] -o FILE` writes a consistent backup of the ledger.
func runBackup(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("o", "", "备份文件（例如 /var/backups/fangpin/fangpin-2026-11-30.backup）")
	asJSON := fs.Bool("json", false, "在标准输出打印清单 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 || *out == "" {
		fmt.Fprintln(os.Stderr, "用法：fangpin backup [--json] -o FILE")
		return errUsage
	}
	// Not migrated: a backup taken before an upgrade keeps the schema it found.
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	info, err := db.ServerInfo(ctx)
	if err != nil {
		return err
	}
	dumpVer, err := toolVersion(ctx, "pg_dump", info.Version)
	if err != nil {
		return err
	}
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if version == 0 {
		return fmt.Errorf("数据库 %s 还是空的（没有运行过 fangpin migrate），没有可以备份的台账", info.Database)
	}
	// The dump goes next to the output first, so the file appears whole or not at all.
	dir := filepath.Dir(*out)
	tmp, err := os.CreateTemp(dir, ".fangpin-dump-*")
	if err != nil {
		return fmt.Errorf("无法在 %s 写备份：%w", dir, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	m := manifest{Format: backupFormat, FangpinVersion: fangpinVersion(), MigrationVersion: version, KeyIDs: db.Keys.KeyIDs(),
		HashKeyCheck: hashKeyCheck(db.Keys),
		CreatedAt:    db.Now().In(cases.Shanghai).Truncate(time.Second), Database: info.Database,
		PgDumpVersion: dumpVer, ServerVersion: info.Version}
	h := sha256.New()
	cmd := pgTool(ctx, env.DatabaseURL, "pg_dump", "--format=custom", "--no-password")
	cmd.Stdout = io.MultiWriter(tmp, h)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump 失败：%v %s", err, toolMessage(stderr.String()))
	}
	if m.DumpBytes, err = tmp.Seek(0, io.SeekCurrent); err != nil {
		return err
	}
	m.DumpSHA256 = hex.EncodeToString(h.Sum(nil))
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := writeBackup(*out, m, tmp); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "已备份数据库 %s（结构版本 %d，%.1f MB）到 %s。\n", m.Database, m.MigrationVersion, float64(m.DumpBytes)/1e6, *out)
	if *asJSON {
		return printJSON(m)
	}
	return nil
}

// writeBackup writes the tar atomically, readable by its owner only: it holds personal data.
func writeBackup(path string, m manifest, dump *os.File) error {
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".fangpin-backup-*")
	if err != nil {
		return fmt.Errorf("无法写备份 %s：%w", path, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, member := range []struct {
		name string
		size int64
		r    io.Reader
	}{{manifestMember, int64(len(mj)), strings.NewReader(string(mj))}, {dumpMember, m.DumpBytes, dump}} {
		if err := tw.WriteHeader(&tar.Header{Name: member.name, Mode: 0o600, Size: member.size, ModTime: m.CreatedAt}); err != nil {
			return fmt.Errorf("写备份 %s：%w", path, err)
		}
		if _, err := io.Copy(tw, member.r); err != nil {
			return fmt.Errorf("写备份 %s：%w", path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("写备份 %s：%w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("写备份 %s：%w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("写备份 %s：%w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("写备份 %s：%w", path, err)
	}
	return nil
}

// readBackup checks a backup's manifest and extracts its dump to a temporary file, whose
// checksum must be the manifest's. The caller removes the file.
func readBackup(path string) (manifest, string, error) {
	var m manifest
	f, err := os.Open(path)
	if err != nil {
		return m, "", fmt.Errorf("无法读取备份文件 %s：%w", path, err)
	}
	defer f.Close()
	bad := func(why string) error { return fmt.Errorf("%s 不是有效的 fangpin 备份文件：%s", path, why) }
	tr := tar.NewReader(f)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestMember {
		return m, "", bad("开头没有 " + manifestMember)
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil || m.Format != backupFormat {
		return m, "", bad("清单无法识别")
	}
	hdr, err = tr.Next()
	if err != nil || hdr.Name != dumpMember {
		return m, "", bad("缺少 " + dumpMember)
	}
	tmp, err := os.CreateTemp("", "fangpin-restore-*.dump")
	if err != nil {
		return m, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), tr)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return m, "", bad("读取数据时出错：" + err.Error())
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.DumpSHA256 || n != m.DumpBytes {
		os.Remove(tmp.Name())
		return m, "", bad("数据的校验和与清单不符，文件可能已损坏或被改动")
	}
	return m, tmp.Name(), nil
}

// runRestore: `fangpin restore [--json] FILE` restores a backup into the empty database of
// DATABASE_URL, then brings its schema up to this version's.
func runRestore(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "用法：fangpin restore [--json] FILE")
		return errUsage
	}
	m, dump, err := readBackup(fs.Arg(0))
	if err != nil {
		return err
	}
	defer os.Remove(dump)
	latest, err := postgres.LatestMigration()
	if err != nil {
		return err
	}
	if m.MigrationVersion > latest {
		return fmt.Errorf("备份来自较新的版本（结构版本 %d，本程序只到 %d）：请用不低于 %s 的 fangpin 恢复", m.MigrationVersion, latest, m.FangpinVersion)
	}
	db, err := env.DB(ctx)
	if err != nil {
		return err
	}
	// The personal data is restored as it was sealed: without the keys the backup names, every
	// name and ID number would be restored unreadable (docs/operations.md).
	if missing := missingKeys(m.KeyIDs, db.Keys.KeyIDs()); len(missing) > 0 {
		return fmt.Errorf("备份中的个人信息用密钥 %s 加密，当前的 FANGPIN_DATA_KEYS 里没有，恢复后将无法解密：请把备份时的密钥加入 FANGPIN_DATA_KEYS 后再恢复（数据库未改动）",
			strings.Join(missing, "、"))
	}
	if m.HashKeyCheck != "" && m.HashKeyCheck != hashKeyCheck(db.Keys) {
		return fmt.Errorf("备份时的身份证号哈希密钥与现在配置的 FANGPIN_HASH_KEY 不同，恢复后将无法按身份证号找到任何人：请使用备份时的 FANGPIN_HASH_KEY 再恢复（数据库未改动）")
	}
	info, err := db.ServerInfo(ctx)
	if err != nil {
		return err
	}
	if n, err := db.UserTables(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("数据库 %s 不是空的（已有 %d 张表），恢复只能写入空数据库：请新建一个数据库（例如 createdb %s_restore），把 DATABASE_URL 指向它后再恢复", info.Database, n, info.Database)
	}
	if _, err := toolVersion(ctx, "pg_restore", info.Version); err != nil {
		return err
	}
	// One transaction: a restore that fails leaves the database empty, ready for another try.
	cmd := pgTool(ctx, env.DatabaseURL, "pg_restore", "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", "--no-password", dump)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_restore 失败（数据库未改动）：%v %s", err, toolMessage(stderr.String()))
	}
	mig, err := db.MigrateReport(ctx)
	if err != nil {
		return fmt.Errorf("恢复后的数据库迁移失败：%w", err)
	}
	res := struct {
		Database          string    `json:"database"`
		BackupCreatedAt   time.Time `json:"backup_created_at"`
		BackupVersion     int64     `json:"backup_migration_version"`
		MigrationsApplied int       `json:"migrations_applied"`
		MigrationVersion  int64     `json:"migration_version"`
		KeyIDs            []string  `json:"key_ids"`
	}{info.Database, m.CreatedAt, m.MigrationVersion, mig.Applied, mig.Version, m.KeyIDs}
	fmt.Fprintf(os.Stderr, "已把 %s 的备份恢复到数据库 %s（结构版本 %d", m.CreatedAt.In(cases.Shanghai).Format("2006-01-02 15:04"), info.Database, m.MigrationVersion)
	if mig.Applied > 0 {
		fmt.Fprintf(os.Stderr, "，又应用了 %d 个迁移，现为 %d", mig.Applied, mig.Version)
	}
	fmt.Fprintln(os.Stderr, "）。")
	if *asJSON {
		return printJSON(res)
	}
	return nil
}

// hashKeyCheck is the keyed hash of a fixed text under the ID hash's key: equal for equal
// keys, and it tells nothing of the key or of anyone's number.
func hashKeyCheck(k *seal.Keyring) string { return k.IDHash("fangpin backup hash key check")[:16] }

// missingKeys lists the key ids a backup names that are not configured.
func missingKeys(backup, configured []string) []string {
	var missing []string
	for _, id := range backup {
		if !slices.Contains(configured, id) {
			missing = append(missing, id)
		}
	}
	return missing
}
