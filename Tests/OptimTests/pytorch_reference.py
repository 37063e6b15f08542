"""Generates the reference values in SGDTests.swift and ScheduleTests.swift with torch.optim (run by hand:
`python3 Tests/OptimTests/pytorch_reference.py`; needs the CPU torch wheel, see bench/README.md).
L1 is not part of torch.optim.SGD: it is added to the gradient as l1 * sign(p) before the step, its definition."""
import torch

P0 = [1.0, -0.5, 0.0, 2.0]
GRADS = [[0.5, -1.0, 0.25, 0.0], [0.1, 0.2, -0.3, 0.4], [-0.7, 0.0, 0.6, -0.2], [0.3, 0.3, 0.3, 0.3]]
CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "nesterov": dict(lr=0.1, momentum=0.9, nesterov=True),
    "dampening": dict(lr=0.1, momentum=0.5, dampening=0.1),
    "l2": dict(lr=0.1, momentum=0.9, weight_decay=0.01),
    "nesterov_l2_l1": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001, l1=0.02),
}
for name, cfg in CONFIGS.items():
    l1 = cfg.pop("l1", 0.0)
    p = torch.nn.Parameter(torch.tensor(P0, dtype=torch.float32))
    opt = torch.optim.SGD([p], **cfg)
    rows = []
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float32) + l1 * torch.sign(p.detach())
        opt.step()
        rows.append([float(v) for v in p.detach()])
    print(f'"{name}": {rows},')

def lrs(make, epochs=12):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out

print("step", lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)))
print("multistep", lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[4, 9], gamma=0.1)))
print("cosine", lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)))
