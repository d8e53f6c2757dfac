#!/usr/bin/env bash
# Makes sure a headless Chromium (for the browser tests via chromedp) and a Chinese font (or
# the simulator page's screenshot shows empty boxes, and 进度/统计 cannot draw their charts:
# docs/charts.md; on a server, run this or install fonts-wqy-microhei) are available. Where both are installed
# it touches nothing; otherwise it installs Debian's packages.
set -euo pipefail
pkgs=""
have=""
for b in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  [ -x "$b" ] && have=1
done
command -v chromium >/dev/null 2>&1 && have=1
[ -z "$have" ] && pkgs="chromium"
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then pkgs="$pkgs fonts-wqy-microhei"; fi
[ -z "$pkgs" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "安装$pkgs（浏览器测试需要）……" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >/dev/null
echo "Chromium 与中文字体已就绪。" >&2
