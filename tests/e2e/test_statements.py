"""Bank transfers reconciled from 1C bank statements, through the public surfaces only: a
statement (cp1251 or UTF-8, written here) posted to `POST /statements` or put under
`statements/` in the bucket pays the invoices its transfers name, once, through the same payment
records as a card: the closing e-mail and `invoice.paid` follow. Partial payments, overpayments,
one transfer for several invoices, unmatched lines for an operator, the same statement twice,
overlapping statements and a malformed file, with the CSV report each statement leaves in S3."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import requests

from test_admin import AUTH, admin, order
from test_fulfilment import mails_to, wait_for
from test_payments import events_for

OURS = "40702810238000001234"  # infra/local/config.toml's settlement account
BUYER_INN = "7736207543"  # test_admin.order()'s buyer
TODAY = dt.date.today().strftime("%d.%m.%Y")


def statement(docs: list[dict], encoding: str = "cp1251", version: str = "1.03") -> bytes:
    """A 1CClientBankExchange file as a bank exports it: CRLF, in `encoding`, declared."""
    declared = {"cp1251": "Windows", "utf-8": "UTF-8", "cp866": "DOS"}[encoding]
    lines = ["1CClientBankExchange", f"ВерсияФормата={version}", f"Кодировка={declared}",
             "Отправитель=Бухгалтерия предприятия", "Получатель=", f"ДатаСоздания={TODAY}", "ВремяСоздания=10:00:00",
             f"ДатаНачала={TODAY}", f"ДатаКонца={TODAY}", f"РасчСчет={OURS}", "Документ=Платежное поручение",
             "СекцияРасчСчет", f"ДатаНачала={TODAY}", f"ДатаКонца={TODAY}", f"РасчСчет={OURS}",
             "НачальныйОстаток=0.00", "КонецРасчСчет"]
    for d in docs:
        lines += ["СекцияДокумент=Платежное поручение", f"Номер={d['number']}", f"Дата={TODAY}",
                  f"Сумма={d['amount']}", f"ПлательщикСчет={d.get('payer_account', '40702810900000000001')}",
                  f"Плательщик=ИНН {d.get('inn', BUYER_INN)} ООО «Ромашка»", "Плательщик1=ООО «Ромашка»",
                  f"ПлательщикИНН={d.get('inn', BUYER_INN)}", f"ПолучательСчет={d.get('to', OURS)}",
                  "Получатель1=ООО «Автосчёт»", "ПолучательИНН=7707083893",
                  f"НазначениеПлатежа={d['purpose']}", f"ДатаПоступило={TODAY}", "КонецДокумента"]
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def transfer(purpose: str, amount: str, **kw) -> dict:
    return {"number": str(uuid.uuid4().int % 100000), "purpose": purpose, "amount": amount, **kw}


def upload(app, body: bytes) -> requests.Response:
    return requests.post(f"{app}/statements", data=body, headers={**AUTH, "Content-Type": "application/octet-stream"}, timeout=60)


def issue(app) -> dict:
    inv = requests.post(f"{app}/invoices", json=order()).json()
    assert inv["status"] == "issued", inv
    return inv


def shown(app, inv) -> dict:
    return admin(app, "GET", f"/invoices/{inv['id']}").json()


def report_rows(aws, bucket: str, key: str) -> list[dict]:
    body = aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_an_exact_transfer_pays_the_invoice_like_a_card_and_the_report_says_so(app, aws, stack_names, aws_endpoint, published):
    inv, buyer = issue(app), None
    buyer = shown(app, inv)["buyer"]["email"]
    r = upload(app, statement([transfer(f"Оплата по счету № {inv['number']} от {TODAY} за подписку. В т.ч. НДС 22% - 2163.93 руб.", "12000.00")]))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["summary"] == {"documents": 1, "applied": 1, "already_applied": 0, "review": 0, "skipped": 0}
    [line] = report["lines"]
    assert line["outcome"] == "applied" and line["amount"] == 1200000 and line["excess"] == 0
    assert line["allocations"] == [{"invoice_id": inv["id"], "number": inv["number"], "amount": 1200000,
                                    "status": "paid", "balance_due": 0}]
    view = shown(app, inv)
    assert view["invoice"]["status"] == "paid" and view["invoice"]["amount_paid"] == 1200000
    payments = [h for h in view["history"] if h["kind"] == "payment"]
    assert [(p["provider"], p["outcome"], p["amount"]) for p in payments] == [("bank", "paid", 1200000)]
    # Everything downstream, as after a card payment: the event, fulfilment, the e-mail.
    paid = events_for(published, inv["id"])
    assert len(paid) == 1 and paid[0]["detail"]["data"]["payment"]["provider"] == "bank"
    assert wait_for(lambda: shown(app, inv)["fulfilled_at"])
    assert len(mails_to(aws_endpoint, buyer)) == 1
    # The report in S3: one row for the transfer.
    rows = report_rows(aws, stack_names["bucket"], report["report_key"])
    assert [(r["outcome"], r["invoice"], r["allocated"], r["status_after"]) for r in rows] == [("applied", inv["number"], "12000.00", "paid")]
    assert report["source_key"].startswith("uploads/statements/")
    # Who imported it is in the audit log.
    log = admin(app, "GET", "/audit?limit=100").json()["entries"]
    entry = next(e for e in log if e["target"] == f"statement:{report['statement_id']}")
    assert entry["action"] == "statement.import" and entry["actor"] == "api-key:alice"


def test_a_partial_transfer_leaves_a_balance_and_the_next_one_pays_it(app, published):
    inv = issue(app)
    first = upload(app, statement([transfer(f"Оплата сч. {inv['number'].split('-')[1].lstrip('0')} от {TODAY}", "5000.00")], encoding="utf-8"))
    assert first.status_code == 200, first.text
    [line] = first.json()["lines"]
    assert line["outcome"] == "applied", line
    assert line["allocations"][0]["status"] == "partially_paid" and line["allocations"][0]["balance_due"] == 700000
    view = shown(app, inv)["invoice"]
    assert (view["status"], view["status_label"], view["amount_paid"], view["balance_due"]) == ("partially_paid", "Частично оплачен", 500000, 700000)
    page = requests.get(inv["invoice_url"]).text
    assert "Частично оплачен" in page and "Остаток к оплате" in page and 'data-balance-due="700000"' in page
    partial = events_for(published, inv["id"], kind="invoice.partially_paid")
    assert len(partial) == 1 and partial[0]["detail"]["data"]["balance_due"] == 700000
    assert events_for(published, inv["id"], wait=0.5) == []

    rest = upload(app, statement([transfer(f"доплата по счёту №{inv['number']}", "7000.00")], encoding="utf-8"))
    assert rest.json()["lines"][0]["allocations"][0]["status"] == "paid"
    view = shown(app, inv)["invoice"]
    assert (view["status"], view["amount_paid"], view["balance_due"]) == ("paid", 1200000, 0)
    assert len(events_for(published, inv["id"])) == 1


def test_an_operator_can_close_a_partly_paid_invoice_by_hand_for_its_balance(app):
    inv = issue(app)
    upload(app, statement([transfer(f"Оплата по счету {inv['number']}", "2000.00")]))
    done = admin(app, "POST", f"/invoices/{inv['id']}/mark-paid", json={"reason": "остаток наличными"})
    assert done.status_code == 200, done.text
    view = shown(app, inv)
    assert view["invoice"]["status"] == "paid"
    payments = [(h["provider"], h["amount"]) for h in view["history"] if h["kind"] == "payment"]
    assert payments == [("bank", 200000), ("manual", 1000000)]


def test_an_overpayment_pays_and_records_the_excess(app):
    inv = issue(app)
    r = upload(app, statement([transfer(f"Оплата по счету {inv['number']}", "13000.00")]))
    [line] = r.json()["lines"]
    assert line["outcome"] == "applied" and line["excess"] == 100000
    assert line["allocations"][0]["status"] == "paid"
    view = shown(app, inv)["invoice"]
    assert (view["status"], view["amount_paid"], view["balance_due"]) == ("paid", 1300000, 0)


def test_one_transfer_for_several_invoices_is_allocated_in_order(app):
    a, b, c = issue(app), issue(app), issue(app)
    both = upload(app, statement([transfer(f"Оплата по счетам № {a['number']}, {b['number']}", "24000.00")]))
    assert [x["status"] for x in both.json()["lines"][0]["allocations"]] == ["paid", "paid"]
    d = issue(app)
    short = upload(app, statement([transfer(f"Оплата по счетам № {c['number']} и {d['number']}", "18000.00")]))
    allocations = short.json()["lines"][0]["allocations"]
    assert [(x["number"], x["amount"], x["status"], x["balance_due"]) for x in allocations] == [
        (c["number"], 1200000, "paid", 0), (d["number"], 600000, "partially_paid", 600000)]


def test_lines_that_cannot_be_applied_go_to_an_operator_with_the_reason(app, aws, stack_names):
    inv = issue(app)
    paid = issue(app)
    assert upload(app, statement([transfer(f"Оплата по счету {paid['number']}", "12000.00")])).json()["summary"]["applied"] == 1
    many = ", ".join(f"2026-{n:06d}" for n in range(900001, 900032))
    body = statement([
        transfer("Оплата за услуги по договору № 15", "12000.00"),
        transfer("Оплата по счету № 2026-999999", "12000.00"),
        transfer(f"Оплата по счету № {inv['number']}", "12000.00", inn="7707083893"),
        transfer("Возврат займа", "500.00", to="40702810900000000099"),
        transfer(f"Оплата по счетам {paid['number']} и {inv['number']}", "24000.00"),
        transfer(f"Оплата по счетам {many}", "1.00"),
    ])
    r = upload(app, body)
    assert r.status_code == 200, r.text
    lines = r.json()["lines"]
    assert [l["outcome"] for l in lines] == ["review", "review", "review", "skipped", "review", "review"]
    assert "no invoice number" in lines[0]["reason"]
    assert "2026-999999 not found" in lines[1]["reason"]
    assert "7707083893" in lines[2]["reason"] and BUYER_INN in lines[2]["reason"]
    assert lines[3]["reason"] == "not to our account"
    # Money for an invoice already paid is a double payment, not the other invoice's.
    assert f"already paid: {paid['number']}" in lines[4]["reason"]
    assert "names 31 invoices" in lines[5]["reason"]
    assert shown(app, inv)["invoice"]["status"] == "issued"
    queued = aws["dynamodb"].query(
        TableName=stack_names["table"], IndexName="gsi2", KeyConditionExpression="gsi2pk = :r",
        ExpressionAttributeValues={":r": {"S": "REVIEW#transfers"}})["Items"]
    reasons = {i["reason"]["S"] for i in queued}
    assert {l["reason"] for l in lines if l["outcome"] == "review"} <= reasons
    rows = report_rows(aws, stack_names["bucket"], r.json()["report_key"])
    assert [row["outcome"] for row in rows] == ["review", "review", "review", "skipped", "review", "review"]


def test_the_same_statement_twice_and_overlapping_statements_apply_nothing_twice(app, aws_endpoint):
    a, b, c = issue(app), issue(app), issue(app)
    ta, tb, tc = (transfer(f"Оплата по счету {x['number']}", "12000.00") for x in (a, b, c))
    first = upload(app, statement([ta, tb]))
    assert [l["outcome"] for l in first.json()["lines"]] == ["applied", "applied"]
    again = upload(app, statement([ta, tb]))
    assert again.json()["summary"]["already_applied"] == 2 and again.json()["summary"]["applied"] == 0
    assert again.json()["statement_id"] == first.json()["statement_id"]
    overlap = upload(app, statement([tb, tc], encoding="utf-8"))
    assert [l["outcome"] for l in overlap.json()["lines"]] == ["already_applied", "applied"]
    for x in (a, b, c):
        view = shown(app, x)
        assert view["invoice"]["amount_paid"] == 1200000, view["invoice"]
        assert len([h for h in view["history"] if h["kind"] == "payment"]) == 1
    assert wait_for(lambda: all(shown(app, x)["fulfilled_at"] for x in (a, b, c)))
    assert all(len(mails_to(aws_endpoint, shown(app, x)["buyer"]["email"])) == 1 for x in (a, b, c))


def test_a_malformed_statement_is_refused_with_its_line_and_changes_nothing(app, aws, stack_names):
    inv = issue(app)
    good = statement([transfer(f"Оплата по счету {inv['number']}", "12000.00")])
    broken = good.replace("КонецДокумента".encode("cp1251"), b"", 1)
    before = aws["dynamodb"].scan(TableName=stack_names["table"], Select="COUNT")["Count"]
    r = upload(app, broken)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "malformed_statement" and r.json()["line"] > 0 and r.json()["message"]
    assert aws["dynamodb"].scan(TableName=stack_names["table"], Select="COUNT")["Count"] == before
    assert shown(app, inv)["invoice"]["status"] == "issued"
    assert upload(app, b"not a statement").status_code == 422
    refused = requests.post(f"{app}/statements", data=good, headers={"Content-Type": "application/octet-stream"})
    assert refused.status_code == 401


def test_a_file_put_under_statements_is_reconciled_by_the_s3_event(app, aws, stack_names):
    inv = issue(app)
    key = f"statements/{uuid.uuid4().hex}.txt"
    aws["s3"].put_object(Bucket=stack_names["bucket"], Key=key, Body=statement([transfer(f"Оплата по счету {inv['number']}", "12000.00")]))
    r = requests.post(f"{app}/_local/s3-events/statements", params={"key": key})
    assert r.status_code == 200, r.text
    report = r.json()["report"]
    assert report["source_key"] == key and report["summary"]["applied"] == 1
    rows = report_rows(aws, stack_names["bucket"], report["report_key"])
    assert rows[0]["outcome"] == "applied" and rows[0]["invoice"] == inv["number"]
    assert shown(app, inv)["invoice"]["status"] == "paid"
    bad = f"statements/{uuid.uuid4().hex}.txt"
    aws["s3"].put_object(Bucket=stack_names["bucket"], Key=bad, Body="1CClientBankExchange\r\nВерсияФормата=9.99\r\n".encode("cp1251"))
    refused = requests.post(f"{app}/_local/s3-events/statements", params={"key": bad})
    assert refused.status_code == 422 and refused.json()["line"] >= 1


def test_the_cli_imports_a_statement_and_prints_the_report(app, tmp_path):
    from test_admin import cli

    inv = issue(app)
    path = tmp_path / "kl_to_1c.txt"
    path.write_bytes(statement([transfer(f"Оплата по счету № {inv['number']}", "5000.00"),
                                transfer("Оплата за услуги", "100.00")]))
    done = cli(app, "statement", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert inv["number"] in done.stdout and "applied" in done.stdout and "review" in done.stdout
    assert "5 000,00" in done.stdout
    shown_by_cli = cli(app, "invoice", "show", inv["number"])
    assert "7 000,00" in shown_by_cli.stdout, shown_by_cli.stdout
