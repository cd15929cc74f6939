"""The real-fluentd suite's checks (a-d, see scripts/fluentd_suite.py and
docs/fluentd-suite.md) and the fluentd processes they drive: the node-level fluentd with
pitagora's routes, and a second fluentd standing in for the legacy aggregator.
"""

import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from fluentd_harness import (
    HOST,
    STAGES,
    ForwardClient,
    Pitagora,
    Process,
    Processes,
    SuiteError,
    TcpProxy,
    aggregator_conf,
    aggregator_ids,
    buffer_chunks,
    cloudwatch_ids,
    delivery_figures,
    examples_with_fluentd,
    fluent_conf,
    free_port,
    port_open,
    start_moto,
    wait_until,
)

# Warnings fluentd may print about the routes that are expected, with why. Any other [warn]
# line fails check a.
ALLOWED_WARNINGS = [
    (
        "failed to resolve node name when configured",
        "the example's aggregator is a cluster DNS name; ignore_network_errors_at_startup "
        "lets fluentd start and resolve it later",
    ),
]
AUTHORITATIVE = {"Legacy": "aggregator", "Shadow": "aggregator", "Primary": "cloudwatch", "New": "cloudwatch"}
SINKS = {
    "Legacy": {"aggregator"},
    "Shadow": {"aggregator", "cloudwatch"},
    "Primary": {"aggregator", "cloudwatch"},
    "New": {"cloudwatch"},
}


class Result:
    """One row of the table: a check's name, its verdict and its figures."""

    def __init__(self, name, ok, figures, detail=""):
        self.name, self.ok, self.figures, self.detail = name, ok, figures, detail


class Fluentd:
    """One fluentd with its own directory, fluent.conf and log (its stdout: supervisor and
    worker), listening with in_forward on `port`; stopped at the end of the suite."""

    def __init__(self, suite, directory, conf_text, port, env=None):
        self.suite = suite
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "fluent.conf"
        self.conf.write_text(conf_text)
        self.port = port
        self.env = env
        self.proc = None

    def start(self):
        """Start and wait until in_forward accepts connections (inputs start after outputs)."""
        argv = [self.suite.fluentd, "-c", self.conf]
        self.proc = self.suite.processes.add(
            Process(argv, self.dir / "fluentd.log", env=self.env, cwd=self.dir).start()
        )

        def ready():
            if not self.proc.alive():
                raise SuiteError(f"fluentd in {self.dir} exited:\n{self.proc.log_tail()}")
            return port_open(self.port)

        ok, waited = wait_until(ready, self.suite.args.start_timeout)
        if not ok:
            raise SuiteError(f"fluentd in {self.dir} not listening after {waited:.0f} s:\n{self.proc.log_tail()}")
        return waited

    def terminate(self):
        """SIGTERM and wait for the whole group, as a DaemonSet rollout stops a pod."""
        return self.proc.terminate(timeout=self.suite.args.start_timeout)

    def kill(self):
        self.proc.kill()

    def log(self):
        return self.proc.log_text() if self.proc else ""


class Aggregator(Fluentd):
    """The legacy aggregator stand-in, on one port for its whole life (the routes name it)."""

    def __init__(self, suite, label):
        directory = suite.workdir / label
        self.out = directory / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        port = free_port()
        super().__init__(suite, directory, aggregator_conf(port, self.out), port)

    def ids(self, prefix):
        return aggregator_ids(self.out, prefix)


