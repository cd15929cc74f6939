#!/usr/bin/env bash
# The project's manager of the local AWS emulator: moto in server mode, pinned to one version
# (its behaviour is version specific), in a venv inside the clone.
#
#   scripts/moto.sh install        create .venv-moto/ with moto[server]==$MOTO_VERSION (idempotent)
#   scripts/moto.sh start [PORT]   start a server on 127.0.0.1 (a free port by default), or reuse
#                                  the healthy one recorded in .moto/; wait until ready; warm up
#   scripts/moto.sh stop           stop the recorded server (TERM, then KILL); idempotent
#   scripts/moto.sh status         print the endpoint and exit 0 if running and healthy, else exit 1
#   scripts/moto.sh env            print export lines for the AWS SDKs: eval "$(scripts/moto.sh env)"
#                                  (endpoint, dummy credentials, region, no IMDS lookups)
#   scripts/moto.sh reset          wipe the server's state (every account, every service)
#
# State: .moto/pid, .moto/port and the server's output in .moto/server.log (all git-ignored).
# Needs only bash, python3 (with its venv module; PYTHON=... picks another), curl and coreutils.
# Progress goes to stderr; each command's result goes to stdout as one short line.
set -euo pipefail

MOTO_VERSION=5.2.5
# AWS's CloudFormation linter, which moto[server] already installs: pinned to the version moto
# 5.2.5 resolves to, so the template lint test (tests/operating/template_lint.rs) is reproducible.
CFN_LINT_VERSION=1.58.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-moto"
STATE="${MOTO_STATE_DIR:-$ROOT/.moto}" # another directory runs a separate server (the demo uses one)
LOG="$STATE/server.log"
PYTHON="${PYTHON:-python3}"
HOST=127.0.0.1
READY_TIMEOUT_MS=20000 # GET /moto-api/ must answer 200 within this
STOP_TIMEOUT_MS=5000   # after TERM, before KILL
LOCK_TIMEOUT_MS=600000 # another moto.sh installing or starting

cd "$ROOT" # the server's working directory, whatever the caller's

# Never send loopback requests through a proxy that the environment may configure.
CURL=(curl -sS --noproxy '*' --connect-timeout 2)

info() { printf 'moto.sh: %s\n' "$*" >&2; }
die() {
	printf 'moto.sh: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	cat <<EOF
usage: scripts/moto.sh COMMAND

  install       create .venv-moto/ with moto[server]==$MOTO_VERSION (nothing to do if it is there)
  start [PORT]  start moto on $HOST (a free port if none is given), or reuse the healthy
                server recorded in .moto/; installs first if needed
  stop          stop the recorded server
  status        print the endpoint and exit 0 if the server is running and healthy, else exit 1
  env           print export lines for the running server: eval "\$(scripts/moto.sh env)"
  reset         wipe the server's state (POST /moto-api/reset)
EOF
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not found on PATH"; }

# Milliseconds since the epoch (bash 5's EPOCHREALTIME; whole seconds on older shells).
now_ms() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((t / 1000))
	else
		echo $(($(date +%s) * 1000))
	fi
}
fmt_ms() { printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10)); }

log_tail() {
	if [[ -s $LOG ]]; then
		printf -- '--- last lines of %s ---\n' "${LOG#"$ROOT"/}" >&2
		tail -n 25 "$LOG" >&2
		printf -- '---\n' >&2
	fi
}

# --- lock: one moto.sh at a time may install, start or stop (mkdir is atomic) ---------------
LOCKED=0
lock() {
	mkdir -p "$STATE"
	local deadline=$(($(now_ms) + LOCK_TIMEOUT_MS)) holder said=0
	until mkdir "$STATE/lock" 2>/dev/null; do
		holder=$(cat "$STATE/lock/pid" 2>/dev/null || true)
		if [[ $holder =~ ^[0-9]+$ ]] && ! kill -0 "$holder" 2>/dev/null; then
			rm -rf "$STATE/lock" # its holder is gone
			continue
		fi
		if (($(now_ms) > deadline)); then
			die "$STATE/lock is held by pid ${holder:-?}; if no scripts/moto.sh is running, remove it"
		fi
		if ((said == 0)); then
			info "waiting for another scripts/moto.sh (pid ${holder:-?})"
			said=1
		fi
		sleep 0.1
	done
	echo $$ >"$STATE/lock/pid"
	LOCKED=1
}

