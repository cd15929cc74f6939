#!/usr/bin/env bash
# Dependency policy with cargo-deny (deny.toml). cargo-deny is installed once per machine into
# the cache. Advisories need the RustSec database from GitHub: checked when it is reachable,
# skipped with a note when it is not (this machine's network reaches only the registries).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
tools="$PITAGORA_CACHE/tools"
if [ ! -x "$tools/bin/cargo-deny" ]; then
  echo "installing cargo-deny 0.20 into $tools (once per machine)"
  cargo install cargo-deny --version '^0.20' --locked --root "$tools" --quiet
fi
checks=(licenses bans sources)
if timeout 5 git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  checks+=(advisories)
else
  echo "note: github.com unreachable; skipping the advisories check"
fi
"$tools/bin/cargo-deny" --log-level error check "${checks[@]}"
