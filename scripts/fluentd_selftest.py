"""`fluentd_suite.py --self-test`: the suite's own machinery proven without fluentd, so that a
failure of the real-fluentd suite is fluentd's (or pitagora's), never the harness's.

Runs against the suite's own moto and the real pitagora binary: the proxy closing and
reopening, counting events by id at both sinks, the acked forward client across a restarting
peer, process groups stopped by SIGTERM and SIGKILL, the spec copies rendered by pitagora, and
the fluent.conf wrapper.
"""

import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from fluentd_checks import Result, RouteFluentd, dry_run_one, stream_through_stages
from fluentd_harness import (
    STAGES,
    FakeForwardServer,
    ForwardClient,
    Process,
    aggregator_conf,
    aggregator_ids,
    buffer_chunks,
    cloudwatch_ids,
    delivery_figures,
    fluent_conf,
    mp_pack,
    mp_unpack,
    port_open,
    rebase_verbatim_store,
    tag_for,
    wait_until,
)

# The stores each stage renders, in order, `!` marking ignore_error: what checks b-d rely on.
SHAPES = {
    "Legacy": ["forward"],
    "Shadow": ["!cloudwatch_logs", "forward"],
    "Primary": ["!forward", "cloudwatch_logs"],
    "New": ["cloudwatch_logs"],
}


def run_self_test(suite):
    """Every self-test, each a row of the table (the stand-in restarts in a blink: half a
    second of stream between stage changes is plenty)."""
    suite.args.settle = min(suite.args.settle, 0.5)
    for name, test in (
        ("self wait_until polls to a deadline", self_wait),
        ("self process groups stop", self_processes),
        ("self proxy closes and reopens", self_proxy),
        ("self CloudWatch ids counted", self_cloudwatch_counting),
        ("self aggregator ids counted", self_aggregator_counting),
        ("self MessagePack round trip", self_msgpack),
        ("self acked stream across a restart", self_forward_client),
        ("self tags and verbatim stores", self_tags),
        ("self renders through pitagora", self_render),
        ("self fluent.conf wrapper", self_wrapper),
        ("self dry-run through a stand-in fluentd", self_dry_run),
        ("self stage changes through a stand-in fluentd", self_stage_change),
    ):
        suite.run_check(name, lambda n=name, t=test: suite.record(Result(n, *t(suite))))


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def self_wait(suite):
    start = time.monotonic()
    value, waited = wait_until(lambda: time.monotonic() - start > 0.3 and "done", 5, 0.05)
    expect(value == "done" and 0.3 <= waited < 2, f"{value!r} after {waited:.2f} s")
    value, waited = wait_until(lambda: None, 0.3, 0.05)
    expect(value is None and 0.3 <= waited < 1, f"a false condition ended after {waited:.2f} s")
    return True, f"true after {waited:.2f} s; false gives up at its deadline"


def self_processes(suite):
    """SIGTERM reaches the leader and the wait covers its group; SIGKILL takes the group."""
    log = suite.workdir / "self-processes.log"
    py = sys.executable
    term = suite.processes.add(Process([py, "-c", "import time; time.sleep(60)"], log).start())
    expect(term.alive(), "the process did not start")
    graceful, seconds = term.terminate(timeout=10)
    expect(graceful and not term.alive(), "SIGTERM did not end it")
    # A leader with a child that outlives it: only the group kill stops both.
    tree = [py, "-c", "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"]
    killed = suite.processes.add(Process(tree, log).start())
    wait_until(lambda: len(_members(killed)) == 2, 10)
    expect(len(_members(killed)) == 2, f"expected 2 processes in the group, saw {_members(killed)}")
    killed.kill()
    expect(not killed.alive(), "the group survived SIGKILL")
    return True, f"SIGTERM stopped in {seconds:.2f} s; SIGKILL took a group of 2"


def _members(process):
    from fluentd_harness import group_members

    return group_members(process.pgid)


