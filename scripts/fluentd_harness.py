"""The machinery of the real-fluentd suite (scripts/fluentd_suite.py): processes started in
their own session and always stopped, moto on a free loopback port, a TCP proxy that can be
closed and reopened, a fluentd forward-protocol client that waits for acks, the spec copies
and renders through the real pitagora binary, and the counting of events by id at each sink.

Nothing here needs fluentd, so `fluentd_suite.py --self-test` proves it on any machine with
the project's moto venv. Every wait is a condition polled until a deadline.
"""

import base64
import copy
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STAGES = ["Legacy", "Shadow", "Primary", "New"]
DEFAULT_FORWARD_BASE = "/var/log/fluentd-buffers/pitagora"
DEFAULT_CLOUDWATCH_BASE = "/var/log/fluentd-buffers/pitagora-cloudwatch"


class SuiteError(Exception):
    """A failure of the suite's own setup (not a check's verdict): the run stops with it."""


# --- waiting -------------------------------------------------------------------------------


def wait_until(condition, timeout, interval=0.2):
    """Poll `condition` until it returns a truthy value or `timeout` seconds pass.

    Returns (value, seconds waited); the value is the last falsy one on timeout. Polling a
    condition (never a bare sleep) is what makes the figures mean something: a check waits
    exactly as long as fluentd takes, and its deadline is the only guess.
    """
    start = time.monotonic()
    while True:
        value = condition()
        elapsed = time.monotonic() - start
        if value or elapsed >= timeout:
            return value, elapsed
        time.sleep(min(interval, max(0.0, timeout - elapsed)))


def free_port():
    """A TCP port on loopback that nothing listens on now (bound, read, released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port, timeout=0.5):
    """Whether something accepts TCP connections on loopback `port`."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- processes -----------------------------------------------------------------------------


