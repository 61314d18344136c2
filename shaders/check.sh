#!/bin/sh
# CI check: regenerate the SPIR-V into a temporary directory, fail if it
# differs from the committed shaders/*.spv, and validate every module.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./gen.sh "$tmp"
status=0
for f in *.comp; do
	n=${f%.comp}.spv
	if [ ! -f "$n" ]; then
		echo "shaders/check.sh: $n missing: run go generate ./shaders" >&2
		status=1
	elif ! cmp -s "$tmp/$n" "$n"; then
		echo "shaders/check.sh: $n is stale: run go generate ./shaders" >&2
		status=1
	fi
done
for f in *.spv; do
	if [ ! -f "$(basename "$f" .spv).comp" ]; then
		echo "shaders/check.sh: $f has no source" >&2
		status=1
	fi
	spirv-val --target-env vulkan1.1 "$f" || { echo "shaders/check.sh: spirv-val failed on $f" >&2; status=1; }
done
[ $status -eq 0 ] && echo "shaders: $(ls *.spv | wc -l) modules up to date and valid"
exit $status
