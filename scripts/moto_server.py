"""moto's server, started the way scripts/moto.sh starts it, with six corrections.

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

4. IAM enforcement (only while it is on: `INITIAL_NO_AUTH_ACTION_COUNT` set, or after
`POST /moto-api/reset-auth` with a count, once that many requests were let through). moto's
evaluation differs from AWS's documented policy evaluation in ways that would make a test of
least-privilege policies prove nothing; the launcher evaluates as AWS does, for the operations
pitagora uses:

   a. The request's resource. moto checks every request but S3's, IAM roles', STS's and SQS's
      against the resource `*`, so a statement scoped to `arn:aws:sns:...:pitagora-*` never
      applies. The launcher names the resource AWS's service authorization reference gives for
      CloudWatch Logs (the log group, or the log stream for CreateLogStream/PutLogEvents),
      Firehose (the delivery stream), SNS (the topic; a subscription's topic), Lambda (the
      function, with its qualifier), CloudFormation (the stack) and IAM (the role, including
      one CreateRole is about to create, by its path).
   b. Conditions. moto has no request context: in an identity policy every condition holds
      (a conditioned Allow grants unconditionally: `lambda:Principal`, `iam:PassedToService`
      restrict nothing), and where it has values (trust policies) a condition that does not
      hold makes the statement an explicit deny, whatever its effect. The launcher evaluates
      the condition operators (String*, Arn*, Bool, Null, each with IfExists) against a
      context holding the keys AWS documents for these actions (`aws:SecureTransport` = true
      as in correction 2,
      `aws:RequestedRegion`, `aws:PrincipalAccount`, `lambda:Principal` for AddPermission,
      `iam:PassedToService` for a role being passed, `iam:PermissionsBoundary` for the role
      writes IAM's service authorization reference gives it: the boundary the request sets
      for CreateRole and PutRolePermissionsBoundary, the role's current one for
      PutRolePolicy, DeleteRolePolicy, AttachRolePolicy, DetachRolePolicy and
      DeleteRolePermissionsBoundary, absent when the role has none); a statement whose condition does not
      hold simply does not apply (Allow and Deny alike); a missing key satisfies only the
      negated operators and IfExists. Action names match case-insensitively, with `*` and `?`.
   c. Implied `iam:PassRole`. AWS also requires `iam:PassRole` on a role a request hands to a
      service, with `iam:PassedToService` naming that service: CloudFormation's RoleARN
      (CreateStack, UpdateStack, DeleteStack), Firehose's destination RoleARN
      (CreateDeliveryStream, UpdateDestination), a subscription filter's roleArn
      (PutSubscriptionFilter) and a function's execution role (CreateFunction). moto never
      checks it; the launcher does, answering AccessDenied "... iam:PassRole on resource: <role>".
   d. Action names. moto prefixes the action with the request's signing name; IAM's prefix
      differs for the Resource Groups Tagging API (`tag:`, signed `tagging`) and CloudWatch
      (`cloudwatch:`, signed `monitoring`). And S3's bucket sub-resources `publicAccessBlock`,
      `encryption` and `ownershipControls` are checked as the IAM actions S3 documents
      (`s3:PutBucketPublicAccessBlock`, `s3:PutEncryptionConfiguration`, ...) instead of
      CreateBucket/ListBucket.
   e. The denial's form. moto answers AccessDenied in XML wrapped in `<Errors>`, which only
      boto reads, and in XML to the JSON protocols too (CloudWatch Logs, Firehose, Lambda); the
      launcher answers as AWS does: `<ErrorResponse><Error>` to the query protocols (IAM, SNS,
      CloudFormation), `{"__type": "AccessDeniedException", ...}` to the JSON ones, naming the
      resource in the message.

   f. Signatures. moto recomputes a request's signature over a body it rebuilds: for a
      bodiless GET or DELETE (Lambda's GetPolicy, RemovePermission) the parameters it parsed
      from the URL, and for a form (the query protocols: CloudFormation, SNS, IAM, STS) the
      parsed form re-encoded with `+` for spaces; the Rust SDK signs the empty payload and
      `%20`, so such requests fail with SignatureDoesNotMatch. The launcher checks the
      signature over what the client sent: the empty payload, and the form in either
      encoding.

   g. Tags. moto has no tag keys in its request context. The launcher gives CloudWatch Logs'
      requests the keys of AWS's tag-based access control: `aws:RequestTag/<key>`
      and `aws:TagKeys` for the tags CreateLogGroup and TagResource carry, and
      `aws:ResourceTag/<key>` for the tags the log group a request acts on holds. And AWS checks
      `logs:TagResource` too for the tags a CreateLogGroup carries ("not authorized to perform
      CreateLogGroup with Tags"); moto never does, the launcher does.

   moto's CloudFormation still creates a stack's resources itself, not through the stack's
   RoleARN: tests stand in for CloudFormation with a user holding the service role's policy.

   scripts/moto_server_test.py tests each of them against what AWS documents.

5. A stack's Lambda permissions. moto's CloudFormation adds an `AWS::Lambda::Permission`'s
   statement to the function's policy but has no deletion for it: the statement stays after
   the stack is deleted (or the resource leaves its template). CloudFormation deletes every
   resource of a deleted stack but those it retains; the launcher remembers the statement it
   added and removes it when the stack deletes the resource (one already gone is no error, as
   CloudFormation treats a resource deleted outside the stack). Tested by
   scripts/moto_server_test.py too.

6. Delivery through a CloudWatch Logs destination. AWS sends a log group's events to another
   account only through a destination: the receiving account's `PutDestination`, in the
   source groups' region, with a target (a Firehose or Kinesis stream of that account, in any
   region) and an access policy saying which accounts, or which organization, may subscribe.
   The source puts a filter whose `destinationArn` is the destination's ARN. moto takes every
   `logs` ARN for a log group: it looks for a group named like the destination in the receiving
   account (`ResourceNotFoundException: The specified log group does not exist.`), and nothing
   reaches the target. The launcher finds the destination in its ARN's account and region (none:
   ResourceNotFoundException "The specified resource does not exist."), evaluates its access
   policy for the caller's account on `logs:PutSubscriptionFilter` (Allow and Deny; principals
   by account id, root ARN or `*`; the conditions of 4b, with `aws:PrincipalOrgID` from moto's
   Organizations) and refuses as AWS does: `AccessDeniedException: User with accountId: <source>
   is not authorized to perform: logs:PutSubscriptionFilter on resource: <destination>` when no
   statement allows the account or one denies it (a destination without policy admits only its
   own account), and `InvalidParameterException` "Role ARN is required when creating
   subscription filter against destination with Organization access policy" when only an
   organization's statement admits it and the filter names no role. The filter keeps the
   destination's ARN. PutLogEvents then delivers through moto's own Firehose or Kinesis
   delivery, to the target's stream in its account and region, with the source account as the
   envelope's `owner`. As AWS, which skips a filter's events while delivery fails with
   AccessDenied or ResourceNotFound, the launcher delivers nothing once the destination is
   deleted or its policy no longer admits the source. Tested by scripts/moto_server_test.py.

Nothing else of moto changes.
"""

