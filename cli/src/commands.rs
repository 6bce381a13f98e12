//! Each command: its request, then the answer as text for people, or with `--json` the API's
//! JSON as it came (indented, nothing else changed).

use crate::api;
use crate::args::{
    AccountCommand, AuditCommand, Cli, Command, Condition, CreateInvoice, CreateWebhook, EventCommand, InvoiceCommand,
    ListInvoices, ReviewCommand, StatementCommand, Status, UpdateWebhook, WebhookCommand,
};
use crate::client::{Auth, Client, Failure, Json, Request};
use crate::render::{Align, Table, block, clean, clean_lines, instant, json_text, money, or_dash, section};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::path::Path;

/// The largest statement `POST /statements` takes.
const STATEMENT_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Runs the command; the text for stdout.
pub async fn run(cli: Cli) -> Result<String, Failure> {
    let auth = Auth::resolve(cli.api_key, cli.region, &cli.url).await?;
    let api = Api {
        client: Client::new(cli.url, auth, cli.actor)?,
        json: cli.json,
    };
    match cli.command {
        Command::Invoice(command) => invoice(&api, command).await,
        Command::NeedsReview(ReviewCommand::List) => {
            list_invoices(
                &api,
                Request::get(&["admin", "invoices"]).query("status", Status::NeedsReview.api()),
            )
            .await
        }
        Command::NeedsReview(ReviewCommand::Resolve {
            invoice,
            resolution,
            reason,
        }) => {
            let body = json!({"resolution": resolution.api(), "reason": reason});
            api.show(action(&invoice, "resolve", body), action_view).await
        }
        Command::Account(AccountCommand::Show { account }) => account_show(&api, &account).await,
        Command::Webhook(command) => webhook(&api, command).await,
        Command::Event(EventCommand::Show { event_id }) => {
            api.show(Request::get(&["admin", "events", &event_id]), event_view)
                .await
        }
        Command::Event(EventCommand::Replay { event_id, endpoint }) => {
            let request = Request::new(Method::POST, &["admin", "events", &event_id, "replay"])
                .json(json!({"endpoint_id": endpoint}));
            api.show(request, replay_view).await
        }
        Command::Audit(AuditCommand::List { limit }) => {
            let mut request = Request::get(&["admin", "audit"]);
            if let Some(limit) = limit {
                request = request.query("limit", limit);
            }
            api.show(request, |page: api::AuditPage| {
                more(page.next_cursor.as_deref(), "entries");
                audit_table(&page.entries)
            })
            .await
        }
        Command::Statement(StatementCommand::Import { file }) => import_statement(&api, &file).await,
    }
}

struct Api {
    client: Client,
    json: bool,
}

impl Api {
    /// The answer's JSON, which a successful call other than delete must have, and whether
    /// it is a replay.
    async fn body(&self, request: &Request) -> Result<(Json, bool), Failure> {
        let reply = self.client.send(request).await?;
        let body = reply.body.ok_or_else(|| Failure::Malformed("an empty answer".into()))?;
        Ok((body, reply.replayed))
    }

    /// Calls, then gives the JSON as it came, or renders it from its typed form.
    async fn show<T: DeserializeOwned>(
        &self,
        request: Request,
        view: impl FnOnce(T) -> String,
    ) -> Result<String, Failure> {
        let (body, _) = self.body(&request).await?;
        if self.json {
            return Ok(json_text(&body.text));
        }
        Ok(view(typed(body.value)?))
    }
}

/// The members of two JSON objects in one object, their text untouched.
fn merge_objects(a: &Json, b: &Json) -> Result<String, Failure> {
    let (Value::Object(a_fields), Value::Object(b_fields)) = (&a.value, &b.value) else {
        return Err(Failure::Malformed("an answer that is not a JSON object".into()));
    };
    if let Some(key) = a_fields.keys().find(|k| b_fields.contains_key(*k)) {
        return Err(Failure::Malformed(format!("both answers have {key:?}")));
    }
    // An object's members are the text between its outer braces.
    fn members(json: &Json) -> Result<&str, Failure> {
        json.text
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .map(str::trim)
            .ok_or_else(|| Failure::Malformed("an answer that is not a JSON object".into()))
    }
    let parts: Vec<&str> = [members(a)?, members(b)?]
        .into_iter()
        .filter(|m| !m.is_empty())
        .collect();
    Ok(format!("{{{}}}", parts.join(",")))
}