class RouteFluentd(Fluentd):
    """The node-level fluentd with pitagora's routes for the live pipeline at one stage, its
    buffer bases in its own directory (set in a copy of the spec, never in the text), the
    aggregator at 127.0.0.1, and CloudWatch Logs reached through the suite's proxy to moto."""

    def __init__(self, suite, label, stage, aggregator):
        directory = suite.workdir / label
        self.routes_dir = directory / "routes"
        self.routes_dir.mkdir(parents=True, exist_ok=True)
        self.forward_base = directory / "buffers-forward"
        self.cloudwatch_base = directory / "buffers-cloudwatch"
        self.aggregator = aggregator
        port = free_port()
        super().__init__(suite, directory, fluent_conf(self.routes_dir, port), port, suite.aws_env())
        self.set_stage(stage)

    def set_stage(self, stage):
        """Write the routes file with the stage's text, replacing it in one rename, as the
        kubelet swaps a ConfigMap volume's files."""
        pipeline = self.suite.pipeline
        doc = pipeline.copy_with(self.forward_base, self.cloudwatch_base, (HOST, self.aggregator.port))
        text = self.suite.pitagora.render(doc, stage, self.dir)
        staging = self.routes_dir / ".next"
        staging.write_text(text)
        staging.replace(self.routes_dir / pipeline.key)
        self.stage = stage

    def restart(self):
        """SIGTERM, wait for exit, start again: (stop seconds, graceful, start seconds)."""
        graceful, stopped = self.terminate()
        return stopped, graceful, self.start()


