#!/usr/bin/env bash
# Installs what `npm start` / `npm test` need when it is missing, then builds.
# Usage: ensure-deps.sh [--runtime|--test]. Both need npm deps, SIPp (the demo call) and openssl;
# the tests also need sox (WAV checks), Samba + smbclient and OpenSSH (real archive servers),
# systemd-analyze (checks systemd/callrec.service).
# Debian packages are installed with apt-get only when missing and only as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[ensure-deps] installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${1:-}" = "--test" ]; then
  command -v soxi >/dev/null 2>&1 || missing+=(sox)
  command -v smbd >/dev/null 2>&1 || missing+=(samba)
  command -v smbclient >/dev/null 2>&1 || missing+=(smbclient)
  command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[ensure-deps] installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[ensure-deps] missing Debian packages: ${missing[*]} (run as root or install them: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

echo "[ensure-deps] building"
rm -rf dist
npx tsc -p tsconfig.json