fn typed<T: DeserializeOwned>(body: Value) -> Result<T, Failure> {
    serde_json::from_value(body).map_err(|e| Failure::Malformed(e.to_string()))
}

/// Lists have no cursor flag (docs/management-api.md): say when there is more.
fn more(next_cursor: Option<&str>, what: &str) {
    if next_cursor.is_some() {
        eprintln!("note: there are more {what} than shown (the API has a next page; --json shows its cursor)");
    }
}

fn action(invoice: &str, verb: &str, body: Value) -> Request {
    Request::new(Method::POST, &["admin", "invoices", invoice, verb]).json(body)
}

/// Adds `name` to a JSON object when the value is given.
fn put(body: &mut Map<String, Value>, name: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        body.insert(name.to_owned(), value.into());
    }
}

/// An endpoint's filters, each only when given (none given: the API's default, or unchanged).
fn put_filters(body: &mut Map<String, Value>, events: Vec<String>, conditions: Vec<Condition>, fields: Vec<String>) {
    put(body, "events", (!events.is_empty()).then_some(events));
    put(body, "conditions", (!conditions.is_empty()).then(|| json!(conditions)));
    put(body, "fields", (!fields.is_empty()).then_some(fields));
}

async fn invoice(api: &Api, command: InvoiceCommand) -> Result<String, Failure> {
    match command {
        InvoiceCommand::Create(order) => create_invoice(api, order).await,
        InvoiceCommand::Show { invoice } => {
            api.show(Request::get(&["admin", "invoices", &invoice]), detail_view)
                .await
        }
        InvoiceCommand::List(ListInvoices { account, status }) => {
            let request = match (account, status) {
                (Some(account), _) => Request::get(&["admin", "accounts", &account, "invoices"]),
                (None, Some(status)) => Request::get(&["admin", "invoices"]).query("status", status.api()),
                // clap requires one of the two.
                (None, None) => return Err(Failure::Usage("give --account or --status".into())),
            };
            list_invoices(api, request).await
        }
        InvoiceCommand::Void { invoice, reason } => {
            api.show(action(&invoice, "void", json!({"reason": reason})), action_view)
                .await
        }
        InvoiceCommand::MarkPaid {
            invoice,
            reason,
            reference,
        } => {
            let mut body = Map::new();
            put(&mut body, "reason", Some(reason));
            put(&mut body, "reference", reference);
            api.show(action(&invoice, "mark-paid", body.into()), action_view).await
        }
        InvoiceCommand::Resend { invoice, to, reason } => {
            let mut body = Map::new();
            put(&mut body, "email", to);
            put(&mut body, "reason", reason);
            api.show(action(&invoice, "resend", body.into()), resent_view).await
        }
    }
}

async fn create_invoice(api: &Api, order: CreateInvoice) -> Result<String, Failure> {
    let mut body = Map::new();
    put(&mut body, "plan", Some(order.plan));
    put(&mut body, "quantity", Some(order.quantity));
    put(&mut body, "company", Some(order.company));
    put(&mut body, "inn", Some(order.inn));
    put(&mut body, "kpp", order.kpp);
    put(&mut body, "address", Some(order.address));
    put(&mut body, "email", Some(order.email));
    put(&mut body, "account", order.account);
    // One key per run: the client's own retries cannot issue a second invoice.
    let key = order
        .idempotency_key
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let mut request = Request::new(Method::POST, &["admin", "invoices"]).json(body.into());
    request.idempotency_key = Some(key.clone());
    let (body, replayed) = api.body(&request).await.map_err(|failure| match failure {
        // The invoice may exist: the same key makes a repeat safe.
        Failure::Network(why) => Failure::Network(format!(
            "{why}\n(the invoice may have been issued: repeat with --idempotency-key {key})"
        )),
        other => other,
    })?;
    if api.json {
        return Ok(json_text(&body.text));
    }
    let invoice: api::Invoice = typed(body.value)?;
    let mut text = block(&invoice_fields(&invoice, Vec::new()));
    if replayed {
        text.push_str("\n(an earlier request with this idempotency key issued it: nothing new was issued)\n");
    }
    Ok(text)
}

