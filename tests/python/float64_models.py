"""toposcape's two models, written again in float64 with numpy and autograd, from a run directory.

An independent implementation: it shares no code with toposcape (or burn), reads only the files
a run directory holds (docs/ARCHITECTURE.md, contract 4: params.json, theta0.safetensors, directions.npy,
axes.json, eval_data.npz, config.toml), and differentiates with HIPS autograd, whose
Hessian-vector products are exact double-backward products in float64 (as PyTorch's are;
autograd is a small pure-Python package on numpy, PyTorch brings gigabytes).

`load_run(RUN_DIR)` returns a `Run` with `loss(theta)` (an autograd-differentiable function of
the flat float64 parameter vector, in the order of params.json), `hvp(theta, v)`, theta0, the
directions, the grid axes, the landscape and hessian.json.
"""

import json
import struct
import tomllib
from pathlib import Path

import numpy as np

try:  # autograd for the Hessian-vector products; plain numpy evaluates the losses without it
    import autograd
    import autograd.numpy as anp
except ImportError:  # pragma: no cover - e.g. on a GPU machine with numpy alone
    autograd = None
    anp = np


def read_safetensors(path):
    """The tensors of a safetensors file, by hand: an 8-byte header length, a JSON header, raw
    little-endian data."""
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    dtypes = {"F32": "<f4", "F64": "<f8"}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]]).reshape(
            info["shape"]
        )
    return tensors


class Run:
    def __init__(self, run):
        run = Path(run)
        self.dir = run
        self.config = tomllib.loads((run / "config.toml").read_text())
        self.params = json.loads((run / "params.json").read_text())["parameters"]
        tensors = read_safetensors(run / "theta0.safetensors")
        self.theta0 = np.concatenate(
            [np.asarray(tensors[p["name"]], dtype=np.float64).ravel() for p in self.params]
        )
        self.directions = np.load(run / "directions.npy").astype(np.float64)
        axes = json.loads((run / "axes.json").read_text())
        self.axes = [np.array(a) for a in axes.get("axes") or []]
        self.landscape = np.load(run / "landscape.npy")
        self.hessian = json.loads((run / "hessian.json").read_text())
        self.data = dict(np.load(run / "eval_data.npz"))
        task = self.config["task"]
        self.loss = pinn_loss(self) if task == "pinn-convection" else unet_loss(self)
        self._hvp = autograd and autograd.hessian_vector_product(self.loss)

    def unflatten(self, theta):
        out = {}
        for p in self.params:
            size = int(np.prod(p["shape"]))
            out[p["name"]] = anp.reshape(theta[p["offset"] : p["offset"] + size], p["shape"])
        return out

    def hvp(self, theta, v):
        if self._hvp is None:
            raise SystemExit("Hessian-vector products need the autograd package (pip install autograd)")
        return self._hvp(theta, v)

    def point(self, index):
        """theta0 + sum_i c_i d_i at a grid index, as the landscape's point."""
        coords = np.array([self.axes[a][i] for a, i in enumerate(index)])
        return self.theta0 + coords @ self.directions


def pinn_loss(run):
    data = run.data
    layers = len(data["widths"]) - 1
    beta = float(data["beta"])
    weights = [float(data[k]) for k in ("initial_weight", "residual_weight", "boundary_weight")]
    col = data["collocation"].astype(np.float64)
    ex = np.tile([1.0, 0.0], (len(col), 1))
    et = np.tile([0.0, 1.0], (len(col), 1))
    initial = data["initial"].astype(np.float64)
    target = data["initial_target"].astype(np.float64)
    left = data["boundary_left"].astype(np.float64)
    right = data["boundary_right"].astype(np.float64)

    def forward(w, x, tangents=()):
        h, ts = x, list(tangents)
        for i in range(layers):
            weight, bias = w[f"layers.{i}.weight"], w[f"layers.{i}.bias"]
            h = anp.dot(h, weight) + bias
            ts = [anp.dot(t, weight) for t in ts]
            if i < layers - 1:
                h = anp.tanh(h)
                ts = [t * (1 - h**2) for t in ts]
        return h, ts

    def loss(theta):
        w = run.unflatten(theta)
        _, (u_x, u_t) = forward(w, col, (ex, et))
        residual = anp.mean((u_t + beta * u_x) ** 2)
        u0, _ = forward(w, initial)
        initial_term = anp.mean((u0[:, 0] - target) ** 2)
        ul, _ = forward(w, left)
        ur, _ = forward(w, right)
        boundary = anp.mean((ul - ur) ** 2)
        return weights[0] * initial_term + weights[1] * residual + weights[2] * boundary

    return loss