def self_proxy(suite):
    """Through the proxy moto answers; closed, the client cannot connect; reopened, it can."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "logs",
        endpoint_url=suite.proxy.url,
        region_name=suite.pipeline.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )
    group = "/pitagora/self-test/proxy"
    client.create_log_group(logGroupName=group)
    # Closed and reopened with no connection in between: the port must be free at once.
    suite.proxy.close()
    suite.proxy.open()
    suite.proxy.close()
    expect(not port_open(suite.proxy.port), "the closed proxy still accepts connections")
    try:
        client.describe_log_groups(logGroupNamePrefix=group)
        refused = False
    except Exception as e:  # noqa: BLE001 - botocore's EndpointConnectionError
        refused = "connect" in str(e).lower()
    finally:
        suite.proxy.open()
    expect(refused, "the closed proxy still answered")
    names = [g["logGroupName"] for g in client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]]
    expect(names == [group], f"after reopening: {names}")
    return True, f"{suite.proxy.accepted} connections; port refused while closed, reopened at once; moto's state kept"


def self_cloudwatch_counting(suite):
    """Ids of one prefix counted from JSON messages, duplicates kept, others ignored."""
    group = "/pitagora/self-test/count"
    suite.logs.create_log_group(logGroupName=group)
    suite.logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    messages = [json.dumps({"id": i}) for i in ("p-1", "p-2", "p-2", "q-1")] + ["not json", "[1]"]
    events = [{"timestamp": now + n, "message": m} for n, m in enumerate(messages)]
    suite.logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    found = cloudwatch_ids(suite.logs, group, "p-")
    expect(found == Counter({"p-1": 1, "p-2": 2}), f"counted {dict(found)}")
    figures = delivery_figures({"p-1", "p-2", "p-3"}, found)
    expect(figures == (1, 1, 0), f"missing/dup/unexpected {figures}")
    expect(cloudwatch_ids(suite.logs, "/pitagora/self-test/absent", "p-") == Counter(), "absent group")
    return True, "p-1 x1, p-2 x2; q-1 and non-JSON ignored; missing 1 dup 1"


def self_aggregator_counting(suite):
    """out_file's output lines counted; buffer files and foreign ids left out."""
    out = suite.workdir / "self-aggregator"
    (out / "received.20261206.log.d").mkdir(parents=True)
    (out / "received.20261206.log").write_text(
        "\n".join(json.dumps({"id": i}) for i in ("a-1", "a-2", "a-2", "b-1")) + "\n{partial"
    )
    (out / "received.20261206.log.d" / "buffer.b1.log").write_text(json.dumps({"id": "a-9"}) + "\n")
    found = aggregator_ids(out, "a-")
    expect(found == Counter({"a-1": 1, "a-2": 2}), f"counted {dict(found)}")
    chunks = [p.name for p in buffer_chunks(out)]
    expect(chunks == ["buffer.b1.log"], f"chunks {chunks}")
    return True, "a-1 x1, a-2 x2; buffer chunk and partial line ignored"


def self_msgpack(suite):
    values = [None, True, False, 0, 127, 128, 65536, -1, -33, -40000, 2**40, 1.5, "", "x" * 40,
              "é" * 300, b"\x00\x01", [1, [2, "three"]], {"a": {"b": [None]}}, list(range(20))]
    for value in values:
        packed = mp_pack(value)
        back, used = mp_unpack(packed)
        expect(back == value and used == len(packed), f"{value!r} came back as {back!r}")
    return True, f"{len(values)} values round-trip"


def self_forward_client(suite):
    """The acked client against a stand-in in_forward that closes and reopens mid-stream:
    every event is accepted, resends are counted, none is lost."""
    server = FakeForwardServer()
    server.open()
    client = ForwardClient(server.port, timeout=2)
    accepted, attempts = [], 0
    for n in range(30):
        if n == 15:
            server.close()
            reopen_at = time.monotonic() + 0.5
        while True:
            if n >= 15 and server.proxy.listener is None and time.monotonic() >= reopen_at:
                server.open()
            attempts += 1
            if client.send("app.self", {"id": f"f-{n}"}):
                accepted.append(f"f-{n}")
                break
            time.sleep(0.05)
    client.close()
    server.close()
    received = Counter(r["id"] for _, r in server.records)
    expect(accepted == [f"f-{n}" for n in range(30)], f"accepted {accepted}")
    expect(set(received) == set(accepted), f"received {sorted(received)}")
    expect(attempts > 30, "the closed server was never noticed")
    return True, f"30 accepted in {attempts} attempts; duplicates {sum(received.values()) - 30}"


def self_tags(suite):
    cases = {"app.payments.api.**": "app.payments.api.suite", "a.*.b": "a.x.b", "a.{b,c}.d": "a.b.d"}
    for pattern, tag in cases.items():
        expect(tag_for(pattern) == tag, f"{pattern} gave {tag_for(pattern)}")
    store = "@type forward\n<buffer>\n  @type file\n  path /buffers/{{route}}\n</buffer>\n"
    rebased = rebase_verbatim_store(store, "/tmp/x")
    expect("  path /tmp/x/{{route}}" in rebased and "/buffers" not in rebased, rebased)
    return True, f"{len(cases)} patterns; a verbatim store's buffer path moved"


def self_render(suite):
    """Every example at every stage through the real binary: the stores in each stage's order,
    every buffer path under the suite's temp dirs, the aggregator at the spec copy's address
    (and left as written for the dry-run copy)."""
    rendered = 0
    for pipeline in suite.pipelines:
        original_host = (pipeline.fluentd.get("target") or {}).get("host")
        for stage in STAGES:
            base = suite.workdir / "self-render" / pipeline.source.stem / stage.lower()
            cw = base / "cw"
            live = suite.pitagora.render(pipeline.copy_with(base / "fw", cw, ("127.0.0.1", 24299)), stage, suite.workdir)
            dry = suite.pitagora.render(pipeline.copy_with(base / "fw", cw), stage, suite.workdir)
            expect(store_shapes(live) == [SHAPES[stage]] * len(pipeline.routes), f"{stage}: {store_shapes(live)}")
            paths = re.findall(r"^\s*path (\S+)", live, re.M)
            expect(all(p.startswith(str(base)) for p in paths), f"{stage}: paths {paths}")
            if "forward" in SHAPES[stage][0] + SHAPES[stage][-1]:
                expect(re.search(r"host 127\.0\.0\.1\n\s*port 24299", live), f"{stage}: no loopback target")
                expect(original_host is None or f"host {original_host}" in dry, f"{stage}: dry-run host changed")
            rendered += 2
    return True, f"{rendered} renders of {len(suite.pipelines)} example(s)"


