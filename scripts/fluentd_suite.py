"""The opt-in suite that runs pitagora's rendered fluentd routes in a real fluentd (issue 26).

    scripts/test-fluentd.sh                 the entry point (builds pitagora, finds fluentd)
    fluentd_suite.py --fluentd PATH --fluent-cat PATH --pitagora PATH [--only a,b,c,d]
    fluentd_suite.py --self-test --pitagora PATH    the suite's own machinery, without fluentd

Checks (docs/fluentd-suite.md says what each proves and which figures it prints):
  a. `fluentd --dry-run` of every stage's routes of every example with `legacy.fluentd`,
     included as docs/migrating-from-fluentd.md tells teams, the aggregator host left
     unresolvable;
  b. live, per stage: where N events sent with fluent-cat arrive (aggregator, CloudWatch);
  c. faults at Primary and Shadow: aggregator down, CloudWatch unreachable, SIGKILL;
  d. the stage changes applied as the controller does (routes rewritten, fluentd restarted)
     under a steady acked stream: lost and duplicated events.

Exit 0 when every check passed, 1 when one failed, 2 when the suite could not run.
"""

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # leave no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fluentd_checks import Suite, run_checks  # noqa: E402 - the modules sit beside this script
from fluentd_harness import SuiteError  # noqa: E402
from fluentd_selftest import run_self_test  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-test", action="store_true", help="the suite's machinery, without fluentd")
    parser.add_argument("--fluentd", help="the fluentd executable")
    parser.add_argument("--fluent-cat", help="the fluent-cat executable")
    parser.add_argument("--pitagora", required=True, help="the pitagora binary")
    parser.add_argument("--only", default="a,b,c,d", help="checks to run, e.g. a,b (default all)")
    parser.add_argument("--events", type=int, default=50, help="events per route and check (50)")
    parser.add_argument("--rate", type=float, default=20, help="events a second in check d (20)")
    parser.add_argument("--settle", type=float, default=3, help="seconds of stream between stage changes (3)")
    parser.add_argument("--deadline", type=float, default=180, help="seconds to wait for delivery (180)")
    parser.add_argument("--start-timeout", type=float, default=90, help="seconds for fluentd to start or stop (90)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (kept anyway on failure)")
    args = parser.parse_args(argv)
    if not args.self_test and not (args.fluentd and args.fluent_cat):
        parser.error("--fluentd and --fluent-cat are required unless --self-test")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    suite = None
    try:
        suite = Suite(args)
        print(f"fluentd-suite: working in {suite.workdir}", flush=True)
        suite.start_aws()
        (run_self_test if args.self_test else run_checks)(suite)
    except SuiteError as e:
        print(f"fluentd-suite: error: {e}", file=sys.stderr, flush=True)
        if suite is not None:
            suite.processes.stop_all()
            report(suite, time.monotonic() - started)
        return 2
    finally:
        if suite is not None:
            suite.processes.stop_all()
    return report(suite, time.monotonic() - started)


def report(suite, seconds):
    """The table of checks, the verdict, and the temp dir (kept when something failed)."""
    width = max([len(r.name) for r in suite.results] + [5])
    print(f"\n{'check':<{width}}  result  figures")
    print(f"{'-' * width}  ------  -------")
    for r in suite.results:
        print(f"{r.name:<{width}}  {'pass' if r.ok else 'FAIL':<6}  {r.figures}")
    failed = [r for r in suite.results if not r.ok]
    print(f"\n{len(suite.results) - len(failed)} passed, {len(failed)} failed in {seconds:.1f} s")
    if failed or suite.args.keep:
        print(f"fluentd-suite: logs and configs kept in {suite.workdir}")
    else:
        shutil.rmtree(suite.workdir, ignore_errors=True)
    return 1 if failed or not suite.results else 0


if __name__ == "__main__":
    sys.exit(main())
