#!/usr/bin/env python3
"""Runs a snapshot of your own network in PyTorch: the TorchScript module and the NPZ weights that
examples/python/read_snapshot.py wrote (--module-out, --out), on inputs given as text rows.

    python3 ../python/read_snapshot.py --model-id photos --out weights.npz --module-out module.pt
    python3 predict.py --module module.pt --weights weights.npz --inputs x.txt --shape 1,28,28

Each input row holds one sample's floats (as many as the model's input shape has elements, whitespace
separated); each output row the class probabilities (softmax of the logits), the predicted class first.
The weights are named by the module's own parameter names (module.named_parameters()), so they load
with load_state_dict; the module runs in eval mode, as the Java subscriber runs it. Needs Debian's
python3-torch and python3-numpy.
"""
import argparse

import numpy as np
import torch


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--module", required=True, help="the TorchScript module (read_snapshot.py --module-out)")
    p.add_argument("--weights", required=True, help="the snapshot's NPZ weights (read_snapshot.py --out)")
    p.add_argument("--inputs", required=True, help="text file, one sample per row")
    p.add_argument("--shape", required=True, help="the model's input shape, e.g. 1,28,28 or 384")
    a = p.parse_args()
    module = torch.jit.load(a.module, map_location="cpu")
    weights = np.load(a.weights)
    state = {name: torch.from_numpy(weights[name]) for name in weights.files}
    expected = {name for name, _ in module.named_parameters()}
    if set(state) != expected:
        raise SystemExit("the weights %s are not the module's parameters %s" % (sorted(state), sorted(expected)))
    module.load_state_dict(state, strict=False)  # strict=False: buffers, if any, keep the module's own values
    module.eval()
    shape = [int(d) for d in a.shape.split(",")]
    x = np.loadtxt(a.inputs, dtype=np.float32, ndmin=2)
    with torch.no_grad():
        logits = module(torch.from_numpy(x).reshape([-1] + shape))
        probabilities = torch.softmax(logits, dim=1).numpy()
    for row in probabilities:
        print("%d %s" % (int(row.argmax()), " ".join("%.8f" % v for v in row)))


if __name__ == "__main__":
    main()
