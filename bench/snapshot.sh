#!/usr/bin/env bash
# Build a commit of chargen into bench/work/snap-<sha>/ (a git archive, not a worktree), so that a
# benchmark measures fixed code while the checkout keeps changing. Prints the cli.js to pass to
#   node bench/run.mjs --chargen <cli.js> --commit <sha>
set -euo pipefail
cd "$(dirname "$0")/.."
sha=$(git rev-parse --short "${1:-HEAD}")
dir=bench/work/snap-$sha
if [ ! -f "$dir/dist/src/cli.js" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  git archive "$sha" | tar -x -C "$dir"
  ln -s "$PWD/node_modules" "$dir/node_modules"
  (cd "$dir" && ../../../node_modules/.bin/tsc -p tsconfig.json)
fi
echo "$dir/dist/src/cli.js"
