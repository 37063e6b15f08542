"""Segmentation throughput, Descent against PyTorch: the steps of bench/segment.sh that are not timing.

``meta``     one JSON line: date, CPU (lscpu), cores, Python, torch (and its BLAS), numpy, the checkout's commit,
             the load average, and the benchmark's settings (passed as --key value pairs).
``load``     the load average as a JSON line (segment.sh records it at the end of the run).
``descent``  turns the output of one `descent glass segment` run (--log FILE) into a JSON line: its own figure,
             "IMAGE: W × H (N MB) segmented in S s (X MB/s) …" (S covers inference and the collective mask write,
             not the overview PNG and defect list made afterwards), plus --wall, the process's wall time.
``setup``    Descent's parameter count (the "parameters" line of `descent train`'s start-up table, --train-log)
             beside the PyTorch U-Net's (bench/pytorch/segment.py's own class) for --depth, --channels, --batchnorm.
``table``    reads a run's JSON lines (--in) and writes the Markdown report (--out): MB/s of each configuration
             (median of the repeats), Descent / PyTorch at equal cores, the scaling from 1 to 2 cores, the
             model and its parameter counts, PyTorch's time split, and how far the two masks agree.

Nothing is asserted: timings drift ±20 % on the shared machine, the table only reports.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUSY_LOAD = 0.5   # 1-minute load average before the run above which the report flags a busy machine

CONFIGS = [   # (kind, ranks or processes, threads, cores, name)
    ("descent", 1, 1, 1, "Descent, 1 rank × 1 thread"),
    ("pytorch", 1, 1, 1, "PyTorch, 1 process × 1 thread"),
    ("descent", 2, 1, 2, "Descent, 2 ranks × 1 thread (mpirun -np 2)"),
    ("pytorch", 1, 2, 2, "PyTorch, 1 process × 2 threads"),
]


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def cpu_model():
    sys.path.insert(0, HERE)
    try:
        from compare_report import cpu_model as cm
        return cm()
    except Exception:   # noqa: BLE001 — the report must not die for a CPU name
        return platform.processor() or "unknown"


def meta(settings):
    line = {"kind": "meta", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(), "load": loadavg(),
            "settings": settings}
    try:
        import numpy
        import torch
        line["torch"] = torch.__version__
        line["numpy"] = numpy.__version__
        cfg = torch.__config__.show()
        line["torch_blas"] = "MKL" if "BLAS_INFO=mkl" in cfg or "USE_MKL=ON" in cfg else \
            (re.search(r"BLAS_INFO=(\w+)", cfg).group(1) if re.search(r"BLAS_INFO=(\w+)", cfg) else "?")
        line["onednn"] = "yes" if "USE_MKLDNN=ON" in cfg or "oneDNN" in cfg else "no"
    except ImportError:
        pass
    try:
        line["commit"] = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return line


SEGMENTED = re.compile(r": (\d+) × (\d+) \(([\d.]+) MB\) segmented in ([\d.]+) s \(([\d.]+) MB/s\)")


def descent(log, ranks, label, wall):
    with open(log) as f:
        text = f.read()
    m = SEGMENTED.search(text)
    if not m:
        sys.exit(f"segment_report.py: no 'segmented in' line in {log}:\n{text[-2000:]}")
    width, height = int(m.group(1)), int(m.group(2))
    mb = width * height / 1e6
    mbps = float(m.group(5))
    return {"kind": "descent", "label": label, "ranks": ranks, "threads": 1, "width": width, "height": height,
            "mb": mb, "mb_per_s": mbps, "seconds": mb / mbps if mbps > 0 else None,
            "seconds_printed": float(m.group(4)), "wall_s": wall}


def setup(train_log, depth, channels, batchnorm):
    sys.path.insert(0, os.path.join(HERE, "pytorch"))
    from segment import UNet, describe, parameter_count
    with open(train_log) as f:
        text = f.read()
    m = re.search(r"^\s*parameters\s+([\d,]+)", text, re.M)
    model = re.search(r"^\s*model\s+(.+)$", text, re.M)
    unet = UNet(depth, channels, batchnorm)
    return {"kind": "setup", "depth": depth, "channels": channels, "batchnorm": batchnorm,
            "descent_parameters": int(m.group(1).replace(",", "")) if m else None,
            "descent_model": model.group(1).strip() if model else None,
            "pytorch_parameters": parameter_count(unet),
            "pytorch_model": describe(unet)}


# ----------------------------------------------------------------------------------------------------- table


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def table(lines):
    metas = [l for l in lines if l.get("kind") == "meta"]
    loads = [l for l in lines if l.get("kind") == "load"]
    setups = [l for l in lines if l.get("kind") == "setup"]
    m = metas[0] if metas else {}
    s = m.get("settings", {})
    runs = {c: [] for c in CONFIGS}
    for l in lines:
        for c in CONFIGS:
            kind, procs, threads = c[0], c[1], c[2]
            if l.get("kind") == kind and (l.get("ranks", 1) == procs if kind == "descent" else l.get("threads") == threads):
                runs[c].append(l)
    median = {c: (statistics.median(r["mb_per_s"] for r in runs[c]) if runs[c] else None) for c in CONFIGS}

    out = ["# Segmentation throughput: Descent against PyTorch, tile by tile, in one run", ""]
    out.append(f"- date: {m.get('date', '?')}")
    out.append(f"- CPU: {m.get('cpu', '?')}, {m.get('cores', '?')} cores")
    out.append(f"- Descent: `.build/release/descent glass segment` at commit {m.get('commit', '?')}, one BLAS thread "
               "per rank (ranks under `mpirun -np 2`)")
    out.append(f"- PyTorch: {m.get('torch', '?')} (BLAS: {m.get('torch_blas', '?')}, oneDNN: {m.get('onednn', '?')}), "
               f"Python {m.get('python', '?')}, numpy {m.get('numpy', '?')}; `bench/pytorch/segment.py`, "
               "torch.no_grad(), eval mode, torch.set_num_threads(T)")
    w, h = s.get("width"), s.get("height")
    tr, tc, halo = s.get("tile_rows"), s.get("tile_columns"), s.get("halo")
    if w and h:
        tiles = -(-int(w) // int(tc)) * -(-int(h) // int(tr)) if tr and tc else "?"
        out.append(f"- image: synthetic (`descent glass synth`), {int(w):,} × {int(h):,} 8-bit pixels = "
                   f"{int(w) * int(h) / 1e6:.1f} MB; tiles {tr} × {tc} + halo {halo} "
                   f"(inputs [1, {int(tr) + 2 * int(halo)}, {int(tc) + 2 * int(halo)}], batch 1), {tiles} tiles")
    out.append(f"- repeats: {s.get('repeats', '?')}, in the order Descent 1 rank, PyTorch 1 thread, Descent 2 ranks, "
               "PyTorch 2 threads, each repeat again; each figure is the median of the repeats. The image is read "
               "once before the runs so that all of them find it in the page cache.")
    out.append("- MB/s = image bytes (width · height, 10⁶ bytes per MB) / seconds. Descent: its own figure (\"segmented "
               "in S s\": reading, inference and the collective HDF5 mask write; not the model loading before it, "
               "nor the overview PNG and defect list after it). PyTorch: the wall time of its whole tile loop "
               "(reading, padding, normalising, forwards, argmax; one untimed warm-up forward before it, no mask "
               "written).")
    out.append("- Timings on this machine drift ±20 % over minutes: read ratios, not absolute figures.")
    before = m.get("load")
    after = loads[-1].get("load") if loads else None
    out.append(f"- Load average (1, 5, 15 min) before the run: {before}, after it: {after}")
    if before and before[0] > BUSY_LOAD:
        out.append(f"- **The machine was busy before the run started (load {before[0]} > {BUSY_LOAD}): other "
                   "processes shared the cores, the figures below are not a fair comparison; rerun on a quiet "
                   "machine.**")
    out.append("")

    out.append("## Model")
    out.append("")
    if setups:
        st = setups[0]
        same = "yes" if st["descent_parameters"] == st["pytorch_parameters"] else "**no**"
        out.append("| U-Net | Descent parameters | PyTorch parameters | same? |")
        out.append("|---|---:|---:|---|")
        out.append(f"| depth {st['depth']}, channels {st['channels']}, batchnorm {str(st['batchnorm']).lower()}, "
                   f"1 input channel, 6 classes | {st['descent_parameters']:,} | {st['pytorch_parameters']:,} | {same} |")
        out.append("")
        out.append(f"- Descent: `{st['descent_model']}` (trained 1 epoch on tiles of the image, only to have a model "
                   "file)")
        out.append(f"- PyTorch: `{st['pytorch_model']}`")
    pt = [l for l in lines if l.get("kind") == "pytorch"]
    if pt:
        out.append(f"- PyTorch's weights: {pt[0].get('weights')} (Descent's trained parameters and BatchNorm "
                   "statistics copied in by name, so both compute the same function)")
    agreements = [l for l in pt if "agreement" in l]
    if agreements:
        a = agreements[0]
        out.append(f"- masks: PyTorch's agrees with Descent's 1-rank `name-pred.h5` on {100 * a['agreement']:.5f} % "
                   f"of the pixels ({a['disagreeing_pixels']:,} differ"
                   + (": float rounding between near-equal class scores)" if a["agreement"] >= 0.9999 else
                      ") — **more than rounding explains: the two networks are not the same, the comparison is "
                      "void**"))
    out.append("")

    out.append("## 1. Throughput")
    out.append("")
    out.append("| configuration | cores | MB/s (median) | s (median) | each repeat, MB/s | process wall s (median) |")
    out.append("|---|---:|---:|---:|---|---:|")
    for c in CONFIGS:
        r = runs[c]
        secs = statistics.median(x["seconds"] for x in r) if r else None
        walls = [x["wall_s"] for x in r if x.get("wall_s") is not None]
        out.append(f"| {c[4]} | {c[3]} | {fmt(median[c], 3)} | {fmt(secs, 2)} | "
                   f"{', '.join(fmt(x['mb_per_s'], 3) for x in r) or '—'} | "
                   f"{fmt(statistics.median(walls), 1) if walls else '—'} |")
    out.append("")
    out.append("Process wall s: the whole command (start-up, model loading; Descent's also the overview PNG and the "
               "defect list, PyTorch's also `import torch`), for orientation only.")
    out.append("")

    out.append("## 2. Descent / PyTorch at equal cores")
    out.append("")
    out.append("| cores | Descent | PyTorch | Descent MB/s | PyTorch MB/s | Descent / PyTorch (throughput) |")
    out.append("|---:|---|---|---:|---:|---:|")
    for cores, d, p in ((1, CONFIGS[0], CONFIGS[1]), (2, CONFIGS[2], CONFIGS[3])):
        ratio = median[d] / median[p] if median[d] and median[p] else None
        out.append(f"| {cores} | {d[1]} rank{'s' if d[1] > 1 else ''} × 1 thread | 1 process × {p[2]} thread"
                   f"{'s' if p[2] > 1 else ''} | {fmt(median[d], 3)} | {fmt(median[p], 3)} | "
                   f"{fmt(ratio, 2)}{'×' if ratio else ''} |")
    out.append("")
    sd = median[CONFIGS[2]] / median[CONFIGS[0]] if median[CONFIGS[2]] and median[CONFIGS[0]] else None
    sp = median[CONFIGS[3]] / median[CONFIGS[1]] if median[CONFIGS[3]] and median[CONFIGS[1]] else None
    out.append(f"Scaling from 1 to 2 cores: Descent (1 → 2 ranks) {fmt(sd, 2)}×, PyTorch (1 → 2 threads) {fmt(sp, 2)}×.")
    out.append("")

    if pt:
        out.append("## 3. Where PyTorch's time goes (median over its runs, seconds)")
        out.append("")
        out.append("| threads | read + pad + normalise | forward | argmax | loop total |")
        out.append("|---:|---:|---:|---:|---:|")
        for t in sorted({l["threads"] for l in pt}):
            r = [l for l in pt if l["threads"] == t]
            med = lambda k: statistics.median(l[k] for l in r)   # noqa: E731
            out.append(f"| {t} | {med('read_s'):.2f} | {med('forward_s'):.2f} | {med('argmax_s'):.2f} | "
                       f"{med('seconds'):.2f} |")
        out.append("")
    out.append("Nothing is asserted: a run on a busy machine gives skewed ratios. Rerun with `bench/segment.sh` (see "
               "bench/README.md); the JSON lines of this run are in the work directory (`segment.jsonl`).")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("meta")
    p.add_argument("settings", nargs="*", help="key=value pairs")
    sub.add_parser("load")
    p = sub.add_parser("descent")
    p.add_argument("--log", required=True)
    p.add_argument("--ranks", type=int, required=True)
    p.add_argument("--label", default="")
    p.add_argument("--wall", type=float)
    p = sub.add_parser("setup")
    p.add_argument("--train-log", required=True)
    p.add_argument("--depth", type=int, required=True)
    p.add_argument("--channels", type=int, required=True)
    p.add_argument("--batchnorm", choices=["true", "false"], required=True)
    p = sub.add_parser("table")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "meta":
        print(json.dumps(meta(dict(kv.split("=", 1) for kv in a.settings))))
    elif a.cmd == "load":
        print(json.dumps({"kind": "load", "load": loadavg()}))
    elif a.cmd == "descent":
        print(json.dumps(descent(a.log, a.ranks, a.label, a.wall)))
    elif a.cmd == "setup":
        print(json.dumps(setup(a.train_log, a.depth, a.channels, a.batchnorm == "true")))
    else:
        with open(a.inp) as f:
            lines = [json.loads(l) for l in f if l.strip().startswith("{")]
        text = table(lines)
        with open(a.out, "w") as f:
            f.write(text)
        print(text)


if __name__ == "__main__":
    main()
