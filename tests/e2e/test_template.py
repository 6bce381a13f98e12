"""template.yaml is valid, and infra/local/stack.py builds the local AWS exactly as it declares.

Run from the repo root with the project venv: `.venv/bin/python -m pytest -q tests/e2e/test_template.py`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import boto3
import pytest
import yaml
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
    names = {
        "table": f"autobill-test-{suffix}",
        "bucket": f"autobill-test-{suffix}",
        "event_bus": f"autobill-test-{suffix}-events",
        "configuration_set": f"autobill-test-{suffix}-mail",
        "schedule_group": f"autobill-test-{suffix}-webhook-retries",
    }
    args = (
        "create", "--endpoint", endpoint, "--region", REGION,
        "--table", names["table"], "--bucket", names["bucket"], "--event-bus", names["event_bus"],
        "--configuration-set", names["configuration_set"], "--schedule-group", names["schedule_group"],
    )  # fmt: skip
    first = run_stack(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    return {**names, "args": args, "stdout": first.stdout}


@pytest.fixture(scope="module")
def session():
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)


def statements(props: dict) -> list[dict]:
    """The inline policy statements of a serverless function, each with Action as a list."""
    return [
        {**statement, "Action": [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]}
        for policy in props.get("Policies") or []
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
    ]


def http_routes(props: dict) -> set[tuple[str, str]]:
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for event in (props.get("Events") or {}).values()
        if event.get("Type") == "HttpApi"
    }


def refs(value) -> set[str]:
    """Every name a Ref or a ${Name} in a Sub points at, anywhere in the value."""
    if isinstance(value, list):
        return set().union(*map(refs, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, arg in value.items():
        if key == "Ref" and isinstance(arg, str):
            found.add(arg)
        elif key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            if not isinstance(arg, str):
                found |= refs(arg[1])
        else:
            found |= refs(arg)
    return found


def test_cfn_lint_passes():
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes(tmp_path):
    """The SAM CLI's own check (its transform, then cfn-lint on the result). aws-sam-cli lives in a
    venv of its own (.venv-sam: it downgrades boto3 and click if it shares moto's), which
    infra/local/test.sh installs and names in AUTOBILL_SAM."""
    sam = os.environ.get("AUTOBILL_SAM")
    if not sam:
        pytest.fail(
            "AUTOBILL_SAM is not set: run `make test` (it installs aws-sam-cli from "
            "infra/local/sam-requirements.txt into .venv-sam and sets AUTOBILL_SAM), or set it to that sam binary"
        )
    assert Path(sam).is_file(), f"AUTOBILL_SAM={sam} does not exist: run `make test` to install it"
    # Offline and self-contained: no telemetry, and a throwaway HOME whose SAM CLI config says the
    # version was just checked (else every run asks PyPI for a newer release).
    (tmp_path / ".aws-sam").mkdir()
    (tmp_path / ".aws-sam" / "metadata.json").write_text(json.dumps({"lastVersionCheck": time.time(), "telemetryEnabled": False}))
    env = {**os.environ, "HOME": str(tmp_path), "SAM_CLI_TELEMETRY": "0"}
    env.pop("__SAM_CLI_APP_DIR", None)
    result = subprocess.run(
        [sam, "validate", "--lint", "--template", str(TEMPLATE), "--region", REGION],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output, output


def test_functions_are_workspace_binaries(template):
    """Neither cfn-lint nor `sam validate --lint` checks Runtime or Architectures of a serverless
    function (a wrong value in Globals passes both): every function must resolve, Globals
    included, to the cargo-lambda build of a workspace binary for arm64 on provided.al2023."""
    functions = stack.resources_of_type(template, "AWS::Serverless::Function")
    assert functions
    for logical_id, props in functions.items():
        assert effective(template, props, "Runtime") == "provided.al2023", logical_id
        assert effective(template, props, "Architectures") == ["arm64"], logical_id
        assert effective(template, props, "Handler") == "bootstrap", logical_id
        assert effective(template, props, "PackageType") in (None, "Zip"), logical_id
        assert "InlineCode" not in props and "ImageUri" not in props, logical_id
        # cargo-lambda builds from the workspace root.
        assert props.get("CodeUri") == ".", logical_id
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        assert resource["Metadata"]["BuildMethod"] == "rust-cargolambda", logical_id
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        manifest = ROOT / "functions" / binary / "Cargo.toml"
        assert manifest.is_file(), f"{logical_id}: no crate functions/{binary}"
        # cargo-lambda builds the binary by name: the crate must produce one called `binary`.
        crate = tomllib.loads(manifest.read_text(encoding="utf-8"))
        binaries = {b.get("name", crate["package"]["name"]) for b in crate.get("bin", [])} or {crate["package"]["name"]}
        assert binary in binaries, f"{logical_id}: functions/{binary} builds {sorted(binaries)}, not {binary}"


def test_http_api_leaves_cors_to_the_functions(template):
    api = only(template, "AWS::Serverless::HttpApi")
    assert "CorsConfiguration" not in api
    assert "CorsConfiguration" not in (template.get("Globals", {}).get("HttpApi") or {})
    # ...so the API must route browsers' preflights to the function that answers them.
    routes = set().union(*map(http_routes, stack.resources_of_type(template, "AWS::Serverless::Function").values()))
    assert ("OPTIONS", "/invoices") in routes, routes


def test_payment_callbacks_take_post_and_get(template):
    callback = template["Resources"]["PaymentCallbackFunction"]
    assert callback["Metadata"]["BuildProperties"]["Binary"] == "payment-callback"
    assert http_routes(callback["Properties"]) == {("POST", "/callbacks/{provider}"), ("GET", "/callbacks/{provider}")}
    # No other function answers on the callback paths.
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        if logical_id != "PaymentCallbackFunction":
            assert not any(path.startswith("/callbacks") for _, path in http_routes(props)), logical_id


def test_secret_parameters_are_noecho(template):
    parameters = template["Parameters"]
    secret = {name for name in parameters if re.search(r"Secret|Password", name)}
    # The names the functions read their secrets from; a rename must keep them secret.
    assert {
        "LinkSecret", "PreviousLinkSecret", "SandboxSecret", "StripeWebhookSecret", "YooKassaSecretKey",
        "CloudPaymentsApiSecret", "TBankPassword", "RobokassaPassword2",
    } <= secret  # fmt: skip
    for name in secret:
        assert parameters[name].get("NoEcho") is True, name
        # Every payment provider may be left off: its secret defaults to empty.
        if name != "LinkSecret":
            assert parameters[name].get("Default") == "", name
    # ...and no output shows one.
    for output, spec in (template.get("Outputs") or {}).items():
        assert not refs(spec) & secret, output


def test_every_parameter_reaches_the_functions(template):
    used = refs(template.get("Globals", {})) | refs(template["Resources"])
    assert set(template["Parameters"]) <= used, set(template["Parameters"]) - used


def test_outbox_stream_retries_are_bounded_and_filtered(template):
    publisher = template["Resources"]["PublishOutboxFunction"]
    assert publisher["Metadata"]["BuildProperties"]["Binary"] == "publish-outbox"
    props = publisher["Properties"]
    streams = [e["Properties"] for e in (props.get("Events") or {}).values() if e.get("Type") == "DynamoDB"]
    assert len(streams) == 1, streams
    event = streams[0]
    assert event["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert "StreamSpecification" in template["Resources"]["Table"]["Properties"]

    # A poison record must not block the shard forever: bounded retries, the failing half of a
    # batch split off, per-record failures reported, and what still fails parked in the DLQ.
    assert 0 <= event["MaximumRetryAttempts"] <= 10
    assert event["BisectBatchOnFunctionError"] is True
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    on_failure = event["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["OutboxDLQ", "Arn"]}
    assert template["Resources"]["OutboxDLQ"]["Type"] == "AWS::SQS::Queue"
    # SAM grants the send itself only when OnFailure names a Type; otherwise the function's policy
    # must (the local AWS does not enforce IAM, so check it here).
    if on_failure.get("Type") != "SQS":
        assert any(
            "sqs:SendMessage" in st["Action"] and st["Resource"] == on_failure["Destination"] for st in statements(props)
        ), "no sqs:SendMessage on the OnFailure queue"

    # Only inserted outbox items: the publisher's own updates must not invoke it again.
    patterns = [json.loads(f["Pattern"]) for f in event["FilterCriteria"]["Filters"]]
    assert patterns == [{"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}}]

    assert any(
        "events:PutEvents" in st["Action"] and st["Resource"] == {"Fn::GetAtt": ["EventBus", "Arn"]} for st in statements(props)
    ), "no events:PutEvents on the event bus"
    assert template["Globals"]["Function"]["Environment"]["Variables"]["AUTOBILL_EVENT_BUS"] == {"Ref": "EventBus"}


def resources(statement: dict) -> list:
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


def sub_text(value) -> str:
    """The text of a `Fn::Sub` (a plain string as itself); '' for any other intrinsic."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
    return ""


def only_rule(template: dict, function_id: str) -> tuple[str, dict]:
    """The event id and properties of the one EventBridgeRule event of a serverless function."""
    props = template["Resources"][function_id]["Properties"]
    rules = {name: e["Properties"] for name, e in (props.get("Events") or {}).items() if e.get("Type") == "EventBridgeRule"}
    assert len(rules) == 1, rules
    return next(iter(rules.items()))


def assert_bounded_retries_then_dead_letters(template: dict, function_id: str, rule_id: str, rule: dict) -> str:
    """Delivery failures of a function's EventBridge rule are retried for a bounded time, then
    parked in a queue of the template that the rule may send to; the queue's logical id."""
    retry = rule["RetryPolicy"]
    assert 0 <= retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
    dead_letters = rule["DeadLetterConfig"]
    if dead_letters.get("Type") != "SQS":
        # SAM adds the queue policy only for a queue it creates (Type): a queue given by Arn
        # needs its own policy letting this rule (SAM names it FunctionId + EventId) send.
        queue = dead_letters["Arn"]["Fn::GetAtt"][0]
        assert dead_letters["Arn"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
        rule_arn = {"Fn::GetAtt": [f"{function_id}{rule_id}", "Arn"]}
        granted = [
            st
            for policy in stack.resources_of_type(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": queue} in policy["Queues"]
            for st in policy["PolicyDocument"]["Statement"]
        ]
        assert any(
            st["Effect"] == "Allow"
            and st["Principal"] == {"Service": "events.amazonaws.com"}
            and "sqs:SendMessage" in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
            and st["Condition"]["ArnEquals"]["aws:SourceArn"] == rule_arn
            for st in granted
        ), f"no queue policy lets {rule_arn} send to {queue}"
        return queue
    return ""


def test_fulfil_runs_on_paid_invoices_from_the_project_bus(template):
    fulfil = template["Resources"]["FulfilFunction"]
    assert fulfil["Metadata"]["BuildProperties"]["Binary"] == "fulfil"
    rule_id, rule = only_rule(template, "FulfilFunction")

    # Exactly the outbox's invoice.paid events, on the bus the outbox publishes to.
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["Pattern"] == {"source": ["autobill"], "detail-type": ["invoice.paid"]}

    # Delivery failures are retried for a bounded time, then parked in a queue of the template.
    assert_bounded_retries_then_dead_letters(template, "FulfilFunction", rule_id, rule)


def test_fulfil_sweeps_what_the_events_missed(template):
    props = template["Resources"]["FulfilFunction"]["Properties"]
    sweeps = [e["Properties"] for e in (props.get("Events") or {}).values() if e.get("Type") == "ScheduleV2"]
    assert len(sweeps) == 1, sweeps
    assert re.fullmatch(r"rate\(\d+ (minute|minutes|hour|hours)\)", sweeps[0]["ScheduleExpression"])
    # A missed sweep is simply the next one: no retries piling up behind it.
    assert sweeps[0]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert int(props["Environment"]["Variables"]["AUTOBILL_FULFIL_SWEEP_AFTER_SECONDS"]) > 0


def test_mail_permissions_are_scoped_to_the_sender_and_configuration_set(template):
    assert template["Globals"]["Function"]["Environment"]["Variables"]["AUTOBILL_SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}
    assert template["Resources"]["SesConfigurationSet"]["Type"] == "AWS::SES::ConfigurationSet"
    identity = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmail}"
    configuration_set = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${SesConfigurationSet}"

    senders = set()
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        for statement in statements(props):
            if not any(action.startswith("ses:") for action in statement["Action"]):
                continue
            senders.add(logical_id)
            assert statement["Effect"] == "Allow", logical_id
            assert "NotResource" not in statement, logical_id
            texts = [sub_text(r) for r in resources(statement)]
            assert not any("*" in text for text in texts), f"{logical_id}: wildcard SES resource {texts}"
            assert set(texts) <= {identity, configuration_set}, f"{logical_id}: SES on {texts}"
            # Sending through a configuration set is authorised on the set as well as the identity.
            if {"ses:SendEmail", "ses:SendRawEmail"} & set(statement["Action"]):
                assert set(texts) == {identity, configuration_set}, logical_id
    assert "FulfilFunction" in senders
    fulfil = {a for st in statements(template["Resources"]["FulfilFunction"]["Properties"]) for a in st["Action"]}
    assert {"ses:SendEmail", "ses:SendRawEmail"} <= fulfil


def test_fulfil_permissions_have_no_wildcard_resources(template):
    for statement in statements(template["Resources"]["FulfilFunction"]["Properties"]):
        for resource in resources(statement):
            text = sub_text(resource)
            # Object keys under a prefix (`.../acts/*`) are fine; a bare or service-wide `*` is not.
            assert text != "*" and not text.endswith(":*"), statement
            if "*" in text:
                assert re.fullmatch(r"\$\{DocumentsBucket\.Arn\}/[a-z-]+/\*", text), text


def test_get_invoice_serves_the_act(template):
    props = template["Resources"]["GetInvoiceFunction"]["Properties"]
    assert ("GET", "/invoices/{id}/act") in http_routes(props)
    assert any(
        "s3:GetObject" in st["Action"] and {"Fn::Sub": "${DocumentsBucket.Arn}/acts/*"} in resources(st) for st in statements(props)
    ), "GetInvoiceFunction cannot read acts"


def test_functions_reading_pdfs_can_tell_a_missing_one(template):
    """The local AWS does not enforce IAM: check here that every function that reads documents
    may also list the bucket, without which S3 answers 403, not 404, for a missing PDF."""
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        actions = {action for statement in statements(props) for action in statement["Action"]}
        if "s3:GetObject" in actions:
            assert "s3:ListBucket" in actions, logical_id


# ------------------------------------------------------------------------------ outgoing webhooks

DELIVER_WEBHOOKS_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-deliver-webhooks"
RETRY_SCHEDULES = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${WebhookRetryGroup}/*"
# Made-up stack values to resolve the template's Subs with, as CloudFormation would.
STACK_VALUES = {"AWS::StackName": "autobill-prod", "AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": "123456789012"}


def actions(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def test_webhooks_run_on_every_domain_event_from_the_project_bus(template):
    deliver = template["Resources"]["DeliverWebhooksFunction"]
    assert deliver["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "deliver-webhooks"}}
    props = deliver["Properties"]
    assert props["Timeout"] == 60 and props["MemorySize"] == 256
    rule_id, rule = only_rule(template, "DeliverWebhooksFunction")

    # The vendor-facing domain events the outbox publishes, on the project's bus.
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["Pattern"]["source"] == ["autobill"]
    # Only the vendor-facing events, named one by one.
    assert set(rule["Pattern"]["detail-type"]) == {
        "invoice.issued", "invoice.paid", "invoice.partially_paid", "invoice.needs_review", "invoice.voided",
        "invoice.documents_resent", "subscription.activated", "subscription.renewal_invoiced", "subscription.expired"}

    queue = assert_bounded_retries_then_dead_letters(template, "DeliverWebhooksFunction", rule_id, rule)
    assert queue == "WebhooksDLQ"
    dlq = template["Resources"]["WebhooksDLQ"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["SqsManagedSseEnabled"] is True
    # What failed every Lambda retry (async invocations by the rule and the schedules) lands there too.
    on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["WebhooksDLQ", "Arn"]}}
    assert template["Outputs"]["WebhooksDLQUrl"]["Value"] == {"Ref": "WebhooksDLQ"}

    # Reads and updates endpoints and their deliveries, nothing else of the table.
    table = [st for st in statements(props) if any(a.startswith("dynamodb:") for a in actions(st))]
    assert {a for st in table for a in actions(st)} == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    for st in table:
        for resource in resources(st):
            assert resource == {"Fn::GetAtt": ["Table", "Arn"]} or sub_text(resource) == "${Table.Arn}/index/*", resource


def test_webhooks_refuse_loopback_endpoints_in_production(template):
    # The local stack allows them (receivers on the developer's machine); AWS must not.
    assert template["Globals"]["Function"]["Environment"]["Variables"]["AUTOBILL_WEBHOOKS_ALLOW_LOOPBACK"] == "false"


def test_webhook_retries_are_schedules_in_the_stack_group(template):
    group = template["Resources"]["WebhookRetryGroup"]
    assert group["Type"] == "AWS::Scheduler::ScheduleGroup"
    assert group["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-webhook-retries"}
    env = template["Resources"]["DeliverWebhooksFunction"]["Properties"]["Environment"]["Variables"]
    assert env["AUTOBILL_WEBHOOK_RETRY_GROUP"] == {"Ref": "WebhookRetryGroup"}

    # Only the deliver function touches the scheduler, and it may only create schedules in its group.
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        scheduling = [st for st in statements(props) if any(a.startswith("scheduler:") for a in actions(st))]
        if logical_id != "DeliverWebhooksFunction":
            assert not scheduling, logical_id
            continue
        assert scheduling, "DeliverWebhooksFunction cannot create schedules"
        for st in scheduling:
            assert st["Effect"] == "Allow" and "NotResource" not in st, st
            assert actions(st) == ["scheduler:CreateSchedule"], st
            assert [sub_text(r) for r in resources(st)] == [RETRY_SCHEDULES], st


def test_pass_role_is_scoped_to_the_retry_role(template):
    env = template["Resources"]["DeliverWebhooksFunction"]["Properties"]["Environment"]["Variables"]
    assert env["AUTOBILL_WEBHOOK_RETRY_ROLE_ARN"] == {"Fn::GetAtt": ["WebhookRetryRole", "Arn"]}
    passing = {}
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        for st in statements(props):
            if any(a in ("iam:PassRole", "iam:*", "*") for a in actions(st)):
                passing.setdefault(logical_id, []).append(st)
    assert list(passing) == ["DeliverWebhooksFunction"], passing
    for st in passing["DeliverWebhooksFunction"]:
        assert st["Effect"] == "Allow" and actions(st) == ["iam:PassRole"], st
        assert resources(st) == [{"Fn::GetAtt": ["WebhookRetryRole", "Arn"]}], st
        assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}, st


def test_retry_role_trusts_only_the_scheduler_and_invokes_only_the_deliver_function(template):
    role = template["Resources"]["WebhookRetryRole"]
    assert role["Type"] == "AWS::IAM::Role"
    props = role["Properties"]

    trust = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust
    for st in trust:
        assert st["Effect"] == "Allow", st
        services = st["Principal"]["Service"]
        assert st["Principal"] == {"Service": services} and services in ("scheduler.amazonaws.com", ["scheduler.amazonaws.com"]), st
        assert actions(st) == ["sts:AssumeRole"], st
        # Only this account's schedules (confused deputy).
        assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}, st
        # ...and, if narrowed further, the retry group's (Scheduler's source is the schedule group).
        group_arn = {"Fn::GetAtt": ["WebhookRetryGroup", "Arn"]}
        assert st["Condition"]["StringEquals"].get("aws:SourceArn", group_arn) == group_arn, st

    assert not props.get("ManagedPolicyArns")
    granted = [st for policy in props["Policies"] for st in policy["PolicyDocument"]["Statement"]]
    assert granted
    invokes = [st for st in granted if actions(st) == ["lambda:InvokeFunction"]]
    assert invokes and len(granted) == len(invokes) + 1, granted
    for st in granted:
        assert st["Effect"] == "Allow" and "NotResource" not in st, st
        if st in invokes:
            assert [sub_text(r) for r in resources(st)] == [DELIVER_WEBHOOKS_ARN], st
        else:
            # A retry the scheduler cannot hand over goes to the webhooks DLQ, nowhere else.
            assert actions(st) == ["sqs:SendMessage"], st
            assert resources(st) == [{"Fn::GetAtt": ["WebhooksDLQ", "Arn"]}], st
    env = template["Resources"]["DeliverWebhooksFunction"]["Properties"]["Environment"]["Variables"]
    assert env["AUTOBILL_WEBHOOK_RETRY_DLQ_ARN"] == {"Fn::GetAtt": ["WebhooksDLQ", "Arn"]}

    # That ARN, and the one the schedules target, is the deliver function's: its explicit name.
    deliver = template["Resources"]["DeliverWebhooksFunction"]["Properties"]
    assert sub_text(deliver["Environment"]["Variables"]["AUTOBILL_WEBHOOK_RETRY_TARGET_ARN"]) == DELIVER_WEBHOOKS_ARN
    name = stack.resolve(deliver["FunctionName"], STACK_VALUES)
    arn = stack.resolve({"Fn::Sub": DELIVER_WEBHOOKS_ARN}, STACK_VALUES)
    assert arn == f"arn:aws:lambda:{REGION}:123456789012:function:{name}"


def alarms(template: dict) -> dict[str, dict]:
    return stack.resources_of_type(template, "AWS::CloudWatch::Alarm")


def assert_fires_on_one(alarm: dict) -> None:
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_disabled_webhook_endpoints_raise_an_alarm(template):
    watching = [a for a in alarms(template).values() if a.get("MetricName") == "WebhookEndpointDisabled"]
    assert len(watching) == 1, watching
    alarm = watching[0]
    assert alarm["Namespace"] == "autobill"
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 300
    # A metric is its namespace, name and dimensions: the alarm must name the dimensions the
    # function emits it with (shared/src/metrics.rs counts with a `provider` dimension).
    emitter = (ROOT / "shared" / "src" / "metrics.rs").read_text(encoding="utf-8")
    assert '"Dimensions": [["provider"]]' in emitter, "metrics::count no longer emits just a provider dimension"
    sources = [*(ROOT / "shared" / "src").rglob("*.rs"), *(ROOT / "functions").rglob("*.rs")]
    providers = {
        provider
        for source in sources
        for provider in re.findall(r'count\(\s*"WebhookEndpointDisabled"\s*,\s*"([^"]+)"\s*\)', source.read_text(encoding="utf-8"))
    }
    assert len(providers) == 1, f"WebhookEndpointDisabled counted with providers {providers}"
    assert alarm["Dimensions"] == [{"Name": "provider", "Value": providers.pop()}]
    assert_fires_on_one(alarm)
    # The operator is told how to bring the endpoint back.
    assert "WEBHOOK#" in alarm["AlarmDescription"] and "enabled" in alarm["AlarmDescription"]


def test_every_dead_letter_queue_has_an_alarm(template):
    queues = set(stack.resources_of_type(template, "AWS::SQS::Queue"))
    assert {"FulfilDLQ", "OutboxDLQ", "WebhooksDLQ"} <= queues
    watched = {}
    for logical_id, alarm in alarms(template).items():
        if alarm.get("Namespace") == "AWS/SQS":
            assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible", logical_id
            (dimension,) = alarm["Dimensions"]
            assert dimension["Name"] == "QueueName", logical_id
            queue = dimension["Value"]["Fn::GetAtt"][0]
            assert dimension["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}, logical_id
            assert_fires_on_one(alarm)
            watched[queue] = logical_id
    assert set(watched) == queues, queues - set(watched)


def test_alarms_notify_the_alarm_topic(template):
    assert template["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    for logical_id, alarm in alarms(template).items():
        assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"], logical_id
    # The e-mail subscription exists only when an address is given.
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    subscriptions = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SNS::Subscription"
    }
    assert len(subscriptions) == 1, subscriptions
    (subscription,) = subscriptions.values()
    condition = subscription["Condition"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}


# ------------------------------------------------------------------------------ renewals

# The scheduled jobs: logical id -> (binary, schedule parameter, its default, timeout).
JOBS = {
    "RenewalRemindersFunction": ("renewal-reminders", "RenewalSchedule", "cron(0 9-17 * * ? *)", 900),
    "ExpireSubscriptionsFunction": ("expire-subscriptions", "ExpirySchedule", "cron(30 9 * * ? *)", 300),
}


def effective(template: dict, props: dict, key: str):
    """A function property as SAM deploys it: its own value, else the Globals one."""
    return props[key] if key in props else template.get("Globals", {}).get("Function", {}).get(key)


def only_schedule(props: dict) -> dict:
    schedules = [e["Properties"] for e in (props.get("Events") or {}).values() if e.get("Type") == "ScheduleV2"]
    assert len(schedules) == 1, schedules
    return schedules[0]


def test_renewal_jobs_are_arm64_binaries(template):
    for logical_id, (binary, _, _, timeout) in JOBS.items():
        job = template["Resources"].get(logical_id)
        assert job and job["Type"] == "AWS::Serverless::Function", f"no function {logical_id}"
        assert job["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": binary}}, logical_id
        props = job["Properties"]
        assert effective(template, props, "Runtime") == "provided.al2023", logical_id
        assert effective(template, props, "Architectures") == ["arm64"], logical_id
        # The reminders job stops 30 s before its deadline and resumes from its checkpoint.
        assert props["Timeout"] == timeout, logical_id
        # No reserved concurrency: correctness does not depend on one run at a time (the table
        # makes every step happen once), and reserving it fails on accounts with a small quota.
        assert "ReservedConcurrentExecutions" not in props, f"{logical_id}: fails on accounts with a small concurrency quota"


def test_renewal_jobs_have_a_public_url(template):
    # The jobs refuse to start without AUTOBILL_PUBLIC_URL (the e-mailed links need it, and no
    # request carries a Host): the PublicUrl parameter, else the API's own URL, never empty.
    assert template["Conditions"]["HasPublicUrl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicUrl"}, ""]}]}
    for logical_id in JOBS:
        url = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]["AUTOBILL_PUBLIC_URL"]
        condition, given, fallback = url["Fn::If"]
        assert condition == "HasPublicUrl" and given == {"Ref": "PublicUrl"}, logical_id
        assert re.fullmatch(r"https://\$\{HttpApi\}\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}", sub_text(fallback)), fallback


def test_renewal_jobs_run_daily_in_the_schedule_time_zone(template):
    parameters = template["Parameters"]
    assert parameters["ScheduleTimeZone"]["Default"] == "Europe/Moscow"
    assert parameters["RenewalSchedule"]["Default"] == "cron(0 9-17 * * ? *)"
    queues = set()
    for logical_id, (_, schedule_parameter, default, _) in JOBS.items():
        assert parameters[schedule_parameter]["Default"] == default, schedule_parameter
        # An EventBridge Scheduler cron has six fields.
        assert re.fullmatch(r"cron\((\S+ ){5}\S+\)", default), default
        props = template["Resources"][logical_id]["Properties"]
        schedule = only_schedule(props)
        assert schedule["ScheduleExpression"] == {"Ref": schedule_parameter}, logical_id
        assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimeZone"}, logical_id
        assert json.loads(schedule["Input"]) == {"action": "run"}, logical_id
        assert schedule.get("OmitName") is True, logical_id

        # Invoking the function is retried a bounded number of times, then parked in a queue of
        # the template (SAM grants the schedule's role the send to a DLQ given by Arn).
        assert 0 < schedule["RetryPolicy"]["MaximumRetryAttempts"] <= 185, logical_id
        dead_letters = schedule["DeadLetterConfig"]["Arn"]
        queue = dead_letters["Fn::GetAtt"][0]
        assert dead_letters == {"Fn::GetAtt": [queue, "Arn"]}, logical_id
        assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue", queue
        # ...and so are the runs that failed every Lambda retry.
        on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": [queue, "Arn"]}}, logical_id
        queues.add(queue)
    # One queue per job (test_every_dead_letter_queue_has_an_alarm watches each).
    assert len(queues) == len(JOBS)


def test_renewal_job_failures_raise_alarms(template):
    for logical_id in JOBS:
        errors = [
            alarm
            for alarm in alarms(template).values()
            if alarm.get("Namespace") == "AWS/Lambda"
            and alarm.get("MetricName") == "Errors"
            and alarm.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
        ]
        assert len(errors) == 1, f"{logical_id}: {errors}"
        assert errors[0]["Statistic"] == "Sum"
        assert_fires_on_one(errors[0])


def test_renewal_jobs_keep_their_logs_for_a_while(template):
    for logical_id in JOBS:
        groups = [
            group
            for group in stack.resources_of_type(template, "AWS::Logs::LogGroup").values()
            if group.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        ]
        assert len(groups) == 1, f"{logical_id}: {groups}"
        assert 1 <= retention(template, groups[0]) <= 3653, logical_id


def test_renewal_job_permissions_are_scoped(template):
    for logical_id in JOBS:
        granted = statements(template["Resources"][logical_id]["Properties"])
        assert granted, logical_id
        for st in granted:
            assert st["Effect"] == "Allow" and "NotResource" not in st and "NotAction" not in st, st
            assert not any(a == "*" or a.endswith(":*") for a in actions(st)), st
            for resource in resources(st):
                text = sub_text(resource)
                assert text != "*" and not text.endswith(":*"), f"{logical_id}: {st}"
                if "*" in text:
                    # Object keys under the invoices prefix only.
                    assert text == "${DocumentsBucket.Arn}/invoices/*", f"{logical_id}: {text}"
            # The table, or its gsi2 (subscriptions by period end) only.
            if any(a.startswith("dynamodb:") for a in actions(st)):
                for resource in resources(st):
                    assert resource == {"Fn::GetAtt": ["Table", "Arn"]} or sub_text(resource) == "${Table.Arn}/index/gsi2", resource
                if "dynamodb:Query" in actions(st):
                    assert [sub_text(r) for r in resources(st)] == ["${Table.Arn}/index/gsi2"], st
        table = {a for st in granted for a in actions(st) if a.startswith("dynamodb:")}
        assert table == {
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:Query",
        }, f"{logical_id}: {sorted(table)}"  # fmt: skip

    # The reminders job stores the renewal invoice's PDF and mails it.
    reminders = {a for st in statements(template["Resources"]["RenewalRemindersFunction"]["Properties"]) for a in actions(st)}
    assert {"s3:PutObject", "s3:GetObject", "ses:SendRawEmail"} <= reminders


def test_expiry_sends_no_mail_and_writes_no_documents(template):
    granted = {a for st in statements(template["Resources"]["ExpireSubscriptionsFunction"]["Properties"]) for a in actions(st)}
    assert not {a for a in granted if a.startswith("ses:")}, granted
    assert "s3:PutObject" not in granted, granted
    assert not {a for a in granted if a.startswith("s3:")}, granted


# ------------------------------------------------------------------------------ management API

ADMIN = "AdminApiFunction"
# The webhook side of the management API: the more specific routes, and the only admin function
# that sends requests out.
ADMIN_WEBHOOKS = "AdminWebhooksFunction"
WEBHOOK_ROUTES = {("ANY", "/admin/webhooks"), ("ANY", "/admin/webhooks/{proxy+}"), ("ANY", "/admin/events/{proxy+}")}
# The one management operation outside /admin/: operators upload a bank statement (admin-api).
STATEMENT_UPLOAD = ("POST", "/statements")
ADMIN_ROUTES = {("ANY", "/admin/{proxy+}"), STATEMENT_UPLOAD}
# execute-api ARNs of this stack's API: arn:…:execute-api:{region}:{account}:{api id}/{stage}/{METHOD}/{path}.
EXECUTE_API = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}"
# Who may call what (docs/management-api.md), as the managed policies grant it.
MANAGED_POLICIES = {
    "AdminFullAccess": [f"{EXECUTE_API}/*/*/admin/*", f"{EXECUTE_API}/*/POST/statements"],
    "AdminReadOnly": [f"{EXECUTE_API}/*/GET/admin/*"],
    "InvoiceIssuer": [f"{EXECUTE_API}/*/POST/admin/invoices", f"{EXECUTE_API}/*/GET/admin/invoices/*"],
}
API_ID = "a1b2c3d4e5"


def is_management(path: str) -> bool:
    """A management API path (IAM-authorised, tag `management` in openapi.yaml)."""
    return path.startswith("/admin/") or path == STATEMENT_UPLOAD[1]


def spec_routes() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in openapi.yaml."""
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return [(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in methods]


def invoke_arn(method: str, path: str, stage: str = "$default") -> str:
    """The ARN IAM authorises a request against, for a concrete path."""
    concrete = re.sub(r"\{[^}]+\}", "x-1", path)
    return f"arn:aws:execute-api:{REGION}:123456789012:{API_ID}/{stage}/{method}{concrete}"


def allows(patterns: list[str], arn: str) -> bool:
    """IAM's ARN matching: `*` matches any characters, `/` included (no `?` in these patterns)."""
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


@pytest.mark.parametrize("logical_id, binary", [(ADMIN, "admin-api"), (ADMIN_WEBHOOKS, "admin-webhooks")])
def test_admin_functions_are_arm64_binaries_with_room_for_their_work(template, logical_id, binary):
    admin = template["Resources"][logical_id]
    assert admin["Type"] == "AWS::Serverless::Function"
    assert admin["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": binary}}
    props = admin["Properties"]
    assert props["CodeUri"] == "."
    assert effective(template, props, "Runtime") == "provided.al2023"
    assert effective(template, props, "Architectures") == ["arm64"]
    # A replay waits up to 15 s for the endpoint; the HTTP API gives up on an integration after 30 s.
    assert 15 < props["Timeout"] < 30


def test_admin_routes_are_authorised_by_iam(template):
    for logical_id, routes in [(ADMIN, ADMIN_ROUTES), (ADMIN_WEBHOOKS, WEBHOOK_ROUTES)]:
        props = template["Resources"][logical_id]["Properties"]
        events = {name: e for name, e in props["Events"].items() if e.get("Type") == "HttpApi"}
        assert http_routes(props) == routes, logical_id
        assert len(events) == len(routes), logical_id
        for event in events.values():
            assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
            assert event["Properties"]["Auth"] == {"Authorizer": "AWS_IAM"}
    # The API offers the IAM authoriser without making it everyone's default: public routes stay open.
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["Auth"]["EnableIamAuthorizer"] is True
    assert "DefaultAuthorizer" not in api["Auth"]
    assert "Auth" not in (template.get("Globals", {}).get("HttpApi") or {})
    for logical_id, other in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        if logical_id in (ADMIN, ADMIN_WEBHOOKS):
            continue
        # No other function answers under /admin (or takes statements), and no public route is authorised.
        assert not any(path.startswith(("/admin", "/statements")) for _, path in http_routes(other)), logical_id
        for name, e in (other.get("Events") or {}).items():
            if e.get("Type") == "HttpApi":
                assert "Auth" not in e["Properties"], f"{logical_id}.{name}"


def test_the_spec_and_the_template_agree_on_what_is_admin(template):
    """Every /admin/ operation of openapi.yaml reaches the admin function (through its proxy
    route), the statement upload its IAM-authorised route of its own; every other operation has
    a public route of its own."""
    public = set().union(*(http_routes(p) for i, p in stack.resources_of_type(template, "AWS::Serverless::Function").items() if i not in (ADMIN, ADMIN_WEBHOOKS)))
    admin = http_routes(template["Resources"][ADMIN]["Properties"])
    documented = spec_routes()
    assert STATEMENT_UPLOAD in documented
    for method, path in documented:
        if is_management(path) and not path.startswith("/admin/"):
            # Outside the proxy: routed to the admin function one by one.
            assert (method, path) in admin and (method, path) not in public, (method, path)
        elif path.startswith("/admin/"):
            assert (method, path) not in public, (method, path)
            # API Gateway picks the most specific route: the webhook function's routes catch exactly
            # the webhook and event operations; the rest fall to the admin-api proxy.
            caught = any(path == p or (p.endswith("{proxy+}") and path.startswith(p.removesuffix("{proxy+}")))
                         for _, p in WEBHOOK_ROUTES)
            assert caught == path.startswith(("/admin/webhooks", "/admin/events/")), path
        else:
            assert (method, path) in public, f"{method} {path} is documented but not routed in the template"


def test_admin_permissions_are_least_privilege(template):
    granted = statements(template["Resources"][ADMIN]["Properties"])
    assert granted
    for st in granted:
        assert st["Effect"] == "Allow" and "NotResource" not in st and "NotAction" not in st, st
        assert not any("*" in a for a in actions(st)), st
        for resource in resources(st):
            text = sub_text(resource)
            assert text != "*" and not text.endswith(":*"), st
            # Object keys under the document prefixes are the only wildcards.
            if "*" in text:
                assert text in ("${DocumentsBucket.Arn}/invoices/*", "${DocumentsBucket.Arn}/acts/*",
                                "${DocumentsBucket.Arn}/uploads/statements/*", "${DocumentsBucket.Arn}/reports/statements/*"), text
    granted_actions = {a for st in granted for a in actions(st)}

    # The table and its two indexes, named: reads, puts, updates and the transactions' checks.
    # No DeleteItem: a deleted endpoint is a tombstone.
    table = {a for a in granted_actions if a.startswith("dynamodb:")}
    assert table == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}, table
    for st in granted:
        if any(a.startswith("dynamodb:") for a in actions(st)):
            for resource in resources(st):
                assert resource == {"Fn::GetAtt": ["Table", "Arn"]} or sub_text(resource) in (
                    "${Table.Arn}/index/gsi1", "${Table.Arn}/index/gsi2"), resource
            if set(actions(st)) - {"dynamodb:Query"}:
                assert resources(st) == [{"Fn::GetAtt": ["Table", "Arn"]}], st
    index_queries = {sub_text(r) for st in granted if "dynamodb:Query" in actions(st) for r in resources(st)}
    assert {"${Table.Arn}/index/gsi1", "${Table.Arn}/index/gsi2"} <= index_queries

    # Invoice PDFs are written (issuing) and read; acts only read (the fulfil function writes them);
    # uploaded statements and their reports only written, never under statements/ (which would
    # import an upload twice: ImportStatementFunction).
    writable = {sub_text(r) for st in granted if "s3:PutObject" in actions(st) for r in resources(st)}
    assert writable == {"${DocumentsBucket.Arn}/invoices/*", "${DocumentsBucket.Arn}/uploads/statements/*",
                        "${DocumentsBucket.Arn}/reports/statements/*"}, writable
    readable = {sub_text(r) for st in granted if "s3:GetObject" in actions(st) for r in resources(st)}
    assert readable == {"${DocumentsBucket.Arn}/invoices/*", "${DocumentsBucket.Arn}/acts/*"}
    assert {"s3:ListBucket", "ses:SendRawEmail"} <= granted_actions

    # Nothing else: no scheduler (a replay is one attempt, no retries), no bus (events go through
    # the outbox), no IAM, no Lambda, no queues.
    assert granted_actions <= {
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
        "s3:GetObject", "s3:PutObject", "s3:ListBucket", "ses:SendEmail", "ses:SendRawEmail",
    }, granted_actions  # fmt: skip
    assert not any(a.startswith(("scheduler:", "events:", "iam:", "lambda:", "sqs:")) for a in granted_actions)
    assert not template["Resources"][ADMIN]["Properties"].get("VpcConfig"), "replays go to public endpoints"