/// `POST /statements` with the file's bytes as they are (the server reads its encoding from the
/// file). Not retried: the import is safe to repeat by hand (its transfers come back as
/// `already_applied`), and the answer says what happened.
async fn import_statement(api: &Api, file: &Path) -> Result<String, Failure> {
    let unreadable = |why: &dyn std::fmt::Display| Failure::Usage(format!("cannot read {}: {why}", file.display()));
    let size = std::fs::metadata(file).map_err(|e| unreadable(&e))?.len();
    if size > STATEMENT_MAX_BYTES {
        return Err(Failure::Usage(format!(
            "{} is {size} bytes: the API takes a statement of at most 4 MiB (put a larger one under statements/ in the bucket)",
            file.display()
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| unreadable(&e))?;
    let request = Request::new(Method::POST, &["statements"]).raw(bytes, "application/octet-stream");
    let (body, _) = api.body(&request).await.map_err(|failure| match failure {
        // It may have been imported: repeating it applies nothing twice.
        Failure::Network(why) => Failure::Network(format!(
            "{why}\n(the statement may have been imported: importing it again is safe, its transfers are not applied twice)"
        )),
        other => other,
    })?;
    if api.json {
        return Ok(json_text(&body.text));
    }
    Ok(statement_view(typed(body.value)?))
}

async fn list_invoices(api: &Api, request: Request) -> Result<String, Failure> {
    api.show(request, |page: api::InvoicePage| {
        more(page.next_cursor.as_deref(), "invoices");
        invoice_table(&page.invoices).render()
    })
    .await
}

async fn account_show(api: &Api, account: &str) -> Result<String, Failure> {
    let (subscriptions, _) = api
        .body(&Request::get(&["admin", "accounts", account, "subscriptions"]))
        .await?;
    let (invoices, _) = api
        .body(&Request::get(&["admin", "accounts", account, "invoices"]))
        .await?;
    if api.json {
        // Two answers, one object: `subscriptions` from the first, `invoices` and
        // `next_cursor` from the second, each as it came.
        return merge_objects(&subscriptions, &invoices).map(|text| json_text(&text));
    }
    let subscriptions: api::Subscriptions = typed(subscriptions.value)?;
    let invoices: api::InvoicePage = typed(invoices.value)?;
    more(invoices.next_cursor.as_deref(), "invoices");
    let mut table = Table::new(&[
        ("PLAN", Align::Left),
        ("STATUS", Align::Left),
        ("QTY", Align::Right),
        ("PERIOD", Align::Left),
        ("LAST INVOICE", Align::Left),
        ("RENEWAL INVOICE", Align::Left),
    ]);
    for s in &subscriptions.subscriptions {
        table.row(vec![
            s.plan.clone(),
            s.status.clone(),
            s.quantity.map(|q| q.to_string()).unwrap_or_default(),
            period(s.period_start.as_deref(), s.period_end.as_deref()),
            or_dash(s.last_invoice_id.as_deref()),
            or_dash(s.renewal_invoice_id.as_deref()),
        ]);
    }
    let mut text = format!("Account {}\n", clean(account));
    text.push_str(&section("Subscriptions", &table));
    text.push_str(&section("Invoices", &invoice_table(&invoices.invoices)));
    Ok(text)
}

async fn webhook(api: &Api, command: WebhookCommand) -> Result<String, Failure> {
    match command {
        WebhookCommand::List => {
            api.show(Request::get(&["admin", "webhooks"]), |list: api::Endpoints| {
                endpoint_table(&list.endpoints)
            })
            .await
        }
        WebhookCommand::Show { id } => api.show(Request::get(&["admin", "webhooks", &id]), endpoint_view).await,
        WebhookCommand::Delete { id } => {
            let reply = api
                .client
                .send(&Request::new(Method::DELETE, &["admin", "webhooks", &id]))
                .await?;
            Ok(match (api.json, reply.body) {
                (true, Some(body)) => json_text(&body.text),
                // 204: no JSON to print.
                (true, None) => String::new(),
                (false, _) => format!("Deleted webhook endpoint {}.\n", clean(&id)),
            })
        }
        WebhookCommand::Create(CreateWebhook {
            id,
            url,
            events,
            fields,
            conditions,
            secret,
        }) => {
            let mut body = Map::new();
            put(&mut body, "id", Some(id));
            put(&mut body, "url", Some(url));
            put_filters(&mut body, events, conditions, fields);
            put(&mut body, "secret", secret.map(|s| s.expose().to_owned()));
            let request = Request::new(Method::POST, &["admin", "webhooks"]).json(body.into());
            api.show(request, endpoint_view).await
        }
        WebhookCommand::Update(UpdateWebhook {
            id,
            url,
            events,
            fields,
            conditions,
            enable,
            disable,
        }) => {
            let mut body = Map::new();
            put(&mut body, "url", url);
            put_filters(&mut body, events, conditions, fields);
            put(&mut body, "enabled", (enable || disable).then_some(enable));
            let request = Request::new(Method::PATCH, &["admin", "webhooks", &id]).json(body.into());
            api.show(request, endpoint_view).await
        }
    }
}

// Views: the answers as text.

fn period(start: Option<&str>, end: Option<&str>) -> String {
    match (start, end) {
        (None, None) => "—".into(),
        (start, end) => format!("{} – {}", or_dash(start), or_dash(end)),
    }
}

fn status_text(status: &str, label: Option<&str>) -> String {
    match label {
        Some(label) if label != status => format!("{label} ({status})"),
        _ => status.to_owned(),
    }
}

/// The invoice view as label/value pairs; `extra` goes after the dates, before the links.
fn invoice_fields(i: &api::Invoice, extra: Vec<(&'static str, Option<String>)>) -> Vec<(&'static str, Option<String>)> {
    let plan = i.plan.as_ref().map(|plan| match i.quantity {
        Some(q) if q != 1 => format!("{plan} × {q}"),
        _ => plan.clone(),
    });
    // Bank transfers covered part of it: what came in, and what is left.
    let partial = i.status == "partially_paid" && i.amount_paid > 0;
    let mut fields = vec![
        ("Number", Some(i.number.clone())),
        ("Id", Some(i.id.clone())),
        ("Status", Some(status_text(&i.status, i.status_label.as_deref()))),
        ("Total", Some(money(i.total, &i.currency))),
        ("Paid so far", partial.then(|| money(i.amount_paid, &i.currency))),
        ("Balance due", partial.then(|| money(i.balance_due, &i.currency))),
        ("VAT", i.vat_total.map(|vat| money(vat, &i.currency))),
        ("In words", i.amount_in_words.clone()),
        ("Plan", plan),
        ("Account", i.account.clone()),
        ("Issued", i.issue_date.clone()),
        ("Due", i.due_date.clone()),
    ];
    fields.extend(extra);
    fields.extend([
        ("Page", i.invoice_url.clone()),
        ("PDF", i.pdf_url.clone()),
        ("Act", i.act_url.clone()),
    ]);
    fields
}

fn invoice_table(invoices: &[api::Summary]) -> Table {
    let mut table = Table::new(&[
        ("NUMBER", Align::Left),
        ("STATUS", Align::Left),
        ("TOTAL", Align::Right),
        ("PLAN", Align::Left),
        ("ACCOUNT", Align::Left),
        ("BUYER", Align::Left),
        ("ISSUED", Align::Left),
        ("DUE", Align::Left),
    ]);
    for i in invoices {
        table.row(vec![
            i.number.clone(),
            i.status.clone(),
            money(i.total, &i.currency),
            or_dash(i.plan.as_deref()),
            or_dash(i.account.as_deref()),
            or_dash(i.buyer_name.as_deref()),
            or_dash(i.issue_date.as_deref()),
            or_dash(i.due_date.as_deref()),
        ]);
    }
    table
}

fn detail_view(d: api::InvoiceDetail) -> String {
    let at = |t: &Option<String>| t.as_deref().map(instant);
    let extra = vec![
        (
            "Period",
            d.period.as_ref().map(|p| period(Some(&p.start), Some(&p.end))),
        ),
        ("Paid at", at(&d.paid_at)),
        ("Fulfilled at", at(&d.fulfilled_at)),
        ("Review reason", d.review_reason.clone()),
        ("Void reason", d.void_reason.clone()),
    ];
    let mut text = block(&invoice_fields(&d.invoice, extra));
    if let Some(b) = &d.buyer {
        text.push_str("\nBuyer\n");
        text.push_str(&block(&[
            ("Name", b.name.clone()),
            ("INN", b.inn.clone()),
            ("KPP", b.kpp.clone()),
            ("Address", b.address.clone()),
            ("Email", b.email.clone()),
        ]));
    }
    let mut documents = Table::new(&[("KIND", Align::Left), ("KEY", Align::Left)]);
    for doc in &d.documents {
        documents.row(vec![doc.kind.clone(), doc.key.clone()]);
    }
    text.push_str(&section("Documents", &documents));
    let mut history = Table::new(&[
        ("AT", Align::Left),
        ("KIND", Align::Left),
        ("WHAT", Align::Left),
        ("WHO/WHY", Align::Left),
        ("ID", Align::Left),
    ]);
    for h in &d.history {
        history.row(history_row(h, &d.invoice.currency));
    }
    text.push_str(&section("History", &history));
    text.push_str(&section("Deliveries", &delivery_table(&d.deliveries)));
    text
}

/// AT, KIND, WHAT, WHO/WHY, ID of one history item.
fn history_row(h: &api::HistoryItem, currency: &str) -> Vec<String> {
    let words = |parts: &[Option<String>]| parts.iter().flatten().cloned().collect::<Vec<_>>().join(" ");
    let (what, who, id) = match h.kind.as_str() {
        "event" => (
            h.event_type.clone().unwrap_or_default(),
            String::new(),
            h.event_id.clone(),
        ),
        "audit" => {
            let who = match (&h.actor, &h.reason) {
                (Some(actor), Some(reason)) => format!("{actor}: {reason}"),
                (actor, reason) => words(&[actor.clone(), reason.clone()]),
            };
            (h.action.clone().unwrap_or_default(), who, h.audit_id.clone())
        }
        "payment" => {
            let amount = h.amount.map(|a| money(a, h.currency.as_deref().unwrap_or(currency)));
            let outcome = h.outcome.as_ref().map(|o| format!("→ {o}"));
            (
                words(&[h.provider.clone(), amount, outcome]),
                String::new(),
                h.payment_id.clone(),
            )
        }
        "email" => {
            let to = h.to.as_ref().map(|to| format!("→ {to}"));
            (words(&[h.mail.clone(), to]), String::new(), h.message_id.clone())
        }
        _ => (
            h.event_type.clone().or_else(|| h.action.clone()).unwrap_or_default(),
            words(&[h.actor.clone(), h.reason.clone()]),
            None,
        ),
    };
    vec![
        h.at.as_deref().map(instant).unwrap_or_default(),
        h.kind.clone(),
        what,
        who,
        id.unwrap_or_default(),
    ]
}

fn delivery_table(deliveries: &[api::Delivery]) -> Table {
    let mut table = Table::new(&[
        ("AT", Align::Left),
        ("EVENT", Align::Left),
        ("ENDPOINT", Align::Left),
        ("ATTEMPT", Align::Right),
        ("HTTP", Align::Right),
        ("OUTCOME", Align::Left),
        ("LATENCY", Align::Right),
        ("EVENT ID", Align::Left),
    ]);
    for d in deliveries {
        table.row(vec![
            d.at.as_deref().map(instant).unwrap_or_default(),
            or_dash(d.event_type.as_deref()),
            or_dash(d.endpoint_id.as_deref()),
            d.attempt.map(|a| a.to_string()).unwrap_or_default(),
            d.status.map_or_else(|| "—".into(), |s| s.to_string()),
            or_dash(d.outcome.as_deref()),
            d.latency_ms.map(|ms| format!("{ms} ms")).unwrap_or_default(),
            or_dash(d.event_id.as_deref()),
        ]);
    }
    table
}

fn action_view(result: api::ActionResult) -> String {
    let i = &result.invoice;
    block(&[
        ("Number", Some(i.number.clone())),
        ("Status", Some(status_text(&i.status, i.status_label.as_deref()))),
        ("Total", Some(money(i.total, &i.currency))),
        ("Audit", result.audit_id),
        ("Event", result.event_id),
    ])
}

fn resent_view(r: api::Resent) -> String {
    block(&[
        ("Sent to", r.to),
        ("Mail", r.mail),
        ("Message", r.message_id),
        ("Audit", r.audit_id),
        ("Event", r.event_id),
    ])
}

fn list_or(values: &[String], empty: &str, separator: &str) -> String {
    if values.is_empty() {
        empty.to_owned()
    } else {
        values.join(separator)
    }
}

fn endpoint_view(e: api::Endpoint) -> String {
    let enabled = if e.enabled {
        "yes".to_owned()
    } else {
        let reason = e
            .disabled_reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let since = e
            .disabled_at
            .as_deref()
            .map(|t| format!(" (since {})", instant(t)))
            .unwrap_or_default();
        format!("no{reason}{since}")
    };
    let conditions: Vec<String> = e.conditions.iter().map(ToString::to_string).collect();
    let mut text = block(&[
        ("Id", Some(e.id.clone())),
        ("URL", Some(e.url.clone())),
        ("Enabled", Some(enabled)),
        ("Events", Some(list_or(&e.events, "all", ", "))),
        ("Conditions", Some(list_or(&conditions, "none", "; "))),
        ("Fields", Some(list_or(&e.fields, "all", ", "))),
        ("Secret hint", e.secret_hint.clone()),
        (
            "Old secret signs until",
            e.previous_secret_until.as_deref().map(instant),
        ),
        ("Failing since", e.failing_since.as_deref().map(instant)),
        ("Secret", e.secret.clone()),
    ]);
    if e.secret.is_some() {
        text.push_str("\nThe secret is shown only now: give it to the receiver.\n");
    }
    text
}

fn endpoint_table(endpoints: &[api::Endpoint]) -> String {
    let mut table = Table::new(&[
        ("ID", Align::Left),
        ("ENABLED", Align::Left),
        ("URL", Align::Left),
        ("EVENTS", Align::Left),
        ("FAILING SINCE", Align::Left),
    ]);
    for e in endpoints {
        table.row(vec![
            e.id.clone(),
            if e.enabled { "yes" } else { "no" }.into(),
            e.url.clone(),
            list_or(&e.events, "all", ","),
            e.failing_since.as_deref().map(instant).unwrap_or_default(),
        ]);
    }
    table.render()
}

fn event_view(d: api::EventDetail) -> String {
    let field = |name: &str| d.event.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut text = block(&[
        ("Id", field("id")),
        ("Type", field("type")),
        ("Time", field("timestamp").as_deref().map(instant)),
    ]);
    text.push_str("\nPayload\n");
    text.push_str(&clean_lines(&json_text(&d.event.to_string())));
    text.push_str(&section("Deliveries", &delivery_table(&d.deliveries)));
    text
}

fn replay_view(r: api::Replay) -> String {
    block(&[
        ("Event", r.event_id),
        ("Endpoint", r.endpoint_id),
        ("Attempt", r.attempt.map(|a| a.to_string())),
        ("Delivered", Some(if r.delivered { "yes" } else { "no" }.into())),
        ("HTTP", Some(r.status.map_or_else(|| "—".into(), |s| s.to_string()))),
        ("Outcome", r.outcome),
        ("Audit", r.audit_id),
    ])
}

/// The statement's identity and summary, then one line per document.
fn statement_view(r: api::StatementReport) -> String {
    let dates = r
        .period
        .as_ref()
        .filter(|p| p.from.is_some() || p.to.is_some())
        .map(|p| period(p.from.as_deref(), p.to.as_deref()));
    let mut text = block(&[
        ("Statement", Some(r.statement_id.clone())),
        ("Account", r.account.clone()),
        ("Period", dates),
        ("File", r.source_key.clone()),
        ("Report", r.report_key.clone()),
    ]);
    let s = r.summary.unwrap_or_default();
    text.push_str(&format!(
        "\n{} documents: {} applied, {} already applied, {} for review, {} skipped\n",
        s.documents, s.applied, s.already_applied, s.review, s.skipped
    ));
    let mut table = Table::new(&[
        ("LINE", Align::Right),
        ("DATE", Align::Left),
        ("NUMBER", Align::Left),
        ("AMOUNT", Align::Right),
        ("OUTCOME", Align::Left),
        // An applied line's invoices; any other's reason (one column: lines have one or the other).
        ("INVOICES / REASON", Align::Left),
    ]);
    for line in &r.lines {
        let details: Vec<String> = [Some(allocations_text(line)), line.reason.clone()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        table.row(vec![
            line.line.to_string(),
            or_dash(line.date.as_deref()),
            or_dash(line.number.as_deref()),
            money(line.amount, "RUB"),
            line.outcome.clone(),
            details.join(" — "),
        ]);
    }
    text.push('\n');
    text.push_str(&table.render());
    if s.review > 0 {
        eprintln!(
            "note: {} transfer(s) wait for an operator: see the reason on each review line (docs/operations.md, \"Bank statements\")",
            s.review
        );
    }
    text
}

/// `2026-000123 12 000,00 ₽ → paid; 2026-000124 6 000,00 ₽ → partially_paid, 6 000,00 ₽ due`,
/// and the excess, if any.
fn allocations_text(line: &api::StatementLine) -> String {
    let mut parts: Vec<String> = line
        .allocations
        .iter()
        .map(|a| {
            let mut part = format!("{} {}", a.number, money(a.amount, "RUB"));
            if let Some(status) = &a.status {
                part.push_str(&format!(" → {status}"));
            }
            if let Some(due) = a.balance_due.filter(|due| *due > 0) {
                part.push_str(&format!(", {} due", money(due, "RUB")));
            }
            part
        })
        .collect();
    if line.excess > 0 {
        parts.push(format!("excess {}", money(line.excess, "RUB")));
    }
    parts.join("; ")
}

fn audit_table(entries: &[api::AuditEntry]) -> String {
    let mut table = Table::new(&[
        ("AT", Align::Left),
        ("ACTOR", Align::Left),
        ("ACTION", Align::Left),
        ("TARGET", Align::Left),
        ("REASON", Align::Left),
    ]);
    for e in entries {
        table.row(vec![
            e.at.as_deref().map(instant).unwrap_or_default(),
            or_dash(e.actor.as_deref()),
            or_dash(e.action.as_deref()),
            or_dash(e.target.as_deref()),
            e.reason.clone().unwrap_or_default(),
        ]);
    }
    table.render()
}
