#!/usr/bin/env bash
# Runs every test: the host build (all ISAs this CPU has), then the AArch64 build under qemu, then the
# extra presets (sanitizers, fuzzers) that exist. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

presets=$(cmake --list-presets=workflow 2>/dev/null | sed -n 's/^ *"\([^"]*\)".*/\1/p')
for preset in release aarch64 sanitize tsan fuzz; do
  if grep -qx "$preset" <<<"$presets"; then
    echo "=== workflow preset: $preset"
    start=$SECONDS
    cmake --workflow --preset "$preset"
    echo "=== $preset passed in $((SECONDS - start)) s"
  fi
done
