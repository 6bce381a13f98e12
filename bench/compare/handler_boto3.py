"""create-invoice's init in Python, for bench/compare.sh: what functions/create-invoice does before
its first GET /runtime/invocation/next, done the way a Python 3 + boto3 Lambda does it.

Run by the official runtime interface client, as the AWS Python base images do:
  PYTHONPATH=bench/compare .venv-compare/bin/python -m awslambdaric handler_boto3.handler
awslambdaric imports this module (the init below), then polls the Runtime API: its first GET
/next is "ready". With COMPARE_RENDERER=1 the init also imports the PDF renderer
(render_weasy: WeasyPrint, Jinja2, segno, the compiled template), as a Python create-invoice
would: our binary carries its renderer too.
"""

import json
import os
import tomllib

import boto3
from botocore.config import Config

if os.environ.get("COMPARE_RENDERER") == "1":
    import render_weasy  # noqa: F401


def var(name):
    value = os.environ.get(name, "").strip()
    return value or None


def required(name):
    value = var(name)
    if value is None:
        raise RuntimeError(f"{name} is not set")
    return value


def billing_config():
    """AUTOBILL_CONFIG (JSON) or AUTOBILL_CONFIG_FILE (TOML or JSON): the seller and the plans."""
    if text := var("AUTOBILL_CONFIG"):
        return json.loads(text)
    path = required("AUTOBILL_CONFIG_FILE")
    with open(path, "rb") as f:
        config = json.load(f) if path.endswith(".json") else tomllib.load(f)
    if not config.get("seller", {}).get("requisites") or not config.get("plans"):
        raise RuntimeError(f"{path}: needs [seller.requisites] and [[plans]]")
    return config


def settings():
    link_secret = required("AUTOBILL_LINK_SECRET")
    if len(link_secret) < 32:
        raise RuntimeError("AUTOBILL_LINK_SECRET: use at least 32 characters")
    ttl = int(var("AUTOBILL_PDF_LINK_TTL_SECONDS") or 3600)
    if not 60 <= ttl <= 43_200:
        raise RuntimeError("AUTOBILL_PDF_LINK_TTL_SECONDS: 60 to 43200 seconds")
    return {
        "table": required("AUTOBILL_TABLE"),
        "bucket": required("AUTOBILL_BUCKET"),
        "link_secret": link_secret.encode(),
        "public_url": (var("AUTOBILL_PUBLIC_URL") or "").rstrip("/") or None,
        "cors_origins": [o.strip().rstrip("/") for o in (var("AUTOBILL_CORS_ORIGINS") or "").split(",") if o.strip()],
        "pdf_link_ttl": ttl,
    }


# The init, as in autobill::app::invoice_api: config, settings, then the SDK clients with the
# same explicit timeouts (shared/src/aws.rs); region, credentials and endpoint from the environment.
BILLING = billing_config()
SETTINGS = settings()
_sdk = Config(connect_timeout=2, read_timeout=4, retries={"total_max_attempts": 3, "mode": "standard"})
_session = boto3.session.Session(region_name=os.environ["AWS_REGION"])
DYNAMODB = _session.client("dynamodb", config=_sdk)
S3 = _session.client(
    "s3",
    config=_sdk.merge(Config(s3={"addressing_style": "path" if var("AWS_ENDPOINT_URL") else "auto"})),
)


def handler(event, context):
    """Not measured: the comparison stops at the first GET /next."""
    return {"statusCode": 501, "body": json.dumps({"error": "not part of the benchmark"})}
