#!/usr/bin/env bash
# Renders every diagram source in this folder to SVG and PNG (needs Graphviz: apt-get install graphviz).
# The documentation tests check that each rendering exists and is at least as new as its source.
set -euo pipefail
cd "$(dirname "$0")"
for src in *.dot; do
  name="${src%.dot}"
  dot -Tsvg "$src" -o "$name.svg"
  dot -Tpng -Gdpi=110 "$src" -o "$name.png"
  echo "rendered $name.svg, $name.png"
done
