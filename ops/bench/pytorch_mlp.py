#!/usr/bin/env python3
"""Plain PyTorch eager baseline for io.rehearsal.bench.trainer.TrainerThroughput.

Same model (784-256-LayerNorm-ReLU-256-LayerNorm-ReLU-10), batch 256, SGD lr 0.05 momentum 0.9,
cross-entropy, one fixed random batch, 30 warm-up steps, then timed steps:

    /usr/bin/python3 ops/bench/pytorch_mlp.py [--threads 1] [--steps 300] [--device cpu|cuda]

Needs Debian's python3-torch (1.13 here) or any PyTorch.
"""
import argparse
import time

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LayerNorm(256), nn.ReLU(),
                          nn.Linear(256, 256), nn.LayerNorm(256), nn.ReLU(), nn.Linear(256, 10)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 784, device=dev)
    y = torch.randint(0, 10, (a.batch,), device=dev)
    times = []
    for step in range(-30, a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if step >= 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    total = sum(times)
    print("PyTorch %s eager, %s, %d intra-op thread(s), batch %d, %d steps after 30 warm-up" % (
        torch.__version__, dev, torch.get_num_threads(), a.batch, a.steps))
    print("%-11s %8.0f samples/s  step mean %6.2f ms  p50 %6.2f ms  p99 %6.2f ms" % (
        "pytorch", a.batch * len(times) / total, 1000 * total / len(times), 1000 * times[len(times) // 2],
        1000 * times[int(len(times) * 0.99)]))


if __name__ == "__main__":
    main()
