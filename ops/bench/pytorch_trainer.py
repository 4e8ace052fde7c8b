#!/usr/bin/env python3
"""Plain PyTorch eager peer of io.rehearsal.bench.trainer.TrainerBench: the same training step.

One step on a batch of B sample views = B/R items of 28x28 uint8 pixels, the first quarter FRESH:

  1. re-seed the generator for the step (the trainer does, for reproducible augmentations);
  2. pixels to float in [0, 1];
  3. prequential: predict the FRESH items without gradient;
  4. views: the anchor of every item shifted by up to 1 px (zero fill); with R > 1, R-1 strong views of
     every item: shift by up to 3 px, one erased rectangle with p = 0.5 (sides up to 0.4 of the image),
     Gaussian noise 0.05 (the same vectorized gather/mask algorithm as ViewAugmenter);
  5. loss = mean cross-entropy over all views + 1.0 * mean KL(p_anchor || p_view) over the non-anchor
     views (anchor detached); both parts read back as Python floats;
  6. SGD lr 0.05, momentum 0.9.

Models: mlp (784-256-LayerNorm-ReLU-256-LayerNorm-ReLU-10), cnn (Conv3x3 32 - GroupNorm 8 - ReLU - MaxPool2,
Conv3x3 64 - GroupNorm 8 - ReLU - MaxPool2, Linear 128 - LayerNorm - ReLU, Linear 10), tiny (784-8-LayerNorm-ReLU-10),
resnet (examples/models SmallResNet, eager: the peer of its TorchScript export trained by DJL).

    /usr/bin/python3 ops/bench/pytorch_trainer.py [--threads 1] [--steps 200]      # the whole grid
    /usr/bin/python3 ops/bench/pytorch_trainer.py --serve                           # for rehearsal bench perf

Serve mode reads "run <model> <batch> <views> <steps>" lines on stdin and answers
"result <model> <batch> <views> <samples/s> <p50 ms> <mean ms>", like TrainerBench. "info" answers with the
versions and the BLAS PyTorch runs on, "rss" with the process's resident memory.

BLAS: Debian's python3-torch is built with BLAS_INFO=generic, so its matrix products run on whatever
libblas.so.3 the system selects, netlib's reference BLAS unless an optimized one is installed. A fair peer
needs an optimized BLAS (the libtorch that DJL loads brings MKL): install libopenblas0-pthread, or unpack it
and point LD_LIBRARY_PATH at its openblas-pthread directory (rehearsal bench perf --openblas DIR does).
"""
import argparse
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LayerNorm(256), nn.ReLU(),
                             nn.Linear(256, 256), nn.LayerNorm(256), nn.ReLU(), nn.Linear(256, 10))
    if model == "tiny":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 10))
    if model == "cnn":
        return nn.Sequential(nn.Unflatten(1, (1, 28, 28)),
                             nn.Conv2d(1, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.GroupNorm(8, 64), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.LayerNorm(128), nn.ReLU(), nn.Linear(128, 10))
    if model == "resnet":
        # the eager twin of a module exported by examples/models/export.py resnet (default widths): rehearsal bench
        # perf --torchscript FILE times that file in DJL against this
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "models"))
        import models
        return models.SmallResNet()
    raise ValueError("unknown model " + model)


def shift(img, max_shift):
    """Shifts each [N,1,H,W] image by its own (dy, dx) in [-max, max], zero fill (gather + mask)."""
    n, c, h, w = img.shape
    dy = torch.randint(-max_shift, max_shift + 1, (n, 1, 1))
    dx = torch.randint(-max_shift, max_shift + 1, (n, 1, 1))
    ys = torch.arange(h).view(1, h, 1) + dy
    xs = torch.arange(w).view(1, 1, w) + dx
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    index = (ys.clamp(0, h - 1) * w + xs.clamp(0, w - 1)).view(n, 1, h * w).expand(n, c, h * w)
    moved = img.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    return moved * inside.view(n, 1, h, w).float()


def erase(img, p=0.5, max_fraction=0.4):
    n, c, h, w = img.shape
    mh, mw = max(1, round(h * max_fraction)), max(1, round(w * max_fraction))
    eh = torch.randint(1, mh + 1, (n, 1, 1))
    ew = torch.randint(1, mw + 1, (n, 1, 1))
    y0 = torch.randint(0, h, (n, 1, 1))
    x0 = torch.randint(0, w, (n, 1, 1))
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    rows = (ys >= y0) & (ys < y0 + eh)
    cols = (xs >= x0) & (xs < x0 + ew)
    apply = torch.rand(n, 1, 1) < p
    keep = (~(rows & cols & apply)).float().view(n, 1, h, w)
    return img * keep