def conv3x3(x, weight, bias):
    """A 3x3 convolution with padding 1 (cross-correlation, as burn and PyTorch compute it):
    the nine shifted copies of the padded input against the weight [out, in, 3, 3]."""
    n, c, h, w = x.shape
    zeros_row = anp.zeros((n, c, 1, w))
    x = anp.concatenate([zeros_row, x, zeros_row], axis=2)
    zeros_col = anp.zeros((n, c, h + 2, 1))
    x = anp.concatenate([zeros_col, x, zeros_col], axis=3)
    patches = anp.stack(
        [x[:, :, i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=2
    )  # [n, c, 9, h, w]
    patches = anp.reshape(anp.transpose(patches, (0, 3, 4, 1, 2)), (n * h * w, c * 9))
    out = anp.dot(patches, anp.reshape(weight, (weight.shape[0], c * 9)).T) + bias
    return anp.transpose(anp.reshape(out, (n, h, w, weight.shape[0])), (0, 3, 1, 2))


def conv1x1(x, weight, bias):
    n, c, h, w = x.shape
    flat = anp.reshape(anp.transpose(x, (0, 2, 3, 1)), (n * h * w, c))
    out = anp.dot(flat, anp.reshape(weight, (weight.shape[0], c)).T) + bias
    return anp.transpose(anp.reshape(out, (n, h, w, weight.shape[0])), (0, 3, 1, 2))


def up2x2(x, weight, bias):
    """A 2x2 transposed convolution with stride 2, weight [in, out, 2, 2]: output pixel
    (2i + a, 2j + b) is sum_c x[c, i, j] weight[c, o, a, b]."""
    n, c, h, w = x.shape
    o = weight.shape[1]
    flat = anp.reshape(anp.transpose(x, (0, 2, 3, 1)), (n * h * w, c))
    out = anp.dot(flat, anp.reshape(weight, (c, o * 4)))  # [n h w, o a b]
    out = anp.reshape(out, (n, h, w, o, 2, 2))
    out = anp.reshape(anp.transpose(out, (0, 3, 1, 4, 2, 5)), (n, o, 2 * h, 2 * w))
    return out + anp.reshape(bias, (1, o, 1, 1))


def group_norm(x, gamma, beta, groups, eps=1e-5):
    n, c, h, w = x.shape
    g = anp.reshape(x, (n, groups, -1))
    centred = g - anp.mean(g, axis=2, keepdims=True)
    variance = anp.mean(centred**2, axis=2, keepdims=True)
    normalised = anp.reshape(centred / anp.sqrt(variance + eps), (n, c, h, w))
    return normalised * anp.reshape(gamma, (1, c, 1, 1)) + anp.reshape(beta, (1, c, 1, 1))


def max_pool2x2(x):
    n, c, h, w = x.shape
    return anp.max(anp.reshape(x, (n, c, h // 2, 2, w // 2, 2)), axis=(3, 5))


def unet_loss(run):
    images = run.data["images"].astype(np.float64)
    labels = run.data["labels"].astype(np.int64)
    groups = int(run.config["unet"]["norm_groups"])
    depth = int(run.config["unet"]["depth"])
    classes = int(run.config["unet"]["classes"])
    one_hot = np.eye(classes)[labels].transpose(0, 3, 1, 2)  # [n, k, h, w]

    def relu(x):
        return anp.maximum(x, 0.0)

    def block(w, name, x):
        x = conv3x3(x, w[f"{name}.conv1.weight"], w[f"{name}.conv1.bias"])
        x = relu(group_norm(x, w[f"{name}.norm1.gamma"], w[f"{name}.norm1.beta"], groups))
        x = conv3x3(x, w[f"{name}.conv2.weight"], w[f"{name}.conv2.bias"])
        return relu(group_norm(x, w[f"{name}.norm2.gamma"], w[f"{name}.norm2.beta"], groups))

    def loss(theta):
        w = run.unflatten(theta)
        h, skips = images, []
        for level in range(depth):
            h = block(w, f"encoder.{level}", h)
            skips.append(h)
            h = max_pool2x2(h)
        h = block(w, "bottom", h)
        for i, skip in enumerate(reversed(skips)):
            h = up2x2(h, w[f"upsample.{i}.weight"], w[f"upsample.{i}.bias"])
            h = block(w, f"decoder.{i}", anp.concatenate([h, skip], axis=1))
        logits = conv1x1(h, w["head.weight"], w["head.bias"])
        top = anp.max(logits, axis=1, keepdims=True)
        log_sum = anp.log(anp.sum(anp.exp(logits - top), axis=1)) + top[:, 0]
        picked = anp.sum(logits * one_hot, axis=1)
        return anp.mean(log_sum - picked)

    return loss


def load_run(run):
    return Run(run)
