#!/usr/bin/env bash
# Downloads Apple's official MobileOne checkpoint, verifies it, and converts it to a .mone blob.
#
#   fetch.sh VARIANT [-o DIR] [--local CHECKPOINT] [--unfused]
#
#   VARIANT            s0, s1, s2, s3 or s4 (required)
#   -o DIR             where the checkpoint is cached and mobileone_VARIANT.mone is written
#                      (default: models/ beside this script, which git ignores)
#   --local FILE       use this checkpoint instead of downloading, for offline machines
#                      (default: download from Apple's server, or reuse DIR's cached copy)
#   --unfused          take Apple's train-time checkpoint, mobileone_VARIANT_unfused.pth.tar
#                      (default: the fused mobileone_VARIANT.pth.tar)
#   -h, --help         this text
#
# Examples:
#   weights/fetch.sh s0                      # writes weights/models/mobileone_s0.mone
#   weights/fetch.sh s2 --unfused -o /tmp/models
#   weights/fetch.sh s0 --local ../shared/weights/mobileone_s0.pth.tar -o /tmp/models
#
# Verification: Apple publishes no checksums. The fused S0 file is checked against the SHA-256 of the
# copy this project was tested with; every file, that one included, must also convert to exactly the
# requested standard architecture (convert.py --expect-variant).
# The interpreter is $PYTHON if set (default: unset), else the first of python3, /usr/bin/python3 that has
# numpy. Without arguments this text is printed (exit status 1).
set -euo pipefail

BASE_URL="https://docs-assets.developer.apple.com/ml-research/datasets/mobileone"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "error: $*" >&2
  exit 1
}

usage() {  # [STATUS]: on stdout for --help and for no arguments at all (STATUS 0 or "stdout"), else on stderr
  local text
  text="$(sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//')"
  case "${1:-1}" in
    0) echo "$text"; exit 0 ;;
    stdout) echo "$text"; exit 1 ;;
    *) echo "$text" >&2; exit "${1:-1}" ;;
  esac
}

known_sha256() {
  case "$1" in
    mobileone_s0.pth.tar) echo "65c3c625f6228396abbdc2c6bb9607052280f423616812130149d65a14855e0c" ;;
    *) echo "" ;;
  esac
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    "$PYTHON" -c 'import numpy' 2>/dev/null || die "\$PYTHON ($PYTHON) cannot import numpy"
    echo "$PYTHON"
    return
  fi
  local candidate
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import numpy' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  die "no python3 with numpy found (set PYTHON)"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

download() {  # URL DEST: the file appears under DEST only once it is complete
  local partial="$2.part"
  local hint="without internet access, use --local CHECKPOINT (a MobileOne checkpoint file you have)"
  echo "downloading $1" >&2
  # One attempt, no progress meter, 10 s to resolve and connect: an offline machine fails in seconds.
  if command -v curl >/dev/null 2>&1; then
    curl -sS --fail -L --connect-timeout 10 -o "$partial" "$1" || { rm -f "$partial"; die "download failed; $hint"; }
  elif command -v wget >/dev/null 2>&1; then
    wget -nv --tries=1 --dns-timeout=10 --connect-timeout=10 -O "$partial" "$1" ||
      { rm -f "$partial"; die "download failed; $hint"; }
  else
    die "neither curl nor wget is installed; use --local CHECKPOINT (a MobileOne checkpoint file you have)"
  fi
  mv "$partial" "$2"
}

variant="" out_dir="$HERE/models" local_file="" suffix=""
[ $# -gt 0 ] || usage stdout
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || usage; out_dir="$2"; shift 2 ;;
    --local) [ $# -ge 2 ] || usage; local_file="$2"; shift 2 ;;
    --unfused) suffix="_unfused"; shift ;;
    -h|--help) usage 0 ;;
    s[0-4]) [ -z "$variant" ] || usage; variant="$1"; shift ;;
    *) echo "error: fetch.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$variant" ] || { echo "error: fetch.sh: no VARIANT (s0..s4) given" >&2; usage; }

python="$(pick_python)"
file_name="mobileone_${variant}${suffix}.pth.tar"
mkdir -p "$out_dir"
if [ -n "$local_file" ]; then
  [ -f "$local_file" ] || die "$local_file: no such file"
  checkpoint="$local_file"
else
  checkpoint="$out_dir/$file_name"
  [ -f "$checkpoint" ] || download "$BASE_URL/$file_name" "$checkpoint"
fi

expected="$(known_sha256 "$file_name")"
if [ -n "$expected" ]; then
  actual="$(sha256_of "$checkpoint")"
  if [ "$actual" != "$expected" ]; then
    [ -n "$local_file" ] || rm -f "$checkpoint"  # a bad download must not be reused
    die "$checkpoint: SHA-256 is $actual, expected $expected for Apple's $file_name"
  fi
  echo "$checkpoint: SHA-256 verified" >&2
else
  echo "$checkpoint: no known SHA-256 for $file_name; verifying its architecture instead" >&2
fi

"$python" "$HERE/convert.py" "$checkpoint" -o "$out_dir/mobileone_${variant}.mone" --expect-variant "$variant"