class Case:
    def __init__(self, model, batch, views, seed=5):
        torch.manual_seed(42)
        self.model = build(model)
        self.views = views
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        self.groups = batch // views
        self.fresh = (self.groups + 3) // 4
        g = torch.Generator().manual_seed(seed)
        self.batches = []
        for _ in range(16):
            labels = torch.randint(0, 10, (self.groups,), generator=g)
            pixels = torch.zeros(self.groups, 784, dtype=torch.uint8)
            for i, label in enumerate(labels.tolist()):
                img = pixels[i].view(28, 28)
                y0, x1 = 4 + label % 3, 22 - label % 4
                img[y0:24, 6:x1] = torch.randint(80, 256, (24 - y0, x1 - 6), generator=g, dtype=torch.int32).to(torch.uint8)
            self.batches.append((pixels.numpy(), labels))
        self.view_item = torch.arange(self.groups).repeat_interleave(views - 1)
        self.step_no = 0

    def step(self):
        pixels, labels = self.batches[self.step_no % len(self.batches)]
        self.step_no += 1
        torch.manual_seed(self.step_no)
        x = torch.from_numpy(pixels).float().div_(255.0)
        with torch.no_grad():
            predicted = self.model(x[:self.fresh]).argmax(1).tolist()
        img = x.view(-1, 1, 28, 28)
        anchors = shift(img, 1).view(-1, 784)
        if self.views > 1:
            repeated = img.index_select(0, self.view_item)
            strong = shift(repeated, 3)
            strong = erase(strong)
            strong = strong + torch.randn_like(strong) * 0.05
            views = torch.cat([anchors, strong.view(-1, 784)])
            targets = torch.cat([labels, labels.index_select(0, self.view_item)])
        else:
            views, targets = anchors, labels
        logp = F.log_softmax(self.model(views), 1)
        ce = F.nll_loss(logp, targets)
        if self.views > 1:
            anchor = logp[:self.groups].detach().index_select(0, self.view_item)
            kl = (anchor.exp() * (anchor - logp[self.groups:])).sum(1).mean()
            loss = ce + 1.0 * kl
            kl_value = kl.item()
        else:
            loss = ce
            kl_value = 0.0
        ce_value = ce.item()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return predicted, ce_value, kl_value


CASES = {}


def run(model, batch, views, steps):
    key = (model, batch, views)
    if key not in CASES:
        CASES[key] = Case(model, batch, views)
        for _ in range(20):
            CASES[key].step()
    case = CASES[key]
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        case.step()
        times.append(time.perf_counter() - t0)
    total = sum(times)
    times.sort()
    return "result %s %d %d %.1f %.3f %.3f" % (model, batch, views, batch * steps / total, 1000 * times[len(times) // 2],
                                              1000 * total / steps)


def blas():
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line.lower() and line.split()[-1].startswith("/")}
    except OSError:
        libs = set()
    names = sorted(os.path.basename(p) for p in libs)
    if any("openblas" in n for n in names):
        return "OpenBLAS"
    if any("mkl" in n for n in names):
        return "MKL"
    return "reference BLAS (%s)" % (", ".join(names) or "none loaded")


def rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def info():
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # loads the BLAS
    return "info PyTorch %s eager, Python %d.%d, %s, %d intra-op thread(s)" % (
        torch.__version__, sys.version_info[0], sys.version_info[1], blas(), torch.get_num_threads())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--serve", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    if not a.serve:
        print(info())
        for model in ("mlp", "cnn"):
            for batch in (64, 256):
                for views in (1, 4):
                    print(run(model, batch, views, a.steps), flush=True)
        print(run("tiny", 8, 1, a.steps * 5))
        return
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        try:
            if w[0] == "run":
                print(run(w[1], int(w[2]), int(w[3]), int(w[4])), flush=True)
            elif w[0] == "rss":
                print("result rss %.1f MB" % (rss_kb() / 1024.0), flush=True)
            elif w[0] == "info":
                print(info(), flush=True)
            elif w[0] == "quit":
                return
            else:
                print("error unknown command " + line.strip(), flush=True)
        except Exception as e:  # report and keep serving
            print("error %r" % (e,), flush=True)


if __name__ == "__main__":
    main()
