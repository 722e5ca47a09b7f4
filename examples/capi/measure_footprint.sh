#!/usr/bin/env bash
# Measures what examples/README.md reports: the code size the engine adds to a minimal C app (stripped,
# x86-64 and AArch64, -O2 and -Os) and the run-time memory of S0..S4.
#
#   examples/capi/measure_footprint.sh BUILD_DIR     BUILD_DIR: a configured and built tree (mobileone-footprint)
#
# Needs g++ and, for AArch64, g++-aarch64-linux-gnu (apt-get install -y g++-aarch64-linux-gnu).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(realpath "${1:?usage: measure_footprint.sh BUILD_DIR}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# File sizes move in steps of the linker's page alignment (64 KiB on AArch64); `size`'s text (code and
# read-only data) does not, so both are shown.
echo "## Code size (bytes, stripped; file / text)"
echo "| target | flags | C++ runtime | empty C app | minimal app | engine adds |"
echo "| --- | --- | --- | --- | --- | --- |"
printf 'int main(void) { return 0; }\n' >"$work/empty.c"
for prefix in "" aarch64-linux-gnu-; do
  command -v "${prefix}g++" >/dev/null || { echo "| ${prefix:-host} | (no ${prefix}g++) |"; continue; }
  arch=$("${prefix}gcc" -dumpmachine | cut -d- -f1)
  for opt in -O2 -Os; do
    # Unused functions and data are dropped at link time; only the C API's symbols are exported.
    common=("$opt" -ffunction-sections -fdata-sections)
    "${prefix}g++" -std=c++17 "${common[@]}" -fvisibility=hidden -Iinclude -I. -c examples/capi/mobileone_c.cpp -o "$work/engine.o"
    "${prefix}gcc" -std=c99 "${common[@]}" -Iinclude -c examples/capi/minimal_classify.c -o "$work/app.o"
    "${prefix}gcc" -std=c99 "${common[@]}" -c "$work/empty.c" -o "$work/empty.o"
    for runtime in shared static; do
      link=("$opt" -Wl,--gc-sections -pthread)
      [[ $runtime == static ]] && link+=(-static-libstdc++ -static-libgcc)
      "${prefix}g++" "${link[@]}" "$work/app.o" "$work/engine.o" -o "$work/app"
      "${prefix}g++" "${link[@]}" "$work/empty.o" -o "$work/empty"
      "${prefix}strip" "$work/app" "$work/empty"
      app=$(stat -c %s "$work/app") empty=$(stat -c %s "$work/empty")
      app_text=$(size "$work/app" | awk 'NR == 2 {print $1}') empty_text=$(size "$work/empty" | awk 'NR == 2 {print $1}')
      echo "| $arch | $opt | libstdc++ $runtime | $empty / $empty_text | $app / $app_text | $((app - empty)) / $((app_text - empty_text)) |"
    done
  done
done

echo
echo "## Run-time memory (one context, default threads, one 224x224 RGB image)"
for variant in s0 s1 s2 s3 s4; do
  "$build/examples/capi/mobileone-footprint" write-random "$variant" "$work/$variant.mone"
  "$build/examples/capi/mobileone-footprint" measure "$work/$variant.mone"
done
