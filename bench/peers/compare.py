#!/usr/bin/python3
"""Peer comparison: this engine vs PyTorch (eager and its best mode), ONNX Runtime and OpenCV DNN, in one run
on this machine, on identical weights, batch 1, fp32; and int8: ONNX Runtime on a QDQ model of the same
weights and, given --int8-blob, our own int8 engine.

  bench/peers/compare.sh [--variants s0,s1,s2,s3,s4] [--threads 1,2] [--passes 3] [--budget 1.0] ...
  bench/peers/compare.sh --variants s0,s2 --threads 1 --int8-blob s0=s0_int8.mone

Steps:
 1. For each variant, `mobileone-make-model` writes <out>/models/<v>.mone (random fused weights, fixed
    seed); peer_torch.py builds the same graph in torch from that file, writes the fp32 reference logits
    and an ONNX export (opset 13) of that module.  Every engine therefore runs the same weights.
    peer_int8.py turns that export into <v>_int8.onnx (QDQ: uint8 per-tensor activations calibrated on
    <photos>/calibration at --percentile, int8 per-channel weights).  For the int8 agreement, S0 is also
    built from the real checkpoint in ../shared (weights/convert.py -> <v>_real.mone -> .onnx -> _int8.onnx).
 2. `passes` times: each peer runs in its own worker process (started per pass); for every variant and
    thread count all engines measure back to back (order rotated per configuration and pass) with the same
    protocol (peer_common.py: warm-up, then a time-budgeted number of runs, each timed alone; median).
    Our engine: `mobileone-classify --tensor ... --repeat N --json` (ours-int8: the same on the --int8-blob).
 3. int8 agreement (unless --no-accuracy): ONNX Runtime fp32 and int8 on every photo of <photos>/evaluation
    and <photos>/calibration (one node process), and mobileone-classify on the --int8-blob and on the fp32
    blob of the same weights: top-1 agreement, top-5 overlap, mean KL(fp32 || int8); plus the graph ONNX
    Runtime really runs for each timed int8 model (its optimized model's ops, a profile's time per op).
 4. Result per engine/variant/threads = median over passes of the per-pass medians.  Prints medians (ms),
    ratios ours / best fp32 peer, our GMAC/s and % of peak (per-core peaks of fp32 and bf16 measured by
    bench_peaks before the engines run, unless given), the int8 and bf16 tables; checks every fp32 engine's
    logits against the torch reference (max|x - ref| / max|ref| <= tolerance); writes
    <out>/results.{md,csv}, ratios.csv, int8_accuracy.{md,csv} and raw.jsonl.
A peer that cannot run here is shown as n/a with the reason; the run goes on.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import resource
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import peer_common as pc  # noqa: E402
import peer_int8  # noqa: E402

ENGINES = ["ours", "torch-eager", "torch-best", "ort", "opencv", "ort-int8", "ours-int8", "torch-bf16", "ours-bf16"]
INT8_ENGINES = ["ort-int8", "ours-int8"]
HALF_ENGINES = ["torch-bf16", "ours-bf16"]  # bf16 arithmetic on the fp32 weights: logits shown, not checked
FP32_PEERS = ["torch-eager", "torch-best", "ort", "opencv"]  # the "best peer" of the fp32 targets
TITLES = {"ours": "ours", "torch-eager": "PyTorch eager", "torch-best": "PyTorch best", "ort": "ONNX Runtime",
          "opencv": "OpenCV DNN", "ort-int8": "onnxruntime int8 (QDQ)", "ours-int8": "mobileone int8",
          "torch-bf16": "PyTorch bf16 (autocast, channels-last)", "ours-bf16": "mobileone bf16"}
SHARED = Path(os.environ.get("MOBILEONE_SHARED", REPO.parent / "shared"))
REAL_CHECKPOINTS = {"s0": "weights/mobileone_s0.pth.tar"}  # under SHARED; int8 agreement uses real weights
DEFAULT_PEAK = 58.5  # G multiply-adds/s per core, AMD Zen4 dev VM (see bench/bench_common.hpp)
# bench_peaks' benchmark names (bench/bench_peaks.cpp) whose best rate is a precision's per-core peak.
PEAK_BENCHMARKS = {"fp32": "f32_fma__", "bf16": "bf16_dot__"}
STATISTICS = {"median": "median over {p} pass(es) of the per-pass median ms",
              "best-pass": "fastest of {p} pass(es)' median ms",
              "quietest": "median ms of the pass (of {p}) in which other processes used the least CPU",
              "min": "fastest single run (ms) over {p} pass(es)"}
TARGETS = {"s0": 0.90}  # ours / best peer; 1.00 for every other variant (issue 3)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ machine load


def cpu_busy_seconds() -> float:
    """Busy CPU time of the whole machine so far (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return 0.0


def process_cpu_seconds(pid: int) -> float:
    """CPU time (all threads) of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, ValueError, IndexError):
        return 0.0


def own_cpu_seconds(pids=()) -> float:
    """This script, its finished children, and the live worker processes `pids`."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + sum(process_cpu_seconds(p) for p in pids)


class LoadMeter:
    """CPU used by other processes (not this script, its children or its workers) over an interval, in cores."""

    def __init__(self, pids=()):
        self.pids = list(pids)
        self.t, self.busy, self.own = time.monotonic(), cpu_busy_seconds(), own_cpu_seconds(self.pids)

    def cores(self) -> float:
        dt = time.monotonic() - self.t
        if dt <= 0:
            return 0.0
        used_by_us = own_cpu_seconds(self.pids) - self.own
        return max(0.0, (cpu_busy_seconds() - self.busy) - used_by_us) / dt


def wait_for_quiet(threshold: float, max_wait: float, pids=()) -> float:
    """Waits (at most max_wait s) until other processes use less than `threshold` cores over 0.5 s."""
    waited = 0.0
    while True:
        meter = LoadMeter(pids)
        time.sleep(0.5)
        load = meter.cores()
        if load < threshold or waited >= max_wait:
            return load
        if waited == 0.0 and max_wait > 0.5:
            log(f"    machine busy ({load:.2f} cores used by other processes): waiting up to {max_wait:.0f} s")
        waited += 0.5


# ------------------------------------------------------------------------------------------ helpers


def run_checked(cmd, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return result


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fmt_ms(v) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""


# ------------------------------------------------------------------------------------ preparation


def prepare_onnx(args, mone: Path, inp: Path, status: dict, what: str) -> None:
    """<stem>.onnx and <stem>_ref.f32 beside the blob `mone` (peer_torch.py export) and, when an int8 engine
    or the accuracy step needs it, <stem>_int8.onnx (peer_int8.py quantize, calibrated on the calibration
    photos); each is rebuilt only when what it is made from changed. Failures go to status[what]."""
    models, stem = mone.parent, mone.name[:-len(".mone")]
    stamp = models / f"{stem}.source-sha256"
    digest = sha256(mone) + f" size={args.size} input_seed={args.input_seed}"
    onnx, ref = models / f"{stem}.onnx", models / f"{stem}_ref.f32"
    if not (onnx.exists() and ref.exists() and stamp.exists() and stamp.read_text() == digest):
        log(f"  exporting {stem}: torch module from {mone.name} -> {onnx.name} + reference logits")
        try:
            run_checked([args.python, HERE / "peer_torch.py", "export", "--mone", mone, "--onnx", onnx, "--input", inp,
                         "--size", str(args.size), "--ref-logits", ref], timeout=600)
            stamp.write_text(digest)
        except Exception as e:  # noqa: BLE001
            status.setdefault("export_error", {})[stem] = last_line(str(e))
            for p in (onnx, ref, stamp):
                p.unlink(missing_ok=True)
            return
    if not args.want_int8:
        return
    int8, int8_stamp = models / f"{stem}_int8.onnx", models / f"{stem}_int8.source-sha256"
    calibration = Path(args.photos) / "calibration"
    int8_digest = (f"{digest} onnx={sha256(onnx)} percentile={args.percentile:g} "
                   f"calibration={peer_int8.photo_key(str(calibration), args.size)}")
    if int8.exists() and int8_stamp.exists() and int8_stamp.read_text() == int8_digest:
        return
    log(f"  quantizing {stem}: {onnx.name} -> {int8.name} (QDQ; activations: {args.percentile:g}th percentile "
        f"on {calibration})")
    try:
        run_checked([args.python, HERE / "peer_int8.py", "quantize", "--mone", mone, "--onnx", onnx, "--calibration",
                     calibration, "--cache", models.parent / "photos", "--percentile", str(args.percentile),
                     "--size", str(args.size), "-o", int8], timeout=3600)
        int8_stamp.write_text(int8_digest)
    except Exception as e:  # noqa: BLE001
        status.setdefault("quantize_error", {})[stem] = last_line(str(e))
        for p in (int8, int8_stamp):
            p.unlink(missing_ok=True)


def prepare_models(args, tools, out: Path, status: dict) -> dict:
    """Writes input.f32, <v>.mone, <v>.onnx, <v>_ref.f32, <v>_int8.onnx and, for the accuracy step, the
    real-weights <v>_real.* (REAL_CHECKPOINTS); returns MAC counts per variant."""
    import numpy as np

    models = out / "models"
    models.mkdir(parents=True, exist_ok=True)
    inp = out / f"input_{args.size}.f32"
    if not inp.exists():
        np.random.RandomState(args.input_seed).standard_normal((1, 3, args.size, args.size)).astype("<f4").tofile(inp)
    macs = {}
    for v in args.variants:
        mone = models / f"{v}.mone"
        run_checked([tools["make_model"], "--variant", v, "--seed", str(args.seed), "--size", str(args.size),
                     "-o", mone])
        stats = json.loads(run_checked([tools["make_model"], "--variant", v, "--size", str(args.size), "--stats"]).stdout)
        macs[v] = stats["macs"]
        prepare_onnx(args, mone, inp, status, v)
        checkpoint = real_checkpoint(v)
        if args.accuracy and checkpoint:
            real = models / f"{v}_real.mone"
            if not real.exists() or real.stat().st_mtime < checkpoint.stat().st_mtime:
                try:
                    run_checked([args.python, REPO / "weights" / "convert.py", checkpoint, "-o", real], timeout=600)
                except Exception as e:  # noqa: BLE001
                    status.setdefault("export_error", {})[f"{v}_real"] = last_line(str(e))
                    continue
            prepare_onnx(args, real, inp, status, f"{v}_real")
    return macs


def real_checkpoint(variant: str):
    """The shared real checkpoint of a variant, if there is one (else its accuracy uses the random blob)."""
    path = SHARED / REAL_CHECKPOINTS[variant] if variant in REAL_CHECKPOINTS else None
    return path if path and path.exists() else None


def find_ort(args, out: Path) -> tuple:
    """Returns (node executable, onnxruntime-node module dir) or raises RuntimeError with the reason."""
    node = shutil.which("node")
    if not node:
        raise RuntimeError("node not found (Debian: apt-get install nodejs npm)")
    module = Path(args.ort_dir) if args.ort_dir else out / "ort" / "node_modules" / "onnxruntime-node"
    if not (module / "package.json").exists():
        if args.ort_dir or args.no_install:
            raise RuntimeError(f"onnxruntime-node not found at {module}")
        npm = shutil.which("npm")
        if not npm:
            raise RuntimeError("npm not found, cannot install onnxruntime-node")
        where = out / "ort"
        where.mkdir(parents=True, exist_ok=True)
        if not (where / "package.json").exists():
            (where / "package.json").write_text('{"name": "mobileone-bench-peers", "private": true}\n')
        log(f"  installing onnxruntime-node into {where} (npm install --ignore-scripts)")
        try:
            run_checked([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "onnxruntime-node"],
                        cwd=where, timeout=600)
        except Exception as e:  # noqa: BLE001
            raise RuntimeError(f"npm install onnxruntime-node failed: {last_line(str(e))}") from None
        if not (module / "package.json").exists():
            raise RuntimeError(f"onnxruntime-node not found at {module} after npm install")
    return node, module


# ------------------------------------------------------------------------------------------ workers


class Worker:
    """A peer's worker process (peer_*.py, ort_peer.js): started once per pass, then asked for one
    measurement at a time, so that all engines measure a configuration back to back."""

    def __init__(self, engine: str, cmd, log_path: Path):
        self.engine, self.reason, self.version = engine, None, None
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        first = self._read(120)
        if first is None:
            self.reason = self.reason or "worker did not start"
        elif first["type"] == "unavailable":
            self.reason = first["reason"]
        elif first["type"] == "info":
            self.version = first["version"]

    def _read(self, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.reason = f"no answer within {timeout:.0f} s"
                self.close(kill=True)
                return None
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                self.reason = f"worker exited with {self.proc.returncode} (see {self.log.name})"
                return None
            if line.startswith("{"):
                return json.loads(line)

    def measure(self, variant: str, threads: int, logits: str, timeout: float) -> dict:
        if self.reason:
            return {"type": "error", "engine": self.engine, "variant": variant, "threads": threads, "reason": self.reason}
        try:
            self.proc.stdin.write(json.dumps({"variant": variant, "threads": threads, "logits": logits}) + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            self.reason = f"worker gone: {e}"
        rec = self._read(timeout) if not self.reason else None
        if rec is None:
            return {"type": "error", "engine": self.engine, "variant": variant, "threads": threads, "reason": self.reason}
        return rec

    def close(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                try:
                    self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
                    self.proc.stdin.close()
                    self.proc.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    self.proc.kill()
            self.proc.wait()
        self.log.close()


def measure_ours(args, tools, model: Path, inp: Path, variant: str, threads: int, logits: str,
                 engine: str = "ours") -> dict:
    """Our engine through mobileone-classify on the blob `model` (<v>.mone; for ours-int8 the --int8-blob):
    one single run to estimate the time (and to dump the logits for the check), then --repeat N (one warm-up
    run + N timed runs on the preset input, median)."""
    base = [tools["classify"], "--model", model, "--tensor", inp,
            "--shape", f"1,3,{args.size},{args.size}", "--json", "--threads", str(threads)]
    if args.isa:
        base += ["--isa", args.isa]
    if engine == "ours-bf16":
        base += ["--precision", "bf16"]
    try:
        probe = base + ["--repeat", "1"] + (["--logits-out", logits] if logits else [])
        first = json.loads(run_checked([str(c) for c in probe], timeout=3600).stdout.splitlines()[-1])
        runs = pc.runs_for(first["latency_ms"]["median"], args.budget, args.min_runs, args.max_runs)
        rec = json.loads(run_checked([str(c) for c in base + ["--repeat", str(runs)]],
                                     timeout=3600).stdout.splitlines()[-1])
        lat = rec["latency_ms"]
        # "precision" is what the blob runs at (int8 blobs); older tools do not print it: fp32.
        return {"type": "result", "engine": engine, "variant": variant, "threads": threads,
                "actual_threads": rec["threads"], "median_ms": lat["median"], "min_ms": lat["min"],
                "runs": lat["runs"], "warmup": 1 if runs > 1 else 0, "isa": rec["isa"],
                "precision": rec.get("precision", "fp32")}
    except Exception as e:  # noqa: BLE001
        return {"type": "error", "engine": engine, "variant": variant, "threads": threads, "reason": last_line(str(e))}


def start_workers(args, engines, models: Path, inp: Path, ort, out: Path, unavailable: dict) -> dict:
    common = ["--models", models, "--input", inp, "--size", str(args.size), "--budget", str(args.budget),
              "--warmup", str(args.warmup), "--min-runs", str(args.min_runs), "--max-runs", str(args.max_runs)]
    workers = {}
    for engine in engines:
        if engine in ("ours", "ours-int8", "ours-bf16") or engine in unavailable:
            continue
        if engine in ("ort", "ort-int8"):
            spec = {"ort_module": str(ort[1]), "models": str(models), "input": str(inp), "size": args.size,
                    "budget": args.budget, "warmup": args.warmup, "min_runs": args.min_runs, "max_runs": args.max_runs,
                    "engine": engine, "model_suffix": "_int8" if engine == "ort-int8" else ""}
            cmd = [ort[0], HERE / "ort_peer.js", json.dumps(spec)]
        else:
            script = {"torch-eager": ["peer_torch.py", "eager"], "torch-best": ["peer_torch.py", "best"],
                      "torch-bf16": ["peer_torch.py", "bf16"], "opencv": ["peer_opencv.py"]}[engine]
            cmd = [args.python, HERE / script[0], *script[1:], *common]
        workers[engine] = Worker(engine, cmd, out / "logs" / f"{engine}.log")
    return workers


# ------------------------------------------------------------------------------------------- report


def our_version() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True)
        if rev.returncode == 0:
            return f"git {rev.stdout.strip()}" + (" + local changes" if dirty.stdout.strip() else "")
    except OSError:
        pass
    return "working tree (no git commit)"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_logits(args, out: Path, logits_dir: Path, status: dict) -> dict:
    """{engine: {variant: relative error or None}} against the torch eager reference."""
    import numpy as np

    errors = {}
    for e in ENGINES:
        for v in args.variants:
            ref_path, path = out / "models" / f"{v}_ref.f32", logits_dir / f"{e}_{v}.f32"
            if not ref_path.exists() or not path.exists():
                continue
            ref, x = np.fromfile(ref_path, "<f4"), np.fromfile(path, "<f4")
            err = float("inf") if x.shape != ref.shape else float(np.abs(x - ref).max() / max(np.abs(ref).max(), 1e-30))
            errors.setdefault(e, {})[v] = err
    return errors


def summarize(args, records: list) -> dict:
    table = {}
    for r in records:
        if r["type"] != "result":
            continue
        table.setdefault((r["engine"], r["variant"], r["threads"]), []).append(r)
    summary = {}
    for key, rs in table.items():
        medians = [r["median_ms"] for r in rs]
        quietest = min(rs, key=lambda r: r.get("background_cores", 0.0))
        summary[key] = {"median_ms": pc.median(medians), "min_ms": min(r["min_ms"] for r in rs),
                        "best_pass_ms": min(medians), "quietest_ms": quietest["median_ms"],
                        "pass_medians": medians, "pass_background": [r.get("background_cores", 0.0) for r in rs],
                        "spread": (max(medians) - min(medians)) / pc.median(medians) if len(medians) > 1 else 0.0,
                        "runs": sum(r["runs"] for r in rs)}
        summary[key]["value"] = {"median": summary[key]["median_ms"], "best-pass": summary[key]["best_pass_ms"],
                                 "quietest": summary[key]["quietest_ms"], "min": summary[key]["min_ms"]}[args.statistic]
    return summary


def measured_peaks(build: Path) -> dict:
    """Per-core multiply-add peaks (G/s) by precision, measured now by bench/bench_peaks (one core,
    independent chains of the instruction): {} when it is not built or fails."""
    tool = build / "bench" / "bench_peaks"
    if not tool.exists():
        return {}
    result = subprocess.run([str(tool), "--benchmark_format=json"], capture_output=True, text=True)
    if result.returncode != 0:
        log(f"warning: {tool} failed ({result.stderr.strip()[:200]}); peaks from the defaults")
        return {}
    peaks = {}
    for bench in json.loads(result.stdout)["benchmarks"]:
        for precision, prefix in PEAK_BENCHMARKS.items():
            if bench["name"].startswith(prefix) and "GMAC" in bench:
                peaks[precision] = max(peaks.get(precision, 0.0), float(bench["GMAC"]))
    return peaks


def choose_peaks(args, build: Path, recorded: dict) -> dict:
    """{precision: (G multiply-adds/s per core, where it came from)} for fp32 and bf16: the flag, else the
    environment variable, else what bench_peaks measures on this machine (in --report-only: what the run
    recorded), else the defaults (fp32: the Zen4 dev VM's figure, bf16: twice fp32's)."""
    flags = {"fp32": (args.peak_gmacs, "--peak-gmacs", "MOBILEONE_PEAK_GMACS"),
             "bf16": (args.peak_bf16_gmacs, "--peak-bf16-gmacs", "MOBILEONE_PEAK_BF16_GMACS")}
    measured = recorded if args.report_only else None
    peaks = {}
    for precision, (flag_value, flag, variable) in flags.items():
        if flag_value:
            peaks[precision] = (flag_value, flag)
        elif os.environ.get(variable):
            peaks[precision] = (float(os.environ[variable]), variable)
        else:
            if measured is None:
                measured = measured_peaks(build)
            if precision in measured:
                peaks[precision] = (measured[precision], "measured by bench/bench_peaks")
            elif precision == "fp32":
                peaks[precision] = (DEFAULT_PEAK, "default: AMD Zen4 dev VM")
            else:
                peaks[precision] = (2 * peaks["fp32"][0], "default: 2 x the fp32 peak")
    return peaks


def build_report(args, summary, errors, info, unavailable, config_errors, macs, peaks, load, started,
                 elapsed, int8_records) -> tuple:
    peak, peak_source = peaks["fp32"]
    engines = [e for e in ENGINES if e in args.engines]
    peers = [e for e in engines if e in FP32_PEERS]
    ts = args.threads
    lines = []
    add = lines.append

    def cell(engine, v, t):
        s = summary.get((engine, v, t))
        return fmt_ms(s["value"]) if s else "n/a"

    add(f"# MobileOne peer comparison ({started:%Y-%m-%d %H:%M})")
    add("")
    add(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs; batch 1, {args.size}x{args.size}, fp32; random fused weights "
        f"(seed {args.seed}), identical in every engine. Each cell: {STATISTICS[args.statistic].format(p=args.passes)} "
        f"(time budget {args.budget:g} s of timed runs per measurement, >= {args.min_runs} runs). The int8 engines "
        f"(last columns) run quantized models of the same weights (section int8).")
    add("")
    add(f"## Latency (ms, {args.statistic}), " + " / ".join(f"{t}t" for t in ts))
    add("")
    add("| variant | MMACs | " + " | ".join(TITLES[e] for e in engines) + " |")
    add("|---|---:|" + "---:|" * len(engines))
    for v in args.variants:
        row = [v.upper(), f"{macs.get(v, 0) / 1e6:.0f}"]
        for e in engines:
            row.append(" / ".join(cell(e, v, t) for t in ts))
        add("| " + " | ".join(row) + " |")
    add("")
    add(f"## Ours vs the best peer (ratio = ours / best peer; target <= 1.00, S0 <= 0.90); peak "
        f"{peak:g} GMAC/s per core ({peak_source})")
    add("")
    add("| variant | threads | ours ms | best peer | best peer ms | ratio | target | ours GMAC/s | ours % peak | best peer % peak |")
    add("|---|---:|---:|---|---:|---:|---|---:|---:|---:|")
    csv_rows = []
    for v in args.variants:
        for t in ts:
            ours = summary.get(("ours", v, t))
            best = None
            for p in peers:
                s = summary.get((p, v, t))
                if s and (best is None or s["value"] < best[1]):
                    best = (p, s["value"])
            ratio = ours["value"] / best[1] if ours and best else None
            target = TARGETS.get(v, 1.00)
            gmacs = macs[v] / (ours["value"] * 1e-3) / 1e9 if ours and v in macs else None
            best_gmacs = macs[v] / (best[1] * 1e-3) / 1e9 if best and v in macs else None
            verdict = "n/a" if ratio is None else ("met" if ratio <= target else "missed")
            add(f"| {v.upper()} | {t} | {fmt_ms(ours['value']) if ours else 'n/a'} | "
                f"{TITLES[best[0]] if best else 'n/a'} | {fmt_ms(best[1]) if best else 'n/a'} | "
                f"{f'{ratio:.2f}' if ratio is not None else 'n/a'} | <= {target:.2f}: {verdict} | "
                f"{f'{gmacs:.1f}' if gmacs else 'n/a'} | {f'{100 * gmacs / (peak * t):.1f}%' if gmacs else 'n/a'} | "
                f"{f'{100 * best_gmacs / (peak * t):.1f}%' if best_gmacs else 'n/a'} |")
            csv_rows.append({"variant": v, "threads": t, "statistic": args.statistic, "ours_ms": ours["value"] if ours else "",
                             "best_peer": best[0] if best else "", "best_peer_ms": best[1] if best else "",
                             "ratio": ratio if ratio is not None else "", "target": target,
                             "ours_gmacs": gmacs or "", "ours_pct_peak": 100 * gmacs / (peak * t) if gmacs else ""})
    add("")
    if set(INT8_ENGINES) & set(engines):
        int8_section(args, summary, int8_records, csv_rows, add)
    if set(HALF_ENGINES) & set(engines):
        half_section(args, summary, errors, macs, peaks, csv_rows, add)
    add("## Sanity check: logits vs the PyTorch eager reference, max|x - ref| / max|ref| (tolerance "
        f"{args.tolerance:g})")
    add("")
    add("| engine | " + " | ".join(v.upper() for v in args.variants) + " |")
    add("|---|" + "---:|" * len(args.variants))
    failed = []
    for e in engines:
        if e == "ours-int8":  # its blob has other weights than the reference; agreement is in section int8
            continue
        row = []
        for v in args.variants:
            err = errors.get(e, {}).get(v)
            if err is None:
                row.append("n/a")
            elif e in INT8_ENGINES:  # quantization error, not a check
                row.append(f"{err:.1e} (int8)")
            elif e in HALF_ENGINES:  # rounding to bf16, not a check
                row.append(f"{err:.1e} (bf16)")
            else:
                row.append(f"{err:.1e}" + ("" if err <= args.tolerance else " FAIL"))
                if err > args.tolerance:
                    failed.append(f"{e}/{v}")
        add(f"| {TITLES[e]} | " + " | ".join(row) + " |")
    add("")
    add("## Engines")
    add("")
    add(f"- ours: MobileOne engine {our_version()}, ISA {info.get('ours_isa', 'n/a')}, via mobileone-classify")
    for e in peers + [e for e in engines if e == "ort-int8"]:
        add(f"- {TITLES[e]}: " + (f"n/a: {unavailable[e]}" if e in unavailable else info.get(e, "n/a")))
    if "ours-int8" in engines:
        blobs = ", ".join(f"{v.upper()} {b} (runs as {info.get('ours-int8', {}).get(v, 'n/a')})"
                          for v, b in sorted(args.int8_blobs.items()))
        add(f"- {TITLES['ours-int8']}: " + (f"n/a: {unavailable['ours-int8']}" if "ours-int8" in unavailable else
                                              f"mobileone-classify on --int8-blob {blobs}"))
    add("")
    noisy = sorted(((s["spread"], k) for k, s in summary.items() if s["spread"] > 0.10), reverse=True)
    add("## Notes")
    add("")
    add(f"- Other processes used on average {load['mean']:.2f} cores (max {load['max']:.2f}) while the engines ran; "
        f"{os.cpu_count()} CPUs in total. Two-thread numbers are only meaningful on an otherwise idle machine.")
    if noisy:
        worst = ", ".join(f"{TITLES[k[0]]} {k[1].upper()} {k[2]}t {sp * 100:.0f}%" for sp, k in noisy[:6])
        add(f"- {len(noisy)} of {len(summary)} cells vary by more than 10% between passes ((max - min) / median "
            f"of the pass medians; worst: {worst}).")
    if failed:
        add(f"- LOGITS DISAGREE beyond {args.tolerance:g}: {', '.join(failed)}.")
    for (e, v, t), reason in sorted(config_errors.items()):
        if e not in unavailable and (e, v, t) not in summary:
            add(f"- {TITLES.get(e, e)} {v} {t}t n/a: {reason}")
    for v, reason in sorted(status.get("export_error", {}).items()):
        add(f"- ONNX export of {v} failed: {reason}")
    for v, reason in sorted(status.get("quantize_error", {}).items()):
        add(f"- int8 (QDQ) model of {v} failed: {reason}")
    for what, reason in sorted(status.get("accuracy_error", {}).items()):
        add(f"- int8 agreement of {what} failed: {reason}")
    add(f"- Total time {elapsed:.0f} s. Command: `{' '.join(sys.argv)}`" +
        (" (report rebuilt from raw.jsonl)" if args.report_only else ""))
    return "\n".join(lines) + "\n", csv_rows, failed


def agreement_text(r) -> str:
    return f"{100 * r['top1']:.1f}% / {100 * r['top5_overlap']:.1f}% / {r['kl']:.3f}"


def half_section(args, summary, errors, macs, peaks, csv_rows, add) -> None:
    """The bf16 table of results.md: our bf16 and PyTorch's bf16 beside our fp32, each with its GFLOP/s, its
    share of its precision's peak (per core times the threads) and its logit error against the fp32
    reference; adds the same columns to ratios.csv's rows."""

    def ms(engine, v, t):
        s = summary.get((engine, v, t))
        return s["value"] if s else None

    def ratio(a, b):
        return f"{a / b:.2f}" if a is not None and b else "n/a"

    def error(engine, v):
        e = errors.get(engine, {}).get(v)
        return "n/a" if e is None else f"{e:.1e}"

    def speed(v, t, milliseconds, precision):
        """'ms (GFLOP/s, % of the precision's peak)' and the GMAC/s."""
        if milliseconds is None:
            return "n/a", None
        gmacs = macs.get(v, 0) / (milliseconds * 1e-3) / 1e9
        return f"{fmt_ms(milliseconds)} ({2 * gmacs:.0f}, {100 * gmacs / (peaks[precision][0] * t):.0f}%)", gmacs

    add("## bf16: latency next to fp32; per-core peaks " +
        ", ".join(f"{p} {peaks[p][0]:.1f} GMAC/s ({peaks[p][1]})" for p in ("fp32", "bf16")))
    add("")
    add("Cells: ms (GFLOP/s: 2 per multiply-add; % of the peak of the cell's precision times the threads). "
        "Logit error: max|x - ref| / max|ref| against the PyTorch fp32 reference on the same (random) weights.")
    add("")
    add("| variant | threads | ours fp32 | mobileone bf16 | mobileone bf16 / ours fp32 | PyTorch bf16 | "
        "PyTorch bf16 / ours fp32 | mobileone bf16 / PyTorch bf16 | mobileone bf16 logit error | PyTorch bf16 logit error |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = {(r["variant"], r["threads"]): r for r in csv_rows}
    for v in args.variants:
        for t in args.threads:
            ours, bf16, torch_bf16 = (ms(e, v, t) for e in ("ours", "ours-bf16", "torch-bf16"))
            ours_cell = speed(v, t, ours, "fp32")[0]
            bf16_cell, bf16_gmacs = speed(v, t, bf16, "bf16")
            torch_cell, torch_gmacs = speed(v, t, torch_bf16, "bf16")
            add(f"| {v.upper()} | {t} | {ours_cell} | {bf16_cell} | "
                f"{ratio(bf16, ours)} | {torch_cell} | {ratio(torch_bf16, ours)} | "
                f"{ratio(bf16, torch_bf16)} | {error('ours-bf16', v)} | {error('torch-bf16', v)} |")
            row = rows.get((v, t))
            if row is not None:
                row.update({"ours_bf16_ms": bf16 or "", "ours_bf16_gmacs": bf16_gmacs or "",
                            "ours_bf16_pct_peak": 100 * bf16_gmacs / (peaks["bf16"][0] * t) if bf16_gmacs else "",
                            "torch_bf16_ms": torch_bf16 or "", "torch_bf16_gmacs": torch_gmacs or ""})
    add("")


def int8_section(args, summary, int8_records, csv_rows, add) -> None:
    """The int8 table of results.md: each int8 engine's latency next to the fp32 ones, its agreement with
    fp32 on the evaluation photos beside; adds the same columns to ratios.csv's rows."""
    acc = {(r["engine"], r["variant"]): r for r in int8_records if r["type"] == "accuracy" and r["set"] == "evaluation"}

    def ms(engine, v, t):
        s = summary.get((engine, v, t))
        return s["value"] if s else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    def text(x, fmt):
        return "n/a" if x is None else fmt(x)

    def agreement_cell(r):
        return f"{agreement_text(r)} ({r['weights']})" if r else "n/a"

    add("## int8: latency and agreement with fp32")
    add("")
    add("Agreement on the evaluation photos: top-1 agreement / top-5 overlap / mean KL(fp32 || int8); real "
        "weights where a real checkpoint is shared, else the random weights (only a measure of quantization noise). "
        "Details, calibration photos and what ONNX Runtime fuses: int8_accuracy.md.")
    add("")
    add("| variant | threads | ours fp32 ms | ORT fp32 ms | ORT int8 ms | ORT int8 / ORT fp32 | ORT int8 / ours fp32 | "
        "ORT int8 agreement | mobileone int8 ms | mobileone int8 / ours fp32 | mobileone int8 / ORT int8 | "
        "mobileone int8 agreement |")
    add("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    rows = {(r["variant"], r["threads"]): r for r in csv_rows}
    for v in args.variants:
        ort_acc, ours_acc = acc.get(("ort-int8", v)), acc.get(("ours-int8", v))
        for t in args.threads:
            ours, ort, ort8, ours8 = (ms(e, v, t) for e in ("ours", "ort", "ort-int8", "ours-int8"))
            add(f"| {v.upper()} | {t} | {text(ours, fmt_ms)} | {text(ort, fmt_ms)} | {text(ort8, fmt_ms)} | "
                f"{text(ratio(ort8, ort), '{:.2f}'.format)} | {text(ratio(ort8, ours), '{:.2f}'.format)} | "
                f"{agreement_cell(ort_acc)} | {text(ours8, fmt_ms)} | "
                f"{text(ratio(ours8, ours), '{:.2f}'.format)} | {text(ratio(ours8, ort8), '{:.2f}'.format)} | "
                f"{agreement_cell(ours_acc)} |")
            row = rows.get((v, t))
            if row is not None:
                row.update({"ort_fp32_ms": ort or "", "ort_int8_ms": ort8 or "",
                            "ort_int8_over_ort_fp32": ratio(ort8, ort) or "",
                            "ort_int8_over_ours": ratio(ort8, ours) or "", "ours_int8_ms": ours8 or "",
                            "ours_int8_over_ours": ratio(ours8, ours) or "",
                            "ours_int8_over_ort_int8": ratio(ours8, ort8) or "",
                            **{f"{e.replace('-', '_')}_eval_{k}": r[k] if r else ""
                               for e, r in (("ort-int8", ort_acc), ("ours-int8", ours_acc))
                               for k in ("top1", "top5_overlap", "kl")}})
    add("")


def int8_accuracy_report(args, int8_records, started) -> tuple:
    """int8_accuracy.md and its CSV rows: every int8 engine's agreement with fp32 on both photo sets, and
    the graph ONNX Runtime really runs for the int8 models."""
    accuracy = [r for r in int8_records if r["type"] == "accuracy"]
    graphs = [r for r in int8_records if r["type"] == "int8_graph"]
    lines = []
    add = lines.append
    add(f"# int8 agreement with fp32 ({started:%Y-%m-%d %H:%M})")
    add("")
    ort = next((r for r in accuracy if r["engine"] == "ort-int8"), None)
    if ort:
        add(f"onnxruntime int8 (QDQ): bench/peers/peer_int8.py, activations uint8 per tensor from the "
            f"{ort['percentile']:g}th percentile of the fp32 activations on {ort['calibration_images']} calibration "
            "photos, weights int8 per output channel (symmetric), biases int32; reference: ONNX Runtime fp32 on "
            "the same ONNX export, same preprocessed photos (PIL, resize 256, crop 224). mobileone int8: "
            "mobileone-classify on the --int8-blob vs on the fp32 blob of the same weights, same photo files.")
        add("")
    add("Top-1: share of photos whose top-1 class equals fp32's; top-5 overlap: mean |top5 fp32 & top5 int8| / 5; "
        "KL: mean KL(fp32 || int8) of the softmax distributions. The calibration photos are the ones the real S0 "
        "is unsure about (top-1 leads top-2 by < 0.1), so their agreement is lower by construction.")
    add("")
    add("| engine | variant | weights | photos | n | top-1 agreement | top-5 overlap | mean KL | top-1 flips |")
    add("|---|---|---|---|---:|---:|---:|---:|---:|")
    rows = []
    for r in accuracy:
        add(f"| {TITLES[r['engine']]} | {r['variant'].upper()} | {r['weights']} | {r['set']} | {r['n']} | "
            f"{100 * r['top1']:.1f}% | {100 * r['top5_overlap']:.1f}% | {r['kl']:.4f} | {r['flips']} |")
        rows.append({k: r.get(k, "") for k in ("engine", "variant", "weights", "set", "n", "top1", "top5_overlap",
                                              "kl", "flips", "percentile", "calibration_images", "blob",
                                              "blob_precision", "reference")})
    add("")
    checks = [r for r in accuracy if "fp32_top1_vs_pytorch" in r]
    for r in checks:
        add(f"- fp32 reference check: ONNX Runtime fp32 of the real {r['variant'].upper()} has PyTorch's top-1 "
            f"(`{r['set']}/s0_top5.json`) on {r['fp32_top1_vs_pytorch']}/{r['n']} {r['set']} photos.")
    for r in {r["blob"]: r for r in accuracy if r["engine"] == "ours-int8" and r["blob_precision"] != "int8"}.values():
        add(f"- mobileone int8 {r['variant'].upper()}: the blob {r['blob']} runs as {r['blob_precision']}, "
            "not int8 (a hook test).")
    if graphs:
        add("")
        add("## What ONNX Runtime runs for the timed int8 models")
        add("")
        add("Optimized graph (session option optimizedModelFilePath, graphOptimizationLevel all) and the share of "
            "kernel time per op in a profile of 10 runs (enableProfiling), 1 thread:")
        add("")
        add("| variant | fp32 graph | optimized int8 graph (op: count) | kernel time share |")
        add("|---|---|---|---|")
        for g in graphs:
            ops = ", ".join(f"{k} {n}" for k, n in g["optimized_ops"].items())
            share = ", ".join(f"{k} {100 * x:.1f}%" for k, x in list(g["profile_share"].items())[:5])
            add(f"| {g['variant'].upper()} | Conv {g['fp32_convs']}, Gemm {g['fp32_gemms']} | {ops} | {share} |")
    return "\n".join(lines) + "\n", rows


status: dict = {}


def measure_all(args, tools, out: Path, logits_dir: Path) -> tuple:
    """Prepares the models and runs every pass. Returns (macs, records, info, unavailable, loads)."""
    log(f"preparing models in {out / 'models'}")
    macs = prepare_models(args, tools, out, status)
    models, inp = out / "models", out / f"input_{args.size}.f32"
    shutil.rmtree(logits_dir, ignore_errors=True)
    logits_dir.mkdir()

    info, unavailable = {}, {}
    ort = None
    if {"ort", "ort-int8"} & set(args.engines):
        try:
            ort = find_ort(args, out)
        except RuntimeError as e:
            unavailable["ort"] = unavailable["ort-int8"] = str(e)
    if "ours-int8" in args.engines and not args.int8_blobs:
        unavailable["ours-int8"] = "no --int8-blob given (e.g. --int8-blob s0=PATH.mone)"

    shutil.rmtree(out / "logs", ignore_errors=True)
    (out / "logs").mkdir()
    records, loads = [], []
    waited_total = 0.0
    configs = [(v, t) for v in args.variants for t in args.threads]
    for p in range(args.passes):
        log(f"pass {p + 1}/{args.passes}: starting the peers' workers")
        workers = start_workers(args, args.engines, models, inp, ort, out, unavailable)
        for engine, w in workers.items():
            if w.version:
                info[engine] = w.version
        worker_pids = [w.proc.pid for w in workers.values()]
        for c, (v, t) in enumerate(configs):
            budget_left = args.quiet_wait_total - waited_total
            if args.quiet_wait > 0 and budget_left > 0:
                t_wait = time.monotonic()
                wait_for_quiet(args.quiet_threshold, min(args.quiet_wait, budget_left), worker_pids)
                waited_total += time.monotonic() - t_wait
            # All engines measure this configuration back to back, in an order rotated per configuration
            # and pass, so slow drifts in background load do not favour one engine.
            k = (p + c) % len(args.engines)
            for engine in args.engines[k:] + args.engines[:k]:
                if engine in unavailable or (engine in workers and workers[engine].reason and
                                             engine not in info):
                    continue
                if engine == "ours-int8" and v not in args.int8_blobs:
                    continue
                # ours-int8's blob holds other weights than the reference's: its logits are not checked.
                dump = (str(logits_dir / f"{engine}_{v}.f32") if p == 0 and t == args.threads[0] and
                        engine != "ours-int8" else "")
                meter = LoadMeter(worker_pids)
                if engine == "ours":
                    rec = measure_ours(args, tools, models / f"{v}.mone", inp, v, t, dump)
                    if rec["type"] == "result":
                        info.setdefault("ours_isa", rec["isa"])
                elif engine == "ours-bf16":
                    rec = measure_ours(args, tools, models / f"{v}.mone", inp, v, t, dump, engine)
                elif engine == "ours-int8":
                    rec = measure_ours(args, tools, Path(args.int8_blobs[v]), inp, v, t, dump, engine)
                    if rec["type"] == "result":
                        info.setdefault("ours-int8", {})[v] = rec["precision"]
                else:
                    rec = workers[engine].measure(v, t, dump, timeout=1800)
                load = meter.cores()
                loads.append(load)
                rec.update({"pass": p + 1, "background_cores": round(load, 3)})
                records.append(rec)
                if rec["type"] == "result":
                    log(f"    {engine:12s} {v} {t}t: {rec['median_ms']:9.3f} ms median ({rec['runs']} runs; "
                        f"others used {load:.2f} cores)")
                else:
                    log(f"    {engine:12s} {v} {t}t: error: {rec['reason']}")
        for engine, w in workers.items():
            if w.reason and engine not in info:
                unavailable[engine] = w.reason
            w.close()

    if args.accuracy:
        if ort and "ort-int8" in args.engines:
            records += ort_int8_accuracy(args, ort, out)
        if "ours-int8" in args.engines:
            for v, blob in sorted(args.int8_blobs.items()):
                records += ours_int8_accuracy(args, tools, out, v, Path(blob))
    return macs, records, info, unavailable, loads


# ----------------------------------------------------------------------------------- int8 agreement


def accuracy_model(out: Path, variant: str) -> tuple:
    """(stem, weights) whose fp32 and int8 models the agreement is measured on: the real checkpoint's blob
    where one is shared (REAL_CHECKPOINTS), else the random blob the timing uses."""
    if real_checkpoint(variant) and (out / "models" / f"{variant}_real.mone").exists():
        return f"{variant}_real", "real"
    return variant, "random"


def photo_sets(args) -> list:
    return [(name, Path(args.photos) / name) for name in ("evaluation", "calibration")]


def ort_int8_accuracy(args, ort, out: Path) -> list:
    """ONNX Runtime fp32 and int8 on every photo (one node process, 1 thread), agreement of int8 with fp32;
    and per variant the graph ONNX Runtime really runs for the timed int8 model: its optimized model
    (op counts) and a profile of a few runs (share of kernel time per op)."""
    import numpy as np

    models, work = out / "models", out / "int8"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    batches = {name: peer_int8.photo_batch(str(folder), str(out / "photos"), args.size)
               for name, folder in photo_sets(args)}
    jobs, plan = [], []
    for v in args.variants:
        stem, weights = accuracy_model(out, v)
        if not (models / f"{stem}_int8.onnx").exists():
            continue
        for name, (data, _, count) in batches.items():
            for precision in ("fp32", "int8"):
                model = models / (f"{stem}.onnx" if precision == "fp32" else f"{stem}_int8.onnx")
                jobs.append({"model": str(model), "inputs": data, "count": count,
                             "output": str(work / f"{stem}_{name}_{precision}.f32")})
            plan.append((v, stem, weights, name, count))
        if (models / f"{v}_int8.onnx").exists():
            jobs.append({"model": str(models / f"{v}_int8.onnx"), "inputs": batches["evaluation"][0], "count": 10,
                         "optimized": str(work / f"{v}_int8.optimized.onnx"),
                         "profile_prefix": str(work / f"{v}_int8_profile")})
    if not jobs:
        return []
    log(f"int8 agreement: ONNX Runtime fp32 and int8 on {sum(c for _, _, c in batches.values())} photos")
    spec = {"ort_module": str(ort[1]), "size": args.size, "threads": 1, "jobs": jobs}
    try:
        run_checked([ort[0], HERE / "ort_peer.js", json.dumps(spec)], timeout=3600)
    except Exception as e:  # noqa: BLE001
        status.setdefault("accuracy_error", {})[TITLES["ort-int8"]] = last_line(str(e))
        return []
    records = []
    for v, stem, weights, name, count in plan:
        fp32, int8 = (np.fromfile(work / f"{stem}_{name}_{p}.f32", "<f4").reshape(count, -1) for p in ("fp32", "int8"))
        calibration = json.loads((models / f"{stem}_int8.onnx.json").read_text())
        rec = {"type": "accuracy", "engine": "ort-int8", "variant": v, "weights": weights, "set": name,
               "reference": "ONNX Runtime fp32 of the same ONNX export", "percentile": calibration["percentile"],
               "calibration_images": calibration["calibration_images"], **pc.agreement(fp32, int8)}
        top5 = Path(args.photos) / name / "s0_top5.json"
        if weights == "real" and v == "s0" and top5.exists():
            # The fp32 reference itself against PyTorch's published top-1 (checks the preprocessing too).
            ref = json.loads(top5.read_text())["images"]
            files = [os.path.basename(f) for f in batches[name][1]]
            rec["fp32_top1_vs_pytorch"] = int(sum(int(fp32[i].argmax()) == ref[f]["top5"][0]["index"]
                                                  for i, f in enumerate(files)))
        records.append(rec)
    for v in args.variants:
        optimized, profiles = work / f"{v}_int8.optimized.onnx", sorted(work.glob(f"{v}_int8_profile*.json"))
        if optimized.exists():
            fp32_ops = peer_int8.op_counts(str(models / f"{v}.onnx"))
            records.append({"type": "int8_graph", "variant": v, "optimized_ops": peer_int8.op_counts(str(optimized)),
                            "fp32_convs": fp32_ops.get("Conv", 0), "fp32_gemms": fp32_ops.get("Gemm", 0),
                            "profile_share": peer_int8.profile_ops(str(profiles[-1])) if profiles else {}})
    return records


def ours_int8_accuracy(args, tools, out: Path, variant: str, blob: Path) -> list:
    """Our int8 blob against our fp32 blob of the same weights (the accuracy model's .mone), both through
    mobileone-classify on the photo files (its own decoder and preprocessing, 1 thread, all classes' probabilities
    printed, so KL uses the printed probabilities)."""
    import numpy as np

    stem, weights = accuracy_model(out, variant)
    fp32_blob = out / "models" / f"{stem}.mone"
    records = []
    for name, folder in photo_sets(args):
        files = pc.list_photos(str(folder))
        logp = {}
        for precision, model in (("fp32", fp32_blob), ("int8", blob)):
            log(f"int8 agreement: mobileone-classify {model.name} on {len(files)} {name} photos")
            try:
                lines = run_checked([str(c) for c in [tools["classify"], "--model", model, "--json", "--top", "1000",
                                                      "--threads", "1", *files]], timeout=3600).stdout.splitlines()
            except Exception as e:  # noqa: BLE001
                status.setdefault("accuracy_error", {})[f"{TITLES['ours-int8']} {variant}"] = last_line(str(e))
                return records
            rows = [json.loads(line) for line in lines if line.startswith("{")]
            probs = np.zeros((len(rows), len(rows[0]["top"])))
            for i, row in enumerate(rows):
                for item in row["top"]:
                    probs[i, item["index"]] = item["prob"]
            # Printed with 6 significant digits; a class printed as 0 would make KL infinite.
            logp[precision] = np.log(np.maximum(probs, 1e-30))
            printed = rows[0].get("precision", "fp32")  # older tools do not print it
        records.append({"type": "accuracy", "engine": "ours-int8", "variant": variant, "weights": weights, "set": name,
                        "reference": f"mobileone-classify on {fp32_blob.name}", "blob": str(blob),
                        "blob_precision": printed,
                        **pc.agreement(logp["fp32"], logp["int8"], log_probabilities=True)})
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="s0,s1,s2,s3,s4")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--engines", default=",".join(ENGINES), help="subset of " + ",".join(ENGINES))
    parser.add_argument("--passes", type=int, default=3, help="separate passes over all engines (default 3)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timed runs per measurement (default 1)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs (stops early past half the budget)")
    parser.add_argument("--min-runs", type=int, default=3)
    parser.add_argument("--max-runs", type=int, default=200)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=20230101, help="weight seed (bench_network uses the same default)")
    parser.add_argument("--input-seed", type=int, default=0)
    parser.add_argument("--isa", default="", help="force our ISA (auto, scalar, avx2, avx512)")
    parser.add_argument("--peak-gmacs", type=float, default=None,
                        help="per-core fp32 peak, G multiply-adds/s (default $MOBILEONE_PEAK_GMACS, else measured "
                             f"by <build>/bench/bench_peaks, else {DEFAULT_PEAK})")
    parser.add_argument("--peak-bf16-gmacs", type=float, default=None,
                        help="per-core bf16 peak, G multiply-adds/s (default $MOBILEONE_PEAK_BF16_GMACS, else "
                             "measured by bench_peaks, else 2 x the fp32 peak)")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--statistic", choices=["median", "best-pass", "quietest", "min"], default="median",
                        help="what the tables show: median over passes of the per-pass medians (default), the "
                             "fastest pass's median, the median of the pass with the least background load, or "
                             "the fastest single run (all are in results.csv)")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rebuild the report from <out>/raw.jsonl (e.g. with another --statistic)")
    parser.add_argument("--build-dir", default=str(REPO / "build" / "release"))
    parser.add_argument("--out-dir", default=str(REPO / "build" / "peers"))
    parser.add_argument("--python", default="/usr/bin/python3", help="Python with torch/opencv (Debian's)")
    parser.add_argument("--ort-dir", default="", help="onnxruntime-node package dir (default: <out>/ort/node_modules/...)")
    parser.add_argument("--no-install", action="store_true", help="do not npm install onnxruntime-node when missing")
    parser.add_argument("--quiet-threshold", type=float, default=0.3,
                        help="before each engine, wait while other processes use more cores than this")
    parser.add_argument("--quiet-wait", type=float, default=10.0, help="longest such wait, seconds (0: never wait)")
    parser.add_argument("--quiet-wait-total", type=float, default=120.0, help="cap on all such waits in one run, seconds")
    parser.add_argument("--percentile", type=float, default=99.99,
                        help="int8 (QDQ) calibration: activation range percentile, 100 = min/max (default 99.99)")
    parser.add_argument("--photos", default=str(SHARED / "photos"),
                        help="folder with calibration/ (int8 calibration only) and evaluation/ (agreement only) "
                             "(default $MOBILEONE_SHARED/photos, else ../shared/photos)")
    parser.add_argument("--int8-blob", action="append", default=[], metavar="VARIANT=PATH",
                        help="our int8 blob of a variant (repeatable), timed as 'mobileone int8' and compared with "
                             "our fp32 blob of the same weights: the real checkpoint's for s0, else <v>.mone")
    parser.add_argument("--no-accuracy", action="store_true",
                        help="skip the int8 agreement step (ONNX Runtime and our engine on all photos)")
    args = parser.parse_args()
    args.variants = pc.split_list(args.variants)
    args.threads = [int(t) for t in pc.split_list(args.threads)]
    args.engines = pc.split_list(args.engines)
    for e in args.engines:
        if e not in ENGINES:
            parser.error(f"unknown engine {e} (choose from {', '.join(ENGINES)})")
    args.int8_blobs = {}
    for item in args.int8_blob:
        variant, _, path = item.partition("=")
        variant = variant.lower()
        if variant not in args.variants or not path:
            parser.error(f"--int8-blob {item}: expected VARIANT=PATH with VARIANT one of {','.join(args.variants)}")
        if not Path(path).is_file() and not args.report_only:
            parser.error(f"--int8-blob {item}: {path} not found")
        args.int8_blobs[variant] = str(Path(path).resolve())
    args.accuracy = bool(set(INT8_ENGINES) & set(args.engines)) and not args.no_accuracy
    args.want_int8 = "ort-int8" in args.engines

    started, t_start = datetime.datetime.now(), time.monotonic()
    out = Path(args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    build = Path(args.build_dir).resolve()
    tools = {"classify": build / "examples" / "mobileone-classify", "make_model": build / "bench" / "mobileone-make-model"}
    for name, path in tools.items():
        if not path.exists():
            log(f"error: {path} not found. Build first: cmake --preset release && cmake --build --preset release -j2")
            return 2

    logits_dir = out / "logits"
    if args.report_only:
        lines = [json.loads(line) for line in open(out / "raw.jsonl")]
        meta = lines[0] if lines and lines[0].get("type") == "meta" else {}
        records = [r for r in lines if r.get("type") in ("result", "error", "accuracy", "int8_graph")]
        info, unavailable, loads = meta.get("info", {}), meta.get("unavailable", {}), meta.get("loads", [])
        started = datetime.datetime.fromisoformat(meta["started"]) if "started" in meta else started
        elapsed = meta.get("elapsed", 0.0)
        peaks = choose_peaks(args, build, meta.get("measured_peaks", {}))
        args.passes = max([r.get("pass", 1) for r in records] or [1])
        macs = {v: json.loads(run_checked([tools["make_model"], "--variant", v, "--size", str(args.size),
                                           "--stats"]).stdout)["macs"] for v in args.variants}
    else:
        # Before the engines, on the otherwise idle machine: the peaks "% of peak" divides by.
        peaks = choose_peaks(args, build, {})
        macs, records, info, unavailable, loads = measure_all(args, tools, out, logits_dir)
        elapsed = time.monotonic() - t_start
        with open(out / "raw.jsonl", "w") as f:
            f.write(json.dumps({"type": "meta", "started": started.isoformat(), "elapsed": elapsed, "info": info,
                                "unavailable": unavailable, "loads": loads, "command": sys.argv,
                                "measured_peaks": {p: v for p, (v, source) in peaks.items()
                                                   if source == "measured by bench/bench_peaks"}}) + "\n")
            for r in records:
                f.write(json.dumps(r) + "\n")

    # An engine that produced no result at all is n/a with its first error; single failed configurations
    # show n/a in their cell and are listed in the notes.
    config_errors = {}
    for r in records:
        if r["type"] == "error":
            config_errors.setdefault((r["engine"], r["variant"], r["threads"]), r["reason"])
    for (e, v, t), reason in config_errors.items():
        if not any(x["type"] == "result" and x["engine"] == e for x in records):
            unavailable.setdefault(e, f"{v} {t}t: {reason}")

    summary = summarize(args, records)
    errors = check_logits(args, out, logits_dir, status)
    load = {"mean": sum(loads) / len(loads) if loads else 0.0, "max": max(loads) if loads else 0.0}
    int8_records = [r for r in records if r["type"] in ("accuracy", "int8_graph")]
    report, csv_rows, failed = build_report(args, summary, errors, info, unavailable, config_errors, macs, peaks,
                                            load, started, elapsed, int8_records)
    peak = peaks["fp32"][0]
    print(report)
    suffix = "" if args.statistic == "median" else "-" + args.statistic
    (out / f"results{suffix}.md").write_text(report)
    with open(out / f"results{suffix}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["engine", "variant", "threads", "median_ms", "best_pass_median_ms", "quietest_pass_median_ms",
                    "min_ms", "pass_medians_ms", "pass_background_cores", "spread", "runs", "macs", "gmacs",
                    "pct_peak", "logits_rel_err"])
        for (e, v, t), s in sorted(summary.items()):
            gm = macs.get(v, 0) / (s["median_ms"] * 1e-3) / 1e9
            w.writerow([e, v, t, f"{s['median_ms']:.4f}", f"{s['best_pass_ms']:.4f}", f"{s['quietest_ms']:.4f}",
                        f"{s['min_ms']:.4f}", " ".join(f"{m:.4f}" for m in s["pass_medians"]),
                        " ".join(f"{b:.2f}" for b in s["pass_background"]), f"{s['spread']:.3f}", s["runs"],
                        macs.get(v, ""), f"{gm:.2f}", f"{100 * gm / (peak * t):.1f}",
                        errors.get(e, {}).get(v, "")])
    with open(out / f"ratios{suffix}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(csv_rows[0].keys()) if csv_rows else ["variant"])
        w.writeheader()
        w.writerows(csv_rows)
    wrote = [f"results{suffix}.md", f"results{suffix}.csv", f"ratios{suffix}.csv"]
    if int8_records:
        accuracy_md, accuracy_rows = int8_accuracy_report(args, int8_records, started)
        (out / "int8_accuracy.md").write_text(accuracy_md)
        with open(out / "int8_accuracy.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(accuracy_rows[0].keys()) if accuracy_rows else ["engine"])
            w.writeheader()
            w.writerows(accuracy_rows)
        wrote += ["int8_accuracy.md", "int8_accuracy.csv"]
    log(f"wrote {out}/" + ", ".join(wrote + ([] if args.report_only else ["raw.jsonl"])))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
