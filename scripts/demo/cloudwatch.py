"""The demo's stand-in for CloudWatch's metrics, with canned answers.

moto does not serve the protocol the Rust SDK's CloudWatch client speaks (Smithy RPCv2 CBOR:
GetMetricData answers HTTP 404 there), so `pitagora verify` could not read the delivery
metrics behind its loss signals. This server answers GetMetricData instead, with datapoints it
makes up for every metric pitagora asks about, and says so on standard error each time. The
demo points only CloudWatch at it (AWS_ENDPOINT_URL_CLOUDWATCH); everything else stays on moto.

    cloudwatch.py URL_FILE [healthy|delivery-errors]

It listens on a free loopback port and writes its URL to URL_FILE once it accepts requests.
  healthy          what a working pipeline shows: no delivery errors or throttling, every
                   logged event forwarded, data 45 s old in Firehose, every S3 write succeeding
  delivery-errors  the same, but 7 events of /ecs/payments got an error from Firehose 3 minutes
                   ago

Python's standard library only.
"""

import os
import struct
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ERRORS_GROUP = "/ecs/payments"


# ---- CBOR (RFC 8949), as much as GetMetricData's request and answer use ----------------------


def _decode(data, at):
    """The item at `at` and the offset after it."""
    first = data[at]
    major, info = first >> 5, first & 0x1F
    at += 1
    if major == 7:
        if info == 20:
            return False, at
        if info == 21:
            return True, at
        if info in (22, 23):
            return None, at
        if info == 25:
            return _half(data[at : at + 2]), at + 2
        if info == 26:
            return struct.unpack(">f", data[at : at + 4])[0], at + 4
        if info == 27:
            return struct.unpack(">d", data[at : at + 8])[0], at + 8
        raise ValueError(f"CBOR simple value {info} not handled")
    if info == 31:  # indefinite length: items up to the break byte
        items = []
        while data[at] != 0xFF:
            item, at = _decode(data, at)
            items.append(item)
        at += 1
        if major in (2, 3):
            return (b"" if major == 2 else "").join(items), at
        if major == 4:
            return items, at
        if major == 5:
            return dict(zip(items[::2], items[1::2])), at
        raise ValueError(f"indefinite CBOR major type {major}")
    if info < 24:
        n = info
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        n = int.from_bytes(data[at : at + size], "big")
        at += size
    if major == 0:
        return n, at
    if major == 1:
        return -1 - n, at
    if major == 2:
        return bytes(data[at : at + n]), at + n
    if major == 3:
        return data[at : at + n].decode(), at + n
    if major == 4:
        items = []
        for _ in range(n):
            item, at = _decode(data, at)
            items.append(item)
        return items, at
    if major == 5:
        out = {}
        for _ in range(n):
            key, at = _decode(data, at)
            out[key], at = _decode(data, at)
        return out, at
    # major 6: a tag (1, epoch time, for timestamps); its content is the value
    return _decode(data, at)


def _half(two):
    bits = int.from_bytes(two, "big")
    sign = -1.0 if bits & 0x8000 else 1.0
    exponent, fraction = (bits >> 10) & 0x1F, bits & 0x3FF
    if exponent == 0:
        return sign * fraction * 2.0**-24
    if exponent == 31:
        return sign * float("inf") if fraction == 0 else float("nan")
    return sign * (1 + fraction / 1024) * 2.0 ** (exponent - 15)


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError(n)


def encode(value):
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, Epoch):
        return b"\xc1" + encode(float(value.seconds))
    raise TypeError(type(value))


class Epoch:
    """A timestamp: CBOR tag 1 over epoch seconds."""

    def __init__(self, seconds):
        self.seconds = seconds


# ---- The canned metrics -----------------------------------------------------------------------


def value(metric, dimensions, minutes_ago, scenario):
    """What `metric` (with its dimensions) shows `minutes_ago`."""
    if metric == "DeliveryErrors":
        hit = scenario == "delivery-errors" and dimensions.get("LogGroupName") == ERRORS_GROUP
        return 7.0 if hit and minutes_ago == 3 else 0.0
    return {
        "DeliveryThrottling": 0.0,
        "IncomingLogEvents": 20.0,
        "ForwardedLogEvents": 20.0,
        "ThrottledRecords": 0.0,
        "DeliveryToS3.DataFreshness": 45.0,
        "DeliveryToS3.Success": 1.0,
    }.get(metric, 0.0)


def answer(request, scenario):
    """GetMetricData's answer to `request`: one datapoint per query and minute of its window."""
    start, end = int(request["StartTime"]), int(request["EndTime"])
    minutes = list(range(start - start % 60, end, 60))
    results = []
    for query in request.get("MetricDataQueries", []):
        metric = query["MetricStat"]["Metric"]
        dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        results.append(
            {
                "Id": query["Id"],
                "Label": metric["MetricName"],
                "Timestamps": [Epoch(t) for t in minutes],
                "Values": [value(metric["MetricName"], dimensions, (end - t) // 60, scenario) for t in minutes],
                "StatusCode": "Complete",
            }
        )
    return {"MetricDataResults": results}


def main():
    url_file = sys.argv[1]
    scenario = sys.argv[2] if len(sys.argv) > 2 else "healthy"
    if scenario not in ("healthy", "delivery-errors"):
        sys.exit(f"unknown scenario {scenario}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            operation = self.path.rsplit("/", 1)[-1]
            if operation != "GetMetricData":
                self.send_error(404, f"the canned CloudWatch answers GetMetricData only, not {operation}")
                return
            request, _ = _decode(body, 0)
            out = encode(answer(request, scenario))
            queries = len(request.get("MetricDataQueries", []))
            print(f"  [canned CloudWatch: GetMetricData, {queries} metrics answered as a {scenario} pipeline]", file=sys.stderr)
            self.send_response(200)
            self.send_header("smithy-protocol", "rpc-v2-cbor")
            self.send_header("Content-Type", "application/cbor")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    with open(url_file + ".tmp", "w") as f:
        f.write(f"http://127.0.0.1:{server.server_port}\n")
    # Renamed into place: the reader never sees half a URL.
    os.replace(url_file + ".tmp", url_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