# --- the recorded server ---------------------------------------------------------------------
# A live process whose command line is our moto_server (a reused PID or a zombie is not).
is_server() {
	local pid=$1 cmd=''
	kill -0 "$pid" 2>/dev/null || return 1
	if [[ -r /proc/$pid/cmdline ]]; then
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
	elif command -v ps >/dev/null 2>&1; then
		cmd=$(ps -o args= -p "$pid" 2>/dev/null || true)
	else
		return 0 # no way to tell: trust kill -0
	fi
	[[ $cmd == *moto_server* ]]
}

healthy() {
	local code
	code=$("${CURL[@]}" --max-time 2 -o /dev/null -w '%{http_code}' "http://$HOST:$1/moto-api/" 2>/dev/null) || true
	[[ $code == 200 ]]
}

# Sets PID and PORT from .moto/ (empty when absent or malformed).
read_state() {
	PID=$(cat "$STATE/pid" 2>/dev/null || true)
	PORT=$(cat "$STATE/port" 2>/dev/null || true)
	[[ $PID =~ ^[0-9]+$ ]] || PID=''
	[[ $PORT =~ ^[0-9]+$ ]] || PORT=''
}

# True when the recorded server is alive and answers; sets PID and PORT.
running() {
	read_state
	[[ -n $PID && -n $PORT ]] && is_server "$PID" && healthy "$PORT"
}

clear_state() { rm -f "$STATE/pid" "$STATE/port"; }

write_state() {
	printf '%s\n' "$1" >"$STATE/pid.tmp" && mv -f "$STATE/pid.tmp" "$STATE/pid"
	printf '%s\n' "$2" >"$STATE/port.tmp" && mv -f "$STATE/port.tmp" "$STATE/port"
}

# TERM, poll until gone, then KILL. Returns 1 if the process outlives KILL too.
kill_server() {
	local pid=$1 deadline
	is_server "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now_ms) + STOP_TIMEOUT_MS))
	while is_server "$pid"; do
		if (($(now_ms) > deadline)); then
			info "pid $pid ignored TERM for $(fmt_ms "$STOP_TIMEOUT_MS"); sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$(($(now_ms) + 2000))
			while is_server "$pid"; do
				(($(now_ms) > deadline)) && return 1
				sleep 0.1
			done
			return 0
		fi
		sleep 0.1
	done
}

# --- install ---------------------------------------------------------------------------------
# The interpreter runs, the version is the pinned one, moto_server's shebang still points at this
# venv (a moved clone breaks it) and, with "full", the server module imports (Flask and the rest
# are there; about 1 s, so `start` skips it: a broken server shows up in its log instead).
installed() {
	local check="import importlib.metadata as m; print(m.version('moto'), m.version('cfn-lint'))" v
	[[ ${1:-} == full ]] && check="import moto.server; $check"
	[[ -x $VENV/bin/python && -x $VENV/bin/moto_server ]] || return 1
	v=$("$VENV/bin/python" -c "$check" 2>/dev/null) || return 1
	[[ $v == "$MOTO_VERSION $CFN_LINT_VERSION" ]] || return 1
	head -n 1 "$VENV/bin/moto_server" | grep -qF "$VENV/bin/python"
}

