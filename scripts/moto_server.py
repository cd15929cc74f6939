"""moto's server, started the way scripts/moto.sh starts it, with three corrections.

1. Firehose's quota. moto refuses a 51st delivery stream in a region; AWS's default quota is
   5,000 per region. The benchmark (benches/scale.rs) puts 1,000 pipelines in one region, as a
   team would, so that the client-side limits per region and operation are measured as they
   act on AWS; the launcher sets moto's cap to AWS's quota.

2. Bucket policies. moto evaluates bucket policies on object requests, but without any request context, with
`StringEquals` as its only condition operator, and it answers "denied" for any statement whose
condition does not hold, whatever the statement's effect. The bucket's TLS-only deny
(`"Bool": {"aws:SecureTransport": "false"}`) then denies every object read and write once
pitagora restores it. The tests and the demo reach the emulator over plain HTTP on loopback,
standing in for the TLS every real client uses; this launcher evaluates the conditions first,
with that context (`aws:SecureTransport` = true), as AWS does, and hands moto only the
statements that apply.

3. GetBucketVersioning's answer. moto writes it under a `GetBucketVersioningResponse` root
(empty for a bucket never versioned); S3 answers `<VersioningConfiguration>` (with `Status`
once versioning was turned on), and the SDK rejects any other root. The launcher answers as
S3 does.

Nothing else of moto changes.
"""

import json
import sys

from moto.firehose.models import DeliveryStream
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.server import main

CONTEXT = {"aws:securetransport": "true"}


def _holds(operator, key, expected):
    actual = CONTEXT.get(key.lower())
    values = expected if isinstance(expected, list) else [expected]
    if operator == "Bool":
        return actual is not None and actual in [str(v).lower() for v in values]
    if operator == "StringEquals":
        return actual is not None and actual in values
    # Other operators, as moto does: not evaluated.
    return True


def _applies(statement):
    conditions = statement.get("Condition") or {}
    return all(
        _holds(operator, key, expected)
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def _get_permission(self, action, resource):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    doc = json.loads(self.policy)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    applicable = [
        {k: v for k, v in s.items() if k != "Condition"} for s in statements if _applies(s)
    ]
    if not applicable:
        return PermissionResult.NEUTRAL
    policy = IAMPolicy(json.dumps({**doc, "Statement": applicable}))
    return policy.is_action_permitted(action, resource)


def _get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{inner}</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


FakeBucket.get_permission = _get_permission
S3Response.get_bucket_versioning = _get_bucket_versioning
DeliveryStream.MAX_STREAMS_PER_REGION = 5000

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
