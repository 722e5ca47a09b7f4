#!/usr/bin/env bash
# Peer comparison entry point: builds the two tools it needs (Release preset, if the build tree exists or
# can be configured), then runs compare.py with Debian's Python (torch, opencv, numpy).
#   bench/peers/compare.sh [--variants s0,s1,s2,s3,s4] [--threads 1,2] [--passes 3] [--budget 1.0] ...
#   bench/peers/compare.sh [--int8-blob s0=PATH.mone] [--percentile 99.99] ...
#   bench/peers/compare.sh --help
# Results: build/peers/results.md, results.csv, ratios.csv, int8_accuracy.md/.csv, raw.jsonl. Generated
# models/ONNX files (fp32 and int8 QDQ), preprocessed photos and the npm install of onnxruntime-node also
# live under build/peers (never committed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${MOBILEONE_PYTHON:-/usr/bin/python3}"

build_dir="$repo/build/release"
for ((i = 1; i <= $#; ++i)); do
  case "${!i}" in
    --build-dir) j=$((i + 1)); build_dir="${!j}" ;;
    --build-dir=*) build_dir="${!i#--build-dir=}" ;;
    -h|--help) exec "$python" "$here/compare.py" --help ;;
  esac
done

if [[ -z "${MOBILEONE_NO_BUILD:-}" ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" && "$build_dir" == "$repo/build/release" ]]; then
    (cd "$repo" && cmake --preset release >/dev/null)
  fi
  if [[ -f "$build_dir/CMakeCache.txt" ]]; then
    cmake --build "$build_dir" -j2 --target mobileone-classify mobileone-make-model >/dev/null
  fi
fi
exec "$python" "$here/compare.py" "$@"
