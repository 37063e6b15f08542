"""PyTorch twin of `descent glass segment`: the same U-Net run tile by tile over a line-scan image (issue 9's
segmentation benchmark; bench/segment.sh runs it beside Descent and bench/segment_report.py makes the table).

The network is ModelSpec.buildUNet's: for level in 0..<depth two conv units of channels·2^level ("a", then "b", whose
output is the skip) and a 2×2 max-pool; two conv units of channels·2^depth (mid); for level in reversed(0..<depth)
nearest ×2 upsampling, a conv unit of channels·2^level ("up conv"), concatenation [up, skip] on channels, two conv
units; then a 1×1 convolution to 6 classes with bias. A conv unit is Conv2d 3×3 padding 1 (bias only without
batchnorm), BatchNorm2d if --batchnorm, ReLU. The modules carry Descent's layer names, so --weights loads a Descent
model file (a run's final.h5: /params, /buffers and their layouts; needs h5py) and the two frameworks compute the
same function; without it the weights are PyTorch's default random ones (eval mode), which is enough for throughput.

The image (8-bit grayscale strip TIFF) is memory-mapped with tifffile and read band by band, tile_rows + 2·halo rows
at a time, exactly as BandSegmenter does: tiles on a grid fixed by the image, each a batch of one input of
[1, tile_rows + 2·halo, tile_columns + 2·halo] floats (x/255, or the model file's shift and scale), edges repeated
beyond the image's borders (numpy 'edge' padding), argmax over the classes (numpy's, on the centre: faster than
torch.argmax over dim 0), the centre tile_rows × tile_columns kept.
One warm-up forward on a zero tile runs before the clock starts (Descent builds its model before its clock starts);
the timed loop is everything else: reading, normalising, forwards, argmax.

Prints one JSON line: MB/s (width·height/1e6 bytes / wall seconds of the loop), seconds, tiles, parameters, and
the split of the time (read + pad + normalise, forward, argmax). --mask-out FILE.npy saves the mask (small images:
it is held whole); --compare PRED.h5 counts, band by band, the pixels on which the mask agrees with Descent's
(/mask of `descent glass segment`'s name-pred.h5), the time that takes left out of the figures.

    python3 bench/pytorch/segment.py IMAGE.tif --depth 3 --channels 8 --batchnorm --threads 1 [--weights final.h5]
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 6


class ConvUnit(nn.Module):
    def __init__(self, cin, cout, batchnorm):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=1, padding=1, bias=not batchnorm)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1) if batchnorm else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x)


class UNet(nn.Module):
    """ModelSpec.buildUNet; unit names as Descent's layers (enc1a, …, mid_a, mid_b, up2_conv, dec2a, …, logits)."""

    def __init__(self, depth, channels, batchnorm, classes=CLASSES):
        super().__init__()
        self.depth = depth
        units = {}
        cin = 1
        for level in range(depth):
            c = channels << level
            units[f"enc{level + 1}a"] = ConvUnit(cin, c, batchnorm)
            units[f"enc{level + 1}b"] = ConvUnit(c, c, batchnorm)
            cin = c
        c = channels << depth
        units["mid_a"] = ConvUnit(cin, c, batchnorm)
        units["mid_b"] = ConvUnit(c, c, batchnorm)
        cin = c
        for level in reversed(range(depth)):
            c = channels << level
            units[f"up{level + 1}_conv"] = ConvUnit(cin, c, batchnorm)
            units[f"dec{level + 1}a"] = ConvUnit(2 * c, c, batchnorm)
            units[f"dec{level + 1}b"] = ConvUnit(c, c, batchnorm)
            cin = c
        self.units = nn.ModuleDict(units)
        self.logits = nn.Conv2d(cin, classes, 1, bias=True)

    def forward(self, x):
        u = self.units
        skips = []
        for level in range(self.depth):
            x = u[f"enc{level + 1}a"](x)
            x = u[f"enc{level + 1}b"](x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = u["mid_b"](u["mid_a"](x))
        for level in reversed(range(self.depth)):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = u[f"up{level + 1}_conv"](x)
            x = torch.cat([x, skips[level]], dim=1)
            x = u[f"dec{level + 1}b"](u[f"dec{level + 1}a"](x))
        return self.logits(x)


def describe(model):
    """The network in one line, in forward order: unit in→out channels, pools, upsamplings, concatenations."""
    u = model.units
    unit = lambda n: f"{n} {u[n].conv.in_channels}→{u[n].conv.out_channels}"   # noqa: E731
    parts = []
    for level in range(model.depth):
        parts += [unit(f"enc{level + 1}a"), unit(f"enc{level + 1}b"), "maxpool 2"]
    parts += [unit("mid_a"), unit("mid_b")]
    for level in reversed(range(model.depth)):
        parts += ["upsample ×2 nearest", unit(f"up{level + 1}_conv"), f"concat [up{level + 1}_conv, enc{level + 1}b]",
                  unit(f"dec{level + 1}a"), unit(f"dec{level + 1}b")]
    first = u["enc1a"]
    kind = "conv 3×3 pad 1 " + ("no bias + BatchNorm2d" if first.bn is not None else "with bias") + " + ReLU"
    parts.append(f"logits conv 1×1 {model.logits.in_channels}→{model.logits.out_channels} with bias")
    return f"units = {kind}: " + " · ".join(parts)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def descent_tensor_name(name):
    """Descent's name of a PyTorch state_dict entry: units.enc1a.conv.weight → enc1a.weight, units.enc1a.bn.weight
    → enc1a_bn.gamma, … (None for entries Descent does not store, such as num_batches_tracked)."""
    if name.startswith("logits."):
        return name
    _, unit, kind, field = name.split(".")
    if kind == "conv":
        return f"{unit}.{field}"
    bn = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"}
    return f"{unit}_bn.{bn[field]}" if field in bn else None


def load_descent_weights(model, path):
    """Copies a Descent model file's parameters and buffers into `model`; returns (shift, scale) of its data."""
    import h5py

    with h5py.File(path, "r") as f:
        tensors = {}
        for flat, layout in (("params", "model/layout"), ("buffers", "model/buffer_layout")):
            if flat not in f or layout not in f:
                continue
            values = f[flat][()]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in f[layout + "/name"][()]]
            names = [n.rstrip("\x00") for n in names]
            offsets, ranks, shapes = f[layout + "/offset"][()], f[layout + "/rank"][()], f[layout + "/shape"][()]
            for n, o, r, s in zip(names, offsets, ranks, shapes):
                shape = tuple(int(d) for d in s[: int(r)])
                size = int(np.prod(shape)) if shape else 1
                tensors[n] = values[int(o): int(o) + size].reshape(shape)
        shift = float(f["data/shift"][()][0]) if "data/shift" in f else 0.0
        scale = float(f["data/scale"][()][0]) if "data/scale" in f else 1.0
    state = model.state_dict()
    used = set()
    for name, t in state.items():
        key = descent_tensor_name(name)
        if key is None:
            continue
        if key not in tensors:
            sys.exit(f"segment.py: {path} has no {key} (for {name}): not the same U-Net (check --depth, --channels, --batchnorm)")
        v = tensors[key]
        if tuple(v.shape) != tuple(t.shape):
            sys.exit(f"segment.py: {path}: {key} has shape {tuple(v.shape)}, PyTorch's {name} {tuple(t.shape)}")
        state[name] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        used.add(key)
    extra = sorted(set(tensors) - used)
    if extra:
        sys.exit(f"segment.py: {path} holds tensors the PyTorch U-Net lacks: {extra[:5]}… (check the options)")
    model.load_state_dict(state)
    return shift, scale


