#!/usr/bin/env python3
"""The local AWS resources of autobill, derived from template.yaml (the one source of truth).

    stack.py wait   --endpoint http://127.0.0.1:4566 [--timeout 30]
    stack.py create --endpoint http://127.0.0.1:4566 --region eu-central-1 \
                    --table NAME --bucket NAME [--event-bus NAME] [--sender EMAIL] \
                    [--configuration-set NAME] [--schedule-group NAME] [--template PATH]

`create` reads the template, finds the data resources by type and creates them in the local AWS
(moto's server) with the template's own properties:

- AWS::DynamoDB::Table   -> create_table (+ TTL, point-in-time recovery)
- AWS::S3::Bucket        -> create_bucket (+ public access block, encryption, versioning,
                            ownership controls)
- AWS::SES::EmailIdentity -> sesv2 create_email_identity
- AWS::SES::ConfigurationSet -> sesv2 create_configuration_set (named by --configuration-set,
                            default autobill-local-mail; the template's name needs the stack
                            name; moto accepts but does not apply its options)
- AWS::Events::EventBus  -> events create_event_bus (named by --event-bus, default
                            autobill-local-events; the template's name needs the stack name)
- AWS::Scheduler::ScheduleGroup -> scheduler create_schedule_group (named by --schedule-group,
                            default autobill-local-webhook-retries; the template's name needs the
                            stack name)

Serverless resources (functions, the HTTP API) are not created: the local runner hosts the
functions itself. Neither are the outbox's stream mapping and dead-letter queue (the local process
drives the publisher itself), the fulfil and webhook functions' rules, schedules and dead-letter
queues (the local process also runs the webhook retries itself: the schedule group stays empty),
nor any rule or target on the event bus (moto answers PutEvents with HTTP 500 when a matching rule
has a Lambda target). IAM roles, the alarm topic and the alarms are not created either, and
bucket policies are not applied: moto does not enforce them, and the local endpoint is plain
HTTP, which the template's deny-non-TLS policy would forbid on AWS.

Running `create` twice against the same local AWS is fine: existing resources are kept (a table
whose keys or indexes differ from the template is an error: reset the local AWS). Needs boto3 and
PyYAML, which moto[server] brings.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
DEFAULT_EVENT_BUS = "autobill-local-events"
DEFAULT_CONFIGURATION_SET = "autobill-local-mail"
DEFAULT_SCHEDULE_GROUP = "autobill-local-webhook-retries"
# The AWS::SES::ConfigurationSet properties that CreateConfigurationSet takes in the same shape.
CONFIGURATION_SET_OPTIONS = ("DeliveryOptions", "ReputationOptions", "SendingOptions", "SuppressionOptions", "TrackingOptions")
PSEUDO_PARAMETERS = {"AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


# ------------------------------------------------------------------------------------ template


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation short tags as their long (JSON) form."""


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # `!GetAtt Resource.Attribute` (the attribute itself may contain dots).
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str | os.PathLike[str] = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """The template as plain data, with short tags turned into `{"Ref": ...}`, `{"Fn::Sub": ...}`…"""
    with open(path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return template


def resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every resource of the given type, in template order."""
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == type_
    }


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """Resolves the intrinsics a local resource's properties may use: Ref to a parameter or a
    pseudo parameter, Fn::Sub over those, Fn::Join. Anything else (a Ref to another resource, a
    GetAtt, a condition) has no local meaning here and is an error."""
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            if arg in params:
                return params[arg]
            raise ValueError(f"cannot resolve Ref {arg!r} locally")
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], params))
            scope = {**params, **extra}

            def sub(name: str) -> str:
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name not in scope:
                    raise ValueError(f"cannot resolve ${{{name}}} locally")
                return str(scope[name])

            out, rest = [], text
            while "${" in rest:
                head, _, tail = rest.partition("${")
                name, _, rest = tail.partition("}")
                out += [head, sub(name)]
            return "".join(out) + rest
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(str(v) for v in resolve(items, params))
        if key.startswith("Fn::") or key == "Condition":
            raise ValueError(f"cannot resolve {key} locally")
    return {k: resolve(v, params) for k, v in value.items()}


def parameter_values(template: dict[str, Any], region: str, overrides: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {**PSEUDO_PARAMETERS, "AWS::Region": region}
    for name, spec in (template.get("Parameters") or {}).items():
        if "Default" in spec:
            params[name] = spec["Default"]
    params.update(overrides)
    return params


def pick(props: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: props[k] for k in keys if k in props}


def table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """The boto3 CreateTable request for a template's AWS::DynamoDB::Table properties."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    request.update(pick(props, "ProvisionedThroughput", "OnDemandThroughput", "TableClass", "DeletionProtectionEnabled", "Tags"))
    index_keys = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [pick(i, *index_keys) for i in props["GlobalSecondaryIndexes"]]
    if props.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [pick(i, "IndexName", "KeySchema", "Projection") for i in props["LocalSecondaryIndexes"]]
    if stream := props.get("StreamSpecification"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    if sse := props.get("SSESpecification"):
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled")), **pick(sse, "SSEType", "KMSMasterKeyId")}
    return request


def encryption_rules(bucket_encryption: dict[str, Any]) -> list[dict[str, Any]]:
    """The boto3 PutBucketEncryption rules for a template's BucketEncryption property."""
    rules = []
    for rule in bucket_encryption["ServerSideEncryptionConfiguration"]:
        out = pick(rule, "BucketKeyEnabled", "BlockedEncryptionTypes")
        if "ServerSideEncryptionByDefault" in rule:
            out["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
        rules.append(out)
    return rules


def named(kind: str, logical_ids: list[str], given: list[str]) -> dict[str, str]:
    """Local names for the template's resources of one kind: `NAME` when the template has exactly
    one of them, else `LogicalId=NAME` for each."""
    names: dict[str, str] = {}
    kinds = kind + ("es" if kind.endswith("s") else "s")
    for item in given:
        logical_id, sep, name = item.rpartition("=")
        if not sep:
            if len(logical_ids) != 1:
                raise SystemExit(f"the template has {len(logical_ids)} {kinds} ({', '.join(logical_ids)}): use --{kind} LogicalId=NAME")
            logical_id = logical_ids[0]
        if logical_id not in logical_ids:
            raise SystemExit(f"no {kind} {logical_id!r} in the template ({', '.join(logical_ids) or 'none'})")
        names[logical_id] = name
    missing = [i for i in logical_ids if i not in names]
    if missing:
        raise SystemExit(f"no local name given for {kind} {', '.join(missing)}: use --{kind}")
    return names


# ------------------------------------------------------------------------------------ local AWS


def error_code(e: Exception) -> str:
    return getattr(e, "response", {}).get("Error", {}).get("Code", "")


def _key_shape(table_or_props: dict[str, Any]) -> tuple:
    indexes = table_or_props.get("GlobalSecondaryIndexes") or []
    return (
        sorted((a["AttributeName"], a["AttributeType"]) for a in table_or_props["AttributeDefinitions"]),
        [(k["AttributeName"], k["KeyType"]) for k in table_or_props["KeySchema"]],
        sorted((i["IndexName"], tuple((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"])) for i in indexes),
    )


def create_table(session, endpoint: str, name: str, props: dict[str, Any]) -> None:
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    try:
        ddb.create_table(**table_request(name, props))
        state = "created"
    except ddb.exceptions.ResourceInUseException:
        existing = ddb.describe_table(TableName=name)["Table"]
        if _key_shape(existing) != _key_shape(props):
            raise SystemExit(
                f"table {name} exists with other keys or indexes than the template declares: "
                f"reset the local AWS (POST {endpoint}/moto-api/reset) or use another table name"
            )
        state = "exists"
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})

    extras = []
    if ttl := props.get("TimeToLiveSpecification"):
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        enabled, is_on = bool(ttl.get("Enabled")), current.get("TimeToLiveStatus") == "ENABLED"
        if enabled and not (is_on and current.get("AttributeName") == ttl["AttributeName"]):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]})
        elif not enabled and is_on:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": current["AttributeName"]})
        if ttl.get("Enabled"):
            extras.append(f"ttl={ttl['AttributeName']}")
    if pitr := props.get("PointInTimeRecoverySpecification"):
        enabled = bool(pitr.get("PointInTimeRecoveryEnabled"))
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled})
        if enabled:
            extras.append("pitr")
    indexes = ",".join(i["IndexName"] for i in props.get("GlobalSecondaryIndexes") or [])
    if indexes:
        extras.insert(0, f"gsi={indexes}")
    print(f"table  {name}: {state} ({' '.join(extras)})" if extras else f"table  {name}: {state}")


