#!/bin/sh
# Compiles every shaders/*.comp into $1/*.spv (default: next to the source) with glslc.
# Used by `go generate ./shaders` and by check.sh.
set -e
cd "$(dirname "$0")"
out=${1:-.}
mkdir -p "$out"
for f in *.comp; do
	glslc -O --target-env=vulkan1.1 -o "$out/${f%.comp}.spv" "$f"
done
