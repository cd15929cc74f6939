"""Tests of scripts/moto_server.py's IAM enforcement (correction 4): with it on, the launcher
evaluates identity policies as AWS documents it; of its deletion of a stack's Lambda
permissions (correction 5); and of delivery through a CloudWatch Logs destination to another
account and region (correction 6). Run with moto's venv:

    .venv-moto/bin/python scripts/moto_server_test.py

(tests/aws/iam.rs runs it). Each test starts from an empty emulator, creates a user with the
policy under test while enforcement is off, then turns enforcement on and calls as that user.
"""

import gzip
import io
import json
import os
import socket
import sys
import time
import unittest
import zipfile

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_server  # noqa: E402  (applies the corrections)
from moto.server import ThreadedMotoServer  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def _zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


ZIP = _zip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator(unittest.TestCase):
    """One emulator for the class, emptied before each test."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=cls.port, verbose=False)
        cls.server.start()
        cls.url = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.enforce(False)
        cls.server.stop()

    @classmethod
    def enforce(cls, on):
        # The count of requests let through before enforcement: 0 = from now on.
        body = "0" if on else "inf"
        requests.post(f"{cls.url}/moto-api/reset-auth", data=body, timeout=10)

    def setUp(self):
        self.enforce(False)
        requests.post(f"{self.url}/moto-api/reset", timeout=10)
        self.addCleanup(self.enforce, False)

    def client(self, service, key=("testing", "testing"), region=REGION):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            config=Config(retries={"max_attempts": 1}),
        )

    def user(self, name, *statements):
        """A user holding exactly `statements`; its access key."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        doc = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(doc))
        k = iam.create_access_key(UserName=name)["AccessKey"]
        return k["AccessKeyId"], k["SecretAccessKey"]

    def assertDenied(self, call, code="AccessDenied"):
        with self.assertRaises(ClientError) as caught:
            call()
        self.assertEqual(caught.exception.response["Error"]["Code"], code)
        return caught.exception.response["Error"].get("Message", "")


