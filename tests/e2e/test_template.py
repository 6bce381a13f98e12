"""template.yaml is valid, and infra/local/stack.py builds the local AWS exactly as it declares.

Run from the repo root with the project venv: `.venv/bin/python -m pytest -q tests/e2e/test_template.py`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
STACK = ROOT / "infra" / "local" / "stack.py"
BIN = Path(sys.executable).parent
REGION = "eu-central-1"

sys.path.insert(0, str(STACK.parent))
import stack  # noqa: E402  (infra/local/stack.py: the same loader the local stack uses)


@pytest.fixture(scope="module")
def template() -> dict:
    return stack.load_template(TEMPLATE)


def only(template: dict, type_: str) -> dict:
    found = stack.resources_of_type(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {list(found)}"
    return next(iter(found.values()))


def run_stack(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    return subprocess.run([sys.executable, str(STACK), *args], capture_output=True, text=True, timeout=timeout, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        ready = run_stack("wait", "--endpoint", url, "--timeout", "15")
        assert ready.returncode == 0, ready.stderr
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def local(endpoint):
    """Runs `stack.py create` once against the throwaway local AWS; its names and output."""
    suffix = uuid.uuid4().hex[:8]
    names = {"table": f"autobill-test-{suffix}", "bucket": f"autobill-test-{suffix}"}
    args = ("create", "--endpoint", endpoint, "--region", REGION, "--table", names["table"], "--bucket", names["bucket"])
    first = run_stack(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    return {**names, "args": args, "stdout": first.stdout}


@pytest.fixture(scope="module")
def session():
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)


def test_cfn_lint_passes():
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_are_workspace_binaries(template):
    functions = stack.resources_of_type(template, "AWS::Serverless::Function")
    assert functions
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        assert resource["Metadata"]["BuildMethod"] == "rust-cargolambda", logical_id
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        assert (ROOT / "functions" / binary / "Cargo.toml").is_file(), f"{logical_id}: no crate functions/{binary}"


def test_http_api_leaves_cors_to_the_functions(template):
    api = only(template, "AWS::Serverless::HttpApi")
    assert "CorsConfiguration" not in api
    assert "CorsConfiguration" not in (template.get("Globals", {}).get("HttpApi") or {})
    # ...so the API must route browsers' preflights to the function that answers them.
    routes = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for props in stack.resources_of_type(template, "AWS::Serverless::Function").values()
        for event in (props.get("Events") or {}).values()
        if event.get("Type") == "HttpApi"
    }
    assert ("OPTIONS", "/invoices") in routes, routes


def test_functions_reading_pdfs_can_tell_a_missing_one(template):
    """The local AWS does not enforce IAM: check here that every function that reads documents
    may also list the bucket, without which S3 answers 403, not 404, for a missing PDF."""
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        actions = {
            action
            for policy in props.get("Policies") or []
            if isinstance(policy, dict)
            for statement in policy.get("Statement", [])
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        }
        if "s3:GetObject" in actions:
            assert "s3:ListBucket" in actions, logical_id


def test_wait_times_out_when_nothing_answers():
    result = run_stack("wait", "--endpoint", f"http://127.0.0.1:{free_port()}", "--timeout", "0.5")
    assert result.returncode != 0
    assert "did not answer" in result.stderr


def test_table_matches_template(template, local, endpoint, session):
    declared = only(template, "AWS::DynamoDB::Table")
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    table = ddb.describe_table(TableName=local["table"])["Table"]

    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        declared["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]

    created = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    wanted = {i["IndexName"]: i for i in declared["GlobalSecondaryIndexes"]}
    assert set(created) == set(wanted)
    for name, index in wanted.items():
        assert created[name]["KeySchema"] == index["KeySchema"], name
        assert created[name]["Projection"]["ProjectionType"] == index["Projection"]["ProjectionType"], name

    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": declared["StreamSpecification"]["StreamViewType"]}

    ttl = ddb.describe_time_to_live(TableName=local["table"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == declared["TimeToLiveSpecification"]["AttributeName"]
    assert ttl["TimeToLiveStatus"] == ("ENABLED" if declared["TimeToLiveSpecification"]["Enabled"] else "DISABLED")

    backups = ddb.describe_continuous_backups(TableName=local["table"])["ContinuousBackupsDescription"]
    pitr = declared["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == ("ENABLED" if pitr else "DISABLED")


def test_bucket_matches_template(template, local, endpoint, session):
    declared = only(template, "AWS::S3::Bucket")
    s3 = session.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    bucket = local["bucket"]

    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == declared["PublicAccessBlockConfiguration"]
    assert all(block.values())

    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    declared_rules = declared["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert [r["ApplyServerSideEncryptionByDefault"] for r in rules] == [r["ServerSideEncryptionByDefault"] for r in declared_rules]

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == declared["VersioningConfiguration"]["Status"]
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership == declared["OwnershipControls"]


def test_sender_identity_exists(template, local, endpoint, session):
    identity = only(template, "AWS::SES::EmailIdentity")["EmailIdentity"]
    assert identity == {"Ref": "SenderEmail"}
    sender = template["Parameters"]["SenderEmail"]["Default"]
    ses = session.client("sesv2", endpoint_url=endpoint)
    assert ses.get_email_identity(EmailIdentity=sender)["IdentityType"] == "EMAIL_ADDRESS"
    assert f"sender {sender}: created" in local["stdout"]


def test_create_twice_succeeds(local):
    again = run_stack(*local["args"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"table  {local['table']}: exists" in again.stdout
    assert f"bucket {local['bucket']}: exists" in again.stdout
