#!/usr/bin/env bash
# Install the Debian packages fivegbench's traffic endpoints use, when missing and when we are root.
set -u
missing=()
for tool in iperf3 irtt; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: ${missing[*]} missing and not root; traffic tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null \
  || echo "note: could not install ${missing[*]}; traffic tests will be skipped" >&2
exit 0
