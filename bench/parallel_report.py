"""bench/parallel.sh's report: bench/results/parallel.jsonl -> bench/results/parallel.md.

Per model and framework: the median s/epoch of the timed epochs (the first epoch of every run is a warm-up and
left out) on 1 process and on 2, the ratio (target for Descent's MLP: <= 0.59, a parallel efficiency of
>= 85 %), and Descent's per-step breakdown on 2 ranks (rank 0, ms per step, median over the timed epochs).
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
notes = [r["text"] for r in rows if r.get("kind") == "note"]
epochs = [r for r in rows if "epoch" in r and "seconds" in r]


def timed(framework, model, processes):
    runs = [r for r in epochs if r["framework"] == framework and r["model"] == model
            and r.get("processes", 1) == processes]
    return [r for r in runs if r["epoch"] > 1]


def median(values):
    return statistics.median(values) if values else float("nan")


out = ["# Data-parallel scaling on one node: 1 process × 1 thread against 2 × 1, side by side in one run", ""]
out += [f"- {n}" for n in notes]
setup = [r for r in rows if r.get("kind") == "setup" and r.get("processes", 1) == 2]
for s in setup:
    out.append(f"- Descent {s['model']}: {s['parameters']} parameters, gradient reduction `{s['gradient_reduction']}`, "
               f"{s['steps_per_epoch']} steps/epoch, global batch {s['batch']}")
out += ["- Real Fashion-MNIST (60,000 images), global batch 128 (64 per rank on 2), SGD lr 0.01 momentum 0.9 "
        "Nesterov; the median of the timed epochs after 1 warm-up epoch; training loop only.",
        "- Timings on this machine drift ±20 % over minutes: read ratios within one run.", "",
        "## Seconds per epoch", "",
        "| model | framework | 1 × 1 s/epoch | 2 × 1 s/epoch | 2-rank / 1-rank | parallel efficiency | target | met? | test accuracy 1 / 2 |",
        "|---|---|---:|---:|---:|---:|---|---|---|"]
names = {"descent": "Descent", "pytorch-ddp-gloo": "PyTorch DDP (gloo)", "numpy-mpi4py": "mpi4py + numpy"}
for model in ("mlp", "lenet5"):
    for fw in ("descent", "pytorch-ddp-gloo", "numpy-mpi4py"):
        one, two = timed(fw, model, 1), timed(fw, model, 2)
        if not one or not two:
            continue
        t1, t2 = median([r["seconds"] for r in one]), median([r["seconds"] for r in two])
        ratio = t2 / t1
        target = "≤ 0.59× (≥ 85 %)" if (fw == "descent" and model == "mlp") else "—"
        met = ("yes" if ratio <= 0.59 else "**no**") if target != "—" else "—"
        acc = f"{one[-1]['test_accuracy']:.4f} / {two[-1]['test_accuracy']:.4f}"
        out.append(f"| {model} | {names[fw]} | {t1:.3f} | {t2:.3f} | {ratio:.2f}× | {100 / (2 * ratio):.0f} % | {target} | {met} | {acc} |")

out += ["", "## Descent's step on 2 ranks (rank 0, ms per step, median over the timed epochs)", "",
        "| model | data | forward + loss | backward | reduction + update | of which waiting for the other rank | rest (stop-flag agreement, bookkeeping) | step | not-hidden communication share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for model in ("mlp", "lenet5"):
    two = timed("descent", model, 2)
    if not two:
        continue
    steps = next(s["steps_per_epoch"] for s in setup if s["model"] == model)
    ms = {k: median([r[k] for r in two]) * 1e3 / steps
          for k in ("data_s", "forward_s", "backward_s", "reduction_update_s", "fence_wait_s", "seconds")}
    # The rest and the shares are taken epoch by epoch, then their median: medians of different epochs' phases
    # do not add up.
    def rest_of(r):
        return r["seconds"] - r["data_s"] - r["forward_s"] - r["backward_s"] - r["reduction_update_s"]
    rest = median([rest_of(r) for r in two]) * 1e3 / steps
    one = timed("descent", model, 1)
    # The update alone is work 1 rank does too (on all parameters): the 1-rank run's reduction + update, halved,
    # is what 2 ranks would spend without any communication.
    update_alone = median([r["reduction_update_s"] for r in one]) / 2 if one else float("nan")
    share = median([(max(r["reduction_update_s"] - update_alone, 0) + max(rest_of(r), 0)) / r["seconds"] for r in two])
    out.append(f"| {model} | {ms['data_s']:.3f} | {ms['forward_s']:.3f} | {ms['backward_s']:.3f} | "
               f"{ms['reduction_update_s']:.3f} | {ms['fence_wait_s']:.3f} | {rest:.3f} | {ms['seconds']:.3f} | "
               f"{100 * share:.1f} % (target ≤ 5 %) |")
out += ["", "Not-hidden communication = (reduction + update on 2 ranks − half the 1-rank update) + the rest of the step "
        "outside the phases (the per-step stop-flag agreement, an allreduce of one integer, where any imbalance "
        "between the ranks also shows), as a share of the epoch, epoch by epoch; the table gives the median. With "
        "`shared`, reduction + update includes the exchange inside the forwards of the Dense layers split across "
        "the node (their fences, and copying rows in and out of shared memory). Raw JSON lines: `bench/results/parallel.jsonl`. Produced by "
        "`bench/parallel.sh`."]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