import json
import re
import sys
import threading
from urllib.parse import quote, unquote, urlencode
from xml.sax.saxutils import escape

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError, _RESTError
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import Permission, lambda_backends
from moto.firehose.models import DeliveryStream, firehose_backends
from moto.kinesis.models import kinesis_backends
from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.models import LogsBackend, LogStream, logs_backends
from moto.organizations.models import organizations_backends
from moto.iam.access_control import (
    IAMPolicy,
    IAMPolicyStatement,
    IAMRequestBase,
    PermissionResult,
)
from moto.s3 import responses as s3_responses
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.server import main
from moto.utilities.arns import parse_arn
from moto.utilities.utils import get_partition

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


# --- 4. IAM enforcement as AWS evaluates it ------------------------------------------------

_local = threading.local()

# IAM's action prefix where it differs from the signing name moto takes it from.
IAM_PREFIX = {"tagging": "tag", "monitoring": "cloudwatch"}

# S3 bucket sub-resources moto does not map, by method: the IAM action S3 documents.
S3_ACTIONS = {
    "GET": {
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "public_access_block": "GetBucketPublicAccessBlock",
        "encryption": "GetEncryptionConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
    },
    "PUT": {
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "public_access_block": "PutBucketPublicAccessBlock",
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
    },
    "DELETE": {
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "public_access_block": "PutBucketPublicAccessBlock",
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
    },
}
for _method, _actions in S3_ACTIONS.items():
    s3_responses.ACTION_MAP["BUCKET"][_method].update(_actions)

NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
}


def enforcing():
    count = ActionAuthenticatorMixin.request_count
    return count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def glob(pattern, value, ignore_case=False):
    """IAM's wildcard match: `*` any run of characters, `?` any one."""
    parts = ["." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern]
    flags = re.IGNORECASE if ignore_case else 0
    return re.fullmatch("".join(parts), value, flags | re.DOTALL) is not None


def arn_like(pattern, value):
    """ArnLike: each of the six colon-separated parts matched on its own."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) and all(glob(a, b) for a, b in zip(p, v))


def condition_holds(operator, key, expected, context):
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    actual = context.get(key.lower())
    values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
    if base == "Null":
        return (actual is None) == (values[0].lower() == "true")
    if actual is None:
        return if_exists or base in NEGATED
    actuals = actual if isinstance(actual, list) else [actual]
    if base in ("StringEquals", "StringNotEquals"):
        found = any(a == v for a in actuals for v in values)
    elif base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        found = any(a.lower() == v.lower() for a in actuals for v in values)
    elif base in ("StringLike", "StringNotLike"):
        found = any(glob(v, a) for a in actuals for v in values)
    elif base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        found = any(arn_like(v, a) for a in actuals for v in values)
    elif base == "Bool":
        return any(a.lower() == v.lower() for a in actuals for v in values)
    else:
        # An operator the launcher does not evaluate never holds (fails closed).
        return False
    return not found if base in NEGATED else found


def conditions_hold(conditions, context):
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def matches(element, value, ignore_case):
    patterns = element if isinstance(element, list) else [element]
    return any(glob(p, value, ignore_case) for p in patterns)


_statement_permission = IAMPolicyStatement.is_action_permitted


def statement_permission(
    self, action, resource="*", principal=None, incoming_condition_values=None
):
    context = getattr(_local, "context", None)
    if context is None or principal is not None:
        # Not enforcing, or a trust policy (moto's own check of AssumeRole).
        return _statement_permission(
            self, action, resource, principal, incoming_condition_values
        )
    s = self._statement
    if "NotAction" in s:
        concerned = not matches(s["NotAction"], action, True)
    else:
        concerned = matches(s.get("Action", []), action, True)
    if not concerned or self.is_unknown_principal(s.get("Principal")):
        return PermissionResult.NEUTRAL
    if not conditions_hold(s.get("Condition") or {}, context):
        return PermissionResult.NEUTRAL
    if "NotResource" in s:
        applies = not matches(s["NotResource"], resource, False)
    else:
        applies = matches(s.get("Resource", "*"), resource, False)
    if not applies:
        return PermissionResult.NEUTRAL
    if s.get("Effect") == "Allow":
        return PermissionResult.PERMITTED
    return PermissionResult.DENIED


_request_init = IAMRequestBase.__init__


def request_init(self, *args, **kwargs):
    _request_init(self, *args, **kwargs)
    prefix, _, name = self._action.partition(":")
    if enforcing() and prefix in IAM_PREFIX:
        self._action = f"{IAM_PREFIX[prefix]}:{name}"
    if enforcing() and self._service != "s3" and not self._body:
        content_type = self._headers.get("Content-Type", "")
        if self._method in ("GET", "HEAD", "DELETE"):
            # A request without a body signs the empty payload; moto would sign the
            # parameters it parsed from the URL in its place (see f).
            self._data = {}
        elif content_type.startswith("application/x-www-form-urlencoded"):
            # The form as the client encoded it: the parsed form is all that is left, so both
            # encodings clients use are tried (RFC 3986's `%20` for a space, the Rust SDK's;
            # and `+`, botocore's).
            pairs = [
                (k, v)
                for k, values in self._data.items()
                for v in (values if isinstance(values, list) else [values])
            ]
            rfc3986 = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
            self.client_bodies = [rfc3986.encode(), urlencode(pairs).encode()]


_check_signature = IAMRequestBase.check_signature


def check_signature(self):
    bodies = getattr(self, "client_bodies", None)
    if not bodies:
        return _check_signature(self)
    for i, body in enumerate(bodies):
        self._body = body
        try:
            return _check_signature(self)
        except Exception:  # noqa: BLE001 - moto's SignatureDoesNotMatch, of either protocol
            if i == len(bodies) - 1:
                raise
    return None


def params_of(response):
    out = {}
    for key, value in (getattr(response, "querystring", None) or {}).items():
        out[key] = value[0] if isinstance(value, list) and value else value
    body = getattr(response, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.lstrip().startswith("{"):
        try:
            out.update(json.loads(body))
        except ValueError:
            pass
    return out


def scope_of(response):
    """(signing name, region) from the request's credential scope."""
    auth = response.headers.get("Authorization", "")
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/")
    return (scope[3], scope[2]) if len(scope) >= 4 else ("", "")