class Enforcement(Emulator):
    def test_a_statement_scoped_to_a_topic_reaches_that_topic_only(self):
        sns = self.client("sns")
        mine = sns.create_topic(Name="pitagora-a")["TopicArn"]
        other = sns.create_topic(Name="other")["TopicArn"]
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": "sns:SetTopicAttributes", "Resource": "arn:aws:sns:*:*:pitagora-*"},
        )
        self.enforce(True)
        as_user = self.client("sns", key)
        as_user.set_topic_attributes(TopicArn=mine, AttributeName="DisplayName", AttributeValue="x")
        message = self.assertDenied(
            lambda: as_user.set_topic_attributes(TopicArn=other, AttributeName="DisplayName", AttributeValue="x")
        )
        self.assertIn(f"on resource: {other}", message)

    def test_an_allow_whose_condition_does_not_hold_grants_nothing(self):
        # moto ignores conditions in identity policies: the Allow would grant.
        key = self.user(
            "u",
            {
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
        )
        self.enforce(True)
        self.assertDenied(
            lambda: self.client("logs", key).describe_log_groups(), "AccessDeniedException"
        )

    def test_an_allow_whose_condition_does_not_hold_does_not_deny_what_another_allows(self):
        # AWS: a statement whose condition does not hold does not apply; it is no deny.
        self.client("logs").create_log_group(logGroupName="/ecs/team-a/app")
        key = self.user(
            "u",
            {
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
            {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
        )
        self.enforce(True)
        groups = self.client("logs", key).describe_log_groups()["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], ["/ecs/team-a/app"])

    def test_a_deny_whose_condition_holds_denies(self):
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "logs:CreateLogGroup",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
        )
        self.enforce(True)
        self.assertDenied(
            lambda: self.client("logs", key).create_log_group(logGroupName="/x"),
            "AccessDeniedException",
        )

    def test_a_log_group_write_is_checked_on_the_group_and_denied_in_the_json_protocol(self):
        logs = self.client("logs")
        for g in ("/ecs/team-a/app", "/ecs/team-c/app"):
            logs.create_log_group(logGroupName=g)
        key = self.user(
            "u",
            {
                "Effect": "Allow",
                "Action": "logs:PutRetentionPolicy",
                "Resource": "arn:aws:logs:*:*:log-group:/ecs/team-a/*",
            },
        )
        self.enforce(True)
        as_user = self.client("logs", key)
        as_user.put_retention_policy(logGroupName="/ecs/team-a/app", retentionInDays=1)
        self.assertDenied(
            lambda: as_user.put_retention_policy(logGroupName="/ecs/team-c/app", retentionInDays=1),
            "AccessDeniedException",
        )

    def test_log_group_requests_hold_the_tags_they_carry_and_the_tags_of_their_group(self):
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/ecs/team-a/theirs")
        managed = {"StringEquals": {"aws:RequestTag/app.kubernetes.io/managed-by": "pitagora"}}
        held = {"StringEquals": {"aws:ResourceTag/app.kubernetes.io/managed-by": "pitagora"}}
        groups = "arn:aws:logs:*:*:log-group:/ecs/team-a/*"
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:TagResource"], "Resource": groups, "Condition": managed},
            {"Effect": "Allow", "Action": ["logs:PutRetentionPolicy"], "Resource": groups, "Condition": held},
        )
        self.enforce(True)
        as_user = self.client("logs", key)
        tags = {"app.kubernetes.io/managed-by": "pitagora"}
        as_user.create_log_group(logGroupName="/ecs/team-a/ours", tags=tags)
        as_user.put_retention_policy(logGroupName="/ecs/team-a/ours", retentionInDays=30)
        self.assertDenied(
            lambda: as_user.create_log_group(logGroupName="/ecs/team-a/untagged"),
            "AccessDeniedException",
        )
        self.assertDenied(
            lambda: as_user.create_log_group(logGroupName="/ecs/team-a/other", tags={"app.kubernetes.io/managed-by": "team"}),
            "AccessDeniedException",
        )
        self.assertDenied(
            lambda: as_user.put_retention_policy(logGroupName="/ecs/team-a/theirs", retentionInDays=1),
            "AccessDeniedException",
        )

    def test_a_log_group_created_with_tags_needs_tag_resource_too(self):
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"},
        )
        self.enforce(True)
        as_user = self.client("logs", key)
        as_user.create_log_group(logGroupName="/a")
        message = self.assertDenied(
            lambda: as_user.create_log_group(logGroupName="/b", tags={"team": "a"}),
            "AccessDeniedException",
        )
        self.assertIn("CreateLogGroup with Tags", message)

    def test_add_permission_holds_lambda_principal_in_its_context(self):
        iam = self.client("iam")
        role = iam.create_role(
            RoleName="exec",
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
        )["Role"]["Arn"]
        self.client("lambda").create_function(
            FunctionName="team-a-f", Runtime="python3.12", Role=role, Handler="index.h", Code={"ZipFile": b"x"}
        )
        key = self.user(
            "u",
            {
                "Effect": "Allow",
                "Action": "lambda:AddPermission",
                "Resource": "arn:aws:lambda:*:*:function:team-a-*",
                "Condition": {"StringEquals": {"lambda:Principal": ["s3.amazonaws.com", "sns.amazonaws.com"]}},
            },
        )
        self.enforce(True)
        as_user = self.client("lambda", key)
        add = lambda principal, sid: as_user.add_permission(  # noqa: E731
            FunctionName="team-a-f", StatementId=sid, Action="lambda:InvokeFunction", Principal=principal
        )
        add("s3.amazonaws.com", "s3")
        self.assertDenied(lambda: add("events.amazonaws.com", "events"), "AccessDeniedException")

    def test_a_request_on_a_function_arn_is_signed_over_its_encoded_path(self):
        iam = self.client("iam")
        role = iam.create_role(
            RoleName="exec",
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
        )["Role"]["Arn"]
        arn = self.client("lambda").create_function(
            FunctionName="team-a-f", Runtime="python3.12", Role=role, Handler="index.h", Code={"ZipFile": b"x"}
        )["FunctionArn"]
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": "lambda:AddPermission", "Resource": "arn:aws:lambda:*:*:function:team-a-*"},
        )
        self.enforce(True)
        self.client("lambda", key).add_permission(
            FunctionName=arn, StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
        )

    def test_a_role_handed_to_a_service_needs_pass_role_to_that_service(self):
        iam = self.client("iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        cfn_role = iam.create_role(RoleName="pitagora-cloudformation", Path="/pitagora/", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        other = iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": "cloudformation:CreateStack", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": cfn_role,
                "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": other,
                "Condition": {"StringEquals": {"iam:PassedToService": "firehose.amazonaws.com"}},
            },
        )
        self.enforce(True)
        cfn = self.client("cloudformation", key)
        body = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
        cfn.create_stack(StackName="s1", TemplateBody=body, RoleARN=cfn_role)
        message = self.assertDenied(lambda: cfn.create_stack(StackName="s2", TemplateBody=body, RoleARN=other))
        self.assertIn(f"iam:PassRole on resource: {other}", message)

    def test_role_writes_hold_the_permissions_boundary_they_set_or_the_role_carries(self):
        iam = self.client("iam")
        boundary = f"arn:aws:iam::{ACCOUNT}:policy/pitagora/pitagora-pipeline-boundary"
        other = f"arn:aws:iam::{ACCOUNT}:policy/admin"
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        iam.create_role(RoleName="bounded", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
        iam.create_role(RoleName="unbounded", AssumeRolePolicyDocument=trust)
        key = self.user(
            "u",
            {
                "Effect": "Allow",
                "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"],
                "Resource": "*",
                "Condition": {"ArnLike": {"iam:PermissionsBoundary": boundary}},
            },
        )
        self.enforce(True)
        as_user = self.client("iam", key)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        # Setting: the boundary the request names.
        as_user.create_role(RoleName="new", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
        self.assertDenied(lambda: as_user.create_role(RoleName="free", AssumeRolePolicyDocument=trust))
        self.assertDenied(lambda: as_user.create_role(RoleName="other", AssumeRolePolicyDocument=trust, PermissionsBoundary=other))
        self.assertDenied(lambda: as_user.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=other))
        as_user.put_role_permissions_boundary(RoleName="unbounded", PermissionsBoundary=boundary)
        # Holding: the role's current boundary.
        as_user.put_role_policy(RoleName="bounded", PolicyName="p", PolicyDocument=policy)
        self.enforce(False)
        iam.delete_role_permissions_boundary(RoleName="unbounded")
        self.enforce(True)
        self.assertDenied(lambda: as_user.put_role_policy(RoleName="unbounded", PolicyName="p", PolicyDocument=policy))
        as_user.delete_role_permissions_boundary(RoleName="bounded")
        self.assertDenied(lambda: as_user.delete_role_permissions_boundary(RoleName="bounded"))

    def test_service_prefixes_follow_iam_not_the_signing_name(self):
        key = self.user("u", {"Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"})
        self.enforce(True)
        self.client("resourcegroupstaggingapi", key).get_resources()

    def test_s3_public_access_block_is_checked_as_its_own_action(self):
        self.client("s3").create_bucket(
            Bucket="pitagora-b", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        key = self.user(
            "u",
            {"Effect": "Allow", "Action": "s3:PutBucketPublicAccessBlock", "Resource": "arn:aws:s3:::pitagora-*"},
        )
        self.enforce(True)
        block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
        self.client("s3", key).put_public_access_block(Bucket="pitagora-b", PublicAccessBlockConfiguration=block)


class Conditions(unittest.TestCase):
    """The operators, against a context, as AWS's condition reference describes them."""

    def holds(self, operator, expected, actual):
        context = {} if actual is None else {"k": actual}
        return moto_server.condition_holds(operator, "K", expected, context)

    def test_operators(self):
        cases = [
            ("StringEquals", "a", "a", True),
            ("StringEquals", ["a", "b"], "b", True),
            ("StringEquals", "a", "A", False),
            ("StringEqualsIgnoreCase", "a", "A", True),
            ("StringNotEquals", "a", "b", True),
            ("StringLike", "team-*", "team-a", True),
            ("StringLike", "team-?", "team-ab", False),
            ("StringNotLike", "team-*", "other", True),
            ("ArnLike", "arn:aws:s3:::pitagora-*", "arn:aws:s3:::pitagora-b", True),
            ("ArnLike", "arn:aws:logs:*:1:*", "arn:aws:logs:eu-west-1:2:log-group:x", False),
            ("Bool", "true", "true", True),
            ("Bool", "false", "true", False),
            # A missing key: only the negated operators and IfExists hold.
            ("StringEquals", "a", None, False),
            ("StringNotEquals", "a", None, True),
            ("StringEqualsIfExists", "a", None, True),
            ("Null", "true", None, True),
            ("Null", "false", "x", True),
            # An operator the launcher does not know never holds.
            ("NumericLessThan", "1", "0", False),
        ]
        for operator, expected, actual, result in cases:
            with self.subTest(operator=operator, expected=expected, actual=actual):
                self.assertEqual(self.holds(operator, expected, actual), result)


class StackDeletion(Emulator):
    """Correction 5: CloudFormation deletes a deleted stack's resources, its Lambda
    permissions included (enforcement stays off)."""

    def function(self, name):
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
        return self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="index.handler",
            Code={"ZipFile": ZIP},
        )["FunctionArn"]

    def statements(self, name):
        try:
            policy = self.client("lambda").get_policy(FunctionName=name)["Policy"]
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
            return []
        return json.loads(policy)["Statement"]

    def test_a_deleted_stack_removes_its_permission_and_leaves_the_functions_own(self):
        arn = self.function("f")
        lam = self.client("lambda")
        lam.add_permission(FunctionName="f", StatementId="own", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
        template = {"Resources": {"P": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": arn, "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com", "SourceAccount": ACCOUNT}}}}
        cfn = self.client("cloudformation")
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
        principals = sorted(str(s["Principal"]) for s in self.statements("f"))
        self.assertEqual(len(principals), 2, principals)

        cfn.delete_stack(StackName="s")

        self.assertEqual([s["Sid"] for s in self.statements("f")], ["own"])

    def test_a_permission_removed_by_hand_does_not_fail_the_stacks_deletion(self):
        arn = self.function("g")
        template = {"Resources": {"P": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": arn, "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}}}}
        cfn = self.client("cloudformation")
        stack = cfn.create_stack(StackName="t", TemplateBody=json.dumps(template))["StackId"]
        (statement,) = self.statements("g")
        self.client("lambda").remove_permission(FunctionName="g", StatementId=statement["Sid"])

        cfn.delete_stack(StackName="t")

        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        self.assertEqual(status, "DELETE_COMPLETE")


class Destinations(Emulator):
    """Correction 6: a subscription filter in account B (the source, region eu-west-1) to a
    CloudWatch Logs destination of account A (the receiver, same region) whose target is A's
    Firehose stream in us-east-1, writing to A's bucket there."""

    A, B, C = "111111111111", "222222222222", "333333333333"
    TARGET_REGION = "us-east-1"
    GROUP = "/ecs/team-b/app"

    def in_account(self, service, account, region=REGION):
        client = self.client(service, region=region)

        def header(request, **_):
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.*.*", header)
        return client

    def setUp(self):
        super().setUp()
        s3 = self.in_account("s3", self.A, self.TARGET_REGION)
        s3.create_bucket(Bucket="central-logs")
        stream = self.in_account("firehose", self.A, self.TARGET_REGION).create_delivery_stream(
            DeliveryStreamName="central",
            ExtendedS3DestinationConfiguration={
                "RoleARN": f"arn:aws:iam::{self.A}:role/firehose",
                "BucketARN": "arn:aws:s3:::central-logs",
            },
        )["DeliveryStreamARN"]
        self.destination = self.in_account("logs", self.A).put_destination(
            destinationName="central",
            targetArn=stream,
            roleArn=f"arn:aws:iam::{self.A}:role/cwl-to-firehose",
        )["destination"]["arn"]

    def allow(self, *statements):
        """Sets the destination's access policy (in A) to `statements`."""
        doc = {"Version": "2012-10-17", "Statement": list(statements)}
        self.in_account("logs", self.A).put_destination_policy(
            destinationName="central", accessPolicy=json.dumps(doc)
        )

    def statement(self, principal, effect="Allow", **extra):
        return {"Effect": effect, "Principal": principal, "Action": "logs:PutSubscriptionFilter", "Resource": self.destination, **extra}

    def subscribe(self, account, **extra):
        """Account `account`'s group, with a filter to the destination; its logs client."""
        logs = self.in_account("logs", account)
        logs.create_log_group(logGroupName=self.GROUP)
        logs.put_subscription_filter(
            logGroupName=self.GROUP, filterName="central", filterPattern="", destinationArn=self.destination, **extra
        )
        return logs

    def write(self, logs, message):
        logs.create_log_stream(logGroupName=self.GROUP, logStreamName="web-1")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=self.GROUP, logStreamName="web-1", logEvents=[{"timestamp": now, "message": message}]
        )

    def delivered(self):
        """The envelopes in A's bucket."""
        s3 = self.in_account("s3", self.A, self.TARGET_REGION)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="central-logs").get("Contents", [])]
        bodies = [s3.get_object(Bucket="central-logs", Key=k)["Body"].read() for k in keys]
        return [json.loads(gzip.decompress(b)) for b in bodies]

    def assertRefused(self, call, code):
        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response["Error"]
        self.assertEqual(error["Code"], code, error)
        return error["Message"]

    def test_a_filter_to_a_destination_the_policy_allows_is_described_with_its_arn(self):
        self.allow(self.statement({"AWS": self.B}))
        logs = self.subscribe(self.B)
        (described,) = logs.describe_subscription_filters(logGroupName=self.GROUP)["subscriptionFilters"]
        self.assertEqual(described["destinationArn"], self.destination)
        self.assertNotIn("roleArn", described)

    def test_events_in_the_source_group_reach_the_targets_bucket_named_as_the_sources(self):
        self.allow(self.statement(f"arn:aws:iam::{self.B}:root"))
        self.write(self.subscribe(self.B), '{"id":"1"}')
        (envelope,) = self.delivered()
        self.assertEqual(envelope["owner"], self.B)
        self.assertEqual(envelope["logGroup"], self.GROUP)
        self.assertEqual(envelope["logStream"], "web-1")
        self.assertEqual(envelope["subscriptionFilters"], ["central"])
        self.assertEqual([e["message"] for e in envelope["logEvents"]], ['{"id":"1"}'])

    def test_an_account_the_policy_does_not_name_is_refused_and_nothing_is_delivered(self):
        self.allow(self.statement({"AWS": [self.B]}))
        message = self.assertRefused(lambda: self.subscribe(self.C), "AccessDeniedException")
        self.assertEqual(
            message,
            f"User with accountId: {self.C} is not authorized to perform: "
            f"logs:PutSubscriptionFilter on resource: {self.destination}",
        )
        self.write(self.in_account("logs", self.C), "x")
        self.assertEqual(self.delivered(), [])

    def test_a_destination_without_a_policy_refuses_other_accounts(self):
        self.assertRefused(lambda: self.subscribe(self.B), "AccessDeniedException")

    def test_a_destination_without_a_policy_admits_its_own_account(self):
        # The access policy governs other accounts (PutDestination's reference).
        self.subscribe(self.A)

    def test_a_deny_refuses_what_an_allow_grants(self):
        self.allow(self.statement("*"), self.statement({"AWS": self.B}, effect="Deny"))
        self.assertRefused(lambda: self.subscribe(self.B), "AccessDeniedException")

    def test_a_destination_that_does_not_exist_is_refused(self):
        self.destination = self.destination.replace(":central", ":elsewhere")
        message = self.assertRefused(lambda: self.subscribe(self.B), "ResourceNotFoundException")
        self.assertEqual(message, "The specified resource does not exist.")

    def org_statement(self, org_id):
        return self.statement("*", Condition={"StringEquals": {"aws:PrincipalOrgID": [org_id]}})

    def test_a_policy_granting_an_organization_refuses_an_account_outside_it(self):
        self.allow(self.org_statement("o-aaaaaaaaaa"))
        role = f"arn:aws:iam::{self.B}:role/cwl-subscription"
        self.assertRefused(lambda: self.subscribe(self.B, roleArn=role), "AccessDeniedException")

    def test_a_policy_granting_an_organization_admits_its_member_with_a_role(self):
        org = self.in_account("organizations", self.B).create_organization(FeatureSet="ALL")
        self.allow(self.org_statement(org["Organization"]["Id"]))
        role = f"arn:aws:iam::{self.B}:role/cwl-subscription"
        logs = self.subscribe(self.B, roleArn=role)
        (described,) = logs.describe_subscription_filters(logGroupName=self.GROUP)["subscriptionFilters"]
        self.assertEqual(described["roleArn"], role)

    def test_a_policy_granting_an_organization_needs_the_senders_role(self):
        org = self.in_account("organizations", self.B).create_organization(FeatureSet="ALL")
        self.allow(self.org_statement(org["Organization"]["Id"]))
        self.assertRefused(lambda: self.subscribe(self.B), "InvalidParameterException")

    def test_a_policy_narrowed_after_the_filter_was_put_stops_delivery(self):
        self.allow(self.statement({"AWS": self.B}))
        logs = self.subscribe(self.B)
        self.allow(self.statement({"AWS": self.C}))
        self.write(logs, "x")
        self.assertEqual(self.delivered(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
