# Sourced by the project's scripts: one build cache per machine, outside the clone, so a fresh
# clone (as CI makes) does not rebuild the AWS SDK from zero.
export PITAGORA_CACHE="${PITAGORA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pitagora}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PITAGORA_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$PITAGORA_CACHE"
