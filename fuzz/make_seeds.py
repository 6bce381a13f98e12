#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/*: realistic inputs for every fuzz target, signed in Python with
the harnesses' test secrets (shared/src/fuzzing.rs), independently of the Rust adapters. The
samples follow the adapters' unit tests and tests/e2e/test_payments.py.

The seeds are committed; run this again only to change them: `python3 fuzz/make_seeds.py`.
It clears each target's seed folder first. Request format: see shared/src/fuzzing.rs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from pathlib import Path
from urllib.parse import quote, urlencode

SEEDS = Path(__file__).resolve().parent / "seeds"

NOW = 1_700_000_000
SANDBOX_SECRET = "fuzz-sandbox-secret"
STRIPE_SECRET = "whsec_fuzz_endpoint_secret"
CLOUDPAYMENTS_SECRET = "fuzz_cp_api_secret"
TBANK_TERMINAL = "1321054611234DEMO"
TBANK_PASSWORD = "fuzz_tbank_password"
ROBOKASSA_PASSWORD2 = "fuzz_pass2"

INVOICE_ID = "0190f3a2-7c1e-7a51-9d2e-4b1f0c9a8e77"


def request(body: bytes | str, headers: dict[str, str] | None = None, **pseudo: str | int) -> bytes:
    """The harnesses' request format: `@pseudo` and header lines, an empty line, the body."""
    if isinstance(body, str):
        body = body.encode()
    lines = [f"@{k}: {v}" for k, v in pseudo.items()]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\n".join(lines) + "\n\n").encode() + body