def test_the_webhook_side_of_the_admin_api_touches_only_the_table(template):
    """No S3, no SES, no scheduler: endpoints, events, the delivery log and the audit entries."""
    granted = statements(template["Resources"][ADMIN_WEBHOOKS]["Properties"])
    granted_actions = {a for st in granted for a in actions(st)}
    assert granted_actions == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}, granted_actions
    for st in granted:
        assert st["Effect"] == "Allow" and "NotResource" not in st, st
        for resource in resources(st):
            assert resource == {"Fn::GetAtt": ["Table", "Arn"]} or sub_text(resource) == "${Table.Arn}/index/gsi1", resource


@pytest.mark.parametrize("logical_id", [ADMIN, ADMIN_WEBHOOKS])
def test_admin_environment_is_production(template, logical_id):
    props = template["Resources"][logical_id]["Properties"]
    env = {**template["Globals"]["Function"]["Environment"]["Variables"], **((props.get("Environment") or {}).get("Variables") or {})}
    for name, value in {
        "AUTOBILL_TABLE": {"Ref": "Table"}, "AUTOBILL_BUCKET": {"Ref": "DocumentsBucket"},
        "AUTOBILL_CONFIG": {"Ref": "SellerConfig"}, "AUTOBILL_LINK_SECRET": {"Ref": "LinkSecret"},
        "AUTOBILL_PUBLIC_URL": {"Ref": "PublicUrl"}, "AUTOBILL_SENDER_EMAIL": {"Ref": "SenderEmail"},
        "AUTOBILL_SES_CONFIGURATION_SET": {"Ref": "SesConfigurationSet"},
        "AUTOBILL_WEBHOOKS_ALLOW_LOOPBACK": "false",
    }.items():  # fmt: skip
        assert env.get(name) == value, name
    # The local stack's API key is never accepted in AWS: nothing here configures one.
    assert not [text for text in strings(template) if "ADMIN_API_KEY" in text]


