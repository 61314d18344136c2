#!/usr/bin/env bash
# Wall time of the hyperparameter stage with 1, 2 and 4 local workers
# (dash run --workers N: embedded NATS server + N worker processes), and
# the same stage in a local run, on the smoke budget of sequential MNIST.
#
# HPO stage (distributed) = from the search trial's result reaching the
# coordinator (the moment every network's grid is published) to the last
# hyperparameter trial stored by a worker. Local = the sum of the networks'
# hpo_seconds in metrics.json (they run one after another).
#
# Usage: deploy/bench-workers.sh [budget] [workers...]   (from the repository root)
set -euo pipefail
budget=${1:-smoke}
shift || true
counts=${*:-1 2 4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/dash" ./cmd/dash
common=(--task mnist --budget "$budget" --seed 1 --device cpu)
echo "load before: $(uptime)"
/usr/bin/time -f '%e' -o "$tmp/t-local" "$tmp/dash" run "${common[@]}" --out "$tmp/local" >/dev/null 2>"$tmp/local.log"
python3 - "$tmp/local/metrics.json" "$(cat "$tmp/t-local")" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
hpo = sum(n["hpo_seconds"] for n in m["networks"])
print(f"local (no NATS):  HPO stage {hpo:6.2f} s over {len(m['networks'])} networks, whole run {float(sys.argv[2]):6.1f} s")
PY
for n in $counts; do
	/usr/bin/time -f '%e' -o "$tmp/t-$n" "$tmp/dash" run "${common[@]}" --workers "$n" --out "$tmp/w$n" >/dev/null 2>"$tmp/w$n.log"
	python3 - "$tmp/w$n.log" "$n" "$(cat "$tmp/t-$n")" <<'PY'
import re, sys
from datetime import datetime
def ts(l):
    return datetime.fromisoformat(re.search(r"time=(\S+)", l).group(1).replace("Z", "+00:00")).timestamp()
start = end = None; trials = 0; train = 0.0
for l in open(sys.argv[1]):
    if 'msg="trial done"' in l and ".search." in l:
        start = ts(l)
    if 'msg="trial stored"' in l and ".hpo." in l:
        end = max(end or 0, ts(l)); trials += 1
        train += float(re.search(r"seconds=(\S+)", l).group(1))
print(f"{sys.argv[2]} worker(s):      HPO stage {end-start:6.2f} s for {trials} trials ({train:.2f} s of training in them; "
      f"(stage - training)/trials = {1000*(end-start-train)/trials:.0f} ms), whole run {float(sys.argv[3]):6.1f} s")
PY
done
echo "load after: $(uptime)"
