#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1. Where they already run, it touches
# nothing; where they are missing, it installs Debian's packages and starts them (no systemd
# needed). Safe to run any number of times.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

pg_answers() { psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=3" -qtAc 'select 1' >/dev/null 2>&1; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

# --- Go ---
# go.mod names the Go it needs. Debian 12's golang-go is 1.19, too old to fetch a newer one
# itself (GOTOOLCHAIN came with 1.21), so where no usable go is found, the toolchain go.mod
# names is taken from the Go module proxy, where the go command itself would get it, into
# /usr/local/go.
go_usable() {
  local g=$1 v
  [ -x "$g" ] || return 1
  v=$("$g" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ -n "$v" ] && [ "$(printf '%s\n1.21\n' "$v" | sort -V | head -n 1)" = "1.21" ]
}
if ! go_usable /usr/local/go/bin/go && ! go_usable "$(command -v go 2>/dev/null || true)"; then
  want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$(dirname "$0")/../go.mod")
  arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  proxy=${GOPROXY:-https://proxy.golang.org}; proxy=${proxy%%,*}
  echo "安装 Go $want（来自 Go 模块代理）……" >&2
  command -v curl >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1 || apt_install curl unzip ca-certificates
  tmp=$(mktemp -d)
  curl -fsSL "$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip" -o "$tmp/go.zip"
  unzip -q "$tmp/go.zip" -d "$tmp"
  $SUDO rm -rf /usr/local/go
  $SUDO mv "$tmp/golang.org/toolchain@v0.0.1-go$want.linux-$arch" /usr/local/go
  $SUDO chmod -R a+rX /usr/local/go
  chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/* 2>/dev/null || $SUDO chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/*
  rm -rf "$tmp"
fi

# --- PostgreSQL ---
# The tests and the demo connect as FANGPIN_TEST_PG (default: user postgres without a
# password on 127.0.0.1). Authentication is changed only on a cluster this script installed
# itself, as a throwaway test cluster: it marks such a cluster with the file below. A
# PostgreSQL that was there before, and asks for a password, is left as it is.
PG_URL=${FANGPIN_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PG_SHOWN=$(printf '%s' "$PG_URL" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#')
MARKER_NAME=fangpin-test-cluster
pg_answers() { psql "$PG_URL" -v ON_ERROR_STOP=1 -qtAc 'select 1' >/dev/null 2>&1 </dev/null; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
pg_password_help() {
  cat >&2 <<HELP
PostgreSQL 在运行，但 $PG_SHOWN 无法登录（需要密码，或没有这个用户）。这台机器的 PostgreSQL 不是本脚本为测试创建的，
因此本脚本不会修改它的认证方式（pg_hba.conf）。请用带密码的账号运行，例如：
  sudo -u postgres psql -c "CREATE ROLE fangpin_test LOGIN CREATEDB PASSWORD '换成强密码'"
  export FANGPIN_TEST_PG='postgres://fangpin_test:换成强密码@127.0.0.1:5432/postgres?sslmode=disable'
  make test            # 测试用 FANGPIN_TEST_PG 建临时数据库
正式运行时把 DATABASE_URL 设为同样带密码的地址（见 docs/operations.md）。
HELP
}

if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
  echo "安装 PostgreSQL 客户端……" >&2
  apt_install postgresql-client
fi
if ! pg_answers; then
  if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
    if pg_up; then
      # A PostgreSQL not of Debian's packages (another machine's, a container) answers:
      # nothing of it is ours to change.
      pg_password_help; exit 1
    fi
    echo "安装 PostgreSQL（本机测试用集群）……" >&2
    apt_install postgresql
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    # Debian's package makes the cluster "main" itself, unless told not to.
    [ -d "/etc/postgresql/$ver/main" ] || $SUDO pg_createcluster "$ver" main >/dev/null
    # The cluster Debian's package just created is this script's, for tests only.
    echo "Created by scripts/services.sh of fangpin as a throwaway test cluster; it may switch its local TCP authentication to trust." |
      $SUDO tee "/etc/postgresql/$ver/main/$MARKER_NAME" >/dev/null
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! pg_up; then
    echo "启动 PostgreSQL $ver……" >&2
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_answers && pg_up; then
    if [ -f "/etc/postgresql/$ver/main/$MARKER_NAME" ]; then
      # A fresh Debian cluster asks for a password on TCP. This one was installed by this
      # script for tests: let the local user postgres in without one, from 127.0.0.1 and
      # ::1 only.
      echo "注意：PostgreSQL $ver/main 是本脚本为测试安装的集群（标记文件 /etc/postgresql/$ver/main/$MARKER_NAME），" \
        "现把它的本机 TCP 连接（仅 127.0.0.1 / ::1）改为免密（trust）。正式服务器切勿如此，见 docs/operations.md。" >&2
      hba=/etc/postgresql/$ver/main/pg_hba.conf
      $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
      for _ in $(seq 1 10); do pg_answers && break; sleep 0.5; done
    else
      pg_password_help; exit 1
    fi
  fi
  pg_answers || { echo "PostgreSQL 仍然无法连接（$PG_SHOWN），请检查。" >&2; exit 1; }
fi

# --- Redis ---
if ! command -v redis-cli >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
  if ! redis_answers; then
    echo "安装 Redis……" >&2
    apt_install redis-server
  fi
fi
if ! redis_answers; then
  echo "启动 Redis……" >&2
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/fangpin.log
  for _ in $(seq 1 30); do redis_answers && break; sleep 0.5; done
  redis_answers || { echo "Redis 仍然无法连接（127.0.0.1:6379），请检查。" >&2; exit 1; }
fi
echo "PostgreSQL 与 Redis 均已就绪。" >&2