class Suite:
    """The run: its temp dir, the processes it started, moto and the proxy, the checks' rows."""

    def __init__(self, args):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="pitagora-fluentd-suite-"))
        self.processes = Processes()
        self.results = []
        self.fluentd = args.fluentd
        self.fluent_cat = args.fluent_cat
        self.pitagora = Pitagora(args.pitagora)
        pipelines = examples_with_fluentd()
        if not pipelines:
            raise SuiteError("no example under examples/ has spec.legacy.fluentd")
        self.pipelines = pipelines
        self.pipeline = pipelines[0]
        self.moto_url = self.proxy = self.logs = None

    def start_aws(self):
        """moto on a port of its own, the proxy in front of it, the routes' log groups."""
        import boto3
        from botocore.config import Config

        _, self.moto_url = start_moto(self.processes, self.workdir)
        self.proxy = TcpProxy(int(self.moto_url.rsplit(":", 1)[1]))
        self.proxy.open()
        self.logs = boto3.client(
            "logs",
            endpoint_url=self.moto_url,
            region_name=self.pipeline.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 2}, connect_timeout=3, read_timeout=30),
        )
        for _, group, _ in self.pipeline.routes:
            self.logs.create_log_group(logGroupName=group)

    def aws_env(self):
        """fluentd's environment: the plugin's aws-sdk-core reaches moto (through the proxy)
        by AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, with dummy credentials and
        the spec's region; no profile, no instance metadata."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.proxy.url,
            AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=self.proxy.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION=self.pipeline.region,
            AWS_DEFAULT_REGION=self.pipeline.region,
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    def record(self, result):
        self.results.append(result)
        mark = "PASS" if result.ok else "FAIL"
        print(f"fluentd-suite: {mark} {result.name}: {result.figures}", flush=True)
        if result.detail and not result.ok:
            print(result.detail, flush=True)

    def run_check(self, name, check):
        """Run one check; an exception fails it (with its message) and the suite goes on."""
        try:
            check()
        except Exception as e:  # noqa: BLE001 - one broken check must not hide the others
            self.record(Result(name, False, f"could not run: {type(e).__name__}", str(e)))
        finally:
            if self.proxy is not None and self.proxy.listener is None:
                try:
                    self.proxy.open()  # a check that closed it and failed: the next needs it
                except OSError as e:
                    raise SuiteError(f"could not reopen the CloudWatch proxy: {e}") from e

    def send_with_fluent_cat(self, port, tag, ids):
        """N events with unique ids, one JSON object a line, through fluent-cat."""
        lines = "".join(json.dumps({"id": i, "message": f"pitagora fluentd suite {i}"}) + "\n" for i in ids)
        argv = [self.fluent_cat, "--host", HOST, "--port", str(port), tag]
        done = subprocess.run(argv, input=lines, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise SuiteError(f"fluent-cat exited {done.returncode}: {done.stderr.strip()}")

    def counts(self, aggregator, group, prefix):
        """Counters of the ids with `prefix` at each sink."""
        return {
            "aggregator": aggregator.ids(prefix) if aggregator else {},
            "cloudwatch": cloudwatch_ids(self.logs, group, prefix),
        }

    def wait_delivered(self, aggregator, group, prefix, expected, sinks, timeout=None):
        """Poll until every id of `expected` is at each sink of `sinks`; (counts, seconds)."""
        timeout = timeout or self.args.deadline

        def complete():
            c = self.counts(aggregator, group, prefix)
            return c if all(set(expected) <= set(c[s]) for s in sinks) else None

        found, waited = wait_until(complete, timeout, interval=1.0)
        return found or self.counts(aggregator, group, prefix), waited


def figures_of(counts, expected, sinks):
    """`aggregator 50/50 dup 0, cloudwatch 0/0 ...`: per sink, expected ids found, duplicates,
    and copies where none belong."""
    parts, ok = [], True
    for sink in ("aggregator", "cloudwatch"):
        want = expected if sink in sinks else set()
        missing, dup, unexpected = delivery_figures(want, counts[sink])
        stray = sum(counts[sink].values()) if sink not in sinks else unexpected
        ok = ok and missing == 0 and stray == 0
        parts.append(f"{sink} {len(want) - missing}/{len(want)} dup {dup} stray {stray}")
    return ok, ", ".join(parts)


def run_checks(suite):
    """The checks named by --only, in order; each records its rows in the table."""
    only = {c.strip() for c in suite.args.only.split(",")}
    if "a" in only:
        check_dry_run(suite)
    live = [c for c in ("b", "c", "d") if c in only]
    if not live:
        return
    aggregator = Aggregator(suite, "aggregator")
    aggregator.start()
    for name, check in (("b", check_stages), ("c", check_faults), ("d", check_stage_change)):
        if name in only:
            check(suite, aggregator)


# --- a. dry-run ------------------------------------------------------------------------------


def check_dry_run(suite):
    """a. `fluentd --dry-run` of each stage's routes of each example, as teams include them,
    with the example's unresolvable aggregator host: exit 0 and no [warn] line but the
    allowed ones (ALLOWED_WARNINGS, each with why)."""
    for pipeline in suite.pipelines:
        for stage in STAGES:
            name = f"a dry-run {pipeline.source.name} {stage}"
            suite.run_check(name, lambda p=pipeline, s=stage, n=name: suite.record(dry_run_one(suite, p, s, n)))


def dry_run_one(suite, pipeline, stage, name):
    directory = suite.workdir / "dry-run" / pipeline.source.stem / stage.lower()
    routes_dir = directory / "routes"
    routes_dir.mkdir(parents=True, exist_ok=True)
    doc = pipeline.copy_with(directory / "buffers-forward", directory / "buffers-cloudwatch")  # the host stays as written
    (routes_dir / pipeline.key).write_text(suite.pitagora.render(doc, stage, directory))
    conf = directory / "fluent.conf"
    conf.write_text(fluent_conf(routes_dir, free_port()))
    argv = [suite.fluentd, "--dry-run", "-c", conf]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=directory)
    output = done.stdout + done.stderr
    (directory / "dry-run.log").write_text(output)
    warnings = [line for line in output.splitlines() if "[warn]" in line]
    allowed = [w for w in warnings if any(a in w for a, _ in ALLOWED_WARNINGS)]
    unexpected = [w for w in warnings if w not in allowed]
    ok = done.returncode == 0 and not unexpected
    figures = f"exit {done.returncode}, {len(unexpected)} warnings, {len(allowed)} allowed"
    detail = "" if ok else "\n".join(output.splitlines()[-30:])
    return Result(name, ok, figures, detail)


# --- b. where each stage delivers ------------------------------------------------------------


def check_stages(suite, aggregator):
    """b. Per stage, N events per route sent with fluent-cat arrive exactly where the stage
    says: Legacy the aggregator only, Shadow and Primary both, New CloudWatch only."""
    for stage in STAGES:
        suite.run_check(f"b deliver {stage}", lambda s=stage: deliver_one(suite, aggregator, s))


def deliver_one(suite, aggregator, stage):
    route = RouteFluentd(suite, f"deliver-{stage.lower()}", stage, aggregator)
    route.start()
    accepted_before = suite.proxy.accepted
    sent = []
    for index, (_, group, tag) in enumerate(suite.pipeline.routes):
        prefix = f"b-{stage}-{index}-"
        ids = {f"{prefix}{n:05d}" for n in range(suite.args.events)}
        suite.send_with_fluent_cat(route.port, tag, sorted(ids))
        sent.append((group, prefix, ids))
    waits = []
    for group, prefix, ids in sent:
        _, waited = suite.wait_delivered(aggregator, group, prefix, ids, SINKS[stage])
        waits.append(waited)
    # A graceful stop flushes what a memory buffer still holds: a copy to a sink where none
    # belongs would show now.
    route.terminate()
    rows, ok = [], True
    for group, prefix, ids in sent:
        route_ok, figures = figures_of(suite.counts(aggregator, group, prefix), ids, SINKS[stage])
        ok = ok and route_ok
        rows.append(f"{group}: {figures}")
    connected = suite.proxy.accepted - accepted_before
    figures = f"{'; '.join(rows)}; {max(waits):.1f} s; {connected} connections to CloudWatch"
    detail = "" if ok else endpoint_hint(stage, connected) + route.proc.log_tail()
    suite.record(Result(f"b deliver {stage}", ok, figures, detail))


def endpoint_hint(stage, connected):
    if "cloudwatch" in SINKS[stage] and connected == 0:
        return (
            "the CloudWatch plugin never connected to the suite's endpoint: its aws-sdk-core "
            "must honour AWS_ENDPOINT_URL (aws/aws-sdk-ruby#2880, July 2023)\n"
        )
    return ""


# --- c. faults -------------------------------------------------------------------------------


def check_faults(suite, aggregator):
    """c. At Primary: the aggregator down, CloudWatch unreachable, fluentd SIGKILLed with
    chunks buffered for CloudWatch; at Shadow: the same for the legacy store."""
    checks = [
        ("c Primary aggregator down", fault_aggregator_down),
        ("c Primary CloudWatch unreachable", fault_cloudwatch_down),
        ("c Primary SIGKILL with CloudWatch chunks", fault_kill_cloudwatch),
        ("c Shadow SIGKILL with aggregator down", fault_kill_shadow),
    ]
    for name, fault in checks:
        suite.run_check(name, lambda n=name, f=fault: f(suite, aggregator, n))


def first_route(suite, check):
    """(group, tag, prefix, ids) of the pipeline's first route for one check."""
    _, group, tag = suite.pipeline.routes[0]
    prefix = f"{check.split()[1]}-{check.split()[-1]}-{time.monotonic_ns()}-"
    return group, tag, prefix, {f"{prefix}{n:05d}" for n in range(suite.args.events)}


