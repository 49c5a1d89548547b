#!/usr/bin/env bash
# setup.sh - installs the Debian packages weft needs to build, test and demo,
# only when some are missing (so a second run costs a second, not a minute).
set -euo pipefail
PKGS=(build-essential pkg-config clang libmicrohttpd-dev libjansson-dev libyaml-dev
      libsqlite3-dev libzip-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
      libpcre2-dev protobuf-c-compiler libprotobuf-c-dev libopenblas-dev
      curl jq zip unzip wrk nginx-light python3-sklearn sqlite3 procps
      prometheus) # prometheus: promtool, which tests/api/metrics.sh runs on GET /metrics
# PyTorch is large; only the example that needs it asks for it (WEFT_WITH_TORCH=1).
if [ "${WEFT_WITH_TORCH:-0}" = 1 ]; then PKGS+=(python3-torch python3-onnx); fi
# The serving benchmark's baseline: the PyTorch model behind Flask and gunicorn.
if [ "${WEFT_BENCH:-0}" = 1 ]; then PKGS+=(python3-torch python3-flask gunicorn); fi
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
