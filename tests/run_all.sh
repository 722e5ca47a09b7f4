#!/usr/bin/env bash
# Runs every test: the host build (all ISAs this CPU has), then the AArch64 build under qemu.
#   tests/run_all.sh             release + aarch64 (what CI runs)
#   tests/run_all.sh --hardening also the sanitize (ASan+UBSan), tsan and fuzz presets
#   tests/run_all.sh PRESET...   just those workflow presets
# Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

selected=(release aarch64)
if [ "${1:-}" = "--hardening" ]; then
  selected+=(sanitize tsan fuzz)
elif (($#)); then
  selected=("$@")
fi

available=$(cmake --list-presets=workflow 2>/dev/null | sed -n 's/^ *"\([^"]*\)".*/\1/p')
for preset in "${selected[@]}"; do
  grep -qx "$preset" <<<"$available" || { echo "no workflow preset '$preset'" >&2; exit 1; }
  echo "=== workflow preset: $preset"
  start=$SECONDS
  cmake --workflow --preset "$preset"
  echo "=== $preset passed in $((SECONDS - start)) s"
done