def partition_of(region):
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov")):
        if region.startswith(prefix):
            return partition
    return "aws"


def resource_of(response, service, action, p, region, account):
    """The resource AWS authorizes `action` on, or None to keep moto's."""
    part = partition_of(region)

    def regional(svc, res):
        return f"arn:{part}:{svc}:{region}:{account}:{res}"

    if service == "logs":
        if action in ("TagResource", "UntagResource", "ListTagsForResource"):
            arn = p.get("resourceArn", "*")
            return arn[:-2] if arn.endswith(":*") else arn
        group = p.get("logGroupName") or p.get("logGroupIdentifier")
        if not group:
            return regional("logs", "log-group:*")
        if group.startswith("arn:"):
            return group[:-2] if group.endswith(":*") else group
        arn = regional("logs", f"log-group:{group}")
        if action in ("CreateLogStream", "PutLogEvents") and p.get("logStreamName"):
            arn += f":log-stream:{p['logStreamName']}"
        return arn
    if service == "firehose":
        name = p.get("DeliveryStreamName")
        return regional("firehose", f"deliverystream/{name}") if name else "*"
    if service == "sns":
        if action == "CreateTopic" and p.get("Name"):
            return regional("sns", p["Name"])
        if p.get("TopicArn"):
            return p["TopicArn"]
        if p.get("SubscriptionArn"):
            return p["SubscriptionArn"].rsplit(":", 1)[0]
        return p.get("ResourceArn", "*")
    if service == "lambda":
        m = re.search(r"/functions/([^/]+)", response.path or "")
        if not m:
            return "*"
        name = unquote(m.group(1))
        if name.startswith("arn:"):
            arn = name
        else:
            pieces = name.split(":")
            if len(pieces) >= 3:  # account:function:name[:qualifier]
                name = ":".join(pieces[2:])
            arn = regional("lambda", f"function:{name}")
        qualifier = p.get("Qualifier")
        return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn
    if service == "cloudformation":
        name = p.get("StackName")
        if not name:
            return "*"
        return name if name.startswith("arn:") else regional("cloudformation", f"stack/{name}/*")
    if service == "iam":
        name = p.get("RoleName")
        if not name:
            return None
        try:
            return response.backend.get_role(name).arn
        except Exception:  # noqa: BLE001 - a role not there (yet): its ARN by path and name
            return f"arn:{part}:iam::{account}:role{p.get('Path', '/')}{name}"
    return None


# The role writes IAM gives the `iam:PermissionsBoundary` key: those setting a boundary carry
# the one requested; the others the role's current one.
BOUNDARY_SET = ("CreateRole", "PutRolePermissionsBoundary")
BOUNDARY_HELD = (
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "DeleteRolePermissionsBoundary",
)


def role_boundary(response, p, action):
    """The `iam:PermissionsBoundary` of an IAM role write, or None when it has none."""
    if action in BOUNDARY_SET:
        return p.get("PermissionsBoundary") or None
    if action in BOUNDARY_HELD and p.get("RoleName"):
        try:
            return response.backend.get_role(p["RoleName"]).permissions_boundary_arn or None
        except Exception:  # noqa: BLE001 - no such role: moto answers NoSuchEntity after
            return None
    return None


# The CloudWatch Logs requests whose tags are the request's (`aws:RequestTag`).
TAGGING_LOGS = ("CreateLogGroup", "TagResource", "TagLogGroup")


