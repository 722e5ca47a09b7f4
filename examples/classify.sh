#!/usr/bin/env bash
# The main job in one command: build the CLI (release preset), obtain the weights as a user would
# (Apple's official checkpoint, downloaded, verified and converted by weights/fetch.sh; or a local
# checkpoint on an offline machine), then classify the images.
#
#   examples/classify.sh [--variant s0..s4] [--local CHECKPOINT] IMAGE... [mobileone-classify options]
#
# Example: examples/classify.sh --local ../shared/weights/mobileone_s0.pth.tar ../shared/images/chelsea.png
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

variant=s0
fetch_args=()
classify_args=()
while (($#)); do
  case "$1" in
    --variant) variant="$2"; shift 2 ;;
    --local) fetch_args+=(--local "$2"); shift 2 ;;
    *) classify_args+=("$1"); shift ;;
  esac
done
((${#classify_args[@]})) || { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 1; }

cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release --target mobileone-classify >/dev/null
model="$root/weights/models/mobileone_${variant}.mone"
[ -f "$model" ] && [ ${#fetch_args[@]} -eq 0 ] || weights/fetch.sh "$variant" -o "$root/weights/models" "${fetch_args[@]}" >&2
exec "$root/build/release/examples/mobileone-classify" --model "$model" "${classify_args[@]}"