def create_bucket(session, endpoint: str, region: str, name: str, props: dict[str, Any]) -> None:
    s3 = session.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    request: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.head_bucket(Bucket=name)
        state = "exists"
    except ClientError as e:
        if error_code(e) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        try:
            s3.create_bucket(**request)
            state = "created"
        except ClientError as e:
            # Lost a race with another run, or us-east-1's legacy answer for an owned bucket.
            if error_code(e) != "BucketAlreadyOwnedByYou":
                raise
            state = "exists"

    extras = []
    if pab := props.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=pab)
        extras.append("public-access-block")
    if enc := props.get("BucketEncryption"):
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": encryption_rules(enc)})
        extras.append("encryption")
    if versioning := props.get("VersioningConfiguration"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
        extras.append(f"versioning={versioning['Status']}")
    if ownership := props.get("OwnershipControls"):
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": ownership["Rules"]})
        extras.append("ownership")
    print(f"bucket {name}: {state} ({' '.join(extras)})" if extras else f"bucket {name}: {state}")


def ensure(label: str, name: str, get, create, missing: tuple[str, ...], taken: tuple[str, ...]) -> None:
    """Creates a resource unless `get` finds it; losing a race to another run counts as found."""
    try:
        get()
        state = "exists"
    except ClientError as e:
        if error_code(e) not in missing:
            raise
        try:
            create()
            state = "created"
        except ClientError as e:
            if error_code(e) not in taken:
                raise
            state = "exists"
    print(f"{label:<6} {name}: {state}")


def create_email_identity(session, endpoint: str, identity: str) -> None:
    ses = session.client("sesv2", endpoint_url=endpoint)
    ensure("sender", identity,
           lambda: ses.get_email_identity(EmailIdentity=identity),
           lambda: ses.create_email_identity(EmailIdentity=identity),
           missing=("NotFoundException",), taken=("AlreadyExistsException",))


def create_configuration_set(session, endpoint: str, name: str, props: dict[str, Any]) -> None:
    ses = session.client("sesv2", endpoint_url=endpoint)
    # moto names the lost race ConfigurationSetAlreadyExistsException.
    ensure("mail", name,
           lambda: ses.get_configuration_set(ConfigurationSetName=name),
           lambda: ses.create_configuration_set(ConfigurationSetName=name, **props),
           missing=("NotFoundException",),
           taken=("AlreadyExistsException", "ConfigurationSetAlreadyExistsException"))


def create_event_bus(session, endpoint: str, name: str, props: dict[str, Any]) -> None:
    events = session.client("events", endpoint_url=endpoint)
    ensure("events", name,
           lambda: events.describe_event_bus(Name=name),
           lambda: events.create_event_bus(Name=name, **props),
           missing=("ResourceNotFoundException",), taken=("ResourceAlreadyExistsException",))


def create_schedule_group(session, endpoint: str, name: str, props: dict[str, Any]) -> None:
    scheduler = session.client("scheduler", endpoint_url=endpoint)
    ensure("sched", name,
           lambda: scheduler.get_schedule_group(Name=name),
           lambda: scheduler.create_schedule_group(Name=name, **props),
           missing=("ResourceNotFoundException",), taken=("ConflictException",))


def create(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    identities = resources_of_type(template, "AWS::SES::EmailIdentity")
    buses = resources_of_type(template, "AWS::Events::EventBus")
    configuration_sets = resources_of_type(template, "AWS::SES::ConfigurationSet")
    schedule_groups = resources_of_type(template, "AWS::Scheduler::ScheduleGroup")
    table_names = named("table", list(tables), args.table)
    bucket_names = named("bucket", list(buckets), args.bucket)
    bus_names = named("event-bus", list(buses), args.event_bus or ([DEFAULT_EVENT_BUS] if buses else []))
    configuration_set_names = named(
        "configuration-set",
        list(configuration_sets),
        args.configuration_set or ([DEFAULT_CONFIGURATION_SET] if configuration_sets else []),
    )
    schedule_group_names = named(
        "schedule-group",
        list(schedule_groups),
        args.schedule_group or ([DEFAULT_SCHEDULE_GROUP] if schedule_groups else []),
    )

    overrides = {"SenderEmail": args.sender} if args.sender else {}
    params = parameter_values(template, args.region, overrides)
    session = boto3.session.Session(region_name=args.region)

    for logical_id, props in tables.items():
        create_table(session, args.endpoint, table_names[logical_id], resolve(props, params))
    for logical_id, props in buckets.items():
        create_bucket(session, args.endpoint, args.region, bucket_names[logical_id], resolve(props, params))
    for logical_id, props in identities.items():
        identity = args.sender if args.sender else resolve(props["EmailIdentity"], params)
        create_email_identity(session, args.endpoint, identity)
    for logical_id, props in configuration_sets.items():
        # Name comes from the command line; the options are the template's.
        options = resolve(pick(props, *CONFIGURATION_SET_OPTIONS), params)
        create_configuration_set(session, args.endpoint, configuration_set_names[logical_id], options)
    for logical_id, props in buses.items():
        # Only the properties that mean something locally; Name comes from the command line.
        create_event_bus(session, args.endpoint, bus_names[logical_id], resolve(pick(props, "Description", "Tags"), params))
    for logical_id, props in schedule_groups.items():
        # Name comes from the command line.
        create_schedule_group(session, args.endpoint, schedule_group_names[logical_id], resolve(pick(props, "Tags"), params))
    return 0


def wait(args: argparse.Namespace) -> int:
    """Polls until the local AWS answers; non-zero exit on timeout."""
    url = args.endpoint.rstrip("/") + "/moto-api/"
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return 0
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            print(f"the local AWS at {args.endpoint} did not answer within {args.timeout:g} s", file=sys.stderr)
            return 1
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    default_endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")

    p = commands.add_parser(
        "create",
        help="create the template's table, bucket, SES identity and configuration set, event bus and schedule group in the local AWS",
    )
    p.add_argument("--endpoint", default=default_endpoint)
    p.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1")
    p.add_argument("--table", action="append", required=True, metavar="[LOGICAL_ID=]NAME")
    p.add_argument("--bucket", action="append", required=True, metavar="[LOGICAL_ID=]NAME")
    p.add_argument(
        "--event-bus",
        action="append",
        metavar="[LOGICAL_ID=]NAME",
        help=f"local name of the template's event bus (default: {DEFAULT_EVENT_BUS})",
    )
    p.add_argument("--sender", help="sender address (default: the template's SenderEmail default)")
    p.add_argument(
        "--configuration-set",
        action="append",
        metavar="[LOGICAL_ID=]NAME",
        help=f"local name of the template's SES configuration set (default: {DEFAULT_CONFIGURATION_SET})",
    )
    p.add_argument(
        "--schedule-group",
        action="append",
        metavar="[LOGICAL_ID=]NAME",
        help=f"local name of the template's EventBridge Scheduler schedule group (default: {DEFAULT_SCHEDULE_GROUP})",
    )
    p.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    p.set_defaults(run=create)

    p = commands.add_parser("wait", help="wait until the local AWS answers")
    p.add_argument("--endpoint", default=default_endpoint)
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(run=wait)

    args = parser.parse_args(argv)
    # The local AWS takes any credentials: dummy ones unless the environment has some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    try:
        return args.run(args)
    except (BotoCoreError, ClientError, OSError, ValueError) as e:
        print(f"stack.py {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
