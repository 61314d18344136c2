#!/usr/bin/env python3
"""The whole-step benchmark's case table, shared by bench/torch/train.py and
checked against dash/bench_train.go (TrainCases, searchedKD) by
dash/bench_test.go. Needs no PyTorch: `python3 bench/torch/cases.py` prints
the case names, one per line."""

# ---- the case table (dash/bench_train.go: TrainCases, searchedKD) ----
SEARCHED = {
    "resnet1d": [(9, 15), (7, 31), (5, 63), (9, 7), (7, 15), (3, 127), (9, 31), (5, 3), (7, 1)],
    "wrn": [(5, 3), (3, 7), (7, 1), (9, 3), (3, 1), (5, 1), (7, 3), (3, 3), (5, 3), (9, 1), (3, 7), (7, 1), (3, 1)],
    "wrn-dense": [(5, 7), (3, 15), (7, 3), (9, 7), (3, 1), (5, 3), (7, 7), (3, 15), (5, 1), (9, 3), (3, 7), (7, 1), (5, 15)],
}
K2D, D2D = [3, 5, 7, 9], [1, 3, 7, 15]
K1D, D1D = [3, 5, 7, 9], [1, 3, 7, 15, 31, 63, 127]


def cases():
    out = []

    def add(bb, budget, kernels, width, batch, shape, outs, loss, kset=None, dset=None):
        c = dict(case=f"{bb}-{budget}-{kernels}-w{width}-b{batch}", backbone=bb, budget=budget, kernels=kernels,
                 width=width, batch=batch, in_shape=shape, outputs=outs, loss=loss)
        if kernels == "searched":
            c["layers"] = SEARCHED[bb]
        if kernels == "search":
            c["kernel_set"], c["dilation_set"] = kset, dset
        # a paper case identical to the demo one (Darcy's search step) is listed once
        if all((o["backbone"], o["kernels"], o["width"], o["batch"]) != (bb, kernels, width, batch) for o in out):
            out.append(c)

    # (backbone, shape, outputs, loss, K, D, [(budget, width, search width, batch)]) as dash.Budgets gives them
    tasks = [
        ("resnet1d", [1, 784], 10, "cross_entropy", K1D, D1D, [("demo", 8, 8, 128), ("paper", 16, 16, 256)]),
        ("wrn", [1, 28, 28], 10, "cross_entropy", K2D, D2D, [("demo", 1, 1, 32), ("paper", 4, 1, 64)]),
        ("wrn-dense", [3, 85, 85], 1, "relative_l2", K2D, D2D, [("demo", 1, 1, 10), ("paper", 4, 1, 10)]),
    ]
    for bb, shape, outs, loss, ks, ds, budgets in tasks:
        for budget, w, sw, b in budgets:
            add(bb, budget, "default", w, b, shape, outs, loss)
            add(bb, budget, "searched", w, b, shape, outs, loss)
            add(bb, budget, "search", sw, b, shape, outs, loss, ks, ds)
    add("tcn", "default", "default", 100, 32, [1, 784], 10, "cross_entropy")
    return out


if __name__ == "__main__":
    for c in cases():
        print(c["case"])
