#!/usr/bin/env python3
"""PyTorch CPU reference timings for the ops the project's CPU backend must match.

Run with Debian's PyTorch and OpenBLAS (apt-get install -y python3-torch libopenblas0-pthread; without
OpenBLAS, Debian's torch uses the slow reference BLAS), on the same machine and in the
same sitting as the project's own benchmarks, so the two can be compared as ratios:

    /usr/bin/python3 bench/torch/ops.py            # all cases, 2 threads
    /usr/bin/python3 bench/torch/ops.py --json     # one JSON object per line

Each figure is the median wall time of N timed iterations after warm-up, in milliseconds,
forward + backward unless the case says forward only.
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F


def timeit(fn, iters, sync, warmup=2):
    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out)


def fft_conv1d(x, w, dil):
    # 'same' cross-correlation through the FFT, exact (zero padding, no wrap-around)
    k = w.shape[-1]
    span = dil * (k - 1) + 1
    wd = torch.zeros(w.shape[0], w.shape[1], span, device=w.device)
    wd[..., ::dil] = w
    n = x.shape[-1]
    pad = span // 2
    m = n + span - 1
    X = torch.fft.rfft(F.pad(x, (pad, span - 1 - pad)), n=m)
    W = torch.fft.rfft(torch.flip(wd, [-1]), n=m)
    Y = torch.einsum("bif,oif->bof", X, W)
    y = torch.fft.irfft(Y, n=m)
    return y[..., span - 1: span - 1 + n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on a machine with an NVIDIA GPU")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    torch.set_default_tensor_type(torch.cuda.FloatTensor if dev.type == "cuda" else torch.FloatTensor)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    B, C, L = 32, 64, 1000
    cases = {}

    x = torch.randn(B, C, L, requires_grad=True)
    w = torch.randn(C, C, 11, requires_grad=True)
    for d in (1, 16):
        cases[f"conv1d_B32_C64_L1000_k11_d{d}"] = lambda d=d: F.conv1d(x, w, padding="same", dilation=d).sum().backward()
        cases[f"fftconv1d_B32_C64_L1000_k11_d{d}"] = lambda d=d: fft_conv1d(x, w, d).sum().backward()

    x2 = torch.randn(B, C, 32, 32, requires_grad=True)
    w2 = torch.randn(C, C, 7, 7, requires_grad=True)
    cases["conv2d_B32_C64_32x32_k7_d2"] = lambda: F.conv2d(x2, w2, padding="same", dilation=2).sum().backward()

    a1 = torch.randn(1024, 1024)
    b1 = torch.randn(1024, 1024)
    cases["matmul_1024_fwd"] = lambda: a1 @ b1

    r1 = torch.randn(B * C, 1270)
    cases["rfft1d_2048x1270_fwd"] = lambda: torch.fft.irfft(torch.fft.rfft(r1), n=1270)
    r2 = torch.randn(B * 16, 152, 152)
    cases["rfft2d_512x152x152_fwd"] = lambda: torch.fft.irfft2(torch.fft.rfft2(r2), s=(152, 152))

    # DASH aggregated convolution, 1D: K={3,7,11,15,19}, D={1,3,7,15}, mixed weights + FFT conv
    ks, ds = (3, 7, 11, 15, 19), (1, 3, 7, 15)
    ws = [torch.randn(C, C, k, requires_grad=True) for k in ks for _ in ds]
    alpha = torch.zeros(len(ks) * len(ds), requires_grad=True)

    def agg():
        smax = max(d * (k - 1) + 1 for k in ks for d in ds)
        coef = torch.softmax(alpha, 0)
        total = torch.zeros(C, C, smax)
        i = 0
        for k in ks:
            for d in ds:
                span = d * (k - 1) + 1
                wd = torch.zeros(C, C, span)
                wd[..., ::d] = ws[i]
                off = (smax - span) // 2
                total = total + coef[i] * F.pad(wd, (off, smax - span - off))
                i += 1
        # the summed kernel, applied by FFT as one undilated kernel of span smax
        return fft_conv1d(x, total, 1).sum().backward()

    cases["aggconv1d_fft_B32_C64_L1000_K5xD4"] = agg

    def mixed_results():
        coef = torch.softmax(alpha, 0)
        out = 0
        i = 0
        for k in ks:
            for d in ds:
                out = out + coef[i] * F.conv1d(x, ws[i], padding="same", dilation=d)
                i += 1
        out.sum().backward()

    cases["aggconv1d_mixedresults_B32_C64_L1000_K5xD4"] = mixed_results

    rows = []
    for name, fn in cases.items():
        ms = timeit(fn, a.iters if "mixedresults" not in name else max(3, a.iters // 3), sync)
        rows.append((name, ms))
        if a.json:
            print(json.dumps({"case": name, "ms": round(ms, 3), "device": a.device, "threads": a.threads, "torch": torch.__version__}), flush=True)
        else:
            print(f"{name:48s} {ms:10.2f} ms", flush=True)


if __name__ == "__main__":
    main()