def open_image(path):
    """The image as an array of rows: a read-only memory map when the TIFF allows it (uncompressed, contiguous), the
    decoded page otherwise (then held whole)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        if page.dtype != np.uint8 or len(page.shape) != 2:
            sys.exit(f"segment.py: {path}: expected an 8-bit grayscale image, got {page.dtype} {page.shape}")
        mappable = page.is_memmappable
    if mappable:
        return tifffile.memmap(path, mode="r"), "memmap"
    print(f"segment.py: {path} cannot be memory-mapped (compressed or scattered strips): decoding it whole", file=sys.stderr)
    return tifffile.imread(path), "decoded whole"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--batchnorm", action="store_true")
    ap.add_argument("--tile-rows", type=int, default=256)
    ap.add_argument("--tile-columns", type=int, default=512)
    ap.add_argument("--halo", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", help="a Descent model file (final.h5) to load instead of random weights")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    ap.add_argument("--mask-out", help="save the mask as .npy (held whole: small images only)")
    ap.add_argument("--compare", help="Descent's name-pred.h5: count the pixels on which the masks agree")
    ap.add_argument("--label", default="", help="copied into the JSON line")
    a = ap.parse_args()

    TR, TC, H = a.tile_rows, a.tile_columns, a.halo
    in_rows, in_cols = TR + 2 * H, TC + 2 * H
    if in_rows % (1 << a.depth) or in_cols % (1 << a.depth):
        sys.exit(f"segment.py: tile + 2·halo ({in_rows} × {in_cols}) must be multiples of {1 << a.depth}")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = UNet(a.depth, a.channels, a.batchnorm)
    shift, scale = 0.0, 1.0
    if a.weights:
        shift, scale = load_descent_weights(model, a.weights)
    model.eval()
    params = parameter_count(model)
    gain, offset = np.float32(scale / 255), np.float32(-shift * scale)

    image, access = open_image(a.image)
    height, width = image.shape
    tile_rows = (height + TR - 1) // TR
    tile_cols = (width + TC - 1) // TC
    padded_width = tile_cols * TC + 2 * H   # every tile full width: columns beyond the right edge repeat the last one
    mask = np.zeros((height, width), np.uint8) if a.mask_out else None
    out_band = np.zeros((TR, width), np.uint8)
    compare = None
    if a.compare:
        import h5py
        compare = h5py.File(a.compare, "r")["mask"]
        if compare.shape != (height, width):
            sys.exit(f"segment.py: {a.compare}: /mask is {compare.shape}, the image {(height, width)}")
    agree = 0
    compare_seconds = 0.0

    with torch.no_grad():
        model(torch.zeros(1, 1, in_rows, in_cols))   # warm-up (PyTorch's lazy initialisation), not timed
        t_read = t_forward = t_argmax = 0.0
        started = time.perf_counter()
        for t in range(tile_rows):
            t0 = time.perf_counter()
            top = t * TR - H
            lo, hi = max(top, 0), min(top + in_rows, height)
            rows = np.asarray(image[lo:hi])   # the band's readable rows (a copy out of the memory map)
            band = np.pad(rows, ((lo - top, top + in_rows - hi), (H, padded_width - H - width)), mode="edge")
            x = band.astype(np.float32)
            x *= gain
            if offset != 0:
                x += offset
            xt = torch.from_numpy(x)
            centre = min(TR, height - t * TR)
            t1 = time.perf_counter()
            t_read += t1 - t0
            for j in range(tile_cols):
                x0 = j * TC
                t1 = time.perf_counter()
                scores = model(xt[:, x0: x0 + in_cols].contiguous().view(1, 1, in_rows, in_cols))
                t2 = time.perf_counter()
                cols = min(TC, width - x0)
                # numpy's argmax over the classes (first maximum wins, as in Descent): ~6× faster here than
                # torch.argmax(dim=0), which walks the class axis with a stride of a whole plane.
                best = scores[0].numpy()[:, H: H + centre, H: H + cols].argmax(axis=0)
                out_band[:centre, x0: x0 + cols] = best
                t3 = time.perf_counter()
                t_forward += t2 - t1
                t_argmax += t3 - t2
            if mask is not None:
                mask[t * TR: t * TR + centre] = out_band[:centre]
            if compare is not None:
                c0 = time.perf_counter()
                agree += int(np.count_nonzero(compare[t * TR: t * TR + centre] == out_band[:centre]))
                compare_seconds += time.perf_counter() - c0
        seconds = time.perf_counter() - started - compare_seconds

    if a.mask_out:
        np.save(a.mask_out, mask)
    mb = width * height / 1e6
    line = {
        "kind": "pytorch", "label": a.label, "threads": a.threads, "image": a.image, "width": width, "height": height,
        "mb": mb, "seconds": seconds, "mb_per_s": mb / seconds, "tiles": tile_rows * tile_cols,
        "tile": [TR, TC, H], "parameters": params, "depth": a.depth, "channels": a.channels, "batchnorm": a.batchnorm,
        "weights": a.weights or f"random (seed {a.seed})", "image_access": access,
        "read_s": t_read, "forward_s": t_forward, "argmax_s": t_argmax,
        "torch": torch.__version__, "pid": os.getpid(),
    }
    if compare is not None:
        line["compare"] = a.compare
        line["agreement"] = agree / (width * height)
        line["disagreeing_pixels"] = width * height - agree
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