def log_group_tags(response, arn):
    """The tags of the log group `arn` (none when it does not exist)."""
    try:
        return response.logs_backend.list_tags_for_resource(arn)
    except Exception:  # noqa: BLE001 - no such group, or not a logs request
        return {}


def tag_context(service, action, p, resource, response):
    """The tag keys of a CloudWatch Logs request (g)."""
    context = {}
    if service != "logs":
        return context
    tags = p.get("tags") if action in TAGGING_LOGS else None
    if isinstance(tags, dict) and tags:
        context.update({f"aws:requesttag/{k.lower()}": v for k, v in tags.items()})
        context["aws:tagkeys"] = list(tags)
    if response is not None and resource and action != "CreateLogGroup":
        held = log_group_tags(response, resource)
        context.update({f"aws:resourcetag/{k.lower()}": v for k, v in held.items()})
    return context


def request_context(service, action, p, region, account, response=None, resource=None):
    context = {
        "aws:securetransport": "true",
        "aws:requestedregion": region,
        "aws:principalaccount": account,
    }
    context.update(tag_context(service, action, p, resource, response))
    if service == "lambda" and action == "AddPermission" and p.get("Principal"):
        context["lambda:principal"] = p["Principal"]
    if service == "iam" and response is not None:
        boundary = role_boundary(response, p, action)
        if boundary:
            context["iam:permissionsboundary"] = boundary
    return context


def passed_roles(service, action, p):
    """The roles a request hands to a service, with that service's principal."""
    if service == "cloudformation" and action in ("CreateStack", "UpdateStack", "DeleteStack"):
        return [(p["RoleARN"], "cloudformation.amazonaws.com")] if p.get("RoleARN") else []
    if service == "firehose" and action in ("CreateDeliveryStream", "UpdateDestination"):
        roles = []
        for key in (
            "ExtendedS3DestinationConfiguration",
            "S3DestinationConfiguration",
            "ExtendedS3DestinationUpdate",
            "S3DestinationUpdate",
        ):
            role = (p.get(key) or {}).get("RoleARN")
            if role and role not in roles:
                roles.append(role)
        return [(r, "firehose.amazonaws.com") for r in roles]
    if service == "logs" and action == "PutSubscriptionFilter" and p.get("roleArn"):
        return [(p["roleArn"], "logs.amazonaws.com")]
    if service == "lambda" and action == "CreateFunction" and p.get("Role"):
        return [(p["Role"], "lambda.amazonaws.com")]
    return []


class JsonAccessDenied(JsonRESTError):
    code = 403

    def __init__(self, message):
        super().__init__("AccessDeniedException", message)


class XmlAccessDenied(AccessDeniedError):
    """AccessDenied in the query protocol's form: `<ErrorResponse><Error>`, as AWS answers
    (moto wraps the error in `<Errors>`, which only boto reads)."""

    def __init__(self, message):
        _RESTError.__init__(self, "AccessDenied", message)
        self.description = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
            f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>pitagora-moto</RequestId></ErrorResponse>"
        )


def denied(response, service, message):
    content_type = response.headers.get("Content-Type", "")
    if service == "lambda" or "x-amz-json" in content_type:
        return JsonAccessDenied(message)
    return XmlAccessDenied(message)


_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def implied(response, iam_request_cls, action, implied_action):
    """A check of `implied_action`, which AWS also requires of the request `action`."""
    check = iam_request_cls(
        account_id=response.current_account,
        method=response.method,
        path=response.raw_path,
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action=action,
    )
    check._action = implied_action
    return check