def group_members(pgid):
    """Live (non-zombie) processes of process group `pgid`, read from /proc.

    A worker whose supervisor died is re-parented; where PID 1 does not reap, it stays a zombie
    in the group, and `killpg(pgid, 0)` would call the group alive for ever.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class Process:
    """A command in its own session (so its whole tree can be signalled), logging to a file.

    Stopped by `stop()` whatever state it is in; `Processes` calls that for every process it
    started when the suite ends, also on failure.
    """

    def __init__(self, argv, log_path, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.popen = None

    def start(self):
        """Launch; the log file is appended to, so a restart keeps the earlier lines."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    @property
    def pgid(self):
        return self.popen.pid

    def alive(self):
        """Whether any process of its group still runs (the direct child is reaped here)."""
        if self.popen is None:
            return False
        self.popen.poll()
        return bool(group_members(self.pgid))

    def signal_group(self, sig):
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass

    def wait_gone(self, timeout):
        """Poll until no process of the group is left; True when gone in time."""
        gone, _ = wait_until(lambda: not self.alive(), timeout)
        return gone

    def terminate(self, timeout=60):
        """SIGTERM to the leader (as Kubernetes does to a container's PID 1), then wait for the
        whole group; SIGKILL after `timeout`. Returns (graceful, seconds)."""
        if not self.alive():
            return True, 0.0
        start = time.monotonic()
        try:
            os.kill(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        graceful = self.wait_gone(timeout)
        if not graceful:
            self.kill()
        return graceful, time.monotonic() - start

    def kill(self):
        """SIGKILL to every process of the group (a node or container crash) and wait."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGKILL)
        if not self.wait_gone(30):
            raise SuiteError(f"process group {self.pgid} ({self.argv[0]}) survived SIGKILL")

    def stop(self):
        """Whatever state it is in: gone afterwards."""
        if self.alive():
            self.terminate(timeout=20)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log_text().splitlines()[-lines:])


class Processes:
    """Every process the suite starts, so that all of them are stopped at the end."""

    def __init__(self):
        self.started = []

    def add(self, process):
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            try:
                process.stop()
            except Exception as e:  # noqa: BLE001 - stop the others anyway
                print(f"fluentd-suite: could not stop {process.argv[0]}: {e}", flush=True)


# --- moto and the proxy in front of it -----------------------------------------------------


def start_moto(processes, workdir, python=None):
    """The project's moto launcher (scripts/moto_server.py, as scripts/moto.sh runs it) on a
    free loopback port of its own, so the suite shares no state with other tests. Returns
    (process, endpoint URL)."""
    port = free_port()
    argv = [python or sys.executable, ROOT / "scripts/moto_server.py", "-H", HOST, "-p", port]
    proc = processes.add(Process(argv, Path(workdir) / "moto.log", cwd=ROOT).start())
    url = f"http://{HOST}:{port}"

    def ready():
        if not proc.alive():
            raise SuiteError(f"moto exited before it was ready:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    ok, waited = wait_until(ready, 30)
    if not ok:
        raise SuiteError(f"moto did not answer on {url} within {waited:.0f} s")
    return proc, url


class TcpProxy:
    """A loopback TCP proxy to `upstream` that the suite can close (listener and every
    connection: the peer becomes unreachable, as a network outage makes it) and reopen on the
    same port, without restarting what is behind it (moto would lose its state)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.listener = None
        self.sockets = set()
        self.lock = threading.Lock()
        self.accepted = 0

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"

    def open(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self.listener = listener
        self.acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self.acceptor.start()

    def close(self):
        with self.lock:
            listener, self.listener = self.listener, None
            doomed, self.sockets = self.sockets, set()
        if listener is not None:
            # close() alone leaves a socket that a thread is blocked accepting on listening
            # (Linux): shutdown wakes the accept and stops listening, so the port is free.
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
            self.acceptor.join(timeout=5)
        for s in doomed:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection((HOST, self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self.accepted += 1
                self.sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.sockets.difference_update((source, sink))
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


# --- the forward protocol (a minimal MessagePack, as the venv has no msgpack) --------------


def mp_pack(value):
    """MessagePack of None, bool, int, float, str, bytes, list and dict: all fluentd's forward
    protocol needs for a message and its ack."""
    if value is None:
        return b"\xc0"
    if value is True or value is False:
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack("b", value)
        for lo, hi, code, fmt in (
            (0, 2**8, 0xCC, ">B"),
            (0, 2**16, 0xCD, ">H"),
            (0, 2**32, 0xCE, ">I"),
            (0, 2**64, 0xCF, ">Q"),
            (-(2**7), 2**7, 0xD0, ">b"),
            (-(2**15), 2**15, 0xD1, ">h"),
            (-(2**31), 2**31, 0xD2, ">i"),
            (-(2**63), 2**63, 0xD3, ">q"),
        ):
            if lo <= value < hi:
                return bytes([code]) + struct.pack(fmt, value)
        raise ValueError(f"integer out of MessagePack's range: {value}")
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return _mp_header(len(data), 0xA0, 32, (0xD9, 0xDA, 0xDB)) + data
    if isinstance(value, bytes):
        return _mp_header(len(value), None, 0, (0xC4, 0xC5, 0xC6)) + value
    if isinstance(value, (list, tuple)):
        head = _mp_header(len(value), 0x90, 16, (None, 0xDC, 0xDD))
        return head + b"".join(mp_pack(v) for v in value)
    if isinstance(value, dict):
        head = _mp_header(len(value), 0x80, 16, (None, 0xDE, 0xDF))
        return head + b"".join(mp_pack(k) + mp_pack(v) for k, v in value.items())
    raise TypeError(f"cannot pack {type(value).__name__}")


def _mp_header(n, fix, fix_limit, codes):
    if fix is not None and n < fix_limit:
        return bytes([fix | n])
    for code, fmt, limit in zip(codes, (">B", ">H", ">I"), (2**8, 2**16, 2**32)):
        if code is not None and n < limit:
            return bytes([code]) + struct.pack(fmt, n)
    raise ValueError("too long for MessagePack")


class Incomplete(Exception):
    """The buffer ends inside a MessagePack value: read more."""


def mp_unpack(data, at=0):
    """One MessagePack value from `data` at `at`: (value, next offset); `Incomplete` when the
    data stops short. Covers what `mp_pack` writes, plus fluentd's EventTime (ext 0)."""

    def take(n):
        nonlocal at
        if at + n > len(data):
            raise Incomplete
        chunk = data[at : at + n]
        at += n
        return chunk

    def number(fmt):
        return struct.unpack(fmt, take(struct.calcsize(fmt)))[0]

    code = take(1)[0]
    if code < 0x80:
        return code, at
    if code >= 0xE0:
        return code - 0x100, at
    if 0xA0 <= code <= 0xBF:
        return take(code & 0x1F).decode(), at
    if 0x90 <= code <= 0x9F or code in (0xDC, 0xDD):
        n = code & 0x0F if code <= 0x9F else number(">H" if code == 0xDC else ">I")
        items = []
        for _ in range(n):
            item, at = mp_unpack(data, at)
            items.append(item)
        return items, at
    if 0x80 <= code <= 0x8F or code in (0xDE, 0xDF):
        n = code & 0x0F if code <= 0x8F else number(">H" if code == 0xDE else ">I")
        out = {}
        for _ in range(n):
            key, at = mp_unpack(data, at)
            out[key], at = mp_unpack(data, at)
        return out, at
    simple = {0xC0: None, 0xC2: False, 0xC3: True}
    if code in simple:
        return simple[code], at
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h"}
    ints.update({0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"})
    if code in ints:
        return number(ints[code]), at
    if code in (0xD9, 0xDA, 0xDB):
        return take(number({0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}[code])).decode(), at
    if code in (0xC4, 0xC5, 0xC6):
        return take(number({0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}[code])), at
    if code == 0xD7:  # fixext 8: fluentd's EventTime (seconds, nanoseconds)
        ext_type, payload = take(1)[0], take(8)
        return (struct.unpack(">II", payload) if ext_type == 0 else payload), at
    raise ValueError(f"MessagePack type 0x{code:02x} is not read here")


class ForwardClient:
    """Sends events one at a time to a fluentd `in_forward` in Message mode with the `chunk`
    option, and waits for the `ack` in_forward returns once the event is in the routes'
    buffers. An event is "accepted" exactly when acked; until then it is resent on a new
    connection (at-least-once), so the figures after a restart count fluentd's losses, not the
    sender's. (fluent-cat keeps its own unacknowledged buffer and gives up after
    --retry-limit; its losses would be charged to fluentd.)"""

    def __init__(self, port, timeout=5.0):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.counter = 0
        self.connected_at = None  # time.monotonic() when the current connection was opened

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, tag, record):
        """One attempt: True when acked, False on any connection error or a missing ack."""
        self.counter += 1
        chunk = base64.b64encode(f"{os.getpid()}-{self.counter}".encode()).decode()
        message = mp_pack([tag, int(time.time()), record, {"chunk": chunk}])
        try:
            if self.sock is None:
                self.sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
                self.connected_at = time.monotonic()
                self.sock.settimeout(self.timeout)
            self.sock.sendall(message)
            data = b""
            while True:
                received = self.sock.recv(4096)
                if not received:
                    raise OSError("connection closed before the ack")
                data += received
                try:
                    answer, _ = mp_unpack(data)
                    break
                except Incomplete:
                    continue
            if isinstance(answer, dict) and answer.get("ack") == chunk:
                return True
            raise OSError(f"unexpected answer {answer!r}")
        except (OSError, ValueError):
            self.close()
            return False


class FakeForwardServer:
    """A stand-in for fluentd's in_forward in the self-test: decodes Message-mode events and
    acks them, and can be closed and reopened like a restarting fluentd."""

    def __init__(self):
        self.port = free_port()
        self.records = []
        self.proxy = None  # reuse TcpProxy's close/open by listening behind it
        self.inner = socket.socket()
        self.inner.bind((HOST, 0))
        self.inner.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()
        self.proxy = TcpProxy(self.inner.getsockname()[1])
        self.proxy.port = self.port

    def _serve(self):
        while True:
            conn, _ = self.inner.accept()
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn):
        data = b""
        with conn:
            while received := conn.recv(4096):
                data += received
                while data:
                    try:
                        message, used = mp_unpack(data)
                    except Incomplete:
                        break
                    data = data[used:]
                    tag, _, record, option = message
                    self.records.append((tag, record))
                    conn.sendall(mp_pack({"ack": option["chunk"]}))

    def open(self):
        self.proxy.open()

    def close(self):
        self.proxy.close()


# --- pipelines: spec copies and renders through the real pitagora binary -------------------


class Pipeline:
    """One example document with `spec.legacy.fluentd`, and the copies of it the suite renders.

    The suite never edits pitagora's rendered text: whatever it changes (buffer bases, the
    aggregator's address) it changes in a copy of the spec, so that fluentd loads exactly what
    pitagora renders from that spec.
    """

    def __init__(self, source, document):
        self.source = Path(source)
        self.document = document
        meta = document.get("metadata", {})
        self.name = f"{meta.get('namespace', 'default')}/{meta.get('name', '?')}"
        self.fluentd = document["spec"]["legacy"]["fluentd"]
        self.region = document["spec"].get("region", "us-east-1")

    @property
    def key(self):
        """The routes file's name: the ConfigMap key, which fluentd's `@include *.conf` reads."""
        config = self.fluentd.get("config") or {}
        return config.get("key") or self.name.replace("/", ".") + ".conf"

    @property
    def routes(self):
        """(match pattern, log group, a tag the pattern matches) per route."""
        return [(r["match"], r["logGroup"], tag_for(r["match"])) for r in self.fluentd["routes"]]

    def copy_with(self, forward_base, cloudwatch_base, target=None):
        """The document with the buffer bases (and, given `target` = (host, port), the
        aggregator's address) replaced, as a team would write them in the spec."""
        doc = copy.deepcopy(self.document)
        fluentd = doc["spec"]["legacy"]["fluentd"]
        if fluentd.get("target") is not None:
            buffer = fluentd["target"].setdefault("buffer", {})
            buffer["path"] = str(forward_base)
            if target is not None:
                fluentd["target"]["host"], fluentd["target"]["port"] = target
        elif fluentd.get("store"):
            fluentd["store"] = rebase_verbatim_store(fluentd["store"], forward_base)
        fluentd.setdefault("cloudWatchBuffer", {})["path"] = str(cloudwatch_base)
        return doc


def tag_for(pattern):
    """A tag `pattern` matches: `**` and `*` parts filled in, the first of `{a,b}` taken."""
    parts = []
    for part in pattern.split("."):
        if part == "**":
            parts.append("suite")
        elif "{" in part:
            head, _, rest = part.partition("{")
            choice, _, tail = rest.partition("}")
            parts.append(head + choice.split(",")[0] + tail)
        else:
            parts.append(part.replace("*", "x"))
    return ".".join(parts)


def rebase_verbatim_store(store, base):
    """A verbatim store's file-buffer `path` moved under `base`, keeping its `{{route}}` part."""
    lines = []
    for line in store.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "path" and "{{route}}" in words[1]:
            tail = words[1][words[1].index("{{route}}") :]
            line = line[: len(line) - len(line.lstrip())] + f"path {base}/{tail}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def examples_with_fluentd(directory=None):
    """Every document under examples/ with `spec.legacy.fluentd`, in file order."""
    found = []
    for path in sorted(Path(directory or ROOT / "examples").rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if (((doc or {}).get("spec") or {}).get("legacy") or {}).get("fluentd"):
                found.append(Pipeline(path, doc))
    return found


class Pitagora:
    """The pitagora binary, run as a team runs it: `render -f FILE --only fluentd --stage S`."""

    def __init__(self, binary):
        self.binary = Path(binary)
        if not os.access(self.binary, os.X_OK):
            raise SuiteError(f"no pitagora binary at {self.binary}: cargo build --bin pitagora")

    def render(self, document, stage, workdir):
        """The routes text of `document` at `stage`; SuiteError with pitagora's stderr if it
        refuses the spec."""
        spec_path = Path(workdir) / f"spec-{stage.lower()}-{time.monotonic_ns()}.yaml"
        spec_path.write_text(yaml.safe_dump(document, sort_keys=False))
        argv = [self.binary, "render", "-f", spec_path, "--only", "fluentd", "--stage", stage]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PITAGORA_", "RUST_"))}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        if done.returncode != 0:
            raise SuiteError(f"pitagora render refused {spec_path}:\n{done.stderr.strip()}")
        return done.stdout


def fluent_conf(routes_dir, port, catch_all="@type null"):
    """The node-level fluentd's configuration as docs/migrating-from-fluentd.md asks a
    team to write it: a forward input, the routes directory `@include`d before the
    aggregator's catch-all `<match **>`, and `<label @FLUENT_LOG>` for fluentd's own events
    (without it the top-level catch-all captures `fluent.**` and fluentd warns)."""
    return f"""# The node-level fluentd as in pitagora's docs/migrating-from-fluentd.md.
<source>
  @type forward
  bind {HOST}
  port {port}
</source>

@include {routes_dir}/*.conf

# The aggregator's catch-all, after pitagora's routes.
<match **>
  {catch_all}
</match>

<label @FLUENT_LOG>
  <match fluent.**>
    @type null
  </match>
</label>
"""


def aggregator_conf(port, out_dir):
    """A second fluentd standing in for the legacy aggregator: in_forward, and out_file writing
    each record as one JSON line (memory buffer flushed at once, so a count is never held back
    by a daily timekey)."""
    return f"""<source>
  @type forward
  bind {HOST}
  port {port}
</source>

<match **>
  @type file
  path {out_dir}/received
  append true
  <format>
    @type json
  </format>
  <buffer>
    @type memory
    flush_mode immediate
  </buffer>
</match>

<label @FLUENT_LOG>
  <match fluent.**>
    @type null
  </match>
</label>
"""


# --- counting events by id -------------------------------------------------------------------


def aggregator_ids(out_dir, prefix):
    """Counter of the event ids starting with `prefix` in the aggregator's out_file output
    (every `received*` file, one JSON record a line; partial or foreign lines are skipped)."""
    found = Counter()
    for path in Path(out_dir).rglob("received*"):
        if not path.is_file() or path.name.startswith("buffer."):
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                event_id = json.loads(line).get("id", "")
            except (ValueError, AttributeError):
                continue
            if isinstance(event_id, str) and event_id.startswith(prefix):
                found[event_id] += 1
    return found


def cloudwatch_ids(logs, group, prefix):
    """Counter of the event ids starting with `prefix` in the messages of log group `group`
    (the plugin writes each record as its JSON message); an absent group counts nothing."""
    found = Counter()
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            for event in page.get("events", []):
                try:
                    event_id = json.loads(event["message"]).get("id", "")
                except (ValueError, AttributeError):
                    continue
                if isinstance(event_id, str) and event_id.startswith(prefix):
                    found[event_id] += 1
    except logs.exceptions.ResourceNotFoundException:
        pass
    return found


def buffer_chunks(base):
    """The file-buffer chunk files (`buffer.*.log`, without their `.meta`) under `base`."""
    return sorted(p for p in Path(base).rglob("buffer.*") if p.suffix == ".log")


def delivery_figures(expected, found):
    """(missing, duplicated, unexpected) of a sink: ids expected but absent, extra copies of
    ids present, and ids present that were not expected there."""
    missing = sum(1 for i in expected if found[i] == 0)
    duplicated = sum(n - 1 for i, n in found.items() if n > 1)
    unexpected = sum(1 for i in found if i not in expected)
    return missing, duplicated, unexpected
