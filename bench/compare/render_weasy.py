"""The sample invoice by WeasyPrint, for bench/compare.sh: what a Python service would do.

  render_weasy.py [--runs N]   N renders (default 50) after 3 warm-ups, in one process; prints
                               {"name":"weasyprint","median_ms":…,"bytes":…,"runs":N}
  render_weasy.py --once OUT   one render to OUT: process start + imports + one render

A render is the same work as autobill::render::render_invoice: from the invoice in memory
(invoice_3_lines.json) to PDF bytes, the payment QR code included. The template is compiled once.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import jinja2
import segno
import weasyprint

HERE = Path(__file__).resolve().parent
TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE), autoescape=True
).get_template("invoice.html")


def money(kopecks):
    """12 000,00: autobill's Kopecks::display_ru."""
    return f"{kopecks // 100:,}".replace(",", " ") + f",{kopecks % 100:02}"


def ru_date(iso):
    year, month, day = iso.split("-")
    return f"{day}.{month}.{year}"


def vat_included(amount, rate):
    """total × rate / (100 + rate), rounded half up."""
    return (amount * rate * 2 + 100 + rate) // (2 * (100 + rate))


def context(inv):
    s, b = inv["seller"], inv["buyer"]
    rates = {}
    for line in inv["lines"]:
        rates[line["vat"]] = rates.get(line["vat"], 0) + line["amount"]
    vat = {rate: vat_included(amount, rate) for rate, amount in rates.items()}
    if len(vat) == 1:
        [(rate, v)] = vat.items()
        vat_text = f"в т.ч. НДС {rate}% {money(v)} руб."
    else:
        vat_text = f"в т.ч. НДС {money(sum(vat.values()))} руб."
    purpose = f"Оплата по счёту № {inv['number']} от {ru_date(inv['issue_date'])}, {vat_text}"
    qr_fields = [
        ("Name", s["name"]), ("PersonalAcc", s["account"]), ("BankName", s["bank"]),
        ("BIC", s["bic"]), ("CorrespAcc", s["corr_account"]), ("PayeeINN", s["inn"]),
        ("KPP", s.get("kpp")), ("Sum", str(inv["total"])), ("Purpose", purpose),
    ]
    payload = "ST00012" + "".join(f"|{k}={v}" for k, v in qr_fields if v)
    optional = lambda label, value: f"{label} {value}" if value else None  # noqa: E731
    parts = lambda *p: ", ".join(x for x in p if x)  # noqa: E731
    return {
        "inv": inv,
        "s": s,
        "issue_date": ru_date(inv["issue_date"]),
        "due_date": ru_date(inv["due_date"]),
        "seller": parts(s["name"], f"ИНН {s['inn']}", optional("КПП", s.get("kpp")),
                        optional("ОГРН", s.get("ogrn")), s["address"]),
        "buyer": parts(b["name"], f"ИНН {b['inn']}", optional("КПП", b.get("kpp")), b["address"]),
        "lines": [
            dict(line, price=money(line["price"]), amount=money(line["amount"]))
            for line in inv["lines"]
        ],
        "total": money(inv["total"]),
        "vat_rows": [(f"В том числе НДС {rate}%:", money(v)) for rate, v in vat.items()],
        "purpose": purpose,
        "qr": segno.make_qr(payload, error="m", boost_error=False).svg_data_uri(border=0),
    }


def render(inv):
    html = TEMPLATE.render(context(inv))
    return weasyprint.HTML(string=html, base_url=str(HERE)).write_pdf()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--once", metavar="OUT", help="render once to OUT and exit")
    ap.add_argument("--data", default=HERE / "invoice_3_lines.json")
    args = ap.parse_args()
    inv = json.loads(Path(args.data).read_text(encoding="utf-8"))

    if args.once:
        Path(args.once).write_bytes(render(inv))
        return
    for _ in range(3):
        pdf = render(inv)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        pdf = render(inv)
        times.append((time.perf_counter() - start) * 1000)
    result = {"name": "weasyprint", "median_ms": round(statistics.median(times), 2),
              "bytes": len(pdf), "runs": args.runs}
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
