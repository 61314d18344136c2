#!/usr/bin/env bash
# bench/gpu-check.sh: the Vulkan backend on the first machine with a GPU, in
# under 8 minutes, ending in one table (ours / PyTorch CUDA, and achieved
# GB/s or TFLOP/s against the card's peak).
#
#   bash bench/gpu-check.sh             # full: a machine with a GPU
#   bash bench/gpu-check.sh --reduced   # CI on lavapipe: same steps, small shapes, ~1 min
#
# Steps: (1) the Vulkan loader (unpacked from carried .debs in .gl/ when the
# machine has none, and the NVIDIA ICD when no driver is found: see
# /work/.library/device/README.md); (2) `vulkaninfo --summary`; (3) the vk
# conformance suite on the chosen device; (4) the kernel benchmarks (FFT,
# matmul, conv), `dash bench --device vulkan` for the DASH search step
# (reference K5×D4 case) and the train sweep; (5) PyTorch CUDA's figures for
# the same cases (bench/torch/ops.py and train.py --device cuda) where torch
# and a CUDA device exist; (6) the table, also written to $OUT_DIR/table.md.
#
# Environment: OUT_DIR (default /tmp/dash-gpu-check, or $OUT when set),
# PEAK_TFLOPS and PEAK_GBS (the card's fp32 peak; default from a small table
# by device name), PYTHON (default /usr/bin/python3), SUITE_TIMEOUT (s).
set -uo pipefail
cd "$(dirname "$0")/.."

reduced=0
[ "${1:-}" = "--reduced" ] && reduced=1
OUT_DIR="${OUT_DIR:-${OUT:-/tmp/dash-gpu-check}}"
PYTHON="${PYTHON:-/usr/bin/python3}"
mkdir -p "$OUT_DIR"
export PATH="$PATH:/usr/local/go/bin"
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
note() { echo "== [$(elapsed)s] $*"; }
fail=0

# ---- (1) loader ----
# (no grep -q on a pipe: with pipefail its early exit fails ldconfig with SIGPIPE)
libs="$(ldconfig -p 2>/dev/null || true)"
if ! grep 'libvulkan\.so\.1' <<<"$libs" >/dev/null; then
  if ls .gl/*.deb >/dev/null 2>&1; then
    note "no Vulkan loader: unpacking the carried .debs in .gl/"
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "no Vulkan loader and no .gl/*.deb to unpack (see /work/.library/device/README.md)"; exit 1
  fi
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
   ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  note "using the NVIDIA ICD at $VK_DRIVER_FILES"
fi

# ---- (2) vulkaninfo ----
note "vulkaninfo --summary"
if command -v vulkaninfo >/dev/null; then
  vulkaninfo --summary 2>&1 | tee "$OUT_DIR/vulkaninfo.txt" | sed -n '/Devices:/,$p'
else
  echo "(vulkaninfo not installed: apt-get install vulkan-tools)" | tee "$OUT_DIR/vulkaninfo.txt"
fi

go build -o "$OUT_DIR/dash" ./cmd/dash || exit 1
"$OUT_DIR/dash" devices 2>&1 | tee "$OUT_DIR/devices.txt"
# the device the tests and `--device vulkan` choose: a discrete GPU first
devline=$(grep -m1 -E '^vulkan:[0-9]+ .*\(discrete' "$OUT_DIR/devices.txt" ||
  grep -m1 -E '^vulkan:[0-9]+ ' "$OUT_DIR/devices.txt")
device=$(echo "$devline" | awk '{print $1}')
devname=$(echo "$devline" | sed -E 's/^vulkan:[0-9]+ +vulkan:[0-9]+ //; s/ \([a-z]+, Vulkan .*//')

# ---- (3) conformance suite ----
if [ $reduced = 1 ]; then
  suite_run='TestUnary|TestBinary|TestMatMul|TestDescriptorsPerStep|TestTrainingStepNoHostRoundTrip'
  suite_timeout=${SUITE_TIMEOUT:-120}
else
  suite_run='.'
  suite_timeout=${SUITE_TIMEOUT:-240}
fi
note "conformance suite (-run '$suite_run', timeout ${suite_timeout}s)"
if DASH_REQUIRE_VULKAN=1 timeout "$suite_timeout" go test -count=1 -run "$suite_run" ./vk >"$OUT_DIR/suite.txt" 2>&1; then
  echo "suite: PASS"; suite=PASS
else
  echo "suite: FAIL (or timed out), tail:"; tail -30 "$OUT_DIR/suite.txt"; suite=FAIL; fail=1
fi

