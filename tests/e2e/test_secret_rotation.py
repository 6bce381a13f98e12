"""Rotating the link secret without breaking links already sent: with the old secret kept as
AUTOBILL_PREVIOUS_LINK_SECRET, old links open and new links use the new secret; without it, the
old links are dead (the remedy after a leak)."""

from __future__ import annotations

import os

import requests

from conftest import ROOT, App, link_token
from test_admin import order

OLD = os.environ.get("AUTOBILL_LINK_SECRET", "local-link-secret-not-for-production")
NEW = "a-new-link-secret-of-at-least-32-characters"


def test_links_signed_with_the_previous_secret_keep_opening_until_it_is_dropped(app, aws_endpoint, stack_names, yookassa_api):
    inv = requests.post(f"{app}/invoices", json=order()).json()
    assert inv["invoice_url"].endswith(f"token={link_token(OLD, inv['id'])}")

    log = ROOT / ".local" / f"e2e-{stack_names['table']}-rotated.log"
    rotated = App(aws_endpoint, stack_names, log, yookassa_api.url,
                  AUTOBILL_LINK_SECRET=NEW, AUTOBILL_PREVIOUS_LINK_SECRET=OLD)
    try:
        assert requests.get(inv["invoice_url"].replace(app, rotated.base)).status_code == 200
        pdf = requests.get(f"{rotated.base}/invoices/{inv['id']}/pdf?token={link_token(OLD, inv['id'])}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        fresh = requests.post(f"{rotated.base}/invoices", json=order()).json()
        assert fresh["invoice_url"].endswith(f"token={link_token(NEW, fresh['id'])}")
        assert requests.get(fresh["invoice_url"]).status_code == 200
    finally:
        rotated.stop()

    dropped = App(aws_endpoint, stack_names, log, yookassa_api.url, AUTOBILL_LINK_SECRET=NEW)
    try:
        assert requests.get(inv["invoice_url"].replace(app, dropped.base)).status_code == 404
        assert requests.get(f"{dropped.base}/invoices/{fresh['id']}?token={link_token(NEW, fresh['id'])}").status_code == 200
    finally:
        dropped.stop()
