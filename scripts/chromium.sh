#!/usr/bin/env bash
# Makes sure a headless Chromium is available for the mini-form browser test (chromedp).
# Where one is installed it touches nothing; otherwise it installs Debian's package.
set -euo pipefail
for b in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  [ -x "$b" ] && exit 0
done
command -v chromium >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "安装 Chromium（表单浏览器测试需要）……" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
echo "Chromium 已就绪。" >&2