do_install() {
	if installed "${1:-full}"; then
		echo "moto: moto[server]==$MOTO_VERSION already installed in ${VENV#"$ROOT"/}/"
		return 0
	fi
	need "$PYTHON"
	local t0 t
	t0=$(now_ms)
	if [[ -e $VENV ]]; then
		info "removing ${VENV#"$ROOT"/}/ (not a working moto $MOTO_VERSION install)"
		rm -rf "$VENV"
	fi
	info "creating ${VENV#"$ROOT"/}/ with $("$PYTHON" --version 2>&1) ($PYTHON -m venv)"
	if ! "$PYTHON" -m venv "$VENV"; then
		rm -rf "$VENV"
		die "'$PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
	fi
	info "installing moto[server]==$MOTO_VERSION with pip (about a minute)"
	if ! "$VENV/bin/pip" install --disable-pip-version-check -q "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"; then
		rm -rf "$VENV" # a half-installed venv would only mislead the next run
		die "pip could not install moto[server]==$MOTO_VERSION (see pip's output above)"
	fi
	installed full || die "moto[server]==$MOTO_VERSION was installed but its server does not import; see: $VENV/bin/python -c 'import moto.server'"
	t=$(($(now_ms) - t0))
	echo "moto: installed moto[server]==$MOTO_VERSION in ${VENV#"$ROOT"/}/ in $(fmt_ms "$t")"
}

