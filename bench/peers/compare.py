#!/usr/bin/python3
"""Peer comparison: this engine vs PyTorch (eager and its best mode), ONNX Runtime and OpenCV DNN, in one run
on this machine, on identical weights, batch 1, fp32.

  bench/peers/compare.sh [--variants s0,s1,s2,s3,s4] [--threads 1,2] [--passes 3] [--budget 1.0] ...

Steps:
 1. For each variant, `mobileone-make-model` writes <out>/models/<v>.mone (random fused weights, fixed
    seed); peer_torch.py builds the same graph in torch from that file, writes the fp32 reference logits
    and an ONNX export (opset 13) of that module.  Every engine therefore runs the same weights.
 2. `passes` times: each peer runs in its own worker process (started per pass); for every variant and
    thread count all engines measure back to back (order rotated per configuration and pass) with the same
    protocol (peer_common.py: warm-up, then a time-budgeted number of runs, each timed alone; median).
    Our engine: `mobileone-classify --tensor ... --repeat N --json`.
 3. Result per engine/variant/threads = median over passes of the per-pass medians.  Prints medians (ms),
    ratios ours / best peer, our GMAC/s and % of peak; checks every engine's logits against the torch
    reference (max|x - ref| / max|ref| <= tolerance); writes <out>/results.{md,csv} and raw.jsonl.
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

ENGINES = ["ours", "torch-eager", "torch-best", "ort", "opencv"]
PEERS = ENGINES[1:]
TITLES = {"ours": "ours", "torch-eager": "PyTorch eager", "torch-best": "PyTorch best", "ort": "ONNX Runtime",
          "opencv": "OpenCV DNN"}
DEFAULT_PEAK = 58.5  # G multiply-adds/s per core, AMD Zen4 dev VM (see bench/bench_common.hpp)
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


def prepare_models(args, tools, out: Path, status: dict) -> dict:
    """Writes input.f32, <v>.mone, <v>.onnx and <v>_ref.f32; returns MAC counts per variant."""
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
        stamp = models / f"{v}.source-sha256"
        digest = sha256(mone) + f" size={args.size} input_seed={args.input_seed}"
        onnx, ref = models / f"{v}.onnx", models / f"{v}_ref.f32"
        if onnx.exists() and ref.exists() and stamp.exists() and stamp.read_text() == digest:
            continue
        log(f"  exporting {v}: torch module from {mone.name} -> {onnx.name} + reference logits")
        try:
            run_checked([args.python, HERE / "peer_torch.py", "export", "--mone", mone, "--onnx", onnx, "--input", inp,
                         "--size", str(args.size), "--ref-logits", ref], timeout=600)
            stamp.write_text(digest)
        except Exception as e:  # noqa: BLE001
            status.setdefault("export_error", {})[v] = last_line(str(e))
            for p in (onnx, ref, stamp):
                p.unlink(missing_ok=True)
    return macs


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


def measure_ours(args, tools, models: Path, inp: Path, variant: str, threads: int, logits: str) -> dict:
    """Our engine through mobileone-classify: one single run to estimate the time (and to dump the logits
    for the check), then --repeat N (one warm-up run + N timed runs on the preset input, median)."""
    base = [tools["classify"], "--model", models / f"{variant}.mone", "--tensor", inp,
            "--shape", f"1,3,{args.size},{args.size}", "--json", "--threads", str(threads)]
    if args.isa:
        base += ["--isa", args.isa]
    try:
        probe = base + ["--repeat", "1"] + (["--logits-out", logits] if logits else [])
        first = json.loads(run_checked([str(c) for c in probe], timeout=3600).stdout.splitlines()[-1])
        runs = pc.runs_for(first["latency_ms"]["median"], args.budget, args.min_runs, args.max_runs)
        rec = json.loads(run_checked([str(c) for c in base + ["--repeat", str(runs)]],
                                     timeout=3600).stdout.splitlines()[-1])
        lat = rec["latency_ms"]
        return {"type": "result", "engine": "ours", "variant": variant, "threads": threads,
                "actual_threads": rec["threads"], "median_ms": lat["median"], "min_ms": lat["min"],
                "runs": lat["runs"], "warmup": 1 if runs > 1 else 0, "isa": rec["isa"]}
    except Exception as e:  # noqa: BLE001
        return {"type": "error", "engine": "ours", "variant": variant, "threads": threads, "reason": last_line(str(e))}


def start_workers(args, engines, models: Path, inp: Path, ort, out: Path, unavailable: dict) -> dict:
    common = ["--models", models, "--input", inp, "--size", str(args.size), "--budget", str(args.budget),
              "--warmup", str(args.warmup), "--min-runs", str(args.min_runs), "--max-runs", str(args.max_runs)]
    workers = {}
    for engine in engines:
        if engine == "ours" or engine in unavailable:
            continue
        if engine == "ort":
            spec = {"ort_module": str(ort[1]), "models": str(models), "input": str(inp), "size": args.size,
                    "budget": args.budget, "warmup": args.warmup, "min_runs": args.min_runs, "max_runs": args.max_runs}
            cmd = [ort[0], HERE / "ort_peer.js", json.dumps(spec)]
        else:
            script = {"torch-eager": ["peer_torch.py", "eager"], "torch-best": ["peer_torch.py", "best"],
                      "opencv": ["peer_opencv.py"]}[engine]
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


def build_report(args, summary, errors, info, unavailable, config_errors, macs, peak, peak_source, load, started,
                 elapsed) -> tuple:
    engines = [e for e in ENGINES if e in args.engines]
    peers = [e for e in engines if e != "ours"]
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
        f"(time budget {args.budget:g} s of timed runs per measurement, >= {args.min_runs} runs).")
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
    add("## Sanity check: logits vs the PyTorch eager reference, max|x - ref| / max|ref| (tolerance "
        f"{args.tolerance:g})")
    add("")
    add("| engine | " + " | ".join(v.upper() for v in args.variants) + " |")
    add("|---|" + "---:|" * len(args.variants))
    failed = []
    for e in engines:
        row = []
        for v in args.variants:
            err = errors.get(e, {}).get(v)
            if err is None:
                row.append("n/a")
            else:
                row.append(f"{err:.1e}" + ("" if err <= args.tolerance else " FAIL"))
                if err > args.tolerance:
                    failed.append(f"{e}/{v}")
        add(f"| {TITLES[e]} | " + " | ".join(row) + " |")
    add("")
    add("## Engines")
    add("")
    add(f"- ours: MobileOne engine {our_version()}, ISA {info.get('ours_isa', 'n/a')}, via mobileone-classify")
    for e in peers:
        add(f"- {TITLES[e]}: " + (f"n/a: {unavailable[e]}" if e in unavailable else info.get(e, "n/a")))
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
    add(f"- Total time {elapsed:.0f} s. Command: `{' '.join(sys.argv)}`" +
        (" (report rebuilt from raw.jsonl)" if args.report_only else ""))
    return "\n".join(lines) + "\n", csv_rows, failed


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
    if "ort" in args.engines:
        try:
            ort = find_ort(args, out)
        except RuntimeError as e:
            unavailable["ort"] = str(e)

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
                dump = str(logits_dir / f"{engine}_{v}.f32") if p == 0 and t == args.threads[0] else ""
                meter = LoadMeter(worker_pids)
                if engine == "ours":
                    rec = measure_ours(args, tools, models, inp, v, t, dump)
                    if rec["type"] == "result":
                        info.setdefault("ours_isa", rec["isa"])
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

    return macs, records, info, unavailable, loads


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
                        help=f"per-core peak, G multiply-adds/s (default $MOBILEONE_PEAK_GMACS or {DEFAULT_PEAK})")
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
    args = parser.parse_args()
    args.variants = pc.split_list(args.variants)
    args.threads = [int(t) for t in pc.split_list(args.threads)]
    args.engines = pc.split_list(args.engines)
    for e in args.engines:
        if e not in ENGINES:
            parser.error(f"unknown engine {e} (choose from {', '.join(ENGINES)})")

    started, t_start = datetime.datetime.now(), time.monotonic()
    out = Path(args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    build = Path(args.build_dir).resolve()
    tools = {"classify": build / "examples" / "mobileone-classify", "make_model": build / "bench" / "mobileone-make-model"}
    for name, path in tools.items():
        if not path.exists():
            log(f"error: {path} not found. Build first: cmake --preset release && cmake --build --preset release -j2")
            return 2
    if args.peak_gmacs:
        peak, peak_source = args.peak_gmacs, "--peak-gmacs"
    elif os.environ.get("MOBILEONE_PEAK_GMACS"):
        peak, peak_source = float(os.environ["MOBILEONE_PEAK_GMACS"]), "MOBILEONE_PEAK_GMACS"
    else:
        peak, peak_source = DEFAULT_PEAK, "default: AMD Zen4 dev VM"

    logits_dir = out / "logits"
    if args.report_only:
        lines = [json.loads(line) for line in open(out / "raw.jsonl")]
        meta = lines[0] if lines and lines[0].get("type") == "meta" else {}
        records = [r for r in lines if r.get("type") in ("result", "error")]
        info, unavailable, loads = meta.get("info", {}), meta.get("unavailable", {}), meta.get("loads", [])
        started = datetime.datetime.fromisoformat(meta["started"]) if "started" in meta else started
        elapsed = meta.get("elapsed", 0.0)
        args.passes = max([r.get("pass", 1) for r in records] or [1])
        macs = {v: json.loads(run_checked([tools["make_model"], "--variant", v, "--size", str(args.size),
                                           "--stats"]).stdout)["macs"] for v in args.variants}
    else:
        macs, records, info, unavailable, loads = measure_all(args, tools, out, logits_dir)
        elapsed = time.monotonic() - t_start
        with open(out / "raw.jsonl", "w") as f:
            f.write(json.dumps({"type": "meta", "started": started.isoformat(), "elapsed": elapsed, "info": info,
                                "unavailable": unavailable, "loads": loads, "command": sys.argv}) + "\n")
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
    report, csv_rows, failed = build_report(args, summary, errors, info, unavailable, config_errors, macs, peak,
                                            peak_source, load, started, elapsed)
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
    log(f"wrote {out}/results{suffix}.md, results{suffix}.csv, ratios{suffix}.csv" +
        ("" if args.report_only else ", raw.jsonl"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
