"""The demo's stand-ins for what happens outside pitagora: the application teams' log groups and
Lambda functions, an operator's out-of-band changes, and an application writing a log line.

Runs with the moto venv's Python (boto3 comes with moto) against AWS_ENDPOINT_URL.

    aws.py setup     create the source log groups and the user-owned Lambda functions
    aws.py tamper    change the stream's buffering by hand, delete a subscription filter and the
                     bucket's TLS-only policy
    aws.py send      write a log event into /ecs/orders and print the S3 object that carried it
    aws.py transform play the transform Lambda, which the emulator never runs: copy each new
                     object under raw/ to processed/ (same date path) for up to 60 s, until one
                     holding a pitagora canary was copied
"""

import gzip
import io
import json
import sys
import time
import zipfile

import boto3

REGION = "eu-west-1"
SOURCES = ["/ecs/orders", "/ecs/payments"]
FUNCTIONS = ["log-enricher", "es-forwarder", "slack-notifier"]
PIPELINE = "pitagora-platform-ecs-logs-"  # prefix of the example pipeline's names


def client(service):
    return boto3.client(service, region_name=REGION)


def setup():
    logs = client("logs")
    for group in SOURCES:
        try:
            logs.create_log_group(logGroupName=group)
            print(f"  created log group {group}")
        except logs.exceptions.ResourceAlreadyExistsException:
            print(f"  log group {group} exists")
    iam, lam = client("iam"), client("lambda")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    try:
        role = iam.create_role(RoleName="demo-lambda", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="demo-lambda")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    for name in FUNCTIONS:
        try:
            lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": code.getvalue()}
            )
            print(f"  created Lambda function {name}")
        except lam.exceptions.ResourceConflictException:
            print(f"  Lambda function {name} exists")


def stream_name():
    names = client("firehose").list_delivery_streams()["DeliveryStreamNames"]
    return next(n for n in names if n.startswith(PIPELINE))


def tamper():
    firehose, logs = client("firehose"), client("logs")
    name = stream_name()
    desc = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    dest = desc["Destinations"][0]
    current = dest["ExtendedS3DestinationDescription"]
    # The complete configuration, as a careless operator in the console would save it.
    update = {
        k: current[k]
        for k in [
            "RoleARN",
            "BucketARN",
            "Prefix",
            "ErrorOutputPrefix",
            "CompressionFormat",
            "EncryptionConfiguration",
            "CloudWatchLoggingOptions",
            "ProcessingConfiguration",
        ]
        if k in current
    }
    update["BufferingHints"] = {"SizeInMBs": 128, "IntervalInSeconds": 900}
    firehose.update_destination(
        DeliveryStreamName=name,
        CurrentDeliveryStreamVersionId=desc["VersionId"],
        DestinationId=dest["DestinationId"],
        ExtendedS3DestinationUpdate=update,
    )
    print(f"  {name}: buffering set to 128 MiB / 900 s by hand")
    for f in logs.describe_subscription_filters(logGroupName="/ecs/payments")["subscriptionFilters"]:
        if f["filterName"].startswith(PIPELINE):
            logs.delete_subscription_filter(logGroupName="/ecs/payments", filterName=f["filterName"])
            print(f"  /ecs/payments: subscription filter {f['filterName']} deleted by hand")
    # A change inside the stack that its template never shows: only a live read sees it.
    s3 = client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PIPELINE))
    s3.delete_bucket_policy(Bucket=bucket)
    print(f"  {bucket}: bucket policy (the TLS-only deny) deleted by hand")


def send():
    logs, s3 = client("logs"), client("s3")
    stream = f"demo-{int(time.time())}"
    logs.create_log_stream(logGroupName="/ecs/orders", logStreamName=stream)
    message = json.dumps({"level": "info", "msg": "order 42 shipped", "service": "orders"})
    logs.put_log_events(
        logGroupName="/ecs/orders",
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
    )
    print(f"  wrote to /ecs/orders: {message}")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PIPELINE))
    objects = s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", [])
    newest = max(objects, key=lambda o: o["LastModified"])
    body = s3.get_object(Bucket=bucket, Key=newest["Key"])["Body"].read()
    # The emulator delivers the CloudWatch Logs envelope still gzipped (it ignores Firehose's
    # processors); on AWS the NDJSON processors make this one log event per line.
    envelope = json.loads(gzip.decompress(body)) if body[:2] == b"\x1f\x8b" else body.decode()
    print(f"  s3://{bucket}/{newest['Key']}:")
    print("    " + json.dumps(envelope, indent=2).replace("\n", "\n    "))
    delivered = [e["message"] for e in envelope["logEvents"]] if isinstance(envelope, dict) else [envelope]
    if message not in delivered:
        sys.exit("the log event did not arrive")


def transform():
    s3 = client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PIPELINE))
    # Done already: the raw objects with a processed/ twin. Not "every raw object listed at
    # start": this runs beside verify, whose canary may reach raw/ before this has started.
    processed = s3.list_objects_v2(Bucket=bucket, Prefix="processed/").get("Contents", [])
    seen = {"raw/" + o["Key"][len("processed/"):] for o in processed}
    deadline = time.time() + 60
    while time.time() < deadline:
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", []):
            if o["Key"] in seen:
                continue
            seen.add(o["Key"])
            body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            target = "processed/" + o["Key"][len("raw/"):]
            s3.put_object(Bucket=bucket, Key=target, Body=body)
            text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            if b"pitagora.dev/canary" in text:
                return
        time.sleep(0.5)


if __name__ == "__main__":
    {"setup": setup, "tamper": tamper, "send": send, "transform": transform}[sys.argv[1]]()