def wait_chunks(base, timeout):
    """Poll until file-buffer chunks appear under `base`: (count, seconds). A chunk file is
    created when an event is written to the buffer, so the wait is short."""
    chunks, waited = wait_until(lambda: buffer_chunks(base), timeout)
    return len(chunks or []), waited


def fault_aggregator_down(suite, aggregator, name):
    route = RouteFluentd(suite, "fault-aggregator-down", "Primary", aggregator)
    route.start()
    group, tag, prefix, ids = first_route(suite, name)
    aggregator.terminate()
    down = time.monotonic()
    suite.send_with_fluent_cat(route.port, tag, sorted(ids))
    counts, cw_wait = suite.wait_delivered(None, group, prefix, ids, {"cloudwatch"})
    chunks, _ = wait_chunks(route.forward_base, min(30, suite.args.deadline))
    aggregator.start()
    outage = time.monotonic() - down
    counts, drain = suite.wait_delivered(aggregator, group, prefix, ids, {"aggregator", "cloudwatch"}, max(suite.args.deadline, 2 * outage + 60))
    ok, figures = figures_of(counts, ids, {"aggregator", "cloudwatch"})
    ok = ok and chunks > 0
    figures += f"; CloudWatch in {cw_wait:.1f} s while down; {chunks} forward chunks on disk; drained {drain:.1f} s after return"
    route.terminate()
    suite.record(Result(name, ok, figures, "" if ok else route.proc.log_tail()))


