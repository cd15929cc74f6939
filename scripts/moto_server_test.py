"""Tests of scripts/moto_server.py's IAM enforcement (correction 4): with it on, the launcher
evaluates identity policies as AWS documents it; and of its deletion of a stack's Lambda
permissions (correction 5). Run with moto's venv:

    .venv-moto/bin/python scripts/moto_server_test.py

(tests/aws/iam.rs runs it). Each test starts from an empty emulator, creates a user with the
policy under test while enforcement is off, then turns enforcement on and calls as that user.
"""

import io
import json
import os
import socket
import sys
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

    def client(self, service, key=("testing", "testing")):
        return boto3.client(
            service,
            region_name=REGION,
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