def strings(value) -> list[str]:
    """Every key and string value in the (parsed) template, comments excluded."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("logical_id", [ADMIN, ADMIN_WEBHOOKS])
def test_admin_functions_keep_their_logs_and_raise_an_alarm(template, logical_id):
    groups = [
        g for g in stack.resources_of_type(template, "AWS::Logs::LogGroup").values()
        if g.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    ]  # fmt: skip
    assert len(groups) == 1 and 1 <= retention(template, groups[0]) <= 3653, groups
    errors = [
        a for a in alarms(template).values()
        if a.get("Namespace") == "AWS/Lambda" and a.get("MetricName") == "Errors"
        and a.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
    ]  # fmt: skip
    assert len(errors) == 1, errors
    assert errors[0]["Statistic"] == "Sum"
    assert_fires_on_one(errors[0])


def test_managed_policies_grant_invoke_on_this_api_only(template):
    for logical_id, wanted in MANAGED_POLICIES.items():
        policy = template["Resources"][logical_id]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy", logical_id
        props = policy["Properties"]
        assert props.get("Description"), logical_id
        # Attached by whoever needs it, not by the stack.
        assert not ({"Roles", "Users", "Groups"} & set(props)), logical_id
        granted = props["PolicyDocument"]["Statement"]
        assert len(granted) == 1, logical_id
        (st,) = granted
        assert st["Effect"] == "Allow" and "NotResource" not in st and "NotAction" not in st and "Condition" not in st, st
        assert actions(st) == ["execute-api:Invoke"], st
        assert [sub_text(r) for r in resources(st)] == wanted, logical_id


def test_managed_policies_allow_what_the_doc_says(template):
    """The policies' ARNs, resolved as CloudFormation would, against every documented route."""
    values = {**STACK_VALUES, "HttpApi": API_ID}
    granted = {
        logical_id: [stack.resolve(r, values) for st in template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"] for r in resources(st)]
        for logical_id in MANAGED_POLICIES
    }  # fmt: skip
    routes = spec_routes()
    admin = [(m, p) for m, p in routes if p.startswith("/admin/")]
    assert admin, "openapi.yaml documents no /admin/ route"
    for method, path in routes:
        arn = invoke_arn(method, path)
        is_admin = is_management(path)
        assert allows(granted["AdminFullAccess"], arn) == is_admin, (method, path)
        assert allows(granted["AdminReadOnly"], arn) == (is_admin and method == "GET"), (method, path)
        issuer = (method, path) == ("POST", "/admin/invoices") or (method == "GET" and path.startswith("/admin/invoices/"))
        assert allows(granted["InvoiceIssuer"], arn) == issuer, (method, path)
    # The issuer reads invoices one by one (by id or number), and may not list them by status.
    assert allows(granted["InvoiceIssuer"], invoke_arn("GET", "/admin/invoices/2026-000123"))
    assert not allows(granted["InvoiceIssuer"], invoke_arn("GET", "/admin/invoices"))
    # Any stage of this API; no other API, region or account.
    assert allows(granted["AdminFullAccess"], invoke_arn("DELETE", "/admin/webhooks/crm", stage="prod"))
    other = invoke_arn("GET", "/admin/audit")
    for wrong in (other.replace(API_ID, "zzzzzzzzzz"), other.replace(REGION, "us-east-1"), other.replace("123456789012", "210987654321")):
        assert not any(allows(patterns, wrong) for patterns in granted.values()), wrong


def test_outputs_name_the_management_api_and_its_policies(template):
    outputs = template["Outputs"]
    for name, logical_id in {
        "AdminFullAccessPolicyArn": "AdminFullAccess", "AdminReadOnlyPolicyArn": "AdminReadOnly",
        "InvoiceIssuerPolicyArn": "InvoiceIssuer",
    }.items():  # fmt: skip
        # Ref of an AWS::IAM::ManagedPolicy is its ARN.
        assert outputs[name]["Value"] == {"Ref": logical_id}, name
        assert outputs[name].get("Description"), name
    url = outputs["ManagementApiUrl"]
    assert url.get("Description") and "/admin/" in url["Description"]
    assert sub_text(url["Value"]) == "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"


def test_statement_uploads_are_iam_authorised_and_for_full_access_only(template):
    """`POST /statements` (an operator imports a bank statement, which applies payments) is the
    admin function's, behind the IAM authoriser, and only AdminFullAccess may call it."""
    events = [e["Properties"] for e in template["Resources"][ADMIN]["Properties"]["Events"].values()
              if e.get("Type") == "HttpApi" and e["Properties"]["Path"] == STATEMENT_UPLOAD[1]]
    assert len(events) == 1, events
    (event,) = events
    assert (event["Method"], event["Path"]) == STATEMENT_UPLOAD
    assert event["ApiId"] == {"Ref": "HttpApi"} and event["Auth"] == {"Authorizer": "AWS_IAM"}

    values = {**STACK_VALUES, "HttpApi": API_ID}
    granted = {
        logical_id: [stack.resolve(r, values) for st in template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"] for r in resources(st)]
        for logical_id in MANAGED_POLICIES
    }  # fmt: skip
    upload = invoke_arn(*STATEMENT_UPLOAD)
    assert allows(granted["AdminFullAccess"], upload)
    assert allows(granted["AdminFullAccess"], invoke_arn(*STATEMENT_UPLOAD, stage="prod"))
    assert not allows(granted["AdminReadOnly"], upload) and not allows(granted["InvoiceIssuer"], upload)
    # That route only: no other method, nothing below it.
    for method, path in [("GET", "/statements"), ("PUT", "/statements"), ("POST", "/statements/x"), ("POST", "/statementsx")]:
        assert not any(allows(patterns, invoke_arn(method, path)) for patterns in granted.values()), (method, path)

    # The admin function keeps the upload and writes its report, outside statements/.
    writes = {sub_text(r) for st in statements(template["Resources"][ADMIN]["Properties"])
              if "s3:PutObject" in actions(st) for r in resources(st)}
    assert {"${DocumentsBucket.Arn}/uploads/statements/*", "${DocumentsBucket.Arn}/reports/statements/*"} <= writes
    assert not any(w.startswith("${DocumentsBucket.Arn}/statements/") for w in writes), writes


# ------------------------------------------------------------------------------ bank statements

STATEMENTS = "ImportStatementFunction"
STATEMENT_PREFIX = "statements/"


def matches_key(pattern: list, key: str) -> bool:
    """EventBridge's matching of one string field: a list of exact values and `prefix` filters."""
    return any(key == p if isinstance(p, str) else key.startswith(p["prefix"]) for p in pattern)


def test_statements_are_imported_when_created_under_statements_only(template):
    """S3's ObjectCreated events of the documents bucket (every kind: put, post, copy, multipart
    upload) for keys under statements/ trigger the import function, and nothing else does."""
    function = template["Resources"][STATEMENTS]
    assert function["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "import-statement"}}
    props = function["Properties"]
    assert props["Timeout"] == 60 and props["MemorySize"] == 512
    # One trigger: the bucket's events through EventBridge (an S3 notification to the function
    # would be a circular dependency: the function's role and environment name the bucket).
    assert [e["Type"] for e in props["Events"].values()] == ["EventBridgeRule"], props["Events"]
    rule_id, rule = only_rule(template, STATEMENTS)
    assert "EventBusName" not in rule, "S3 sends its events to the default bus"
    pattern = rule["Pattern"]
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": "DocumentsBucket"}]}, "object": {"key": [{"prefix": STATEMENT_PREFIX}]}},
    }, pattern
    bucket = template["Resources"]["DocumentsBucket"]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    # The keys the import writes, and the API's uploads, import nothing (no loop, no second import).
    keys = pattern["detail"]["object"]["key"]
    for key, imported in [
        ("statements/kl_to_1c.txt", True), ("statements/2026/11/выписка 26.11.txt", True),
        ("uploads/statements/2026/11/st_1.txt", False), ("reports/statements/st_1.csv", False),
        ("invoices/2026/11/2026-000123.pdf", False), ("statements", False), ("Statements/x.txt", False),
    ]:  # fmt: skip
        assert matches_key(keys, key) == imported, key
    # Nothing else reacts to the bucket: no S3 event source on any function.
    for logical_id, other in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        assert not any(e.get("Type") == "S3" for e in (other.get("Events") or {}).values()), logical_id

    # Delivery retried for a bounded time, failed runs retried by Lambda, then one DLQ for both.
    queue = assert_bounded_retries_then_dead_letters(template, STATEMENTS, rule_id, rule)
    assert queue == "ImportStatementDLQ"
    assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS", "Destination": {"Fn::GetAtt": ["ImportStatementDLQ", "Arn"]}}
    assert template["Outputs"]["ImportStatementDLQUrl"]["Value"] == {"Ref": "ImportStatementDLQ"}


def test_statement_import_permissions_are_least_privilege(template):
    granted = statements(template["Resources"][STATEMENTS]["Properties"])
    granted_actions = {a for st in granted for a in actions(st)}
    # The table's items by key (invoices by number, transfers, payments, outbox events: no
    # Query, no index, no delete); reads statements/, lists the bucket (a missing file is 404),
    # writes reports. No SES, no event bus (events go through the outbox).
    assert granted_actions == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
    }, granted_actions  # fmt: skip
    for st in granted:
        if any(a.startswith("dynamodb:") for a in actions(st)):
            assert resources(st) == [{"Fn::GetAtt": ["Table", "Arn"]}], st
        if "s3:ListBucket" in actions(st):
            assert actions(st) == ["s3:ListBucket"] and resources(st) == [{"Fn::GetAtt": ["DocumentsBucket", "Arn"]}], st
    readable = {sub_text(r) for st in granted if "s3:GetObject" in actions(st) for r in resources(st)}
    writable = {sub_text(r) for st in granted if "s3:PutObject" in actions(st) for r in resources(st)}
    assert readable == {"${DocumentsBucket.Arn}/statements/*"}, readable
    # Never where it reads from: a report under statements/ would be imported in turn.
    assert writable == {"${DocumentsBucket.Arn}/reports/statements/*"}, writable


def test_statement_problems_raise_alarms(template):
    """Money no invoice took, and a file refused whole, reach an operator (the import runs
    without anyone waiting for its answer): one alarm each, on what the import counts."""
    for metric, cli in {
        "BankTransfersForReview": ["autobill invoice mark-paid", "REVIEW#transfers"],
        "StatementsRejected": ["autobill statement import", "reports/statements/"],
    }.items():
        found = counting(template, metric)
        assert len(found) == 1, f"{metric}: {found}"
        logical_id, alarm = found[0]
        assert providers_summed(alarm, metric) == {"bank"} == {p for m, p in emitted() if m == metric}, logical_id
        assert_fires_on_one(alarm)
        for hint in cli:
            assert hint in alarm["AlarmDescription"], f"{logical_id}: tell the operator about `{hint}`"
    # The function's failures and its DLQ are watched like every async function's.
    for logical_id in ("ImportStatementErrorsAlarm", "ImportStatementDLQAlarm"):
        assert "autobill statement import" in template["Resources"][logical_id]["Properties"]["AlarmDescription"]


def test_the_documents_bucket_notifies_no_function_directly(template):
    """The bucket's notifications name nothing of the stack (EventBridge carries its events):
    a bucket that named a function would depend on it, and the function (its environment, its
    role's policies) depends on the bucket."""
    notifications = template["Resources"]["DocumentsBucket"]["Properties"].get("NotificationConfiguration", {})
    assert set(notifications) <= {"EventBridgeConfiguration"}, notifications
    assert not dependencies(template["Resources"]["DocumentsBucket"]) & set(template["Resources"])
    # ...while the import function does name the bucket (its policies, the Globals environment).
    import_function = template["Resources"][STATEMENTS]["Properties"]
    assert "DocumentsBucket" in dependencies(import_function.get("Policies"))
    assert template["Globals"]["Function"]["Environment"]["Variables"]["AUTOBILL_BUCKET"] == {"Ref": "DocumentsBucket"}


def assert_acyclic(edges: dict[str, set[str]]) -> None:
    """Depth-first search for a cycle among resources (`edges`: who refers to whom)."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            assert state.get(nxt) != 1, "circular dependency: " + " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])


def dependencies(value) -> set[str]:
    """Every logical id a Ref, a GetAtt or a ${Name} in a Sub names, anywhere in the value."""
    found = refs(value)
    if isinstance(value, list):
        for v in value:
            found |= dependencies(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            else:
                found |= dependencies(arg)
    return found


def test_no_circular_dependency_through_the_api(template):
    """cfn-lint checks the SAM resources as written, not as SAM expands them: the HTTP API SAM
    generates names every function routed to it (its integrations), so such a function must not
    name the API (e.g. for its own URL), or the stack cannot be created."""
    resources_ = template["Resources"]

    def own(resource: dict) -> dict:
        # A function's events become resources of their own (permissions, rules, routes); the
        # function itself does not depend on what they name.
        if resource["Type"] != "AWS::Serverless::Function":
            return resource
        return {**resource, "Properties": {k: v for k, v in resource["Properties"].items() if k != "Events"}}

    edges = {logical_id: dependencies(own(resource)) & set(resources_) for logical_id, resource in resources_.items()}
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        for e in (props.get("Events") or {}).values():
            if e.get("Type") == "HttpApi":
                api = e["Properties"].get("ApiId", {"Ref": "ServerlessHttpApi"})["Ref"]
                edges.setdefault(api, set()).add(logical_id)
    assert_acyclic(edges)


# Runs in the SAM CLI's venv (samtranslator): the template as CloudFormation gets it, as JSON.
SAM_TRANSFORM = """
import json, sys
sys.path.insert(0, sys.argv[1])
import stack
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

template = stack.load_template(sys.argv[2])
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://bucket/key"  # what `sam package` puts there
with open(sys.argv[3], "w") as out:
    json.dump(transform(template, {}, NoManagedPolicies()), out)
"""


def test_no_circular_dependency_after_the_sam_transform(tmp_path):
    """Neither cfn-lint nor `sam validate --lint` finds a cycle that only SAM's expansion makes
    (an S3 event on a function whose role names the bucket; a route to a function that names
    the API): transform the template as SAM does, then look for one among the resources
    CloudFormation gets (Ref, GetAtt, Sub and DependsOn)."""
    sam = os.environ.get("AUTOBILL_SAM")
    if not sam:
        pytest.fail("AUTOBILL_SAM is not set: run `make test`, or set it to the sam binary of .venv-sam")
    python = Path(sam).parent / "python"
    assert python.is_file(), f"no Python beside {sam}"
    out = tmp_path / "transformed.json"
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    result = subprocess.run(
        [str(python), "-c", SAM_TRANSFORM, str(STACK.parent), str(TEMPLATE), str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    resources_ = json.loads(out.read_text())["Resources"]
    assert "ImportStatementFunctionStatementUploaded" in resources_, "the statement rule SAM generates"

    def depends_on(resource: dict) -> set[str]:
        explicit = resource.get("DependsOn", [])
        return {explicit} if isinstance(explicit, str) else set(explicit)

    edges = {
        logical_id: (dependencies(resource.get("Properties", {})) | depends_on(resource)) & set(resources_)
        for logical_id, resource in resources_.items()
    }
    assert_acyclic(edges)



# ------------------------------------------------------------------------------ operator view

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
# Events that invoke a function asynchronously (Lambda retries a failed invocation itself, then
# sends it to the OnFailure destination), that poll a stream, and that call it synchronously.
ASYNC_EVENTS = {"EventBridgeRule", "ScheduleV2", "Schedule", "CloudWatchEvent", "SNS", "S3"}
STREAM_EVENTS = {"DynamoDB", "Kinesis"}
SYNC_EVENTS = {"HttpApi", "Api"}
API_URL = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"


def retention(template: dict, group: dict) -> int:
    """A log group's retention as deployed with the parameters' defaults."""
    value = group["RetentionInDays"]
    return template["Parameters"][value["Ref"]]["Default"] if isinstance(value, dict) else value


def queue_of(template: dict, arn) -> str:
    """The logical id of the template's SQS queue an `!GetAtt Queue.Arn` names."""
    assert isinstance(arn, dict) and list(arn) == ["Fn::GetAtt"], arn
    queue, attribute = arn["Fn::GetAtt"]
    assert attribute == "Arn" and template["Resources"][queue]["Type"] == "AWS::SQS::Queue", arn
    return queue


def rust_sources() -> list[Path]:
    return [*(ROOT / "shared" / "src").rglob("*.rs"), *(ROOT / "functions").rglob("*.rs")]


def payment_providers() -> set[str]:
    """Every payment provider the callback function knows (its `name()` in shared/src/payments)."""
    names = {
        name
        for source in (ROOT / "shared" / "src" / "payments").glob("*.rs")
        for name in re.findall(r'fn name\(&self\) -> &\'static str \{\s*"([a-z0-9-]+)"', source.read_text(encoding="utf-8"))
    }
    assert {"sandbox", "stripe"} <= names, names
    return names


def emitted() -> set[tuple[str, str]]:
    """(metric, provider) of every count in the code; provider "*" where the code passes a variable
    (the payment provider at hand)."""
    texts = [source.read_text(encoding="utf-8") for source in rust_sources()]
    constants = {name: value for text in texts for name, value in re.findall(r'const ([A-Z_]+): &str = "([^"]+)";', text)}
    found = set()
    for text in texts:
        for metric, arg in re.findall(r'metrics::count(?:_n)?\(\s*"(\w+)"\s*,\s*([^,)]+)', text):
            arg = arg.strip()
            provider = arg.strip('"') if arg.startswith('"') else constants.get(arg, "*")
            found.add((metric, provider))
    return found


def watched(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric name, dimensions as a dict) of every metric an alarm reads."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])})]
    return [
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
         {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"].get("Dimensions", [])})
        for m in alarm["Metrics"] if "MetricStat" in m
    ]  # fmt: skip


def counting(template: dict, metric: str) -> list[tuple[str, dict]]:
    """The alarms on an `autobill` metric: (logical id, alarm)."""
    return [(i, a) for i, a in alarms(template).items() if any(ns == "autobill" and name == metric for ns, name, _ in watched(a))]


def providers_summed(alarm: dict, metric: str) -> set[str]:
    """The provider values an alarm adds up for one metric: a single metric, or metric math that
    sums one MetricStat per provider (an alarm cannot SEARCH)."""
    if "MetricName" in alarm:
        assert alarm["Namespace"] == "autobill" and alarm["MetricName"] == metric and alarm["Statistic"] == "Sum", alarm
        (dimension,) = alarm["Dimensions"]
        assert dimension["Name"] == "provider", alarm
        return {dimension["Value"]}
    results = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
    assert len(results) == 1 and "Expression" in results[0], alarm["Metrics"]
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert all(m.get("ReturnData") is False for m in alarm["Metrics"] if "MetricStat" in m), alarm["Metrics"]
    # The sum of every provider's count, a provider without data counting 0.
    terms = [t.strip() for t in results[0]["Expression"].split("+")]
    assert sorted(terms) == sorted(f"FILL({i}, 0)" for i in stats), results[0]["Expression"]
    providers = set()
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == "autobill" and stat["Metric"]["MetricName"] == metric, stat
        assert stat["Stat"] == "Sum", stat
        (dimension,) = stat["Metric"]["Dimensions"]
        assert dimension["Name"] == "provider", stat
        providers.add(dimension["Value"])
    assert len({stat["Period"] for stat in stats.values()}) == 1, stats
    assert len(providers) == len(stats), stats
    return providers


def period(alarm: dict) -> int:
    return alarm["Period"] if "Period" in alarm else next(m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m)


def test_every_function_has_a_role_of_its_own_naming_its_own_resources(template):
    assert "Policies" not in template["Globals"]["Function"] and "Role" not in template["Globals"]["Function"]
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        # SAM creates one role per function; a shared Role, or a managed policy, would grant more.
        assert "Role" not in props, logical_id
        assert all(isinstance(policy, dict) for policy in props.get("Policies") or []), f"{logical_id}: inline statements only"
        for st in statements(props):
            assert st["Effect"] == "Allow" and "NotResource" not in st and "NotAction" not in st, f"{logical_id}: {st}"
            assert not any(a == "*" or a.endswith(":*") for a in st["Action"]), f"{logical_id}: {st}"
            for resource in resources(st):
                # No Resource "*": no action used here needs one. Every ARN is built from this
                # stack's resources (and parameters), never another stack's or account's.
                text = sub_text(resource)
                assert text != "*" and not text.endswith(":*"), f"{logical_id}: {st}"
                named = {n for n in dependencies(resource) if not n.startswith("AWS::")}
                assert named, f"{logical_id}: {resource} names none of the stack's resources"
                assert named <= set(template["Resources"]) | set(template["Parameters"]), f"{logical_id}: {named}"


def test_every_function_keeps_its_logs_for_log_retention_days(template):
    parameter = template["Parameters"]["LogRetentionDays"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 90
    assert parameter["Default"] in parameter["AllowedValues"]
    assert set(parameter["AllowedValues"]) <= LOG_RETENTION_DAYS, set(parameter["AllowedValues"]) - LOG_RETENTION_DAYS

    functions = stack.resources_of_type(template, "AWS::Serverless::Function")
    groups = stack.resources_of_type(template, "AWS::Logs::LogGroup")
    for logical_id, props in functions.items():
        # The group Lambda writes to by default: the stack's, not one Lambda creates without a retention.
        own = [g for g in groups.values() if g.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}]
        assert len(own) == 1, f"{logical_id}: {own}"
        assert own[0]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id
        logging = effective(template, props, "LoggingConfig") or {}
        assert "LogGroup" not in logging, f"{logical_id} logs elsewhere"
        # One JSON object per line: Logs Insights fields, and the EMF metric lines stay apart.
        assert logging.get("LogFormat") == "JSON", logical_id
    assert len(groups) == len(functions), sorted(groups)


def test_every_function_raises_an_alarm_when_it_fails(template):
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        errors = [
            a for a in alarms(template).values()
            if a.get("Namespace") == "AWS/Lambda" and a.get("MetricName") == "Errors"
            and a.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
        ]  # fmt: skip
        assert len(errors) == 1, f"{logical_id}: {errors}"
        assert errors[0]["Statistic"] == "Sum"
        assert_fires_on_one(errors[0])
        # The operator is told which function it is (its binary's name, as in its log group).
        assert resource["Metadata"]["BuildProperties"]["Binary"] in errors[0]["AlarmDescription"], logical_id


def test_every_alarm_fires_on_one_and_says_what_to_do(template):
    found = alarms(template)
    assert len(found) >= 20, sorted(found)
    for logical_id, alarm in found.items():
        assert_fires_on_one(alarm)
        assert len(alarm.get("AlarmDescription", "")) >= 100, f"{logical_id}: say what it means and what to do"
        assert len(alarm["AlarmDescription"]) <= 1024, f"{logical_id}: CloudWatch takes at most 1024 characters"


def test_async_and_stream_triggers_retry_a_bounded_number_of_times_then_dead_letter(template):
    for logical_id, props in stack.resources_of_type(template, "AWS::Serverless::Function").items():
        events = props.get("Events") or {}
        unknown = {e["Type"] for e in events.values()} - ASYNC_EVENTS - STREAM_EVENTS - SYNC_EVENTS
        assert not unknown, f"{logical_id}: decide how {unknown} events retry and where their failures go"
        if any(e["Type"] in ASYNC_EVENTS for e in events.values()):
            # Lambda's own retries of an asynchronous invocation, then the function's DLQ. The
            # Type makes SAM grant the function's role the send.
            invoke = props["EventInvokeConfig"]
            assert 0 <= invoke["MaximumRetryAttempts"] <= 2, logical_id
            assert 60 <= invoke["MaximumEventAgeInSeconds"] <= 21600, logical_id
            on_failure = invoke["DestinationConfig"]["OnFailure"]
            assert on_failure["Type"] == "SQS", logical_id
            queue_of(template, on_failure["Destination"])
        for event_id, event in events.items():
            spec, where = event["Properties"], f"{logical_id}.{event_id}"
            if event["Type"] == "EventBridgeRule":
                assert_bounded_retries_then_dead_letters(template, logical_id, event_id, spec)
            elif event["Type"] == "ScheduleV2":
                # The scheduler's retries of invoking the function, then the DLQ (SAM grants the
                # schedule's role the send to a DLQ given by Arn).
                assert 0 <= spec["RetryPolicy"]["MaximumRetryAttempts"] <= 185, where
                if spec["RetryPolicy"]["MaximumRetryAttempts"]:
                    assert 60 <= spec["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400, where
                queue_of(template, spec["DeadLetterConfig"]["Arn"])
            elif event["Type"] in ("Schedule", "CloudWatchEvent", "SNS", "S3"):
                pytest.fail(f"{where}: {event['Type']} events have no retry policy here; use EventBridgeRule or ScheduleV2")
            elif event["Type"] in STREAM_EVENTS:
                # A poison record must not block the shard: bounded retries, the failing half of
                # a batch split off, then the record's metadata parked.
                assert 0 <= spec["MaximumRetryAttempts"] <= 10, where
                assert spec["BisectBatchOnFunctionError"] is True, where
                queue_of(template, spec["DestinationConfig"]["OnFailure"]["Destination"])


def test_alarms_watch_what_the_code_counts(template):
    """A metric is its namespace, name and dimensions: an alarm on a name or a provider value the
    code never emits stays quiet forever."""
    counts = emitted()
    providers = payment_providers()
    for logical_id, alarm in alarms(template).items():
        for namespace, metric, dimensions in watched(alarm):
            if namespace != "autobill":
                continue
            assert list(dimensions) == ["provider"], f"{logical_id}: {dimensions}"
            provider = dimensions["provider"]
            assert (metric, provider) in counts or ((metric, "*") in counts and provider in providers), (
                f"{logical_id}: the code never counts {metric} with provider={provider}"
            )


def test_payment_problems_raise_alarms_for_every_provider(template):
    providers = payment_providers()
    for metric, cli in {
        # Invoices sent to review (needs_review).
        "PaymentMismatch": ["autobill needs-review list", "autobill invoice show", "autobill needs-review resolve"],
        # Money on file an invoice could not take.
        "PaymentUnapplied": ["autobill invoice show"],
        # Money for no invoice of ours.
        "PaymentUnknownInvoice": ["autobill invoice mark-paid"],
    }.items():
        found = counting(template, metric)
        assert len(found) == 1, f"{metric}: {found}"
        logical_id, alarm = found[0]
        assert providers_summed(alarm, metric) == providers, logical_id
        assert_fires_on_one(alarm)
        for command in cli:
            assert command in alarm["AlarmDescription"], f"{logical_id}: tell the operator about `{command}`"


def test_stuck_fulfilment_and_unclear_mail_raise_alarms(template):
    (logical_id, stuck), = counting(template, "FulfilmentFailing")
    assert providers_summed(stuck, "FulfilmentFailing") == {"fulfil"}
    assert_fires_on_one(stuck)
    # Counted once per sweep: the alarm's period holds at least one sweep, so it stays on (not
    # flapping to OK between sweeps) while an invoice keeps failing.
    props = template["Resources"]["FulfilFunction"]["Properties"]
    sweep = only_schedule(props)["ScheduleExpression"]
    minutes = int(re.fullmatch(r"rate\((\d+) minutes?\)", sweep).group(1))
    assert period(stuck) > minutes * 60, f"{logical_id}: period {period(stuck)} s, sweep every {minutes} min"
    assert "autobill invoice show" in stuck["AlarmDescription"]

    (logical_id, unclear), = counting(template, "EmailOutcomeUnknown")
    assert providers_summed(unclear, "EmailOutcomeUnknown") == {p for m, p in emitted() if m == "EmailOutcomeUnknown"}
    assert providers_summed(unclear, "EmailOutcomeUnknown") == {"fulfil", "renewal-reminders"}
    assert_fires_on_one(unclear)
    assert "autobill invoice resend" in unclear["AlarmDescription"]


def test_webhook_problems_tell_the_operator_what_to_do(template):
    (_, disabled), = counting(template, "WebhookEndpointDisabled")
    for command in ("autobill webhook list", "autobill webhook update", "--enable", "autobill event replay"):
        assert command in disabled["AlarmDescription"], command
    (_, abandoned), = counting(template, "WebhookDeliveryAbandoned")
    assert providers_summed(abandoned, "WebhookDeliveryAbandoned") == {"webhooks"}
    assert_fires_on_one(abandoned)
    assert "autobill event replay" in abandoned["AlarmDescription"]


def dashboard(template: dict) -> dict:
    """The dashboard's body as JSON, each ${Name} of its Sub read as the string "@Name"."""
    (props,) = stack.resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    text = sub_text(props["DashboardBody"])
    assert text, "the body is a Sub over a JSON string"
    for name in re.findall(r"\$\{([^}!]+)\}", text):
        base = name.split(".")[0]
        assert base.startswith("AWS::") or base in template["Resources"] or base in template["Parameters"], name
    return json.loads(re.sub(r"\$\{([^}!]+)\}", lambda m: "@" + m.group(1), text))


def test_dashboard_shows_the_system_at_work(template):
    props = only(template, "AWS::CloudWatch::Dashboard")
    assert "${AWS::StackName}" in sub_text(props["DashboardName"])
    body = dashboard(template)
    metrics, searched = set(), set()
    for widget in body["widgets"]:
        assert 0 <= widget["x"] and widget["x"] + widget["width"] <= 24, widget
        if widget["type"] != "metric":
            continue
        assert widget["properties"]["region"] == "@AWS::Region", widget["properties"]["title"]
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):
                expression = row[0]["expression"]
                searched |= set(re.findall(r'SEARCH\(\'\{autobill,provider\} MetricName="(\w+)"', expression))
            else:
                metrics.add(tuple(row[:4]))

    # What the system did, what went wrong (per provider and kind: found by SEARCH).
    assert {("autobill", "InvoicesIssued", "provider", "invoices"),
            ("autobill", "WebhookAttempts", "provider", "webhooks"),
            ("autobill", "WebhookAttemptsFailed", "provider", "webhooks")} <= metrics  # fmt: skip
    assert {"PaymentsRecorded", "PaymentMismatch", "PaymentUnapplied", "EmailsSent"} <= searched, searched
    # Every function's errors and throttles, every DLQ, the API's errors and latency.
    for logical_id in stack.resources_of_type(template, "AWS::Serverless::Function"):
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, "FunctionName", f"@{logical_id}") in metrics, (logical_id, metric)
    for queue in stack.resources_of_type(template, "AWS::SQS::Queue"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"@{queue}.QueueName") in metrics, queue
    for metric in ("4xx", "5xx", "Latency"):
        assert ("AWS/ApiGateway", metric, "ApiId", "@HttpApi") in metrics, metric
    # ...and every alarm's state.
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"@{a}.Arn" for a in alarms(template))

    url = template["Outputs"]["DashboardUrl"]
    assert "Dashboard" in refs(url["Value"]) and url.get("Description")