def authorize(self, iam_request_cls, resource="*"):
    if not enforcing() or "Authorization" not in self.headers:
        return _authorize(self, iam_request_cls, resource)
    service, region = scope_of(self)
    action = self._get_action()
    action = action[0] if isinstance(action, list) else action
    p = params_of(self)
    account = self.current_account
    resource = resource_of(self, service, action, p, region, account) or resource
    _local.context = request_context(service, action, p, region, account, self, resource)
    try:
        try:
            _authorize(self, iam_request_cls, resource)
        except AccessDeniedError as e:
            where = f" on resource: {resource}" if resource != "*" else ""
            raise denied(self, service, e.message + where) from None
        if service == "logs" and action == "CreateLogGroup" and p.get("tags"):
            check = implied(self, iam_request_cls, action, "logs:TagResource")
            try:
                check.check_action_permitted(resource)
            except AccessDeniedError:
                message = (
                    f"User with accountId: {account} is not authorized to perform CreateLogGroup"
                    ' with Tags. An additional permission "logs:TagResource" is required.'
                )
                raise denied(self, service, message) from None
        for role, principal in passed_roles(service, action, p):
            _local.context = {**_local.context, "iam:passedtoservice": principal}
            check = implied(self, iam_request_cls, action, "iam:PassRole")
            try:
                check.check_action_permitted(role)
            except AccessDeniedError:
                user = check._access_key.arn
                message = f"User: {user} is not authorized to perform: iam:PassRole on resource: {role}"
                raise denied(self, service, message) from None
    finally:
        _local.context = None


IAMPolicyStatement.is_action_permitted = statement_permission
IAMRequestBase.__init__ = request_init
IAMRequestBase.check_signature = check_signature
ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize



# --- 6. Delivery through a CloudWatch Logs destination --------------------------------------

DESTINATION_ARN = re.compile(r"arn:[^:]+:logs:([^:]+):(\d{12}):destination:([^:*]+)")
ROOT_ARN = re.compile(r"arn:[^:]+:iam::(\d{12}):root")
SUBSCRIBE = "logs:PutSubscriptionFilter"


class LogsAccessDenied(JsonRESTError):
    """CloudWatch Logs' AccessDeniedException (HTTP 400, as its common errors list it)."""

    code = 400

    def __init__(self, message):
        super().__init__("AccessDeniedException", message)


def destination_of(arn):
    """The destination `arn` names, looked up in the ARN's account and region; None if none."""
    region, account, name = DESTINATION_ARN.fullmatch(arn).groups()
    try:
        return logs_backends[account][region].get_destination(name)
    except ResourceNotFoundException:
        return None


def organization_of(account, region):
    """The id of the organization moto's Organizations puts `account` in, or None."""
    try:
        org = organizations_backends[account][get_partition(region)].describe_organization()
    except Exception:  # noqa: BLE001 - AWSOrganizationsNotInUseException: in none
        return None
    return org["Organization"]["Id"]


def names_account(principal, account):
    """Whether a statement's Principal names `account` (its id, its root ARN, or `*`)."""
    if isinstance(principal, dict):
        principal = principal.get("AWS", [])
    values = principal if isinstance(principal, list) else [principal]
    for value in map(str, values):
        root = ROOT_ARN.fullmatch(value)
        if value in ("*", account) or (root and root.group(1) == account):
            return True
    return False


def grants_subscription(statement, destination_arn, source, context):
    """Whether an access-policy statement applies to `source`'s PutSubscriptionFilter."""
    if "NotAction" in statement:
        concerned = not matches(statement["NotAction"], SUBSCRIBE, True)
    else:
        concerned = matches(statement.get("Action", []), SUBSCRIBE, True)
    if "NotResource" in statement:
        on = not matches(statement["NotResource"], destination_arn, False)
    else:
        on = matches(statement.get("Resource", "*"), destination_arn, False)
    return (
        concerned
        and on
        and names_account(statement.get("Principal", []), source)
        and conditions_hold(statement.get("Condition") or {}, context)
    )


def by_organization(statement):
    conditions = statement.get("Condition") or {}
    return any(k.lower() == "aws:principalorgid" for block in conditions.values() for k in block)


