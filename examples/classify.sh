#!/usr/bin/env bash
# The main job in one command: build the CLI (release preset), obtain the weights as a user would
# (Apple's official checkpoint, downloaded, verified and converted by weights/fetch.sh; or a local
# checkpoint on an offline machine), then classify the images.
#
#   examples/classify.sh [--variant s0..s4] [--local CHECKPOINT] IMAGE... [mobileone-classify options]
#
# Example: examples/classify.sh --local ../shared/weights/mobileone_s0.pth.tar ../shared/images/chelsea.png
# Paths are relative to the directory it is run from. MOBILEONE_CLASSIFY=BINARY uses that mobileone-classify
# instead of building one; MOBILEONE_MODEL_DIR=DIR keeps the models there instead of weights/models.
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
((${#classify_args[@]})) || { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 1; }

# Never cd in this shell: the caller's relative paths (images, --local, --tensor, --logits-out) stay valid.
classify="${MOBILEONE_CLASSIFY:-}"
if [ -z "$classify" ]; then
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target mobileone-classify >/dev/null)
  classify="$root/build/release/examples/mobileone-classify"
fi
model_dir="${MOBILEONE_MODEL_DIR:-$root/weights/models}"
model="$model_dir/mobileone_${variant}.mone"
[ -f "$model" ] && [ ${#fetch_args[@]} -eq 0 ] || "$root/weights/fetch.sh" "$variant" -o "$model_dir" "${fetch_args[@]}" >&2
exec "$classify" --model "$model" "${classify_args[@]}"
