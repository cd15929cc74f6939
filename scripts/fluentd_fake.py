"""A stand-in for the `fluentd` executable in `fluentd_suite.py --self-test`: just enough of
its command line and of in_forward to drive the suite's Fluentd, RouteFluentd and Stream
classes without fluentd.

    fluentd_fake.py -c fluent.conf             listen on the first `port` of the file; ack each
                                               forward message and append its record, with this
                                               process's pid, to fake-received.jsonl beside it
    fluentd_fake.py --dry-run -c fluent.conf   check the `@include`d routes file exists; exit
"""

import glob
import json
import os
import re
import signal
import socket
import sys
import threading
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fluentd_harness import HOST, Incomplete, mp_pack, mp_unpack  # noqa: E402


def serve(conf, port):
    out = conf.parent / "fake-received.jsonl"
    lock = threading.Lock()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(16)
    print("[info]: fake fluentd worker is now running", flush=True)

    def connection(conn):
        data = b""
        with conn:
            while received := conn.recv(4096):
                data += received
                while data:
                    try:
                        (tag, _, record, option), used = mp_unpack(data)
                    except Incomplete:
                        break
                    data = data[used:]
                    with lock, open(out, "a") as f:
                        f.write(json.dumps({"pid": os.getpid(), "tag": tag, **record}) + "\n")
                    conn.sendall(mp_pack({"ack": option["chunk"]}))

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=connection, args=(conn,), daemon=True).start()


def main(argv):
    if "--version" in argv:
        print("fluentd (pitagora's stand-in for the self-test, not fluentd)")
        return 0
    conf = Path(argv[argv.index("-c") + 1])
    text = conf.read_text()
    if "--dry-run" in argv:
        includes = re.findall(r"^@include (\S+)", text, re.M)
        missing = [i for i in includes if not glob.glob(i)]
        print(f"[info]: fake dry-run of {conf}; includes missing: {missing}", flush=True)
        if os.environ.get("FLUENTD_FAKE_WARN"):
            print(f"[warn]: {os.environ['FLUENTD_FAKE_WARN']}", flush=True)
        return 1 if missing else 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(conf, int(re.search(r"^\s*port (\d+)", text, re.M).group(1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