def fault_cloudwatch_down(suite, aggregator, name):
    route = RouteFluentd(suite, "fault-cloudwatch-down", "Primary", aggregator)
    route.start()
    group, tag, prefix, ids = first_route(suite, name)
    suite.proxy.close()
    down = time.monotonic()
    log_mark = len(route.log())
    suite.send_with_fluent_cat(route.port, tag, sorted(ids))
    counts, agg_wait = suite.wait_delivered(aggregator, group, prefix, ids, {"aggregator"})
    chunks, _ = wait_chunks(route.cloudwatch_base, min(30, suite.args.deadline))
    failed, _ = wait_until(lambda: "failed to flush the buffer" in route.log()[log_mark:], suite.args.deadline)
    suite.proxy.open()
    outage = time.monotonic() - down
    counts, drain = suite.wait_delivered(aggregator, group, prefix, ids, {"aggregator", "cloudwatch"}, max(suite.args.deadline, 2 * outage + 60))
    ok, figures = figures_of(counts, ids, {"aggregator", "cloudwatch"})
    ok = ok and chunks > 0 and bool(failed)
    figures += f"; aggregator in {agg_wait:.1f} s meanwhile; {chunks} CloudWatch chunks on disk; flush failed: {'yes' if failed else 'no'}; drained {drain:.1f} s after return"
    route.terminate()
    suite.record(Result(name, ok, figures, "" if ok else route.proc.log_tail()))


def fault_kill_cloudwatch(suite, aggregator, name):
    route = RouteFluentd(suite, "fault-kill-cloudwatch", "Primary", aggregator)
    route.start()
    group, tag, prefix, ids = first_route(suite, name)
    suite.proxy.close()
    suite.send_with_fluent_cat(route.port, tag, sorted(ids))
    # Accepted: the forward store (first, ignore_error) has them; so does the CloudWatch buffer.
    suite.wait_delivered(aggregator, group, prefix, ids, {"aggregator"})
    chunks, _ = wait_chunks(route.cloudwatch_base, min(10, suite.args.deadline))
    route.kill()
    suite.proxy.open()
    route.start()
    counts, drain = suite.wait_delivered(aggregator, group, prefix, ids, {"aggregator", "cloudwatch"})
    missing, dup, _ = delivery_figures(ids, counts["cloudwatch"])
    ok = missing == 0
    figures = f"cloudwatch {len(ids) - missing}/{len(ids)} after SIGKILL and restart, lost {missing}, dup {dup}; {chunks} CloudWatch chunks on disk at the kill; {drain:.1f} s"
    route.terminate()
    suite.record(Result(name, ok, figures, "" if ok else route.proc.log_tail()))


def fault_kill_shadow(suite, aggregator, name):
    route = RouteFluentd(suite, "fault-kill-shadow", "Shadow", aggregator)
    route.start()
    group, tag, prefix, ids = first_route(suite, name)
    aggregator.terminate()
    suite.send_with_fluent_cat(route.port, tag, sorted(ids))
    chunks, _ = wait_chunks(route.forward_base, min(30, suite.args.deadline))
    route.kill()
    route.start()
    aggregator.start()
    counts, drain = suite.wait_delivered(aggregator, group, prefix, ids, {"aggregator"})
    missing, dup, _ = delivery_figures(ids, counts["aggregator"])
    cw_missing, _, _ = delivery_figures(ids, counts["cloudwatch"])
    ok = missing == 0 and chunks > 0
    figures = f"aggregator {len(ids) - missing}/{len(ids)} after SIGKILL, restart and return, lost {missing}, dup {dup}; {chunks} forward chunks on disk at the kill; cloudwatch {len(ids) - cw_missing}/{len(ids)} (not authoritative); {drain:.1f} s"
    route.terminate()
    suite.record(Result(name, ok, figures, "" if ok else route.proc.log_tail()))


# --- d. stage changes under a steady stream --------------------------------------------------


class Stream:
    """A steady stream of acked events to one port, in a thread: each event is resent until
    acked and remembered with the moment its connection was opened (which tells which fluentd
    process, and so which stage, accepted it)."""

    def __init__(self, port, tag, prefix, rate):
        self.client = ForwardClient(port)
        self.tag, self.prefix, self.interval = tag, prefix, 1.0 / rate
        self.accepted = []  # (id, connection opened at)
        self.attempts = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=120)
        self.client.close()

    def _run(self):
        n = 0
        while not self.stopping.is_set():
            event_id = f"{self.prefix}{n:06d}"
            while not self.stopping.is_set():
                self.attempts += 1
                if self.client.send(self.tag, {"id": event_id, "message": f"stream {event_id}"}):
                    self.accepted.append((event_id, self.client.connected_at))
                    break
                self.stopping.wait(0.2)  # fluentd restarting: try again on a new connection
            n += 1
            self.stopping.wait(self.interval)


