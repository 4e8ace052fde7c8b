#!/usr/bin/env python3
"""Exports one of the example networks as a TorchScript module rehearsal can train.

    python3 export.py resnet --classes 10 --out resnet.pt
    python3 export.py head --dim 384 --hidden 256 --classes 20 --out head.pt

Uses torch.jit.script (not trace: a traced module keeps the train/eval mode it was traced in, so its
Dropout would stay on, or off, whatever the trainer asks). Prints the module's SHA-256 (how snapshots
name it) and its parameters. Refuses a module with buffers (BatchNorm's running statistics): DJL 0.36
does not expose them, so rehearsal could neither snapshot nor restore them. Needs Debian's python3-torch.
"""
import argparse
import hashlib
import sys

import torch

import models


def build(args):
    if args.arch == "resnet":
        widths = tuple(int(w) for w in args.widths.split(","))
        return models.SmallResNet(classes=args.classes, channels=args.channels, side=args.side, widths=widths,
                                  groups=args.groups, pool=args.pool, dense=widths_of(args.dense))
    return models.EmbeddingHead(dim=args.dim, classes=args.classes, hidden=widths_of(args.hidden), dropout=args.dropout)


def widths_of(text):
    return tuple(int(w) for w in text.split(",")) if text else ()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("arch", choices=["resnet", "head"])
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0, help="seeds the initial weights (the trainer keeps them)")
    p.add_argument("--channels", type=int, default=1, help="resnet: image channels")
    p.add_argument("--side", type=int, default=28, help="resnet: image side")
    p.add_argument("--widths", default="16,32,64", help="resnet: stage widths")
    p.add_argument("--groups", type=int, default=8, help="resnet: GroupNorm groups")
    p.add_argument("--pool", type=int, default=7,
                   help="resnet: average-pool the last stage to a pool x pool grid (7: all of a 28x28 input's 7x7 "
                        "map; 1: global average pooling, the default before the dense layer)")
    p.add_argument("--dense", default="128", help="resnet: dense widths before the head, comma-separated ('' for none)")
    p.add_argument("--dim", type=int, default=384, help="head: embedding size")
    p.add_argument("--hidden", default="256", help="head: hidden widths, comma-separated ('' for none)")
    p.add_argument("--dropout", type=float, default=0.1, help="head: dropout")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    module = build(args)
    buffers = [name for name, _ in module.named_buffers()]
    if buffers:
        sys.exit("the module has buffers %s: rehearsal cannot snapshot them (DJL 0.36 exposes parameters only); "
                 "use GroupNorm or LayerNorm instead of BatchNorm" % buffers)
    scripted = torch.jit.script(module)
    scripted.save(args.out)
    with open(args.out, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    count = sum(p.numel() for p in module.parameters())
    print("%s sha256=%s parameters=%d" % (args.out, sha, count))
    for name, param in module.named_parameters():
        print("  %s %s" % (name, list(param.shape)))


if __name__ == "__main__":
    main()
