#!/usr/bin/env bash
# Runs every built-in task at a budget (default: demo) with its controls —
# the searched network, the default-kernel baseline after its own
# hyperparameter stage, and the budget's random architectures — one after
# another, and prints the README's task table from the run directories.
#
#   bash bench/tasks-table.sh [--budget demo] [--out DIR] [TASK ...]
#
# Each task runs as `dash run --task T --budget B --out DIR/T` (seed 0); its
# wall, user and system seconds and peak RSS come from /usr/bin/time and are
# kept in DIR/T.time, with the load average at the start and the end ("wall"
# includes loading or generating the data on first use; "search + networks"
# is the run's own stage time from metrics.json). A task
# whose directory already holds a finished run is not run again (delete the
# directory to redo it), so an interrupted sweep continues where it stopped.
# The table is written to DIR/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=demo
out=runs/tasks-table
tasks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "tasks-table: unknown flag $1" >&2; exit 2 ;;
    *) tasks+=("$1"); shift ;;
  esac
done

mkdir -p "$out"
bin="$out/dash"
go build -o "$bin" ./cmd/dash
if [ ${#tasks[@]} -eq 0 ]; then
  mapfile -t tasks < <("$bin" data list | awk 'NR > 1 && NF == 0 {exit} NR > 1 {print $1}')
fi

for t in "${tasks[@]}"; do
  dir="$out/$t"
  if [ -f "$dir/metrics.json" ] && grep -q '"controls"' "$dir/metrics.json"; then
    echo "== $t: finished earlier ($dir)"; continue
  fi
  resume=()
  if [ -d "$dir" ]; then resume=(--resume); fi
  echo "== $t ($budget) $(date -u +%H:%M:%S)"
  load0="$(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -f 'wall %e\nuser %U\nsys %S\nmaxrss_kb %M' -o "$dir.time.tmp" \
    "$bin" run --task "$t" --budget "$budget" --out "$dir" "${resume[@]}" 2>&1 | tail -n 4
  { cat "$dir.time.tmp"; echo "load_start $load0"; echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$dir.time"
  rm -f "$dir.time.tmp"
done

python3 - "$out" "$budget" "${tasks[@]}" <<'EOF' | tee "$out/table.md"
import json, os, sys
out, budget, tasks = sys.argv[1], sys.argv[2], sys.argv[3:]
def fmt(metric, v):
    if metric in ("error",):
        return f"{100*v:.2f}%"
    if metric in ("auroc", "map"):  # values as reported: higher is better
        return f"{v:.4f}"
    return f"{v:.4g}"
print(f"| task | metric | DASH | tuned baseline | random (median; all) | rank | beats chance | α decided | search + networks | wall | user/wall | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for t in tasks:
    d = os.path.join(out, t)
    try:
        m = json.load(open(os.path.join(d, "metrics.json")))
        c = m["controls"]
    except (OSError, KeyError, ValueError):
        print(f"| {t} | (no finished run) |||||||||")
        continue
    tm = {}
    try:
        for line in open(d + ".time"):
            k, _, v = line.strip().partition(" ")
            tm[k] = v
    except OSError:
        pass
    met = c["metric"]
    name = {"auroc": "AUROC ↑", "map": "mAP ↑", "mae8": "mae8 (Å) ↓"}.get(met, met + " ↓")
    rnd = ", ".join(fmt(met, r) for r in c["random"])
    a = m.get("alpha") or {}
    dec = f'{a.get("decided_layers", "?")}/{len(a.get("layers", []))}'
    wall = float(tm.get("wall", "nan"))
    user = float(tm.get("user", "nan")) + float(tm.get("sys", "0"))
    rss = int(tm.get("maxrss_kb", "0")) / 1024
    run = m.get("search_seconds", 0) + sum(n.get("hpo_seconds", 0) + n.get("retrain_seconds", 0) for n in m.get("networks", []))
    ok = "yes" if c["beats_chance"] else ("median only" if c["beats_median_random"] else ("baseline only" if c["beats_baseline"] else "no"))
    print(f"| {t} | {name} | {fmt(met, c['searched'])} | {fmt(met, c['baseline'])} | {fmt(met, c['random_median'])}; {rnd} | "
          f"{c['rank']}/{c['of']} | {ok} | {dec} | {run/60:.1f} min | {wall/60:.1f} min | {user/wall:.2f} | {rss:.0f} MiB |")
EOF
