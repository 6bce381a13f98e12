//! The command line, as listed in docs/management-api.md ("The CLI").

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;

const GLOBAL: &str = "Global options";

#[derive(Parser, Debug)]
#[command(
    name = "autobill",
    version,
    about = "Operate autobill through its management API (/admin/, /statements)",
    after_help = "Exit status: 0 done, 1 refused or failed, 2 bad usage.\n\
                  --url goes before the command: after `webhook create|update` it is the endpoint's URL."
)]
pub struct Cli {
    /// The API's base URL, given before the command (default: the local stack)
    // Not global: `webhook create|update --url` is the endpoint's own URL.
    #[arg(
        long,
        help_heading = GLOBAL,
        env = "AUTOBILL_API_URL",
        default_value = "http://127.0.0.1:3000",
        value_parser = parse_base_url
    )]
    pub url: Url,

    /// Admin API key (local stack), sent as a Bearer token; without one, requests are signed with SigV4
    #[arg(long, global = true, help_heading = GLOBAL, env = "AUTOBILL_ADMIN_API_KEY", hide_env_values = true)]
    pub api_key: Option<Hidden>,

    /// AWS region for SigV4 signing (default: the AWS configuration's, e.g. AWS_REGION)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub region: Option<String>,

    /// Your name on the local stack (sent as X-Autobill-Actor)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub actor: Option<String>,

    /// Print the API's JSON response instead of tables
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// A secret from the command line: usable, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(String);

impl Hidden {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Hidden {
    fn from(value: String) -> Self {
        Hidden(value)
    }
}

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn parse_base_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the base URL takes no query or fragment".into());
    }
    Ok(url)
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Issue, inspect, void, mark paid and resend invoices
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Invoices whose payment did not match: list and resolve
    #[command(subcommand)]
    NeedsReview(ReviewCommand),
    /// An account's subscriptions and invoices
    #[command(subcommand)]
    Account(AccountCommand),
    /// Webhook endpoints
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Domain events: show one with its deliveries, replay it to an endpoint
    #[command(subcommand)]
    Event(EventCommand),
    /// Who did what
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Bank statements (1C): import one, applying its transfers to invoices
    #[command(subcommand)]
    Statement(StatementCommand),
}

