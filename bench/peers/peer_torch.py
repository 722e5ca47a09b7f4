"""PyTorch side of the peer comparison.

  peer_torch.py export --mone s0.mone --onnx s0.onnx --input x.f32 --ref-logits s0_ref.f32
      builds the fused MobileOne graph of the blob as a torch module with the blob's weights, writes the
      fp32 eager logits for the input (the reference every engine is checked against) and an ONNX export
      (opset 13) of that same module for ONNX Runtime and OpenCV DNN.
  peer_torch.py eager|best --models DIR --input x.f32 [...]   (worker serving requests on stdin; see
      peer_common.py)
      eager: the nn.Module as is (NCHW, torch.inference_mode)
      best:  torch.jit.script -> torch.jit.freeze -> torch.jit.optimize_for_inference (oneDNN convs with
             prepacked weights, conv+ReLU fused): PyTorch's fastest CPU inference mode without extra packages.
      bf16:  the module and input in channels-last memory format under torch.cpu.amp.autocast(bfloat16):
             PyTorch's bf16 CPU inference (oneDNN bf16 convolutions, float32 accumulation), as its docs
             recommend it; logits returned as float32.

The graph (one module per .mone layer): stem Conv3x3/s2+ReLU, then per unit depthwise Conv3x3+ReLU and
pointwise Conv1x1+ReLU; in S4's squeeze-excite units the conv has no ReLU and is followed by
SE (global avgpool -> 1x1 conv -> ReLU -> 1x1 conv -> sigmoid -> scale) + ReLU; then global avgpool, flatten,
linear. This is Apple's re-parameterized (inference_mode=True) MobileOne.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402


def build_module(layers):
    import torch
    from torch import nn
    import torch.nn.functional as F

    class SqueezeExcite(nn.Module):
        def __init__(self, channels: int, hidden: int, apply_relu: bool):
            super().__init__()
            self.reduce = nn.Conv2d(channels, hidden, 1)
            self.expand = nn.Conv2d(hidden, channels, 1)
            self.apply_relu = apply_relu

        def forward(self, x):
            s = F.adaptive_avg_pool2d(x, 1)
            s = torch.sigmoid(self.expand(F.relu(self.reduce(s))))
            y = x * s
            if self.apply_relu:
                y = F.relu(y)
            return y

    class GlobalPoolFlatten(nn.Module):
        def forward(self, x):
            return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def assign(param, array):
        with torch.no_grad():
            param.copy_(torch.from_numpy(array).reshape(param.shape))

    modules = []
    for layer in layers:
        if layer.kind in (pc.KIND_STEM, pc.KIND_DEPTHWISE, pc.KIND_POINTWISE):
            k = 1 if layer.kind == pc.KIND_POINTWISE else 3
            groups = layer.in_channels if layer.kind == pc.KIND_DEPTHWISE else 1
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, k, stride=layer.stride, padding=k // 2,
                             groups=groups, bias=True)
            assign(conv.weight, layer.tensors[0])
            assign(conv.bias, layer.tensors[1])
            modules.append(nn.Sequential(conv, nn.ReLU(inplace=True)) if layer.relu else conv)
        elif layer.kind == pc.KIND_SE:
            se = SqueezeExcite(layer.in_channels, layer.hidden, layer.relu)
            for param, array in zip((se.reduce.weight, se.reduce.bias, se.expand.weight, se.expand.bias), layer.tensors):
                assign(param, array)
            modules.append(se)
        elif layer.kind == pc.KIND_AVGPOOL:
            modules.append(GlobalPoolFlatten())
        elif layer.kind == pc.KIND_LINEAR:
            linear = nn.Linear(layer.in_channels, layer.out_channels)
            assign(linear.weight, layer.tensors[0])
            assign(linear.bias, layer.tensors[1])
            modules.append(linear)
        else:
            raise ValueError(f"unknown layer kind {layer.kind}")
    return nn.Sequential(*modules).eval()


def load_module(mone_path: str):
    _, layers = pc.read_mone(mone_path)
    return build_module(layers)


def export(args) -> None:
    import torch

    torch.set_num_threads(1)
    model = load_module(args.mone)
    x = torch.from_numpy(pc.read_input(args.input, args.size).copy())
    with torch.inference_mode():
        logits = model(x)
    pc.write_logits(args.ref_logits, logits.numpy())
    tmp = args.onnx + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, (x,), tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                          do_constant_folding=True)
    os.replace(tmp, args.onnx)


def torch_version() -> str:
    import torch

    onednn = ""
    for line in torch.__config__.show().splitlines():
        if "MKL-DNN" in line or "oneDNN" in line:
            onednn = line.strip(" -")
    return f"PyTorch {torch.__version__}" + (f" ({onednn})" if onednn else "")


def worker(mode: str, args) -> None:
    engine = "torch-" + mode
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        pc.emit(type="unavailable", engine=engine, reason=f"cannot import torch: {e}")
        return
    torch.set_num_interop_threads(1)
    x = torch.from_numpy(pc.read_input(args.input, args.size).copy())

    def load(variant):
        model = load_module(os.path.join(args.models, variant + ".mone"))
        if mode == "best":
            model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
        if mode == "bf16":
            model = model.to(memory_format=torch.channels_last)
            x_last = x.to(memory_format=torch.channels_last)

            def run_bf16():
                with torch.cpu.amp.autocast(dtype=torch.bfloat16):
                    return model(x_last).float()

            return run_bf16
        return lambda: model(x)

    def set_threads(n):
        torch.set_num_threads(n)
        return torch.get_num_threads()

    pc.emit(type="info", engine=engine, version=torch_version())
    with torch.inference_mode():
        pc.serve(engine, args, load, set_threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--mone", required=True)
    ex.add_argument("--onnx", required=True)
    ex.add_argument("--input", required=True)
    ex.add_argument("--size", type=int, default=224)
    ex.add_argument("--ref-logits", required=True)
    for mode in ("eager", "best", "bf16"):
        pc.add_worker_arguments(sub.add_parser(mode))
    args = parser.parse_args()
    if args.mode == "export":
        export(args)
    else:
        worker(args.mode, args)


if __name__ == "__main__":
    main()
