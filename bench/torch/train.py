#!/usr/bin/env python3
"""PyTorch twins of dash's backbones and training steps, timed like `dash bench --sweeps train`.

The networks and steps are the same as the Go ones (nn/resnet1d.go, nn/wrn.go, nn/tcn.go,
dash/aggconv.go, dash/search.go, dash/bench_train.go): the same layers, paddings, biases,
batch-norm settings, losses, SGD with Nesterov momentum and weight decay, and for the search
step the same aggregated convolution (Gumbel-softmax mixing, Kronecker-dilated candidates
summed in the kernel domain and cropped to the taps that can touch the input, one real FFT
convolution of the summed kernel on the same padded grid, depthwise where in == out), the same
alpha-gradient rescaling and clipping to norm 1. The case table is dash.TrainCases.

    /usr/bin/python3 bench/torch/train.py --json > torch.jsonl          # all cases, 2 threads, CPU
    /usr/bin/python3 bench/torch/train.py --cases resnet1d-demo --device cuda
    go run ./cmd/dash bench --sweeps train --torch torch.jsonl           # ours next to these

Every case runs in a fresh process (--fresh, default) so its peak resident memory (VmHWM)
is its own. Samples/s is the batch over the median whole-step time (forward, loss, backward,
optimiser) after warm-up steps.
"""
import argparse, json, math, os, statistics, subprocess, sys, time

