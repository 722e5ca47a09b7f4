"""OpenCV DNN worker of the peer comparison (serves requests on stdin; see peer_common.py).

Reads <variant>.onnx (the same weights as <variant>.mone), default backend (DNN_BACKEND_OPENCV) on the CPU
target, fp32; threads with cv2.setNumThreads. The input blob is set once; only net.forward() is timed.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402

ENGINE = "opencv"


def parallel_framework(cv2) -> str:
    for line in cv2.getBuildInformation().splitlines():
        if "Parallel framework" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    pc.add_worker_arguments(parser)
    args = parser.parse_args()
    try:
        import cv2
        import numpy as np
    except Exception as e:  # noqa: BLE001
        pc.emit(type="unavailable", engine=ENGINE, reason=f"cannot import cv2 (Debian: apt-get install python3-opencv): {e}")
        return
    if not hasattr(cv2, "dnn"):
        pc.emit(type="unavailable", engine=ENGINE, reason="this OpenCV build has no dnn module")
        return
    x = np.ascontiguousarray(pc.read_input(args.input, args.size))

    def load(variant):
        path = os.path.join(args.models, variant + ".onnx")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} missing (the ONNX export needs PyTorch)")
        net = cv2.dnn.readNetFromONNX(path)
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        net.setInput(x)
        return net.forward

    def set_threads(n):
        cv2.setNumThreads(n)
        return cv2.getNumThreads()

    pc.emit(type="info", engine=ENGINE, version=f"OpenCV {cv2.__version__} (dnn, parallel: {parallel_framework(cv2)})")
    pc.serve(ENGINE, args, load, set_threads)


if __name__ == "__main__":
    main()