def check_stage_change(suite, aggregator):
    """d. Legacy → Shadow → Primary → New applied as the controller does it (the routes file
    rewritten with the next stage's text, fluentd restarted like a DaemonSet rollout: SIGTERM,
    wait for exit, start) under a steady stream; loss at the authoritative store fails."""
    suite.run_check("d stage changes under load", lambda: stage_change(suite, aggregator))


def stage_change(suite, aggregator):
    route = RouteFluentd(suite, "stage-change", "Legacy", aggregator)
    route.start()
    _, group, tag = suite.pipeline.routes[0]
    stream, by_stage, restarts = stream_through_stages(suite, route, tag)

    def authoritative_complete():
        c = suite.counts(aggregator, group, stream.prefix)
        return c if all(ids <= set(c[AUTHORITATIVE[s]]) for s, ids in by_stage.items()) else None

    counts, waited = wait_until(authoritative_complete, suite.args.deadline, interval=1.0)
    counts = counts or suite.counts(aggregator, group, stream.prefix)
    lost = sum(len(ids - set(counts[AUTHORITATIVE[s]])) for s, ids in by_stage.items())
    copies = {"aggregator": 0, "cloudwatch": 0}  # missing copies where the stage also sends
    for stage, ids in by_stage.items():
        for sink in SINKS[stage] - {AUTHORITATIVE[stage]}:
            copies[sink] += len(ids - set(counts[sink]))
    dup = {k: sum(n - 1 for n in counts[k].values() if n > 1) for k in ("aggregator", "cloudwatch")}
    stranded = len(buffer_chunks(route.forward_base))
    route.terminate()
    accepted = len(stream.accepted)
    figures = (
        f"accepted {accepted} ({stream.attempts - accepted} resends), per stage "
        + "/".join(str(len(by_stage[s])) for s in STAGES)
        + f"; lost at the authoritative store {lost}; dup aggregator {dup['aggregator']} cloudwatch {dup['cloudwatch']}"
        + f"; missing non-authoritative copies aggregator {copies['aggregator']} cloudwatch {copies['cloudwatch']}"
        + f"; forward chunks stranded after New {stranded}; restarts {', '.join(restarts)}; settled {waited:.1f} s"
    )
    suite.record(Result("d stage changes under load", lost == 0, figures, "" if lost == 0 else route.proc.log_tail()))


def stream_through_stages(suite, route, tag):
    """Stream to `route` (at Legacy) while moving it through every stage as the controller
    does: the routes file rewritten, then SIGTERM, wait for exit, start. Returns the stream,
    the accepted ids by the stage of the fluentd that acked them (told by when their
    connection opened: before or after each old process was seen gone), and the restarts'
    figures."""
    stream = Stream(route.port, tag, f"d-{time.monotonic_ns()}-", suite.args.rate)
    stream.start()
    exits, restarts = [], []
    try:
        for next_stage in STAGES[1:]:
            settled = len(stream.accepted) + suite.args.rate * suite.args.settle
            wait_until(lambda n=settled: len(stream.accepted) >= n, suite.args.deadline)
            route.set_stage(next_stage)
            graceful, stopped = route.terminate()
            exits.append(time.monotonic())
            started = route.start()
            restarts.append(f"{next_stage} {stopped:.1f}+{started:.1f} s{'' if graceful else ' (SIGKILL)'}")
        settled = len(stream.accepted) + suite.args.rate * suite.args.settle
        wait_until(lambda: len(stream.accepted) >= settled, suite.args.deadline)
    finally:
        stream.stop()
    by_stage = {s: set() for s in STAGES}
    for event_id, opened in stream.accepted:
        by_stage[STAGES[sum(1 for e in exits if e < opened)]].add(event_id)
    return stream, by_stage, restarts
