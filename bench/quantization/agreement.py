#!/usr/bin/python3
"""Agreement of a reduced-precision run with float32 on a folder of photos, measured with our own CLI.

  bench/quantization/agreement.py --fp32 S0.mone --int8 S0_INT8.mone PHOTO_DIR [--classify PATH] [--threads N]
  bench/quantization/agreement.py --fp32 S0.mone --precision bf16 PHOTO_DIR    (16-bit floats: the same blob)

Runs `mobileone-classify --json --top <all classes>` once per model over every JPEG/PNG in PHOTO_DIR
(sorted, not recursive) and prints top-1 agreement (the int8 top-1 equals the fp32 top-1), top-5 overlap
(|fp32 top-5 & int8 top-5| / 5, averaged) and the mean KL(fp32 || int8) over the photos. Nothing here is
fitted: it only reports (never choose a recipe on the evaluation photos).
"""

import argparse
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CLASSIFY = os.path.join(HERE, "..", "..", "build", "release", "examples", "mobileone-classify")


def classify(binary, model, photos, threads, precision, isa="auto"):
    """{photo: {class index: probability}} for every photo, all classes."""
    cmd = [binary, "--model", model, "--json", "--top", "1000000", "--threads", str(threads),
           "--precision", precision, "--isa", isa] + photos
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        if "error" in record:
            sys.exit(f"agreement.py: {record['input']}: {record['error']}")
        out[record["input"]] = {e["index"]: e["prob"] for e in record["top"]}
    if run.returncode != 0 or len(out) != len(photos):
        sys.exit(f"agreement.py: {' '.join(cmd[:3])} failed: {run.stderr.strip()}")
    return out


def top(probs, k):
    return [i for i, _ in sorted(probs.items(), key=lambda e: (-e[1], e[0]))[:k]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("photos", help="folder of JPEG/PNG photos")
    ap.add_argument("--fp32", required=True, help="the float32 .mone model")
    ap.add_argument("--int8", help="the int8 .mone model (mobileone-quantize); default: the --fp32 model")
    ap.add_argument("--precision", default="int8", help="what the compared model runs in: int8 (default), bf16 or fp16")
    ap.add_argument("--classify", default=DEFAULT_CLASSIFY, help="mobileone-classify (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="engine threads (default: %(default)s)")
    ap.add_argument("--isa", default="auto", help="ISA of the compared run (e.g. scalar: the reference kernels)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()
    names = sorted(f for f in os.listdir(args.photos) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if not names:
        sys.exit(f"agreement.py: '{args.photos}': no JPEG or PNG photo")
    photos = [os.path.join(args.photos, f) for f in names]
    if args.precision == "int8" and not args.int8:
        sys.exit("agreement.py: --precision int8 needs --int8 MODEL")
    ref = classify(args.classify, args.fp32, photos, args.threads, "fp32")
    got = classify(args.classify, args.int8 or args.fp32, photos, args.threads, args.precision, args.isa)
    top1 = overlap = kl = 0.0
    for photo in photos:
        p, q = ref[photo], got[photo]
        top1 += top(p, 1) == top(q, 1)
        overlap += len(set(top(p, 5)) & set(top(q, 5))) / 5
        # Probabilities are printed with 6 significant digits; a class whose int8 probability printed as 0
        # is floored (its fp32 term is then tiny too).
        kl += sum(pi * math.log(pi / max(q.get(i, 0.0), 1e-38)) for i, pi in p.items() if pi > 0)
    n = len(photos)
    figures = dict(photos=n, top1_agreement=top1 / n, top5_overlap=overlap / n, mean_kl=kl / n)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.photos}: {n} photos, top-1 agreement {100 * top1 / n:.1f}%, top-5 overlap "
              f"{100 * overlap / n:.1f}%, mean KL(fp32 || {args.precision}) {kl / n:.4f}")


if __name__ == "__main__":
    main()
