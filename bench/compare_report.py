"""Descent against PyTorch CPU: the two steps of bench/compare.sh that are not timing.

``meta``  (run at the start of the comparison, output appended to its JSON lines): one line with the date,
          the CPU (lscpu), the core count and the Python, torch and numpy versions, then one "setup" line per
          PyTorch model with its parameter count and architecture, built by bench/pytorch/train.py's own
          ``build_model`` (MLP 784-1024-10, LeNet-5, and MLP 784-H-10 for each ``--widths`` H).
``load``  prints the load average as a JSON line (compare.sh records it at the end of the run).
``table`` reads all the JSON lines of a run (Descent's from ``descent-bench epoch|sweep|peak``, PyTorch's
          from train.py and width_sweep.py) and writes the Markdown report:
            table 1: s/epoch of MLP-1024 and LeNet-5 per thread count, median of the timed epochs (the first
                     epoch of each run is a warm-up and is left out, for both frameworks alike), the ratio
                     Descent/PyTorch, the targets, and each framework's share of the cblas_sgemm 1024³ peak
                     measured by Descent in the same run at the same thread count (FLOPs per epoch = 3 x the
                     forward FLOPs of every layer x 60,000, as ../shared/notes/peers.md counts them);
            table 2: the width-sweep regime, µs per step of MLP 784-H-10 on 4,000 images, and the speed-up.
          Nothing is asserted: timings drift ±20 % on the shared machine, the table only reports.

Run (bench/compare.sh does both):
    python3 bench/compare_report.py meta --widths 4 8 16 >> bench/results/pytorch.jsonl
    python3 bench/compare_report.py table --in bench/results/pytorch.jsonl --out bench/results/pytorch.md
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_SAMPLES = 60000

# Targets of the issue: Descent's epoch time as a fraction of PyTorch's, and its share of the sgemm peak.
EPOCH_TARGETS = {"mlp": (0.75, 0.90), "lenet5": (0.40, None)}
SWEEP_TARGET_SPEEDUP, SWEEP_TARGET_MAX_H = 8.0, 16
BUSY_LOAD = 0.5   # 1-minute load average before the run above which the report flags a busy machine
MODEL_NAMES = {"mlp": "MLP 784-1024-10", "lenet5": "LeNet-5"}


def forward_flops_per_sample(model, hidden=1024):
    """2 x multiply-adds of every Dense and Conv2D layer for one image (pooling and activations not counted)."""
    if model == "mlp":
        return 2 * (784 * hidden + hidden * 10)
    if model == "lenet5":
        return 2 * (6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10)
    raise ValueError(model)


def epoch_flops(model, samples=TRAIN_SAMPLES):
    """FLOPs of one training epoch: forward + backward = 3 x the forward (peers.md's count)."""
    return 3 * forward_flops_per_sample(model) * samples


# ----------------------------------------------------------------------------------------------- meta


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    fields = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    flags = fields.get("Flags", "").split()
    simd = [f for f in ("avx2", "fma", "avx512f") if f in flags]
    model = fields.get("Model name", "unknown")
    family = f"family {fields['CPU family']} model {fields.get('Model', '?')}, " if "CPU family" in fields else ""
    return f"{model} ({family}{', '.join(simd) or 'no AVX2'})"


def meta(widths):
    import numpy
    import torch

    sys.path.insert(0, os.path.join(HERE, "pytorch"))
    import train  # bench/pytorch/train.py: the models PyTorch trains

    blas = "MKL" if torch.backends.mkl.is_available() else "other"
    print(json.dumps({
        "kind": "meta", "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
        "torch": torch.__version__, "torch_blas": blas, "numpy": numpy.__version__,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }))

    def count(model):
        return sum(p.numel() for p in model.parameters())

    for name in ("mlp", "lenet5"):
        m = train.build_model(name)
        print(json.dumps({"framework": "pytorch", "kind": "setup", "model": name, "parameters": count(m),
                          "architecture": " ".join(str(m).split())}))
    for h in widths:
        m = train.build_model("mlp", hidden=h)
        print(json.dumps({"framework": "pytorch", "kind": "setup", "model": f"mlp-784-{h}-10", "hidden": h,
                          "parameters": count(m)}))


# ---------------------------------------------------------------------------------------------- table


def read_lines(path):
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return records


def fmt(x, digits=2, unit=""):
    return "—" if x is None else f"{x:.{digits}f}{unit}"


def pct(x):
    return "—" if x is None else f"{100 * x:.0f} %"


def table(records):
    meta_line = next((r for r in records if r.get("kind") == "meta"), {})
    end_load = next((r for r in records if r.get("kind") == "load"), {})
    blas = next((r.get("openblas") for r in records if r.get("framework") == "descent" and r.get("openblas")), "?")

    # sgemm peak per thread count: the median of every measurement of the run (standalone at the start and the
    # end, and before and after each Descent epoch run).
    peaks = {}
    for r in records:
        if r.get("kind") == "sgemm":
            peaks.setdefault(r["threads"], []).append(r["gflops"] * 1e9)
    peak = {t: statistics.median(v) for t, v in peaks.items()}

    setups = {}
    for r in records:
        if r.get("kind") == "setup":
            setups[(r["framework"], r["model"])] = r

    # Epoch lines: {"framework", "model", "threads", "epoch", "seconds", ...}; the first epoch of each run is the
    # warm-up. A run is a maximal sequence of lines of one (framework, model, threads) whose epoch numbers rise.
    runs = {}
    for r in records:
        if "epoch" in r and "seconds" in r and r.get("framework") in ("descent", "pytorch"):
            runs.setdefault((r["framework"], r["model"], r["threads"]), []).append(r)
    epoch = {}
    for key, lines in runs.items():
        timed = [r for r in lines if r["epoch"] > 1]
        if timed:
            epoch[key] = {"seconds": statistics.median(r["seconds"] for r in timed), "n": len(timed),
                          "accuracy": timed[-1].get("test_accuracy"), "loss": timed[-1].get("train_loss")}

    sweep = {}
    for r in records:
        if "hidden" in r and "us_per_step" in r:
            sweep[(r["framework"], r["hidden"])] = r

    out = ["# Descent vs PyTorch CPU, side by side in one run", ""]
    out += [f"- date: {meta_line.get('date', '?')}",
            f"- CPU: {meta_line.get('cpu', '?')}, {meta_line.get('cores', '?')} cores",
            f"- Descent: OpenBLAS `{blas}`",
            f"- PyTorch: {meta_line.get('torch', '?')} (BLAS: {meta_line.get('torch_blas', '?')}), "
            f"Python {meta_line.get('python', '?')}, numpy {meta_line.get('numpy', '?')}",
            "- cblas_sgemm 1024³ peak (Descent's OpenBLAS, median of the run's measurements): "
            + ", ".join(f"{t} thread{'s' if t > 1 else ''} {p / 1e9:.1f} GFLOP/s (n = {len(peaks[t])})"
                        for t, p in sorted(peak.items())),
            "- Real Fashion-MNIST (60,000 training images, [0, 1] floats), batch 128, SGD lr 0.01 momentum 0.9 "
            "Nesterov, Kaiming-normal weights, zero biases, seed 0; 1 process, T BLAS/intra-op threads. Each run: "
            "1 warm-up epoch, then the median of the timed epochs (training loop only; evaluation excluded). "
            "Descent first, then PyTorch, for each configuration.",
            "- Timings on this machine drift ±20 % over minutes: read ratios, not absolute times.",
            f"- Load average (1, 5, 15 min) before the run: {meta_line.get('loadavg', '?')}, after it: "
            f"{end_load.get('loadavg', '?')}"]
    if meta_line.get("loadavg") and meta_line["loadavg"][0] > BUSY_LOAD:
        out.append(f"- **The machine was busy before the run started (load {meta_line['loadavg'][0]} > {BUSY_LOAD}): "
                   "other processes shared the cores, the figures below are not a fair comparison; rerun on a "
                   "quiet machine.**")
    out.append("")

    out += ["## Models", "", "| model | Descent parameters | PyTorch parameters | same? |", "|---|---:|---:|---|"]
    for m in ("mlp", "lenet5"):
        d, p = setups.get(("descent", m), {}), setups.get(("pytorch", m), {})
        dp, pp = d.get("parameters"), p.get("parameters")
        same = "yes" if dp is not None and dp == pp else ("**no**" if dp is not None and pp is not None else "?")
        out.append(f"| {MODEL_NAMES[m]} | {dp if dp is not None else '—'} | {pp if pp is not None else '—'} | {same} |")
    for m in ("mlp", "lenet5"):
        d, p = setups.get(("descent", m)), setups.get(("pytorch", m))
        if d or p:
            out.append("")
            if d:
                out.append(f"- {MODEL_NAMES[m]}, Descent: `{d.get('layers') or d.get('architecture', '?')}`; "
                           f"{d.get('optimizer', '')}")
            if p:
                out.append(f"- {MODEL_NAMES[m]}, PyTorch: `{p.get('architecture', '?')}`")
    out.append("")

    out += ["## 1. Seconds per epoch", "",
            "| model | threads | Descent s/epoch | PyTorch s/epoch | Descent / PyTorch | target | met? "
            "| Descent % of sgemm peak | PyTorch % of sgemm peak | test accuracy Descent / PyTorch | timed epochs |",
            "|---|---:|---:|---:|---:|---|---|---:|---:|---|---:|"]
    threads_seen = sorted({k[2] for k in epoch})
    for m in ("mlp", "lenet5"):
        for t in threads_seen:
            d, p = epoch.get(("descent", m, t)), epoch.get(("pytorch", m, t))
            if not d and not p:
                continue
            ds, ps = (d or {}).get("seconds"), (p or {}).get("seconds")
            ratio = ds / ps if ds and ps else None
            flops = epoch_flops(m)
            dshare = flops / ds / peak[t] if ds and t in peak else None
            pshare = flops / ps / peak[t] if ps and t in peak else None
            max_ratio, min_share = EPOCH_TARGETS[m]
            target = f"≤ {max_ratio:.2f}×" + (f" and ≥ {100 * min_share:.0f} % of peak" if min_share else "")
            verdicts = []
            if ratio is not None:
                verdicts.append("ratio yes" if ratio <= max_ratio else "ratio **no**")
            if min_share:
                if dshare is not None:
                    verdicts.append("peak yes" if dshare >= min_share else "peak **no**")
            met = ", ".join(verdicts) or "—"
            acc = f"{fmt((d or {}).get('accuracy'), 4)} / {fmt((p or {}).get('accuracy'), 4)}"
            n = f"{(d or {}).get('n', 0)} / {(p or {}).get('n', 0)}"
            out.append(f"| {MODEL_NAMES[m]} | 1 × {t} | {fmt(ds, 3)} | {fmt(ps, 3)} | {fmt(ratio, 2, '×')} | {target} "
                       f"| {met} | {pct(dshare)} | {pct(pshare)} | {acc} | {n} |")
    out += ["", f"FLOPs per epoch (3 × forward × 60,000): MLP {epoch_flops('mlp') / 1e9:.1f} GFLOP, "
            f"LeNet-5 {epoch_flops('lenet5') / 1e9:.1f} GFLOP. Share of peak = FLOPs per epoch / s per epoch / "
            "sgemm peak at the same thread count.", ""]

    out += ["## 2. Width sweep: MLP 784-H-10, n = 4,000 images, batch 128 (32 steps per epoch), 1 thread", "",
            "µs per step = median epoch time / 32 (1 warm-up epoch, then the timed epochs); the median of single "
            "step times is in the JSON lines.", "",
            "| H | parameters | Descent µs/step | PyTorch µs/step | speed-up (PyTorch / Descent) | target | met? |",
            "|---:|---:|---:|---:|---:|---|---|"]
    for h in sorted({k[1] for k in sweep}):
        d, p = sweep.get(("descent", h), {}), sweep.get(("pytorch", h), {})
        params = d.get("parameters") or setups.get(("pytorch", f"mlp-784-{h}-10"), {}).get("parameters")
        pparams = setups.get(("pytorch", f"mlp-784-{h}-10"), {}).get("parameters")
        if params is not None and pparams is not None and params != pparams:
            params = f"{params} (PyTorch {pparams}!)"
        du, pu = d.get("us_per_step"), p.get("us_per_step")
        speedup = pu / du if du and pu else None
        if h <= SWEEP_TARGET_MAX_H:
            target = f"≥ {SWEEP_TARGET_SPEEDUP:.0f}×"
            met = "—" if speedup is None else ("yes" if speedup >= SWEEP_TARGET_SPEEDUP else "**no**")
        else:
            target, met = "—", "—"
        out.append(f"| {h} | {params if params is not None else '—'} | {fmt(du, 1)} | {fmt(pu, 1)} "
                   f"| {fmt(speedup, 1, '×')} | {target} | {met} |")
    out += ["", "Raw JSON lines of the run: `bench/results/pytorch.jsonl`. Produced by `bench/compare.sh` "
            "(see bench/README.md)."]
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description="Descent vs PyTorch: run metadata and the Markdown report")
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("meta", help="print the run's metadata and PyTorch's parameter counts as JSON lines")
    m.add_argument("--widths", type=int, nargs="*", default=[])
    sub.add_parser("load", help="print the load average as a JSON line")
    t = sub.add_parser("table", help="write the Markdown report from the run's JSON lines")
    t.add_argument("--in", dest="inp", required=True)
    t.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.command == "meta":
        meta(a.widths)
    elif a.command == "load":
        print(json.dumps({"kind": "load", "loadavg": [round(x, 2) for x in os.getloadavg()]}))
    else:
        report = table(read_lines(a.inp))
        print(report, end="")
        if a.out:
            with open(a.out, "w") as f:
                f.write(report)
            print(f"written to {a.out}")


if __name__ == "__main__":
    main()
