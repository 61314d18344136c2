#!/usr/bin/env python3
"""PyTorch CPU reference for the fft package benchmarks (same shapes).

    /usr/bin/python3 internal/fft/testdata/torch_fft_bench.py

Prints wall and process-CPU time (median and min of 10 after 3 warm-ups), in
ms. CPU time sums all threads and is the more robust number on a shared
machine; torch 1.13's pocketfft runs these cases on one thread.
"""
import statistics
import time

import torch

torch.set_num_threads(2)


def t(fn, n=10):
    for _ in range(3):
        fn()
    wall, cpu = [], []
    for _ in range(n):
        s, s2 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - s) * 1e3)
        cpu.append((time.process_time() - s2) * 1e3)
    return statistics.median(wall), min(wall), statistics.median(cpu), min(cpu)


fmt = "%-22s wall med %8.2f min %8.2f | cpu med %8.2f min %8.2f ms"
r1 = torch.randn(2048, 1270)
print(fmt % (("rfft1d_2048x1270",) + t(lambda: torch.fft.irfft(torch.fft.rfft(r1), n=1270))))
r2 = torch.randn(512, 152, 152)
print(fmt % (("rfft2d_512x152x152",) + t(lambda: torch.fft.irfft2(torch.fft.rfft2(r2), s=(152, 152)))))
c = torch.randn(1024, 1024, dtype=torch.complex64)
print(fmt % (("c2c_1024x1024_fwd",) + t(lambda: torch.fft.fft(c))))
c = torch.randn(256, 4096, dtype=torch.complex64)
print(fmt % (("c2c_256x4096_fwd",) + t(lambda: torch.fft.fft(c))))