#[derive(Subcommand, Debug)]
pub enum InvoiceCommand {
    /// Issue an invoice for an account
    Create(CreateInvoice),
    /// One invoice with its history and webhook deliveries
    Show {
        /// Invoice number (2026-000123) or id
        #[arg(value_name = "REF")]
        invoice: String,
    },
    /// Invoices of an account (newest first) or in a status (by due date)
    List(ListInvoices),
    /// Void an issued or overdue invoice
    Void {
        #[arg(value_name = "REF")]
        invoice: String,
        #[arg(long)]
        reason: String,
    },
    /// Record a payment made outside the provider (cash, a bank transfer)
    MarkPaid {
        #[arg(value_name = "REF")]
        invoice: String,
        #[arg(long)]
        reason: String,
        /// The payment document, e.g. "п/п № 512 от 26.11.2026"
        #[arg(long)]
        reference: Option<String>,
    },
    /// E-mail the invoice's documents again
    Resend {
        #[arg(value_name = "REF")]
        invoice: String,
        /// Another address (default: the buyer's)
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct CreateInvoice {
    #[arg(long)]
    pub plan: String,
    #[arg(long)]
    pub company: String,
    #[arg(long)]
    pub inn: String,
    /// Required for organisations (10-digit INN), not allowed for sole proprietors
    #[arg(long)]
    pub kpp: Option<String>,
    #[arg(long)]
    pub address: String,
    #[arg(long)]
    pub email: String,
    #[arg(long, default_value_t = 1)]
    pub quantity: u32,
    /// Default: the INN
    #[arg(long)]
    pub account: Option<String>,
    /// Makes a repeated command safe (default: a fresh key per run)
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ListInvoices {
    /// The account's invoices, newest first
    #[arg(long)]
    pub account: Option<String>,
    /// Invoices in this status, by due date
    #[arg(long, value_enum)]
    pub status: Option<Status>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Issued,
    #[value(name = "partially_paid", alias = "partially-paid")]
    PartiallyPaid,
    Paid,
    Overdue,
    Void,
    #[value(name = "needs_review", alias = "needs-review")]
    NeedsReview,
}

impl Status {
    pub fn api(self) -> &'static str {
        match self {
            Status::Issued => "issued",
            Status::PartiallyPaid => "partially_paid",
            Status::Paid => "paid",
            Status::Overdue => "overdue",
            Status::Void => "void",
            Status::NeedsReview => "needs_review",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// Invoices in needs_review
    List,
    /// Accept the payment (paid) or void the invoice for a refund (refund-needed)
    Resolve {
        #[arg(value_name = "REF")]
        invoice: String,
        #[arg(long = "as", value_enum)]
        resolution: Resolution,
        #[arg(long)]
        reason: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Paid,
    #[value(name = "refund-needed", alias = "refund_needed")]
    RefundNeeded,
}

impl Resolution {
    pub fn api(self) -> &'static str {
        match self {
            Resolution::Paid => "paid",
            Resolution::RefundNeeded => "refund_needed",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Subscriptions and invoices of an account
    Show { account: String },
}

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// All endpoints
    List,
    Show {
        id: String,
    },
    Delete {
        id: String,
    },
    /// Add an endpoint; its secret is shown once
    Create(CreateWebhook),
    /// Change only what is given
    Update(UpdateWebhook),
}

#[derive(Args, Debug)]
pub struct CreateWebhook {
    /// 1-64 of A-Z a-z 0-9 _ -
    #[arg(long)]
    pub id: String,
    /// Where events are POSTed (public HTTPS)
    #[arg(long)]
    pub url: String,
    /// An event type to send (repeatable; none: all)
    #[arg(long = "event", value_name = "TYPE")]
    pub events: Vec<String>,
    /// A payload path to send (repeatable; none: the whole event)
    #[arg(long = "field", value_name = "PATH")]
    pub fields: Vec<String>,
    /// 'PATH OP VALUE', OP one of eq, in, gte, lte; VALUE is JSON or else a string (repeatable)
    #[arg(long = "condition", value_name = "COND", value_parser = parse_condition)]
    pub conditions: Vec<Condition>,
    /// whsec_… (default: generated)
    #[arg(long)]
    pub secret: Option<Hidden>,
}

#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["url", "events", "fields", "conditions", "enable", "disable"])
))]
pub struct UpdateWebhook {
    pub id: String,
    /// The endpoint's new URL
    #[arg(long)]
    pub url: Option<String>,
    /// Replaces the event types (repeatable)
    #[arg(long = "event", value_name = "TYPE")]
    pub events: Vec<String>,
    /// Replaces the payload paths (repeatable)
    #[arg(long = "field", value_name = "PATH")]
    pub fields: Vec<String>,
    /// Replaces the conditions (repeatable), as for create
    #[arg(long = "condition", value_name = "COND", value_parser = parse_condition)]
    pub conditions: Vec<Condition>,
    /// Enable (and clear its failure record)
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Stop sending to it
    #[arg(long)]
    pub disable: bool,
}

#[derive(Subcommand, Debug)]
pub enum EventCommand {
    /// The event as delivered, and every delivery attempt
    Show { event_id: String },
    /// One new delivery attempt to an endpoint, now
    Replay {
        event_id: String,
        #[arg(long, value_name = "ENDPOINT_ID")]
        endpoint: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum StatementCommand {
    /// Upload a bank statement in the 1C exchange format (1CClientBankExchange, e.g. kl_to_1c.txt):
    /// its incoming transfers pay the invoices they name; prints the reconciliation report
    Import {
        /// The statement as the bank exported it (at most 4 MiB)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Newest first
    List {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
    },
}

/// A webhook endpoint's condition, as the API takes it: `{"path", "op", "value"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub path: String,
    pub op: Op,
    pub value: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    In,
    Gte,
    Lte,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::In => "in",
            Op::Gte => "gte",
            Op::Lte => "lte",
        }
    }
}

/// Prints in the form `--condition` reads: `data.total gte 100000`.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.path, self.op.name(), self.value)
    }
}