from cases import cases  # the case table (no PyTorch needed): bench/torch/cases.py


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on a machine with an NVIDIA GPU")
    ap.add_argument("--cases", default="", help="comma-separated names or substrings ('=' prefix: exact)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=3)
    ap.add_argument("--fresh", type=int, default=1, help="run every case in a fresh process (1) or in this one (0)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    sel = cases()
    if a.cases:
        pats = a.cases.split(",")
        sel = [c for c in sel if any(c["case"] == p[1:] if p.startswith("=") else p in c["case"] for p in pats)]
        if not sel:
            sys.exit(f"no case matches {a.cases!r}; cases: " + ", ".join(c["case"] for c in cases()))
    if a.list:
        for c in sel:
            print(c["case"])
        return
    for c in sel:
        if a.fresh:
            args = [sys.executable, os.path.abspath(__file__), "--fresh", "0", "--json", "--cases", "=" + c["case"],
                    "--threads", str(a.threads), "--device", a.device, "--warmup", str(a.warmup), "--reps", str(a.reps),
                    "--min-seconds", str(a.min_seconds)]
            p = subprocess.run(args, stdout=subprocess.PIPE, check=True, text=True)
            r = json.loads(p.stdout.strip().splitlines()[-1])
        else:
            r = run_case(c, a)
        if a.json or not a.fresh:
            print(json.dumps(r), flush=True)
        else:
            print(f"  {r['case']:40s} {r['samples_per_sec']:9.1f} samples/s {r['ms_per_step']:9.1f} ms/step  peak {r['peak_rss_mib']:7.0f} MiB", flush=True)


def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- networks ----
if "--threads" in sys.argv:  # OpenBLAS (Debian's torch BLAS) runs its own thread pool
    os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[sys.argv.index("--threads") + 1])
else:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import torch
import torch.nn as nn
import torch.nn.functional as F


def same_pads(k, d):
    t = d * (k - 1)
    return t // 2, t - t // 2


class Conv(nn.Module):
    """nn.Conv: 'same' (TensorFlow's: floor before) or causal padding, optional bias, stride."""

    def __init__(self, dims, cin, cout, k, d=1, stride=1, bias=False, causal=False):
        super().__init__()
        mod = nn.Conv1d if dims == 1 else nn.Conv2d
        self.conv = mod(cin, cout, k, stride=stride, dilation=d, bias=bias, padding=0)
        self.dims, self.k, self.d, self.stride, self.causal = dims, k, d, stride, causal
        b, a = (d * (k - 1), 0) if causal else same_pads(k, d)
        if b == a:
            self.conv.padding = (b,) * dims
            self.pad = None
        else:
            self.pad = (b, a) * dims

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return self.conv(x)


def fft_size(n):
    """dash/aggconv.go fftSize: the smallest even 7-smooth number >= n."""
    m = max(n, 2)
    while True:
        if m % 2 == 0:
            r = m
            for p in (2, 3, 5, 7):
                while r % p == 0:
                    r //= p
            if r == 1:
                return m
        m += 1


class AggConv(nn.Module):
    """dash.AggConv, Fourier strategy, Gumbel-softmax mixing, no bias."""

    def __init__(self, dims, cin, cout, ks, ds, stride=1, depthwise=False):
        super().__init__()
        self.dims, self.cin, self.cout, self.ks, self.ds, self.stride, self.dw = dims, cin, cout, ks, ds, stride, depthwise
        cg = 1 if depthwise else cin
        self.cg = cg
        self.ws = nn.ParameterList()
        for k in ks:
            b = 1 / math.sqrt(cg * k ** dims)
            self.ws.append(nn.Parameter(torch.empty(len(ds), cout, cg, *([k] * dims)).uniform_(-b, b)))
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(ks) * len(ds)))
        self.span = max(d * (k - 1) + 1 for k in ks for d in ds)
        self.cands = []
        for ki, k in enumerate(ks):
            for di, d in enumerate(ds):
                s = d * (k - 1) + 1
                self.cands.append((ki, di, k, d, (self.span - 1) // 2 - (s - 1) // 2))

    def forward(self, x):
        dims = self.dims
        u = torch.empty_like(self.alpha).uniform_(1e-20, 1)
        g = -torch.log(-torch.log(u))
        coef = torch.softmax(torch.log_softmax(self.alpha, 0) + g, 0)
        sp = list(x.shape[2:])
        c0 = (self.span - 1) // 2
        win = [(max(0, c0 - (n - 1)), min(self.span, c0 + n)) for n in sp]  # kept taps [lo, hi)
        K = x.new_zeros(self.cout, self.cg, *[hi - lo for lo, hi in win])
        for ci, (ki, di, k, d, off) in enumerate(self.cands):
            w = self.ws[ki][di]
            s = d * (k - 1) + 1
            src, dst = [], []
            for lo, hi in win:  # taps j of the candidate with lo <= off + j*d < hi
                jlo = max(0, -((off - lo) // d)) if lo > off else 0
                jhi = min(k, (hi - 1 - off) // d + 1)
                if hi - 1 < off or jhi <= jlo:
                    src = None
                    break
                src.append(slice(jlo, jhi))
                dst.append(slice(off + jlo * d - lo, off + (jhi - 1) * d - lo + 1, d))
            if src is None:
                continue
            K[(Ellipsis, *dst)] = K[(Ellipsis, *dst)] + coef[ci] * w[(Ellipsis, *src)]
        return fourier_conv(x, K, [c0 - lo for lo, hi in win], self.stride, self.dw)


def fourier_conv(x, K, centre, stride, depthwise):
    dims = x.dim() - 2
    sp = list(x.shape[2:])
    ks = list(K.shape[2:])
    m = [fft_size(n + s - 1) for n, s in zip(sp, ks)]
    # roll the kernel so that its centre tap sits at the origin of the m-grid
    Kp = F.pad(K, sum(((0, mm - s) for mm, s in reversed(list(zip(m, ks)))), ()))
    Kr = torch.roll(Kp, shifts=[-c for c in centre], dims=list(range(2, 2 + dims)))
    if dims == 1:
        X = torch.fft.rfft(x, n=m[0])
        H = torch.fft.rfft(Kr, n=m[0])
    else:
        X = torch.fft.rfft2(x, s=m)
        H = torch.fft.rfft2(Kr, s=m)
    H = H.conj()
    if depthwise:
        Y = X * H[:, 0].unsqueeze(0)
    else:
        Y = torch.einsum("bi...,oi...->bo...", X, H)
    if dims == 1:
        y = torch.fft.irfft(Y, n=m[0])[..., : sp[0] : stride]
    else:
        y = torch.fft.irfft2(Y, s=m)[..., : sp[0] : stride, : sp[1] : stride]
    return y.contiguous()


def make_conv(c, spec_iter, dims, cin, cout, k, d=1, stride=1, bias=False, causal=False):
    """The backbone's searchable-conv factory: default, searched (k, d) or aggregated."""
    if c["kernels"] == "searched":
        k, d = next(spec_iter)
    if c["kernels"] == "search":
        return AggConv(dims, cin, cout, c["kernel_set"], c["dilation_set"], stride, depthwise=cin == cout)
    return Conv(dims, cin, cout, k, d, stride, bias=bias, causal=causal)


class ResNet1D(nn.Module):
    def __init__(self, c):
        super().__init__()
        it = iter(c.get("layers", []))
        m = c["width"]
        self.blocks = nn.ModuleList()
        cin = c["in_shape"][0]
        for w in (m, 2 * m, 2 * m):
            blk = nn.Module()
            blk.convs = nn.ModuleList()
            blk.bns = nn.ModuleList()
            ch = cin
            for k in (8, 5, 3):
                blk.convs.append(make_conv(c, it, 1, ch, w, k, bias=True))
                blk.bns.append(nn.BatchNorm1d(w))
                ch = w
            blk.sc = Conv(1, cin, w, 1, bias=True) if cin != w else None
            blk.scbn = nn.BatchNorm1d(w)
            self.blocks.append(blk)
            cin = w
        self.head = nn.Linear(cin, c["outputs"])

    def forward(self, x):
        for b in self.blocks:
            y = x
            for u in range(3):
                y = b.bns[u](b.convs[u](y))
                if u < 2:
                    y = F.relu(y)
            sc = b.sc(x) if b.sc is not None else x
            x = F.relu(y + b.scbn(sc))
        return self.head(x.mean(2))


class WRN(nn.Module):
    def __init__(self, c, dense):
        super().__init__()
        it = iter(c.get("layers", []))
        k = c["width"]
        self.stem = make_conv(c, it, 2, c["in_shape"][0], 16, 3)
        self.blocks = nn.ModuleList()
        cin = 16
        for s, w in enumerate((16 * k, 32 * k, 64 * k)):
            stride = 1 if (s == 0 or dense) else 2
            for _ in range(2):  # (16-4)/6
                blk = nn.Module()
                blk.bn1 = nn.BatchNorm2d(cin)
                blk.conv1 = make_conv(c, it, 2, cin, w, 3, stride=stride)
                blk.bn2 = nn.BatchNorm2d(w)
                blk.conv2 = make_conv(c, it, 2, w, w, 3)
                blk.short = Conv(2, cin, w, 1, stride=stride) if (cin != w or stride != 1) else None
                self.blocks.append(blk)
                cin, stride = w, 1
        self.bn = nn.BatchNorm2d(cin)
        self.head = nn.Linear(cin, c["outputs"])
        self.dense = dense

    def forward(self, x):
        y = self.stem(x)
        for b in self.blocks:
            a = F.relu(b.bn1(y))
            z = F.relu(b.bn2(b.conv1(a)))
            z = b.conv2(z)
            y = z + (b.short(a) if b.short is not None else y)
        y = F.relu(self.bn(y))
        if not self.dense:
            return self.head(y.mean((2, 3)))
        return self.head(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class TCN(nn.Module):
    def __init__(self, c, levels=8, k=7):
        super().__init__()
        it = iter(c.get("layers", []))
        ch = c["width"]
        cin = c["in_shape"][0]
        self.blocks = nn.ModuleList()
        for l in range(levels):
            blk = nn.Module()
            blk.conv1 = make_conv(c, it, 1, cin, ch, k, 2 ** l, bias=True, causal=True)
            blk.conv2 = make_conv(c, it, 1, ch, ch, k, 2 ** l, bias=True, causal=True)
            blk.down = Conv(1, cin, ch, 1, bias=True) if cin != ch else None
            self.blocks.append(blk)
            cin = ch
        self.head = nn.Linear(cin, c["outputs"])

    def forward(self, x):
        for b in self.blocks:
            y = F.relu(b.conv1(x))
            y = F.relu(b.conv2(y))
            x = F.relu(y + (b.down(x) if b.down is not None else x))
        return self.head(x[:, :, -1])


def build(c):
    bb = c["backbone"]
    if bb == "resnet1d":
        return ResNet1D(c)
    if bb in ("wrn", "wrn-dense"):
        return WRN(c, bb == "wrn-dense")
    if bb == "tcn":
        return TCN(c)
    raise ValueError(bb)


def run_case(c, a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = build(c).to(dev).train()
    B = c["batch"]
    x = torch.randn(B, *c["in_shape"], device=dev)
    if c["loss"] == "cross_entropy":
        target = torch.randint(0, c["outputs"], (B,), device=dev)
        lossf = F.cross_entropy
    else:
        target = torch.randn(B, c["outputs"], *c["in_shape"][1:], device=dev)

        def lossf(p, t):  # relative L2, mean over samples
            d = (p - t).reshape(B, -1)
            return (d.norm(dim=1) / t.reshape(B, -1).norm(dim=1)).mean()
    search = c["kernels"] == "search"
    alphas = [m.alpha for m in model.modules() if isinstance(m, AggConv)]
    aid = {id(p) for p in alphas}
    weights = [p for p in model.parameters() if id(p) not in aid]
    opts = [torch.optim.SGD(weights, lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)]
    pens = []
    if search:
        opts.append(torch.optim.SGD(alphas, lr=0.05, momentum=0.9, nesterov=True))
        for m in model.modules():
            if isinstance(m, AggConv):
                pens.append(torch.tensor([1e-5 * (d * (k - 1) + 1) for (_, _, k, d, _) in m.cands], device=dev))

    def step():
        loss = lossf(model(x), target)
        loss.backward()
        if search:
            with torch.no_grad():  # dash/search.go: rescale α's gradient, receptive-field penalty
                for p, pen in zip(alphas, pens):
                    p.grad = p.grad / (100 * (p.grad.norm() + 1e-8)) + pen
            torch.nn.utils.clip_grad_norm_(weights + alphas, 1.0)
        for o in opts:
            o.step()
            o.zero_grad(set_to_none=True)
        return loss

    for _ in range(a.warmup):
        step()
    sync()
    times = []
    start = time.perf_counter()
    cpu0 = time.process_time()
    while len(times) < a.reps or time.perf_counter() - start < a.min_seconds:
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
        if len(times) >= 50:
            break
    busy = (time.process_time() - cpu0) / (time.perf_counter() - start)
    med = statistics.median(times)
    r = dict(c)
    r.update(samples_per_sec=B / med, ms_per_step=med * 1e3, min_ms_per_step=min(times) * 1e3, steps=len(times),
             peak_rss_mib=peak_rss_mib(), cpu_per_wall=busy, device=a.device, impl="torch " + torch.__version__, threads=a.threads)
    return r


if __name__ == "__main__":
    main()
