"""Two networks to bring to rehearsal: a small ResNet for 28x28 images and an MLP head for embeddings.

Each maps a batch of inputs, shaped as the model's --input-shape with a batch dimension in front, to
logits over all classes. Neither uses BatchNorm: rehearsal trains on view batches (R augmented views of
few distinct samples), which skew batch statistics, and DJL 0.36 does not expose a module's buffers
(BatchNorm's running mean and variance), so they would be neither trained nor snapshotted. GroupNorm and
LayerNorm have parameters only. See docs/byo-models.md.
"""
import torch
from torch import nn


class Block(nn.Module):
    """A basic residual block: conv3x3-GN-ReLU-conv3x3-GN plus the input (projected when it changes shape)."""

    def __init__(self, cin: int, cout: int, stride: int, groups: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(min(groups, cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(min(groups, cout), cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.GroupNorm(min(groups, cout), cout))
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        return torch.relu(h + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet for 1x28x28 images: a stem, three stages of residual blocks (28, 14, 7 pixels), the last stage's
    map average-pooled to a pool x pool grid (7 by default: at 28 x 28 inputs the whole 7 x 7 map, no pooling;
    1 is global average pooling), per dense width Linear-LayerNorm-ReLU (one of 128 by default, as the built-in
    cnn's), then one linear head over all classes. Takes [N, 1, 28, 28] or flat [N, 784].

    The dense layer over the whole map keeps where in the image a feature was, which global average pooling
    throws away: on `rehearsal bench cl` (docs/benchmarks-cl.md) it took the ResNet from 74.2% to 82.4% final
    accuracy, past the built-in cnn's 80.9%, for 4% more multiply-adds per sample (9.7 million) and 6 times the
    parameters (480,186, most of them the dense layer's)."""

    def __init__(self, classes: int = 10, channels: int = 1, side: int = 28, widths=(16, 32, 64), groups: int = 8,
                 pool: int = 7, dense=(128,)):
        super().__init__()
        self.channels = channels
        self.side = side
        self.pool = pool
        self.stem = nn.Sequential(nn.Conv2d(channels, widths[0], 3, padding=1, bias=False),
                                  nn.GroupNorm(min(groups, widths[0]), widths[0]), nn.ReLU())
        stages = []
        cin = widths[0]
        for i, w in enumerate(widths):
            stages.append(Block(cin, w, 1 if i == 0 else 2, groups))
            cin = w
        self.stages = nn.Sequential(*stages)
        cin = cin * pool * pool
        layers = []
        for w in dense:
            layers += [nn.Linear(cin, w), nn.LayerNorm(w), nn.ReLU()]
            cin = w
        self.dense = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, self.channels, self.side, self.side)
        h = self.stages(self.stem(x))
        h = nn.functional.adaptive_avg_pool2d(h, self.pool).flatten(1)
        return self.head(self.dense(h))


class EmbeddingHead(nn.Module):
    """A classifier head over embedding vectors (e.g. a text encoder's): per hidden width
    Linear-LayerNorm-ReLU-Dropout, then one linear head. Takes [N, dim]."""

    def __init__(self, dim: int = 384, classes: int = 10, hidden=(256,), dropout: float = 0.1):
        super().__init__()
        layers = []
        cin = dim
        for w in hidden:
            layers += [nn.Linear(cin, w), nn.LayerNorm(w), nn.ReLU(), nn.Dropout(dropout)]
            cin = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x.reshape(x.shape[0], -1)))
