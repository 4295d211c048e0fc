#!/usr/bin/env bash
# Install the Debian packages jobq needs to build and test, if any is missing.
# Usage: scripts/deps.sh [build|test|all|fuzz]   (as root, or through sudo when available)
# fuzz: clang with libFuzzer and the sanitizers' runtime, and llvm-symbolizer (make fuzz).
# test: postgresql (the server: tests/pg/cluster.sh runs a throwaway cluster; Debian 12: 15).
set -eu
what=${1:-build}
pkgs="meson ninja-build pkg-config gcc libsqlite3-dev libpq-dev libcurl4-openssl-dev libcjson-dev libbsd-dev libmd-dev scdoc libsystemd-dev tzdata"
case "$what" in
test|all) pkgs="$pkgs libcmocka-dev jq sqlite3 python3 python3-prometheus-client systemd procps curl faketime strace e2fsprogs util-linux passwd zsh fish groff-base postgresql" ;;
fuzz) pkgs="$pkgs clang libclang-rt-dev llvm" ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "jobq: installing:$missing" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