/// `PATH OP VALUE`: `data.total gte 100000`, `data.plan in ["pro","team"]`,
/// `data.buyer.name eq ООО «Ромашка»`. VALUE is taken as JSON when it parses as JSON, else as
/// a string (quote it, `"7707083893"`, to compare digits as a string).
pub fn parse_condition(s: &str) -> Result<Condition, String> {
    const FORM: &str = "expected 'PATH OP VALUE', e.g. 'data.total gte 100000'";
    let (path, rest) = s.trim().split_once(char::is_whitespace).ok_or(FORM)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace).ok_or(FORM)?;
    let value = value.trim();
    if path.split('.').any(str::is_empty) {
        return Err(format!("bad path {path:?}: dot-separated names, e.g. data.total"));
    }
    let op = match op {
        "eq" => Op::Eq,
        "in" => Op::In,
        "gte" => Op::Gte,
        "lte" => Op::Lte,
        other => return Err(format!("unknown op {other:?}: one of eq, in, gte, lte")),
    };
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    if op == Op::In && !value.is_array() {
        return Err("`in` takes a JSON array, e.g. 'data.plan in [\"pro\",\"team\"]'".into());
    }
    Ok(Condition {
        path: path.to_owned(),
        op,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use serde_json::json;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("autobill").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn conditions_parse_json_values_or_fall_back_to_strings() {
        let c = parse_condition("data.total gte 100000").unwrap();
        assert_eq!((c.path.as_str(), c.op, c.value), ("data.total", Op::Gte, json!(100000)));
        let c = parse_condition("  data.plan   in  [\"pro\", \"team\"] ").unwrap();
        assert_eq!((c.op, c.value), (Op::In, json!(["pro", "team"])));
        let c = parse_condition("data.buyer.name eq ООО «Ромашка»").unwrap();
        assert_eq!(c.value, json!("ООО «Ромашка»"));
        let c = parse_condition("data.buyer.inn eq \"7707083893\"").unwrap();
        assert_eq!(c.value, json!("7707083893"));
        let c = parse_condition("data.period_end lte 2027-01-01").unwrap();
        assert_eq!(c.value, json!("2027-01-01"));
        assert_eq!(parse_condition("data.x eq true").unwrap().value, json!(true));
        // What the API gets, and how an endpoint's condition is printed back.
        let c = parse_condition("data.total gte 100000").unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"path": "data.total", "op": "gte", "value": 100000})
        );
        assert_eq!(c.to_string(), "data.total gte 100000");
        assert_eq!(parse_condition(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn bad_conditions_are_refused() {
        for bad in [
            "",
            "data.total",
            "data.total gte",
            "data.total gte   ",
            "data.total gt 1",
            "data..total eq 1",
            ".data eq 1",
            "data.plan in pro",
        ] {
            assert!(parse_condition(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn global_options_and_defaults() {
        let cli = parse(&["invoice", "show", "2026-000123"]).unwrap();
        if std::env::var_os("AUTOBILL_API_URL").is_none() {
            assert_eq!(cli.url.as_str(), "http://127.0.0.1:3000/");
        }
        assert!(!cli.json);
        assert!(matches!(
            cli.command,
            Command::Invoice(InvoiceCommand::Show { ref invoice }) if invoice == "2026-000123"
        ));
        let cli = parse(&[
            "--url",
            "https://api.example.com/prod",
            "invoice",
            "show",
            "X",
            "--json",
            "--api-key",
            "k",
            "--actor",
            "alice",
            "--region",
            "eu-central-1",
        ])
        .unwrap();
        assert_eq!(cli.url.as_str(), "https://api.example.com/prod");
        assert!(cli.json);
        assert_eq!(cli.api_key.as_ref().map(Hidden::expose), Some("k"));
        assert_eq!(format!("{:?}", cli.api_key), "Some(<redacted>)");
        assert_eq!(cli.actor.as_deref(), Some("alice"));
        assert_eq!(cli.region.as_deref(), Some("eu-central-1"));
        for bad in ["ftp://x", "not a url", "http://h/?q=1"] {
            let err = parse(&["--url", bad, "audit", "list"]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
        }
    }

    #[test]
    fn webhook_url_is_the_endpoints_and_the_api_url_stays() {
        let cli = parse(&[
            "--url",
            "http://127.0.0.1:9000",
            "webhook",
            "create",
            "--id",
            "crm",
            "--url",
            "https://crm.example.com/hooks",
            "--event",
            "invoice.paid",
            "--event",
            "invoice.voided",
            "--condition",
            "data.total gte 100000",
            "--field",
            "data.number",
            "--secret",
            "whsec_abc",
        ])
        .unwrap();
        assert_eq!(cli.url.as_str(), "http://127.0.0.1:9000/");
        let Command::Webhook(WebhookCommand::Create(w)) = cli.command else {
            panic!("not webhook create");
        };
        assert_eq!(w.url, "https://crm.example.com/hooks");
        assert_eq!(w.events, ["invoice.paid", "invoice.voided"]);
        assert_eq!(w.fields, ["data.number"]);
        assert_eq!(w.conditions.len(), 1);
        assert_eq!(w.secret.as_ref().map(Hidden::expose), Some("whsec_abc"));
        assert!(!format!("{w:?}").contains("whsec_abc"));
        // A bad condition is a usage error.
        let err = parse(&["webhook", "create", "--id", "a", "--url", "u", "--condition", "x gt 1"]);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn webhook_update_needs_a_change_and_one_of_enable_or_disable() {
        let err = parse(&["webhook", "update", "crm"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let err = parse(&["webhook", "update", "crm", "--enable", "--disable"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let cli = parse(&["webhook", "update", "crm", "--disable"]).unwrap();
        let Command::Webhook(WebhookCommand::Update(u)) = cli.command else {
            panic!("not webhook update");
        };
        assert!(u.disable && !u.enable && u.url.is_none() && u.events.is_empty());
    }

    #[test]
    fn invoice_list_takes_exactly_one_of_account_or_status() {
        assert_eq!(
            parse(&["invoice", "list"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse(&["invoice", "list", "--account", "a", "--status", "paid"])
                .unwrap_err()
                .kind(),
            ErrorKind::ArgumentConflict
        );
        for (given, api) in [
            ("needs_review", "needs_review"),
            ("needs-review", "needs_review"),
            ("overdue", "overdue"),
            ("partially_paid", "partially_paid"),
            ("partially-paid", "partially_paid"),
        ] {
            let cli = parse(&["invoice", "list", "--status", given]).unwrap();
            let Command::Invoice(InvoiceCommand::List(l)) = cli.command else {
                panic!("not invoice list");
            };
            assert_eq!(l.status.map(Status::api), Some(api));
        }
        assert_eq!(
            parse(&["invoice", "list", "--status", "pending"]).unwrap_err().kind(),
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn actions_take_their_required_flags() {
        let cli = parse(&[
            "needs-review",
            "resolve",
            "2026-000123",
            "--as",
            "refund-needed",
            "--reason",
            "r",
        ])
        .unwrap();
        let Command::NeedsReview(ReviewCommand::Resolve { resolution, .. }) = cli.command else {
            panic!("not resolve");
        };
        assert_eq!(resolution.api(), "refund_needed");
        assert!(parse(&["needs-review", "resolve", "X", "--as", "refund", "--reason", "r"]).is_err());
        assert!(parse(&["needs-review", "resolve", "X", "--as", "paid"]).is_err());
        assert!(parse(&["invoice", "void", "X"]).is_err());
        assert!(parse(&["invoice", "mark-paid", "X", "--reference", "ПКО № 17"]).is_err());
        let cli = parse(&["invoice", "mark-paid", "X", "--reason", "r", "--reference", "ПКО № 17"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Invoice(InvoiceCommand::MarkPaid { reference: Some(ref r), .. }) if r == "ПКО № 17"
        ));
        assert!(parse(&["event", "replay", "evt_1"]).is_err());
        assert!(parse(&["audit", "list", "--limit", "0"]).is_err());
        assert!(parse(&["audit", "list", "--limit", "101"]).is_err());
        assert!(parse(&["audit", "list", "--limit", "100"]).is_ok());
        let cli = parse(&[
            "invoice",
            "create",
            "--plan",
            "pro",
            "--company",
            "ИП Иванов",
            "--inn",
            "500100732259",
            "--address",
            "Москва",
            "--email",
            "a@b.ru",
        ])
        .unwrap();
        let Command::Invoice(InvoiceCommand::Create(c)) = cli.command else {
            panic!("not create");
        };
        assert_eq!((c.quantity, c.kpp, c.account, c.idempotency_key), (1, None, None, None));
        assert!(parse(&["invoice", "create", "--plan", "pro"]).is_err());
    }

    #[test]
    fn statement_import_takes_one_file() {
        let cli = parse(&["statement", "import", "kl_to_1c.txt", "--json"]).unwrap();
        assert!(cli.json);
        assert!(matches!(
            cli.command,
            Command::Statement(StatementCommand::Import { ref file }) if file == std::path::Path::new("kl_to_1c.txt")
        ));
        assert_eq!(
            parse(&["statement", "import"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        assert!(parse(&["statement", "import", "a.txt", "b.txt"]).is_err());
    }
}
