"""Rotating the link secret without breaking links already sent: with the old secret kept as
AUTOBILL_PREVIOUS_LINK_SECRET, old links open and new links use the new secret; without it, the
old links are dead (the remedy after a leak). Three runners in turn over a stack of their own."""

from __future__ import annotations

import requests

from conftest import ROOT, App, create_stack, link_token
from test_admin import order

OLD = "the-link-secret-before-the-rotation-32+"
NEW = "a-new-link-secret-of-at-least-32-characters"


def test_links_signed_with_the_previous_secret_keep_opening_until_it_is_dropped(aws_endpoint, yookassa_api):
    names = create_stack(aws_endpoint, "autobill-rotation")
    log = ROOT / ".local" / f"e2e-{names['table']}.log"

    def runner(**secrets: str) -> App:
        # No scheduled jobs: only what the test does happens.
        return App(aws_endpoint, names, log, yookassa_api.url, AUTOBILL_LOCAL_JOBS_EVERY_SECONDS="0", **secrets)

    before = runner(AUTOBILL_LINK_SECRET=OLD)
    try:
        inv = requests.post(f"{before.base}/invoices", json=order()).json()
        assert inv["invoice_url"].endswith(f"token={link_token(OLD, inv['id'])}")
    finally:
        before.stop()
    old_link = lambda app: f"{app.base}/invoices/{inv['id']}?token={link_token(OLD, inv['id'])}"  # noqa: E731

    rotated = runner(AUTOBILL_LINK_SECRET=NEW, AUTOBILL_PREVIOUS_LINK_SECRET=OLD)
    try:
        assert requests.get(old_link(rotated)).status_code == 200
        pdf = requests.get(f"{rotated.base}/invoices/{inv['id']}/pdf?token={link_token(OLD, inv['id'])}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        fresh = requests.post(f"{rotated.base}/invoices", json=order()).json()
        assert fresh["invoice_url"].endswith(f"token={link_token(NEW, fresh['id'])}")
        assert requests.get(fresh["invoice_url"]).status_code == 200
    finally:
        rotated.stop()

    dropped = runner(AUTOBILL_LINK_SECRET=NEW)
    try:
        assert requests.get(old_link(dropped)).status_code == 404
        assert requests.get(f"{dropped.base}/invoices/{fresh['id']}?token={link_token(NEW, fresh['id'])}").status_code == 200
    finally:
        dropped.stop()