def destination_grant(destination, source):
    """How `destination`'s access policy answers a PutSubscriptionFilter by account `source`:
    "denied"; "account"; or "organization" when only statements conditioned on
    `aws:PrincipalOrgID` allow it. A policy governs other accounts: the destination's own
    account is refused only by an explicit Deny."""
    _, owner, _ = DESTINATION_ARN.fullmatch(destination.arn).groups()
    region = destination.arn.split(":")[3]
    doc = json.loads(destination.access_policy) if destination.access_policy else {}
    statements = doc.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    context = {"aws:principalaccount": source, "aws:securetransport": "true"}
    org = organization_of(source, region)
    if org:
        context["aws:principalorgid"] = org
    applying = [s for s in statements if grants_subscription(s, destination.arn, source, context)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return "denied"
    allows = [s for s in applying if s.get("Effect") == "Allow"]
    if source == owner or any(not by_organization(s) for s in allows):
        return "account"
    return "organization" if allows else "denied"


_put_subscription_filter = LogsBackend.put_subscription_filter


def put_subscription_filter(
    self, log_group_name, filter_name, filter_pattern, destination_arn, role_arn
):
    """A filter to a destination: checked against the destination's access policy, stored
    with the destination's ARN (correction 6). Any other filter: moto's."""
    if not DESTINATION_ARN.fullmatch(destination_arn or ""):
        return _put_subscription_filter(
            self, log_group_name, filter_name, filter_pattern, destination_arn, role_arn
        )
    log_group = self.groups.get(log_group_name)
    if not log_group:
        raise ResourceNotFoundException()
    destination = destination_of(destination_arn)
    if destination is None:
        raise ResourceNotFoundException("The specified resource does not exist.")
    grant = destination_grant(destination, self.account_id)
    if grant == "denied":
        raise LogsAccessDenied(
            f"User with accountId: {self.account_id} is not authorized to perform: "
            f"{SUBSCRIBE} on resource: {destination_arn}"
        )
    if grant == "organization" and not role_arn:
        # CloudWatch Logs assumes the sender's role to check its organization.
        raise InvalidParameterException(
            "Role ARN is required when creating subscription filter against destination "
            "with Organization access policy"
        )
    log_group.put_subscription_filter(filter_name, filter_pattern, destination_arn, role_arn)
    return None


class SourceOwned:
    """The receiver's Firehose or Kinesis backend as moto's delivery code sees it: its own in
    everything (the stream, the stream's bucket) but `account_id`, which moto writes into the
    envelope as `owner`: the source account, as AWS names it."""

    def __init__(self, backend, owner):
        self._backend = backend
        self.account_id = owner

    def __getattr__(self, name):
        return getattr(self._backend, name)


_send_log_events = LogStream._send_log_events


def send_log_events(self, service, destination_arn, filter_name, log_events):
    """Delivers a destination filter's events to the destination's target, in the target's
    account and region, by moto's own delivery to that service."""
    if service != "logs" or not DESTINATION_ARN.fullmatch(destination_arn):
        return _send_log_events(self, service, destination_arn, filter_name, log_events)
    destination = destination_of(destination_arn)
    # AWS does not deliver on AccessDenied or ResourceNotFound (a policy since narrowed, a
    # destination deleted): it disables the filter for a while and skips the events.
    if destination is None or destination_grant(destination, self.account_id) == "denied":
        return None
    target = parse_arn(destination.target_arn)
    backends = {"firehose": firehose_backends, "kinesis": kinesis_backends}
    if target.service not in backends:
        return None
    backend = backends[target.service][target.account][target.region]
    type(backend).send_log_event(
        SourceOwned(backend, self.account_id),
        destination.target_arn,
        filter_name,
        self.log_group.name,
        self.log_stream_name,
        log_events,
    )
    return None


LogsBackend.put_subscription_filter = put_subscription_filter
LogStream._send_log_events = send_log_events


@classmethod
def permission_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    """moto's creation, keeping which statement of which function it added."""
    properties = cloudformation_json["Properties"]
    function = lambda_backends[account_id][region_name].get_function(properties["FunctionName"])
    statement, _ = function.policy.add_statement(raw=json.dumps(properties))
    permission = Permission(region=region_name)
    permission.function_name = properties["FunctionName"]
    permission.statement_id = statement["Sid"]
    return permission


def permission_delete(self, account_id, region_name):
    """Removes the statement this resource added (correction 5)."""
    try:
        function = lambda_backends[account_id][region_name].get_function(self.function_name)
        function.policy.del_statement(self.statement_id)
    except LambdaClientError:  # the function or the statement is gone already
        pass


Permission.create_from_cloudformation_json = permission_create
Permission.delete = permission_delete
FakeBucket.get_permission = _get_permission
S3Response.get_bucket_versioning = _get_bucket_versioning
DeliveryStream.MAX_STREAMS_PER_REGION = 5000

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
