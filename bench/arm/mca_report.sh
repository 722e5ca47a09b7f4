#!/usr/bin/env bash
# NEON throughput by model: compiles the AArch64 kernels' hot loops with the cross compiler (the Release
# build's flags) and rates each with llvm-mca's scheduling models of phone-class cores.
#
#   bench/arm/mca_report.sh [--csv FILE] [--cpus neoverse-n1,cortex-a55,...] [--iterations 500] [--keep DIR]
#
# Prints a Markdown table (utilization and cycles per loop iteration, per kernel and CPU model) and with
# --csv writes kernel,cpu,cycles_per_iteration,fma_per_iteration,fma_per_cycle,peak_fma_per_cycle,utilization.
# A model, not a measurement: see bench/README.md "NEON throughput by model" for what it does and does not
# capture. Needs g++-aarch64-linux-gnu and llvm-19 (Debian: apt-get install g++-aarch64-linux-gnu llvm-19).
#
# How: bench/arm/mca_kernels.cpp includes the kernels and is compiled to assembly twice, with
# -DMOBILEONE_MCA_REGIONS (llvm-mca region markers around each hot loop, kernels/mca_region.hpp) and
# without; bench/arm/mca_loops.py takes the innermost loop of each region, checks that the unmarked build
# has the very same loop, runs llvm-mca-19 on it per CPU, and rates it against that CPU model's own peak
# for the loop's multiply-add instruction (llvm-mca on 24 independent instances of it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# The kernels: llvm-mca region name (kernels/mca_region.hpp) | the multiply-add mnemonic counted per
# iteration | that instruction's form for the peak probe ({n}: an accumulator register) | the CPU extension
# it needs beyond ARMv8.0 (rated on models of cores without it, with a note). One line per kernel.
kernels='
pwconv1x1_6x16          | fmla  | fmla v{n}.4s, v0.4s, v1.s[0]
dwconv3x3_s1            | fmla  | fmla v{n}.4s, v0.4s, v1.4s
dwconv3x3_s2            | fmla  | fmla v{n}.4s, v0.4s, v1.4s
dwconv3x3_s2_in_order   | fmla  | fmla v{n}.4s, v0.4s, v1.4s
conv3x3_s2              | fmla  | fmla v{n}.4s, v0.4s, v1.s[0]
qpwconv1x1_6x16_dotprod | sdot  | sdot v{n}.4s, v0.16b, v1.4b[0]   | dotprod
qpwconv1x1_6x16_i8mm    | sudot | sudot v{n}.4s, v0.16b, v1.4b[0]  | i8mm
pwconv1x1_f16_8x16      | fmla  | fmla v{n}.8h, v0.8h, v1.h[0]     | fp16
pwconv1x1_bf16_6x16     | bfdot | bfdot v{n}.4s, v0.8h, v1.2h[0]   | bf16
dwconv3x3_s1_f16        | fmla  | fmla v{n}.4s, v0.4s, v1.4s       | fp16
dwconv3x3_s1_bf16       | fmla  | fmla v{n}.4s, v0.4s, v1.4s       | bf16
'

# The CPU models: llvm-mca-19 -mcpu name | its extensions among those above | the cores it stands for.
# LLVM 19 gives cortex-a76/a77/a78 and cortex-x1 no model of their own (the Cortex-A57 model), hence the
# Neoverse names; apple-* have only the old Cyclone model and are not rated. Rated by default: the first four.
cpus='
neoverse-n1 | dotprod,fp16            | Cortex-A76/A77/A78
neoverse-v1 | dotprod,fp16,i8mm,bf16  | Cortex-X1
neoverse-n2 | dotprod,fp16,i8mm,bf16  | Cortex-A710/A715/A720, X2..X4
cortex-a55  | dotprod,fp16            | in order
cortex-a53  |                         | in order
cortex-a510 | dotprod,fp16,i8mm,bf16  | in order
'

csv='' only_cpus=neoverse-n1,neoverse-v1,neoverse-n2,cortex-a55 iterations=500 keep=''
while (($#)); do
  case "$1" in
    --csv) csv=$2; shift 2 ;;
    --cpus) only_cpus=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mca_report.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

cxx=aarch64-linux-gnu-g++
for tool in "$cxx" llvm-mca-19 python3; do
  command -v "$tool" >/dev/null || { echo "mca_report.sh: $tool not found (Debian: g++-aarch64-linux-gnu, llvm-19)" >&2; exit 1; }
done
if [[ -n "$csv" ]]; then
  csv_dir=$(dirname -- "$csv")
  [[ -d "$csv_dir" && ! -d "$csv" ]] || { echo "mca_report.sh: cannot write --csv $csv" >&2; exit 1; }
fi

if [[ -n "$keep" ]]; then
  work=$keep
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# CMake's Release flags for the aarch64 preset (-O3 -DNDEBUG, gnu++17, no -march: baseline ARMv8-A; the
# int8 kernels carry their extension as a target attribute).
flags=(-O3 -DNDEBUG -std=gnu++17 -I"$root/include")
"$cxx" "${flags[@]}" -DMOBILEONE_MCA_REGIONS -S "$here/mca_kernels.cpp" -o "$work/marked.s"
"$cxx" "${flags[@]}" -S "$here/mca_kernels.cpp" -o "$work/plain.s"
printf '%s\n' "$kernels" > "$work/kernels.txt"
printf '%s\n' "$cpus" > "$work/cpus.txt"

python3 "$here/mca_loops.py" --marked "$work/marked.s" --plain "$work/plain.s" --kernels "$work/kernels.txt" \
  --cpus "$work/cpus.txt" --only-cpus "$only_cpus" --work "$work" --iterations "$iterations" \
  ${csv:+--csv "$csv"}
