#!/usr/bin/env bash
# The whole test suite: static checks (lint, format, layer rules), then every node:test file
# (unit, conformance, integration, end-to-end with SIPp), then a bounded parser fuzz run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "[test] eslint"
npx eslint .
echo "[test] prettier --check"
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }
echo "[test] dependency rules (DESIGN.md layer table)"
npx depcruise src --config .dependency-cruiser.cjs --output-type err

mapfile -t files < <(find dist/test dist/sip-tests -name '*.test.js' | sort)
echo "[test] node --test (${#files[@]} files)"
node --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"