def test_outputs_name_the_api_each_providers_callback_and_the_data(template):
    outputs = template["Outputs"]
    assert sub_text(outputs["ApiUrl"]["Value"]) == API_URL
    assert outputs["TableName"]["Value"] == {"Ref": "Table"}
    assert outputs["BucketName"]["Value"] == {"Ref": "DocumentsBucket"}
    callbacks = {}
    for name, spec in outputs.items():
        found = re.fullmatch(re.escape(API_URL) + r"/callbacks/([a-z0-9-]+)", sub_text(spec["Value"]))
        if found:
            assert name.endswith("CallbackUrl") and spec.get("Description"), name
            callbacks[found.group(1)] = name
    # Every real provider; not the sandbox (tests and demos).
    assert set(callbacks) == payment_providers() - {"sandbox"}, callbacks
    # The path is the callback function's route.
    assert ("POST", "/callbacks/{provider}") in http_routes(template["Resources"]["PaymentCallbackFunction"]["Properties"])


def test_the_public_order_form_is_throttled_harder(template):
    api = template["Resources"]["HttpApi"]["Properties"]
    default = api["DefaultRouteSettings"]
    form = api["RouteSettings"]["POST /invoices"]
    assert 0 < form["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    assert 0 < form["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
    # Route settings name routes that exist (else the stage fails to deploy).
    routes = set().union(*map(http_routes, stack.resources_of_type(template, "AWS::Serverless::Function").values()))
    for key in api["RouteSettings"]:
        method, path = key.split(" ", 1)
        assert (method, path) in routes, key


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


def test_configuration_set_exists(template, local, endpoint, session):
    declared = only(template, "AWS::SES::ConfigurationSet")
    ses = session.client("sesv2", endpoint_url=endpoint)
    created = ses.get_configuration_set(ConfigurationSetName=local["configuration_set"])
    assert created["ConfigurationSetName"] == local["configuration_set"]
    # With the template's options (moto stores them but reports SendingOptions wrongly: not checked).
    for option in ("ReputationOptions", "SuppressionOptions"):
        if option in declared:
            assert created[option] == declared[option], option
    assert f"mail   {local['configuration_set']}: created" in local["stdout"]


def test_create_twice_succeeds(local):
    again = run_stack(*local["args"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"table  {local['table']}: exists" in again.stdout
    assert f"bucket {local['bucket']}: exists" in again.stdout
    assert f"events {local['event_bus']}: exists" in again.stdout
    assert f"mail   {local['configuration_set']}: exists" in again.stdout
    assert f"sched  {local['schedule_group']}: exists" in again.stdout


def test_event_bus_exists(template, local, endpoint, session):
    only(template, "AWS::Events::EventBus")
    events = session.client("events", endpoint_url=endpoint)
    assert events.describe_event_bus(Name=local["event_bus"])["Name"] == local["event_bus"]
    assert f"events {local['event_bus']}: created" in local["stdout"]
    # Nothing routes from it locally: moto answers PutEvents with 500 if a rule has a Lambda target.
    assert events.list_rules(EventBusName=local["event_bus"])["Rules"] == []


def test_create_without_event_bus_uses_the_default(local, endpoint, session):
    """`create` as run.sh and test.sh call it, without --event-bus, still works."""
    args = [a for a in local["args"] if a not in ("--event-bus", local["event_bus"])]
    again = run_stack(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"events {stack.DEFAULT_EVENT_BUS}: " in again.stdout
    session.client("events", endpoint_url=endpoint).describe_event_bus(Name=stack.DEFAULT_EVENT_BUS)


def test_create_without_configuration_set_uses_the_default(local, endpoint, session):
    """`create` as run.sh and test.sh call it, without --configuration-set, still works."""
    args = [a for a in local["args"] if a not in ("--configuration-set", local["configuration_set"])]
    again = run_stack(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"mail   {stack.DEFAULT_CONFIGURATION_SET}: " in again.stdout
    session.client("sesv2", endpoint_url=endpoint).get_configuration_set(ConfigurationSetName=stack.DEFAULT_CONFIGURATION_SET)


def test_schedule_group_exists(template, local, endpoint, session):
    only(template, "AWS::Scheduler::ScheduleGroup")
    scheduler = session.client("scheduler", endpoint_url=endpoint)
    group = scheduler.get_schedule_group(Name=local["schedule_group"])
    assert group["Name"] == local["schedule_group"]
    assert group["State"] == "ACTIVE"
    assert f"sched  {local['schedule_group']}: created" in local["stdout"]
    # Empty: the local process runs the webhook retries itself.
    assert scheduler.list_schedules(GroupName=local["schedule_group"])["Schedules"] == []


def test_create_without_schedule_group_uses_the_default(local, endpoint, session):
    """`create` as run.sh and test.sh call it, without --schedule-group, still works."""
    args = [a for a in local["args"] if a not in ("--schedule-group", local["schedule_group"])]
    again = run_stack(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"sched  {stack.DEFAULT_SCHEDULE_GROUP}: " in again.stdout
    session.client("scheduler", endpoint_url=endpoint).get_schedule_group(Name=stack.DEFAULT_SCHEDULE_GROUP)