# ---- (4) our benchmarks ----
# go test's -bench pattern is matched level by level (split at '/'), so
# each sub-benchmark is its own run of one compiled test binary.
if [ $reduced = 1 ]; then
  kbench=('BenchmarkFFT1D/fft/128x1270$' 'BenchmarkFFT2D/fft/16x152x152$' 'BenchmarkMatMulShapes/512x512x512_tafalse_tbfalse$')
  benchtime=1x
  aggflags=(--batch 4 --channels 8 --length 200 --reps 1 --strategies fourier,mixed-results)
  # every train case takes minutes per step on lavapipe: the reduced mode
  # only checks that the sweep accepts these cases and flags (--list)
  traincases='=wrn-demo-default-w1-b32,=wrn-demo-search-w1-b32'
  trainflags=(--reps 1 --warmup 0 --min-seconds 0 --fresh=false --list)
else
  kbench=('BenchmarkFFT1D/fft/2048x12[78]0$' 'BenchmarkFFT2D/fft/512x1[56][20]x1[56][20]$' 'BenchmarkMatMulShapes$' 'BenchmarkConvGEMM$')
  benchtime=5x
  aggflags=(--reps 5 --strategies fourier,mixed-results)
  traincases='=wrn-demo-default-w1-b32,=wrn-demo-search-w1-b32,=resnet1d-demo-search-w8-b128,=wrn-dense-demo-search-w1-b10'
  trainflags=(--reps 5 --min-seconds 2)
fi
note "kernel benchmarks"
go test -c -o "$OUT_DIR/vk.test" ./vk || exit 1
: >"$OUT_DIR/kernels.txt"
for pat in "${kbench[@]}"; do
  (cd vk && DASH_REQUIRE_VULKAN=1 "$OUT_DIR/vk.test" -test.run '^$' -test.bench "$pat" -test.benchtime "$benchtime" -test.timeout 300s) 2>&1 |
    tee -a "$OUT_DIR/kernels.txt" | grep -E '^Benchmark|FAIL|panic' || fail=1
done
note "DASH search step (dash bench --sweeps reference)"
"$OUT_DIR/dash" bench --device vulkan --sweeps reference --json --plot '' "${aggflags[@]}" >"$OUT_DIR/search.jsonl" 2>"$OUT_DIR/search.err" ||
  { tail -5 "$OUT_DIR/search.err"; fail=1; }
note "train sweep (dash bench --sweeps train)"
"$OUT_DIR/dash" bench --device vulkan --sweeps train --cases "$traincases" --json "${trainflags[@]}" >"$OUT_DIR/train.jsonl" 2>"$OUT_DIR/train.err" ||
  { tail -5 "$OUT_DIR/train.err"; fail=1; }

# ---- (5) PyTorch CUDA ----
: >"$OUT_DIR/torch_ops.jsonl"
: >"$OUT_DIR/torch_train.jsonl"
if "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  note "PyTorch CUDA: bench/torch/ops.py and train.py --device cuda"
  timeout 180 "$PYTHON" bench/torch/ops.py --device cuda --json >"$OUT_DIR/torch_ops.jsonl" 2>"$OUT_DIR/torch.err" || tail -5 "$OUT_DIR/torch.err"
  timeout 120 "$PYTHON" bench/torch/train.py --device cuda --json --cases "$traincases" >"$OUT_DIR/torch_train.jsonl" 2>>"$OUT_DIR/torch.err" || tail -5 "$OUT_DIR/torch.err"
else
  note "no PyTorch with CUDA here: the PyTorch column stays empty"
fi

# ---- (6) the table ----
note "table"
DEVNAME="$devname" DEVICE="$device" SUITE="$suite" "$PYTHON" - "$OUT_DIR" <<'PY' | tee "$OUT_DIR/table.md"
import json, os, re, sys
out = sys.argv[1]
dev = os.environ.get("DEVNAME", "") or "?"
# fp32 (non-tensor-core) TFLOP/s and memory GB/s of cards this may meet
PEAKS = [("H200", 67, 4800), ("H100", 67, 3350), ("A100", 19.5, 2039), ("L40S", 91.6, 864), ("L4", 30.3, 300),
         ("A10", 31.2, 600), ("RTX 4090", 82.6, 1008), ("RTX 3090", 35.6, 936), ("MI300", 163, 5300), ("MI250", 47.9, 3277)]
pt, pb = os.environ.get("PEAK_TFLOPS"), os.environ.get("PEAK_GBS")
for name, t, b in PEAKS:
    if name in dev and not (pt or pb):
        pt, pb = t, b
pt = float(pt) if pt else None
pb = float(pb) if pb else None

def lines(name):
    try:
        with open(os.path.join(out, name)) as f:
            return [json.loads(l) for l in f if l.strip().startswith("{")]
    except OSError:
        return []