# --- start -----------------------------------------------------------------------------------
LAUNCHED='' # pid of a server this run launched and has not yet handed over
on_exit() {
	local rc=$?
	if [[ -n $LAUNCHED ]]; then # start failed or was interrupted: leave nothing behind
		kill_server "$LAUNCHED" || true
		clear_state
	fi
	if ((LOCKED)); then rm -rf "$STATE/lock"; fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Launch on $1 and wait until GET /moto-api/ answers 200. Returns 2 if the port was taken.
launch() {
	local port=$1 pid deadline
	: >"$LOG"
	# scripts/moto_server.py: moto_server with request context for bucket policies (see there).
	nohup "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H "$HOST" -p "$port" </dev/null >>"$LOG" 2>&1 &
	pid=$!
	LAUNCHED=$pid
	write_state "$pid" "$port"
	deadline=$(($(now_ms) + READY_TIMEOUT_MS))
	until healthy "$port"; do
		if ! is_server "$pid"; then
			wait "$pid" 2>/dev/null || true
			if grep -q 'Address already in use' "$LOG"; then
				LAUNCHED=''
				clear_state
				return 2
			fi
			log_tail
			installed full || die "moto_server exited at once and ${VENV#"$ROOT"/}/ is broken; scripts/moto.sh install rebuilds it"
			die "moto_server (pid $pid) exited before it was ready on port $port"
		fi
		if (($(now_ms) > deadline)); then
			log_tail
			die "moto_server (pid $pid) did not answer GET http://$HOST:$port/moto-api/ with 200 within $(fmt_ms "$READY_TIMEOUT_MS")"
		fi
		sleep 0.1
	done
}

# The first CloudFormation call costs ~1.4 s (a lazy import in moto); pay it here, not in a test.
# A query-protocol ListStacks; moto routes on the SigV4 credential scope and checks no signature.
warm_up() {
	local port=$1 code
	code=$("${CURL[@]}" --max-time 30 -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' \
		-H 'X-Amz-Date: 20240101T000000Z' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/eu-west-1/cloudformation/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000' \
		--data 'Action=ListStacks&Version=2010-05-15' "http://$HOST:$port/" 2>&1) || true
	if [[ $code != 200 ]]; then
		log_tail
		die "warm-up CloudFormation ListStacks on port $port answered ${code:-nothing} instead of 200"
	fi
}

do_start() {
	local want=${1:-} port tries=0 t0 t_ready t_warm rc
	if [[ -n $want ]]; then
		if ! [[ $want =~ ^[0-9]{1,5}$ ]] || ((10#$want < 1 || 10#$want > 65535)); then
			die "not a port number: $want"
		fi
		want=$((10#$want))
	fi
	need curl
	lock
	if running; then
		if [[ -n $want && $want != "$PORT" ]]; then
			die "moto is already running on port $PORT (pid $PID), not $want; run scripts/moto.sh stop first"
		fi
		echo "moto: reusing the server at http://$HOST:$PORT (pid $PID)"
		return 0
	fi
	if [[ -n $PID ]] && is_server "$PID"; then
		info "the recorded server (pid $PID, port ${PORT:-?}) does not answer; stopping it"
		kill_server "$PID" || die "could not stop pid $PID"
	fi
	clear_state
	do_install quick >&2
	while :; do
		port=${want:-$(free_port)}
		t0=$(now_ms)
		rc=0
		launch "$port" || rc=$?
		((rc == 0)) && break
		tries=$((tries + 1))
		if [[ -n $want ]]; then
			log_tail
			die "port $want on $HOST is already in use"
		fi
		((tries < 3)) || die "three free ports were taken before moto could bind them"
		info "port $port was taken meanwhile; trying another"
	done
	t_ready=$(($(now_ms) - t0))
	t0=$(now_ms)
	warm_up "$port"
	t_warm=$(($(now_ms) - t0))
	echo "moto: started moto $MOTO_VERSION at http://$HOST:$port (pid $LAUNCHED; ready in $(fmt_ms "$t_ready"), warm-up $(fmt_ms "$t_warm"))"
	LAUNCHED='' # handed over: it outlives this script
}

# --- the other commands ----------------------------------------------------------------------
do_stop() {
	lock
	read_state
	if [[ -z $PID ]]; then
		clear_state
		echo "moto: not running"
		return 0
	fi
	if ! is_server "$PID"; then
		clear_state
		echo "moto: not running (removed the stale record of pid $PID)"
		return 0
	fi
	kill_server "$PID" || die "pid $PID survived KILL"
	clear_state
	echo "moto: stopped the server on port ${PORT:-?} (pid $PID)"
}

do_status() {
	need curl
	if running; then
		echo "http://$HOST:$PORT"
		return 0
	fi
	if [[ -n $PID ]] && is_server "$PID"; then
		info "pid $PID is alive but http://$HOST:${PORT:-?}/moto-api/ does not answer 200"
	else
		info "not running"
	fi
	return 1
}

do_env() {
	need curl
	running || die "moto is not running; start it with scripts/moto.sh start (or run a command under scripts/with-moto.sh)"
	local url="http://$HOST:$PORT"
	printf 'export AWS_ENDPOINT_URL=%q\n' "$url"
	printf 'export AWS_ACCESS_KEY_ID=testing\n'
	printf 'export AWS_SECRET_ACCESS_KEY=testing\n'
	# botocore (boto3, the aws CLI) reads AWS_DEFAULT_REGION, not AWS_REGION: set both alike.
	printf 'export AWS_REGION=%q\n' "${AWS_REGION:-eu-west-1}"
	printf 'export AWS_DEFAULT_REGION=%q\n' "${AWS_REGION:-eu-west-1}"
	printf 'export AWS_EC2_METADATA_DISABLED=true\n'
	printf 'export PITAGORA_MOTO_ENDPOINT=%q\n' "$url"
	printf 'export PITAGORA_CFN_LINT=%q\n' "$VENV/bin/cfn-lint"
}

do_reset() {
	need curl
	running || die "moto is not running"
	local code
	code=$("${CURL[@]}" --max-time 10 -o /dev/null -w '%{http_code}' -X POST "http://$HOST:$PORT/moto-api/reset" 2>&1) || true
	[[ $code == 200 ]] || die "POST /moto-api/reset answered ${code:-nothing} instead of 200"
	echo "moto: reset the server at http://$HOST:$PORT"
}

cmd=${1:-}
(($# > 0)) && shift
case $cmd in
install)
	(($# == 0)) || die "install takes no arguments"
	lock
	do_install
	;;
start)
	(($# <= 1)) || die "start takes at most one argument, a port"
	do_start "${1:-}"
	;;
stop) do_stop ;;
status) do_status ;;
env) do_env ;;
reset) do_reset ;;
-h | --help | help) usage ;;
'')
	usage >&2
	exit 2
	;;
*)
	usage >&2
	die "unknown command: $cmd"
	;;
esac
