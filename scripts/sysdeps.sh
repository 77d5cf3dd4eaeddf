#!/usr/bin/env bash
# Install the Debian packages the tests use, when missing and when we are root: the traffic
# endpoints (iperf3, irtt) and the browser the report is opened in (Debian's Chromium and
# ChromeDriver; never a browser downloaded by a test tool). Never fails: one note line instead.
set -u
missing=()
for pair in iperf3:iperf3 irtt:irtt chromium:chromium chromedriver:chromium-driver; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: ${missing[*]} missing and not root; the tests that need them will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${missing[*]}; the tests that need them will be skipped" >&2
exit 0