torch_ops = {}
for r in lines("torch_ops.jsonl"):
    torch_ops[r.get("case") or r.get("name")] = r.get("ms")
torch_train = {r.get("case") or r.get("name"): r.get("ms_per_step") for r in lines("torch_train.jsonl")}

rows = []  # (case, ours ms, torch ms, work, unit)
bench = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op")
try:
    kern = open(os.path.join(out, "kernels.txt")).read().splitlines()
except OSError:
    kern = []
def fftwork(lines_, shape):  # rfft + irfft: ~2 × 2.5·N·log2 N flops, bytes: real in/out + half spectrum twice
    import math
    n = 1
    for s in shape: n *= s
    return lines_ * 2 * 2.5 * n * math.log2(n), lines_ * (4 * n * 2 + 8 * (n // 2 + 1) * 2)
for l in kern:
    m = bench.match(l)
    if not m: continue
    name, ms = m.group(1), float(m.group(2)) / 1e6
    torch_key, flops, byts = None, None, None
    if (g := re.search(r"FFT1D/fft/(\d+)x(\d+)", name)):
        b, n = int(g.group(1)), int(g.group(2))
        flops, byts = fftwork(b, [n])
        torch_key = "rfft1d_2048x1270_fwd" if (b, n) == (2048, 1270) else None
    elif (g := re.search(r"FFT2D/fft/(\d+)x(\d+)x(\d+)", name)):
        b, h, w = map(int, g.groups())
        flops, byts = fftwork(b, [h, w])
        torch_key = "rfft2d_512x152x152_fwd" if (b, h) == (512, 152) else None
    elif (g := re.search(r"MatMulShapes/(\d+)x(\d+)x(\d+)", name)):
        m_, k_, n_ = map(int, g.groups())
        flops = 2 * m_ * k_ * n_
    elif "ConvGEMM/1d_k11/" in name:
        flops = 2 * 32 * 64 * 1000 * 64 * 11
    elif "ConvGEMM/2d_k3/" in name:
        flops = 2 * 8 * 32 * 32 * 32 * 32 * 9
    rows.append((name.replace("Benchmark", ""), ms, torch_ops.get(torch_key) if torch_key else None, flops, byts))
for r in lines("search.jsonl"):
    if r.get("skipped"): continue
    key = {"fourier": "aggconv1d_fft_B32_C64_L1000_K5xD4", "mixed-results": "aggconv1d_mixedresults_B32_C64_L1000_K5xD4"}.get(r.get("strategy"))
    full = r.get("batch") == 32 and r.get("channels") == 64 and r.get("length") == 1000
    rows.append((f"DASH search step {r.get('strategy')} B{r.get('batch')} C{r.get('channels')} L{r.get('length')} K5xD4",
                 r.get("ms_per_step"), torch_ops.get(key) if (key and full) else None, None, None))
for r in lines("train.jsonl"):
    rows.append((f"train step {r.get('case')}", r.get("ms_per_step"), torch_train.get(r.get("case")), None, None))

print(f"## GPU check: {dev} (device {os.environ.get('DEVICE') or '?'}), conformance suite {os.environ.get('SUITE')}")
print()
print(f"peak used: {pt if pt else '?'} TFLOP/s fp32, {pb if pb else '?'} GB/s (PEAK_TFLOPS / PEAK_GBS override)")
print()
print("| case | ours ms | PyTorch CUDA ms | ours / PyTorch | achieved | % of peak |")
print("|---|---:|---:|---:|---:|---:|")
for case, ours, tor, flops, byts in rows:
    ratio = f"{ours / tor:.2f}" if (ours and tor) else "—"
    ach, pct = "—", "—"
    if ours and flops and byts:   # memory-bound (FFT): report bandwidth
        gbs = byts / (ours / 1e3) / 1e9
        ach = f"{gbs:.1f} GB/s ({flops / (ours / 1e3) / 1e12:.3f} TFLOP/s)"
        pct = f"{100 * gbs / pb:.1f}%" if pb else "—"
    elif ours and flops:
        tf = flops / (ours / 1e3) / 1e12
        ach = f"{tf:.3f} TFLOP/s"
        pct = f"{100 * tf / pt:.1f}%" if pt else "—"
    print(f"| {case} | {ours:.2f} | {tor if tor is not None else '—'} | {ratio} | {ach} | {pct} |" if ours is not None
          else f"| {case} | — | — | — | — | — |")
if not rows:
    print("| (no results) | | | | | |")
    sys.exit(1)
PY
[ $? = 0 ] || fail=1
note "done in $(elapsed)s; results in $OUT_DIR"
exit $fail
