#!/usr/bin/env bash
# Rebuilds DevPriceFeed.bin and DevPriceFeed.abi from DevPriceFeed.sol with solcjs 0.8.28
# (optimizer on, 200 runs, default EVM version "cancun"). It needs npm and installs solc in
# a temporary directory outside the repository; the output is deterministic, so running it
# again must leave both files unchanged (`git diff --exit-code` after `go generate`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent solc@0.8.28 >/dev/null
cp "$here/DevPriceFeed.sol" .
npx --no-install solcjs --bin --abi --optimize --optimize-runs 200 -o out DevPriceFeed.sol
tr -d '\n' <out/DevPriceFeed_sol_DevPriceFeed.bin >"$here/DevPriceFeed.bin"
tr -d '\n' <out/DevPriceFeed_sol_DevPriceFeed.abi >"$here/DevPriceFeed.abi"