def store_shapes(text):
    """Per `<match>`, its stores' `@type`s in order, `!` marking `<store ignore_error>`."""
    shapes = []
    for block in re.findall(r"<match [^>]*>(.*?)</match>", text, re.S):
        stores = re.findall(r"<store( ignore_error)?>\s*@type (\S+)", block)
        shapes.append([("!" if ignore else "") + kind for ignore, kind in stores])
    return shapes


def self_wrapper(suite):
    """The include comes before the catch-all, fluentd's own events have their label, and the
    directives are balanced (also in the aggregator's configuration)."""
    routes = suite.workdir / "self-wrapper"
    conf = fluent_conf(routes, 24224)
    include = conf.index(f"@include {routes}/*.conf")
    expect(include < conf.index("<match **>"), "the include must precede the catch-all")
    expect("<label @FLUENT_LOG>" in conf, "no <label @FLUENT_LOG>")
    for text in (conf, aggregator_conf(24225, routes)):
        stack = []
        for line in text.splitlines():
            line = line.strip()
            if re.fullmatch(r"</\w+>", line):
                expect(stack and stack.pop() == line[2:-1], f"unbalanced {line}")
            elif re.fullmatch(r"<\w+( [^>]*)?>", line):
                stack.append(line[1:].split(">")[0].split()[0])
        expect(not stack, f"unclosed {stack}")
    return True, "include before <match **>; @FLUENT_LOG labelled; balanced"


def stand_in_fluentd(suite):
    """An executable that runs scripts/fluentd_fake.py with this Python, as `--fluentd`."""
    path = suite.workdir / "fluentd"
    fake = Path(__file__).resolve().parent / "fluentd_fake.py"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    path.chmod(0o755)
    return str(path)


def self_dry_run(suite):
    """Check a's plumbing: each stage's text rendered and `@include`d where the wrapper says
    (the stand-in fails when the include matches no file); a [warn] line fails the check
    unless it is an allowed one."""
    suite.fluentd = stand_in_fluentd(suite)
    pipeline = suite.pipelines[0]
    for stage in STAGES:
        result = dry_run_one(suite, pipeline, stage, stage)
        expect(result.ok, f"{stage}: {result.figures}\n{result.detail}")
    verdicts = {}
    for warning in ("parameter 'x' in <store> is not used.", "failed to resolve node name when configured"):
        os.environ["FLUENTD_FAKE_WARN"] = warning
        try:
            verdicts[warning] = dry_run_one(suite, pipeline, "Shadow", "warn").ok
        finally:
            del os.environ["FLUENTD_FAKE_WARN"]
    expect(list(verdicts.values()) == [False, True], f"warnings judged {verdicts}")
    return True, f"{len(STAGES)} stages included and loaded; an unused-parameter warning fails, the resolution one is allowed"


class _Address:
    """An aggregator that is only an address (the stand-in fluentd forwards nothing)."""

    port = 9


def self_stage_change(suite):
    """Check d's plumbing: the routes file rewritten per stage, the stand-in restarted
    (SIGTERM, exit, start) under an acked stream, and every accepted event labelled with the
    stage of the process that acked it (each process records its pid with the event)."""
    suite.fluentd = stand_in_fluentd(suite)
    route = RouteFluentd(suite, "self-stage-change", "Legacy", _Address())
    route.start()
    _, _, tag = suite.pipeline.routes[0]
    stream, by_stage, restarts = stream_through_stages(suite, route, tag)
    route.terminate()
    expect(route.stage == "New", f"ended at {route.stage}")
    records = [json.loads(line) for line in (route.dir / "fake-received.jsonl").read_text().splitlines()]
    generations = list(dict.fromkeys(r["pid"] for r in records))
    expect(len(generations) == len(STAGES), f"{len(generations)} processes acked events")
    acked_by = {r["id"]: STAGES[generations.index(r["pid"])] for r in records}  # the last copy
    wrong = [i for stage, ids in by_stage.items() for i in ids if acked_by.get(i) != stage]
    expect(not wrong, f"{len(wrong)} events labelled with the wrong stage, e.g. {wrong[:3]}")
    expect(all(by_stage[s] for s in STAGES), f"a stage accepted nothing: {[len(by_stage[s]) for s in STAGES]}")
    routes_file = (route.routes_dir / suite.pipeline.key).read_text()
    expect(store_shapes(routes_file)[0] == SHAPES["New"], "the routes file is not New's text")
    counts = "/".join(str(len(by_stage[s])) for s in STAGES)
    return True, f"accepted {len(stream.accepted)} ({counts} per stage, {stream.attempts - len(stream.accepted)} resends), all labelled right; restarts {', '.join(restarts)}"