def compact(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def timestamped(secret: str, t: int, body: bytes) -> str:
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def content_hmac(body: bytes, secret: str = CLOUDPAYMENTS_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def tbank_token(fields: dict, password: str = TBANK_PASSWORD) -> str:
    values = {k: v for k, v in fields.items() if not isinstance(v, (dict, list)) and v is not None and k != "Token"}
    values["Password"] = password
    text = "".join(("true" if v is True else "false" if v is False else str(v)) for _, v in sorted(values.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def robokassa_signature(out_sum: str, inv_id: str, shp: dict[str, str], alg: str = "md5") -> str:
    base = f"{out_sum}:{inv_id}:{ROBOKASSA_PASSWORD2}" + "".join(f":{k}={v}" for k, v in sorted(shp.items()))
    return hashlib.new(alg, base.encode()).hexdigest()


def form_body(fields: dict[str, str]) -> str:
    return urlencode(fields, quote_via=quote).replace("%20", "+")


def write(target: str, seeds: dict[str, bytes | str]) -> None:
    folder = SEEDS / target
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in seeds.items():
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


# --- the order form -------------------------------------------------------------------------

ORDER = {"plan": "pro", "company": "ООО «Ромашка»", "inn": "7736207543", "kpp": "770401001",
         "address": "Москва, ул. Льва Толстого, 16", "email": "buh@romashka.ru"}
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

write("form", {
    "json_order": request(compact(ORDER), JSON),
    "json_order_full": request(compact({**ORDER, "quantity": 3, "account": "acme-42",
                                        "idempotency_key": "form-0190f3a27c1e7a519d2e4b1f0c9a8e77"}),
                               {"Content-Type": "application/json; charset=utf-8"}),
    "form_order": request(form_body(ORDER), FORM),
    "form_order_sole_trader": request(form_body({**{k: v for k, v in ORDER.items() if k != "kpp"},
                                                 "inn": "500100732259", "quantity": "12"}),
                                      {"Content-Type": 'application/x-www-form-urlencoded; charset="UTF-8"'}),
    "json_every_field_wrong": request(compact({"plan": "gold", "quantity": "0", "inn": "7736207544",
                                               "kpp": "77040100", "email": "nobody", "colour": "red",
                                               "company": "  ", "address": "a\u0001b"}), JSON),
    "json_wrong_types": request('{"plan": ["pro"], "quantity": 3.5, "inn": {"x": 1}, "kpp": true}', JSON),
    "json_not_an_object": request("[1, 2, 3]", JSON),
    "json_truncated": request('{"plan": "pro", "company": "ООО', JSON),
    "json_sole_trader_null_kpp": request(compact({**ORDER, "inn": "500100732259", "kpp": None}), JSON),
    "form_duplicate": request("inn=1&inn=2&&flag&plan=pro", FORM),
    "form_bad_utf8": request("company=%D0%9E%FF&inn=7736207543", FORM),
    "form_markup_comes_back_escaped": request(form_body({**ORDER, "inn": "123", "company": '<script>alert("x")</script>',
                                                         "address": "'><img src=x onerror=alert(1)>",
                                                         "account": '"><b>', "idempotency_key": "a\"b<c"}),
                                              {**FORM, "Accept": "text/html"}),
    "form_huge_quantity": request(form_body({**ORDER, "quantity": "99999999999999999999999"}), FORM),
    "unsupported_type": request(compact(ORDER), {"Content-Type": "text/plain"}),
    "unsupported_charset": request(compact(ORDER), {"Content-Type": "application/json; charset=latin1"}),
    "declared_too_large": request(compact(ORDER), {**JSON, "Content-Length": "20000"}),
    "empty_body_no_type": request(b""),
})

# --- exact amounts --------------------------------------------------------------------------

write("amount", {f"amount_{i:02}": s for i, s in enumerate([
    "1200", "1200.5", "1200.50", "10.000000", "0.01", "0", "007.10", "92233720368547758.07",
    "92233720368547758.08", "92233720368547759", "1.005", "-1", "+1", ".5", "5.", "1e3", "1,5",
    "1.2.3", "١٢", " 12", '"1200.00"', "120050", "-5", "1200.0", "12345678901234567.89",
    "9223372036854775807", "9223372036854775808", '"120000"', "null", "[1]", "true",
])})

# --- webhook conditions ---------------------------------------------------------------------

EVENT = {
    "id": "evt_0190a", "type": "invoice.paid", "timestamp": "2025-03-01T10:00:00+00:00",
    "data": {"invoice_id": "inv_1", "number": "ACME-000042", "plan": "pro", "quantity": 3, "total": 1_500_000,
             "currency": "RUB", "buyer": {"name": "ООО Ромашка", "inn": "7707083893", "email": "buh@romashka.ru"},
             "paid_at": "2025-03-01T10:00:00+00:00", "payment": {"provider": "yookassa", "id": "pay_1"},
             "tags": ["a", "b"], "note": None},
}


def endpoint(config: dict, event: dict | None = None) -> bytes:
    return compact(config) + b"\n" + json.dumps(event or EVENT, ensure_ascii=False, indent=1).encode()


write("webhook_conditions", {
    "every_op": endpoint({"events": ["invoice.paid"], "conditions": [
        {"path": "data.plan", "op": "eq", "value": "pro"},
        {"path": "data.currency", "op": "in", "value": ["RUB", "USD"]},
        {"path": "data.total", "op": "gte", "value": 1_000_000},
        {"path": "data.paid_at", "op": "lte", "value": "2026-01-01"}],
        "fields": ["data.number", "data.buyer.inn", "data.total"]}),
    "dates_as_instants": endpoint({"conditions": [
        {"path": "data.paid_at", "op": "gte", "value": "2025-03-01T12:59:59+03:00"},
        {"path": "timestamp", "op": "lte", "value": "2025-03-01T10:00:00Z"}]}),
    "overlapping_fields": endpoint({"events": ["*"], "fields": ["data.buyer", "data.buyer.inn", "data.note",
                                                                 "data.tags", "id", "nope.deeper"]}),
    "missing_paths": endpoint({"conditions": [{"path": "data.discount", "op": "eq", "value": None},
                                              {"path": "data.tags.0", "op": "in", "value": ["a"]},
                                              {"path": "", "op": "gte", "value": ""}]}),
    "big_integers": endpoint({"conditions": [{"path": "data.total", "op": "lte", "value": 18446744073709551615},
                                             {"path": "data.total", "op": "gte", "value": -9223372036854775808},
                                             {"path": "data.quantity", "op": "gte", "value": 2.5}]}),
    "other_type_disabled": endpoint({"events": ["subscription.activated"], "enabled": False,
                                     "conditions": [{"path": "data.plan", "op": "in", "value": "pro"}]}),
    "invalid_settings": endpoint({"id": "has space", "url": "http://10.0.0.5/", "secret": "whsec_c2hvcnQ=",
                                  "events": ["Invoice.Paid", "invoice."], "fields": ["", "data..x"],
                                  "conditions": [{"path": "a..b", "op": "lte", "value": True}]}),
    "subscription_event": endpoint({"fields": ["data.subscription.plan"], "conditions": [
        {"path": "data.subscription.period.end", "op": "gte", "value": "2026-01-01"}]},
        {"id": "evt_2", "type": "subscription.renewed", "timestamp": "2026-02-01T09:00:00+03:00",
         "data": {"subscription": {"plan": "pro", "account": "7736207543",
                                   "period": {"start": "2026-02-01", "end": "2026-03-01"}}}}),
    "dotted_keys": endpoint({"fields": ["a.b", "a"], "conditions": [{"path": "a.b", "op": "eq", "value": 1}]},
                            {"type": "t", "a.b": 2, "a": {"b": 1, "c.d": {"e": []}, "": {}}}),
})

# --- the sandbox ----------------------------------------------------------------------------

SANDBOX_BODY = compact({"invoice_id": INVOICE_ID, "payment_id": "sbx_1", "amount": 1_200_000, "currency": "rub"})
SB = "Sandbox-Signature"
write("sandbox", {
    "signed": request(SANDBOX_BODY, {**JSON, SB: timestamped(SANDBOX_SECRET, NOW, SANDBOX_BODY)}, now=NOW),
    "signed_at_the_edge": request(SANDBOX_BODY, {SB: timestamped(SANDBOX_SECRET, NOW - 300, SANDBOX_BODY)}, now=NOW),
    "stale": request(SANDBOX_BODY, {SB: timestamped(SANDBOX_SECRET, NOW, SANDBOX_BODY)}, now=NOW + 301),
    "two_signatures_one_good": request(SANDBOX_BODY, {
        SB: timestamped(SANDBOX_SECRET, NOW, SANDBOX_BODY).replace("v1=", "v1=" + "0" * 64 + ",v1=")}, now=NOW),
    "wrong_secret": request(SANDBOX_BODY, {SB: timestamped("not-the-secret", NOW, SANDBOX_BODY)}, now=NOW),
    "garbage_header": request(SANDBOX_BODY, {SB: "t=x,v1=zz"}),
    "signed_get": request(SANDBOX_BODY, {SB: timestamped(SANDBOX_SECRET, NOW, SANDBOX_BODY)}, method="GET", now=NOW),
    "signed_string_amount": request(b := compact({"invoice_id": "i", "payment_id": "p", "amount": "120050",
                                                  "currency": "RUB"}), {SB: timestamped(SANDBOX_SECRET, NOW, b)}),
})
write("sandbox_signed", {
    "notice": request(SANDBOX_BODY, JSON),
    "notice_now_elsewhere": request(SANDBOX_BODY, now=1_234_567_890),
    "amount_float": request('{"invoice_id":"i","payment_id":"p","amount":1.5,"currency":"RUB"}'),
    "amount_negative": request('{"invoice_id":"i","payment_id":"p","amount":-1,"currency":"RUB"}'),
    "amount_huge": request('{"invoice_id":"i","payment_id":"p","amount":18446744073709551616,"currency":"RUB"}'),
    "empty_ids": request('{"invoice_id":"","payment_id":"p","amount":1,"currency":"RUB"}'),
    "no_currency": request('{"invoice_id":"i","payment_id":"p","amount":1}'),
    "not_json": request(b"\xff\xfe"),
    "array": request(b"[]"),
})

# --- Stripe ---------------------------------------------------------------------------------

CHECKOUT = compact({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {
    "id": "cs_test_1", "object": "checkout.session", "amount_total": 1_200_000, "currency": "rub",
    "payment_status": "paid", "payment_intent": "pi_1", "metadata": {"invoice_id": INVOICE_ID}}}})
INTENT = compact({"id": "evt_e2e", "type": "payment_intent.succeeded", "data": {"object": {
    "id": "pi_9", "object": "payment_intent", "amount_received": 1_200_000, "currency": "rub",
    "status": "succeeded", "metadata": {"invoice_id": INVOICE_ID}}}})
EXPANDED = compact({"type": "checkout.session.completed", "data": {"object": {
    "id": "cs_2", "amount_total": 50, "currency": "usd", "payment_status": "unpaid",
    "payment_intent": {"id": "pi_2", "object": "payment_intent"}, "metadata": {"invoice_id": "inv-2"}}}})
FOREIGN = b'{"type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount_received":1,"currency":"rub"}}}'
OTHER = b'{"type":"customer.created","data":{"object":{}}}'
SS = "Stripe-Signature"
write("stripe", {
    "checkout_completed": request(CHECKOUT, {**JSON, SS: timestamped(STRIPE_SECRET, NOW, CHECKOUT)}, now=NOW),
    "payment_intent": request(INTENT, {SS: timestamped(STRIPE_SECRET, NOW, INTENT).replace(
        "v1=", "v1=" + "1" * 64 + ",v0=abc,v1=")}, now=NOW + 299),
    "expanded_intent_unpaid": request(EXPANDED, {SS: timestamped(STRIPE_SECRET, NOW, EXPANDED)}, now=NOW),
    "foreign_payment": request(FOREIGN, {SS: timestamped(STRIPE_SECRET, NOW, FOREIGN)}, now=NOW),
    "other_event": request(OTHER, {SS: timestamped(STRIPE_SECRET, NOW, OTHER)}, now=NOW),
    "forged": request(CHECKOUT, {SS: f"t={NOW},v1={'0' * 64}"}, now=NOW),
    "repeated_timestamp": request(CHECKOUT, {SS: timestamped(STRIPE_SECRET, NOW, CHECKOUT) + f",t={NOW}"}, now=NOW),
    "far_future": request(CHECKOUT, {SS: timestamped(STRIPE_SECRET, NOW, CHECKOUT)}, now=-9223372036854775808),
})
write("stripe_signed", {
    "checkout_completed": request(CHECKOUT, JSON),
    "payment_intent": request(INTENT),
    "expanded_intent_unpaid": request(EXPANDED),
    "foreign_payment": request(FOREIGN),
    "other_event": request(OTHER),
    "no_type": request(b'{"id":"evt_1"}'),
    "float_amount": request(b'{"type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount_received":1.5,'
                            b'"currency":"rub","metadata":{"invoice_id":"x"}}}}'),
    "no_object": request(b'{"type":"checkout.session.completed","data":{}}'),
})

# --- CloudPayments --------------------------------------------------------------------------

CP_FIELDS = {"TransactionId": "1504", "Amount": "12000.00", "Currency": "RUB", "PaymentAmount": "12000.00",
             "PaymentCurrency": "RUB", "DateTime": "2026-01-05 10:00:00", "InvoiceId": INVOICE_ID,
             "AccountId": "7736207543", "Email": "user@example.ru", "Status": "Completed",
             "OperationType": "Payment", "TestMode": "0"}
CP_FORM = urlencode(CP_FIELDS).encode()
CP_JSON = compact({**CP_FIELDS, "TransactionId": 1504, "Amount": 12000.50, "TestMode": False, "Data": {"x": 1}})
CP_REFUND = urlencode({**CP_FIELDS, "OperationType": "Refund"}).encode()
CP_FAIL = urlencode({**CP_FIELDS, "Status": "Declined", "ReasonCode": "5051"}).encode()
CH = "Content-HMAC"
write("cloudpayments", {
    "pay_form": request(CP_FORM, {**FORM, CH: content_hmac(CP_FORM)}),
    "pay_json": request(CP_JSON, {"Content-Type": "Application/JSON; charset=utf-8", CH: content_hmac(CP_JSON)}),
    "refund": request(CP_REFUND, {CH: content_hmac(CP_REFUND)}),
    "fail": request(CP_FAIL, {CH: content_hmac(CP_FAIL)}),
    "wrong_secret": request(CP_FORM, {CH: content_hmac(CP_FORM, "wrong")}),
    "hex_not_base64": request(CP_FORM, {CH: hmac.new(CLOUDPAYMENTS_SECRET.encode(), CP_FORM, hashlib.sha256).hexdigest()}),
    "no_signature": request(CP_FORM),
})
write("cloudpayments_signed", {
    "pay_form": request(CP_FORM, FORM),
    "pay_json": request(CP_JSON, JSON),
    "refund": request(CP_REFUND),
    "fail": request(CP_FAIL),
    "odd_amount": request(urlencode({**CP_FIELDS, "Amount": "10.500000"})),
    "inexact_amount": request(urlencode({**CP_FIELDS, "Amount": "1200.005"})),
    "repeated_field": request(CP_FORM + b"&Amount=1.00"),
    "json_string_amount": request(compact({**CP_FIELDS, "Amount": "12000.00"}), JSON),
    "form_as_json": request(CP_FORM, JSON),
    "bad_escape": request(b"Amount=%FF"),
})

# --- T-Bank ---------------------------------------------------------------------------------

TB_FIELDS = {"TerminalKey": TBANK_TERMINAL, "OrderId": INVOICE_ID, "Success": True, "Status": "CONFIRMED",
             "PaymentId": 8742591, "ErrorCode": "0", "Amount": 1_200_000, "CardId": 322264,
             "Pan": "430000******0777", "ExpDate": "1122", "Data": {"Phone": "+7"}, "Items": [1, 2]}
TB_REJECTED = {**TB_FIELDS, "Success": False, "Status": "REJECTED", "ErrorCode": "1051"}
write("tbank", {
    "confirmed": request(compact({**TB_FIELDS, "Token": tbank_token(TB_FIELDS)}), JSON),
    "rejected": request(compact({**TB_REJECTED, "Token": tbank_token(TB_REJECTED)})),
    "uppercase_token": request(compact({**TB_FIELDS, "Token": tbank_token(TB_FIELDS).upper()})),
    "wrong_password": request(compact({**TB_FIELDS, "Token": tbank_token(TB_FIELDS, "wrong-password")})),
    "another_terminal": request(compact({**TB_FIELDS, "TerminalKey": "OTHER",
                                         "Token": tbank_token({**TB_FIELDS, "TerminalKey": "OTHER"})})),
    "null_field": request(compact({**TB_FIELDS, "RebillId": None,
                                   "Token": tbank_token({**TB_FIELDS, "RebillId": None})})),
    "not_json": request(b"OK"),
})
write("tbank_signed", {
    "confirmed": request(compact(TB_FIELDS), JSON),
    "rejected": request(compact(TB_REJECTED)),
    "spaced": request(json.dumps(TB_FIELDS, indent=2).encode()),
    "float_amount": request(compact({**TB_FIELDS, "Amount": 12.5})),
    "string_success": request(compact({**TB_FIELDS, "Success": "true"})),
    "password_injected": request(compact({**TB_FIELDS, "Password": "x"})),
    "empty_object": request(b"{}"),
})

# --- Robokassa ------------------------------------------------------------------------------

OUT_SUM, INV_ID, SHP = "12000.000000", "2026000123", {"Shp_account": "7736207543"}
RK_QUERY = urlencode({"OutSum": OUT_SUM, "InvId": INV_ID, **SHP, "IsTest": "1",
                      "SignatureValue": robokassa_signature(OUT_SUM, INV_ID, SHP).upper()})
RK_SHA = form_body({"OutSum": "1200.50", "InvId": INV_ID, "Shp_b": "2", "Shp_a": "x y", "EMail": "a@b.ru",
                    "SignatureValue": robokassa_signature("1200.50", INV_ID, {"Shp_a": "x y", "Shp_b": "2"}, "sha256")})
write("robokassa", {
    "get_md5": request(b"", query=RK_QUERY, method="GET"),
    "post_sha256": request(RK_SHA, FORM, alg="sha256"),
    "post_empty_body_reads_query": request(b"", query=RK_QUERY),
    "post_sha512_short_inv_id": request(form_body({"OutSum": "1", "InvId": "20261", "SignatureValue":
                                                   robokassa_signature("1", "20261", {}, "sha512")}), alg="sha512"),
    "forged_sum": request(b"", query=RK_QUERY.replace(f"OutSum={OUT_SUM}", "OutSum=1.00"), method="GET"),
    "lowercase_shp_added": request(b"", query=RK_QUERY + "&shp_x=1", method="GET"),
    "put": request(b"", query=RK_QUERY, method="PUT"),
})
write("robokassa_signed", {
    "get": request(b"", query=urlencode({"OutSum": OUT_SUM, "InvId": INV_ID, **SHP}), method="GET"),
    "post_sha384": request(form_body({"OutSum": "10.00", "InvId": "2026000001", "Shp_a": "x y", "shp_B": "ж"}),
                           alg="sha384"),
    "inexact_sum": request(b"", query="OutSum=10.005&InvId=2026000123", method="GET"),
    "bad_inv_id": request(b"", query="OutSum=10.00&InvId=0202612", method="GET"),
    "huge_inv_id": request(b"", query="OutSum=10.00&InvId=202699999999999999999999", method="GET"),
    "negative_sum": request(b"OutSum=-1&InvId=2026000123"),
})

# --- YooKassa -------------------------------------------------------------------------------

YK_NOTE = compact({"type": "notification", "event": "payment.succeeded", "object": {
    "id": "2d9f5c36-000f-5000-9000-1d3b6a4a1b4c", "status": "succeeded", "paid": True,
    "amount": {"value": "12000.00", "currency": "RUB"}, "metadata": {"invoice_id": INVOICE_ID}}})
YK_API = compact({"id": "2d9f5c36-000f-5000-9000-1d3b6a4a1b4c", "status": "succeeded", "paid": True,
                  "amount": {"value": "12000.00", "currency": "rub"}, "metadata": {"invoice_id": INVOICE_ID},
                  "test": False})
write("yookassa", {
    "notification": request(YK_NOTE, JSON, ip="185.71.76.1"),
    "notification_v6": request(YK_NOTE, ip="2a02:5180:0:1::10"),
    "notification_mapped_v4": request(YK_NOTE, ip="::ffff:77.75.156.35"),
    "waiting_for_capture": request(YK_NOTE.replace(b"payment.succeeded", b"payment.waiting_for_capture"),
                                   ip="77.75.153.1"),
    "not_from_yookassa": request(YK_NOTE, ip="185.71.76.32"),
    "no_address": request(YK_NOTE),
    "path_in_id": request(b'{"type":"notification","event":"payment.succeeded","object":{"id":"../refunds"}}',
                          ip="77.75.154.200"),
})
write("yookassa_signed", {
    "notification": request(YK_NOTE, JSON),
    "canceled": request(YK_NOTE.replace(b"payment.succeeded", b"payment.canceled")),
    "numeric_id": request(b'{"type":"notification","event":"payment.succeeded","object":{"id":7}}'),
    "api_succeeded": request(YK_API),
    "api_pending": request(YK_API.replace(b'"succeeded"', b'"pending"').replace(b"true", b"false")),
    "api_half_kopeck": request(YK_API.replace(b"12000.00", b"1.005")),
    "api_number_value": request(YK_API.replace(b'"12000.00"', b"12000.00")),
    "api_no_metadata": request(b'{"id":"p1","status":"succeeded","paid":true,"amount":{"value":"1.00","currency":"RUB"}}'),
})

# --- bank statements and payment purposes -----------------------------------------------------

STATEMENTS = Path(__file__).resolve().parents[1] / "shared" / "tests" / "data" / "statements"


def statement(docs: list[tuple[str, str, str]], encoding: str = "cp1251", version: str = "1.03") -> bytes:
    declared = {"cp1251": "Windows", "cp866": "DOS", "utf-8": "UTF-8"}[encoding]
    lines = ["1CClientBankExchange", f"ВерсияФормата={version}", f"Кодировка={declared}",
             "ДатаНачала=01.11.2026", "ДатаКонца=30.11.2026", "РасчСчет=40702810238000001234",
             "СекцияРасчСчет", "РасчСчет=40702810238000001234", "НачальныйОстаток=0.00", "КонецРасчСчет"]
    for number, amount, purpose in docs:
        lines += ["СекцияДокумент=Платежное поручение", f"Номер={number}", "Дата=27.11.2026", f"Сумма={amount}",
                  "ПлательщикСчет=40702810900000000001", "ПлательщикИНН=7736207543", "Плательщик1=ООО \"Ромашка\"",
                  "ПолучательСчет=40702810238000001234", f"НазначениеПлатежа={purpose}", "ДатаПоступило=27.11.2026",
                  "КонецДокумента"]
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


write("statement", {
    **{f.name: f.read_bytes() for f in sorted(STATEMENTS.glob("*.txt"))},
    "two_documents_cp1251": statement([("512", "12000.00", "Оплата по счету № 2026-000001 от 27.11.2026"),
                                       ("513", "5000", "сч. 2, 3")]),
    "cp866": statement([("1", "0.01", "Оплата сч 7")], encoding="cp866"),
    "utf8_1.02": statement([("9", "1234.5", "по счёту 2026-000009")], encoding="utf-8", version="1.02"),
    "empty": statement([]),
    "unclosed_document": statement([("1", "1.00", "x")]).replace("КонецДокумента".encode("cp1251"), b""),
    "wrong_declaration": statement([("1", "1.00", "счет 1")], encoding="utf-8").replace(b"UTF-8", b"Windows"),
})


def purpose(amount: int, dues: list[int], text: str) -> bytes:
    head = amount.to_bytes(4, "little") + bytes((dues + [0, 0, 0, 0])[:4]) + bytes([len(dues)])
    return head + text.encode()


write("purpose", {
    "exact": purpose(1_200_000, [120], "Оплата по счету № 2026-000123 от 27.11.2026. В т.ч. НДС 22% - 2163.93 руб."),
    "short_with_date": purpose(500_000, [120], "Оплата сч. 123 от 27.11.2026"),
    "list": purpose(2_400_000, [120, 120, 120], "по счетам № 2026-000001, 2026-000002 и 000003"),
    "contract_only": purpose(100, [1], "Оплата по договору № 15 от 01.01.2026"),
    "payment_order_then_invoice": purpose(100, [1, 2], "п/п № 512 от 26.11.2026 оплата по сч 77"),
    "inn_and_account": purpose(7, [], "ИНН 7736207543 р/с 40702810900000000001 оплата по счету 12"),
    "amount_like": purpose(99, [0, 5], "Сумма 12000-00 оплата сч 5"),
})

if __name__ == "__main__":
    print(f"seeds written under {SEEDS}")
