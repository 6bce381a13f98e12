//! One customer's whole lifecycle, run by the functions' real binaries against the local AWS,
//! with every AWS call counted from its request log.
//!
//! The harness plays AWS's part and nothing more: API Gateway (HTTP API payload 2.0 events),
//! the table's stream (the new `OUTBOX#` items as stream records), the event bus (the entries
//! the publisher put, as EventBridge envelopes, to fulfilment and webhooks), the scheduler (the
//! jobs' schedules) and a browser (the presigned PDF download). Each function is one process,
//! started on first use (a cold start) and kept (warm) for the second customer; the figures
//! for costs come from the warm pass, with the cold pass's init times.

use crate::runtime::{Function, Options, read_request};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Error = Box<dyn std::error::Error>;

pub struct Setup {
    pub bin_dir: PathBuf,
    /// The local stack's config (seller, plans); the harness adds its webhook endpoint and
    /// reminds 40 days ahead, so the renewal invoice of a month's plan is due at once.
    pub base_config: PathBuf,
    pub request_log: PathBuf,
    pub logs_dir: PathBuf,
    pub table: String,
    pub cloudpayments_secret: String,
}

/// Memory sizes as in template.yaml.
fn memory_mb(function: &str) -> u32 {
    match function {
        "fulfil" | "admin-api" | "renewal-reminders" | "expire-subscriptions" | "import-statement" => 512,
        _ => 256,
    }
}

/// New lines of the local AWS's request log.
struct Calls {
    file: std::fs::File,
    offset: u64,
}

impl Calls {
    fn open(path: &Path) -> Result<Calls, Error> {
        let mut file = std::fs::File::open(path)?;
        let offset = file.seek(SeekFrom::End(0))?;
        Ok(Calls { file, offset })
    }

    fn take(&mut self) -> Result<Vec<Value>, Error> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut text = String::new();
        self.file.read_to_string(&mut text)?;
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        self.offset += complete as u64;
        Ok(text[..complete]
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// What the webhook endpoint received.
type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook endpoint on loopback that answers 200 and keeps what it got.
fn receiver() -> Result<(String, Received), Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let store = store.clone();
            std::thread::spawn(move || {
                let Ok(mut writer) = stream.try_clone() else { return };
                let mut reader = BufReader::new(stream);
                while let Some((_, _, body)) = read_request(&mut reader) {
                    if let Ok(v) = serde_json::from_slice(&body) {
                        store.lock().expect("receiver lock").push(v);
                    }
                    if writer
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok((url, got))
}

/// A browser's GET of a plain-HTTP URL (the presigned PDF link on the local AWS): status and size.
fn browser_get(url: &str) -> Result<(u16, usize), Error> {
    let rest = url.strip_prefix("http://").ok_or("only http:// links locally")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest)?;
    let body = rest
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |i| rest.len() - i - 4);
    Ok((code, body))
}

/// API Gateway HTTP API (payload 2.0) event.
fn http_event(method: &str, path_and_query: &str, headers: &[(&str, &str)], body: &str) -> Value {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut h = Map::new();
    for (k, v) in [
        ("host", "api.autobill.example"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "203.0.113.7"),
        ("user-agent", "autobill-bench"),
    ]
    .iter()
    .chain(headers)
    {
        h.insert(k.to_string(), json!(v));
    }
    let now = chrono::Utc::now();
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query, "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "api.autobill.example", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "autobill-bench"},
            "requestId": format!("bench-{}", now.timestamp_micros()), "routeKey": "$default", "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(), "timeEpoch": now.timestamp_millis()
        },
        "body": body, "isBase64Encoded": false
    })
}

/// An EventBridge envelope around one entry the publisher put.
fn bus_event(entry: &Value) -> Value {
    json!({
        "version": "0", "id": format!("bench-{}", chrono::Utc::now().timestamp_micros()),
        "detail-type": entry["detail-type"], "source": entry["source"], "account": "123456789012",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "eu-central-1", "resources": [], "detail": entry["detail"]
    })
}

/// A DynamoDB attribute in the stream's JSON form.
fn attribute_json(v: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodb::primitives::Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::B(b) => json!({"B": b64(b)}),
        AttributeValue::Ss(s) => json!({"SS": s}),
        AttributeValue::Ns(s) => json!({"NS": s}),
        AttributeValue::Bs(s) => json!({"BS": s.iter().map(b64).collect::<Vec<_>>()}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => {
            json!({"M": m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<Map<_, _>>()})
        }
        _ => Value::Null,
    }
}

fn stream_record(item: &HashMap<String, AttributeValue>, seq: usize) -> Value {
    let image: Map<String, Value> = item.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect();
    let keys: Map<String, Value> = image
        .iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({
        "eventID": format!("bench-{seq}"), "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "eu-central-1",
        "dynamodb": {
            "ApproximateCreationDateTime": chrono::Utc::now().timestamp(), "Keys": keys, "NewImage": image,
            "SequenceNumber": format!("{seq:021}"), "SizeBytes": 512, "StreamViewType": "NEW_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-central-1:123456789012:table/autobill/stream/2026-11-28T00:00:00.000"
    })
}

/// What one step cost: one invocation (or none: a browser's download).
#[derive(Default)]
struct Step {
    name: String,
    function: Option<&'static str>,
    api_gateway: bool,
    cold: bool,
    init_ms: Option<f64>,
    init_calls: Vec<Value>,
    duration_ms: Option<f64>,
    calls: Vec<Value>,
    log_bytes: u64,
    answer: Value,
}

impl Step {
    fn json(&self) -> Value {
        json!({
            "name": self.name, "function": self.function, "memory_mb": self.function.map(memory_mb),
            "api_gateway": self.api_gateway, "per": "invoice", "times": 1, "cold": self.cold,
            "init_ms": self.init_ms, "init_calls": self.init_calls, "duration_ms": self.duration_ms,
            "log_bytes": self.log_bytes, "calls": self.calls,
        })
    }
}

struct Harness<'a> {
    setup: &'a Setup,
    config: PathBuf,
    functions: HashMap<&'static str, Function>,
    calls: Calls,
    db: aws_sdk_dynamodb::Client,
    rt: tokio::runtime::Runtime,
    delivered: HashSet<String>,
    seq: usize,
}

impl Harness<'_> {
    fn log_path(&self, function: &str) -> PathBuf {
        self.setup.logs_dir.join(format!("{function}.log"))
    }

    /// Invokes `function` (starting it first if it isn't running) with `event`.
    fn invoke(&mut self, name: &str, function: &'static str, event: Value) -> Result<Step, Error> {
        let mut step = Step {
            name: name.into(),
            function: Some(function),
            api_gateway: event.get("routeKey").is_some(),
            ..Step::default()
        };
        let log = self.log_path(function);
        self.calls.take()?;
        if !self.functions.contains_key(function) {
            let command = [self.setup.bin_dir.join(function).to_string_lossy().into_owned()];
            let env = [(
                "AUTOBILL_CONFIG_FILE".to_owned(),
                self.config.to_string_lossy().into_owned(),
            )];
            let options = Options {
                name: function,
                memory_mb: memory_mb(function),
                env: &env,
                log_file: Some(&log),
                ready_timeout: Duration::from_secs(30),
            };
            let started = Function::start(&command, &options)?;
            step.cold = true;
            step.init_ms = Some(started.init.as_secs_f64() * 1e3);
            step.init_calls = self.calls.take()?;
            self.functions.insert(function, started);
        }
        let before = std::fs::metadata(&log).map_or(0, |m| m.len());
        let f = self.functions.get_mut(function).expect("started above");
        let answer = f.invoke(event, Duration::from_secs(60))?;
        step.duration_ms = Some(answer.duration.as_secs_f64() * 1e3);
        step.calls = self.calls.take()?;
        if answer.error {
            return Err(format!("{name}: {function} failed: {}", answer.body).into());
        }
        std::thread::sleep(Duration::from_millis(20)); // the log lines of the invocation land
        step.log_bytes = std::fs::metadata(&log).map_or(0, |m| m.len()) - before;
        step.answer = answer.body;
        Ok(step)
    }

    /// A daily job runs once a day: its checkpoint of today is forgotten, as if a day had passed.
    fn next_day(&mut self, job: &str) -> Result<(), Error> {
        let key = |k: &str| AttributeValue::S(k.to_owned());
        self.rt.block_on(
            self.db
                .delete_item()
                .table_name(&self.setup.table)
                .key("pk", key(&format!("JOB#{job}")))
                .key("sk", key("CHECKPOINT"))
                .send(),
        )?;
        Ok(())
    }

    /// The stream's batch: outbox items not handed out yet, oldest first.
    fn new_outbox_records(&mut self) -> Result<Value, Error> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self.rt.block_on(
                self.db
                    .scan()
                    .table_name(&self.setup.table)
                    .filter_expression("begins_with(pk, :p)")
                    .expression_attribute_values(":p", AttributeValue::S("OUTBOX#".into()))
                    .set_exclusive_start_key(start)
                    .send(),
            )?;
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        let text = |i: &HashMap<String, AttributeValue>, k: &str| {
            i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
        };
        items.retain(|i| {
            i.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|s| s == "OUTBOX")
                && !self.delivered.contains(&text(i, "pk"))
        });
        items.sort_by_key(|i| (text(i, "created_at"), text(i, "pk")));
        let mut records = Vec::new();
        for item in &items {
            self.delivered.insert(text(item, "pk"));
            self.seq += 1;
            records.push(stream_record(item, self.seq));
        }
        Ok(json!({ "Records": records }))
    }

    /// Publishes what's new in the outbox, then delivers what was put on the bus as its rules do:
    /// `invoice.paid` to fulfilment, every event to the webhooks.
    fn publish_and_deliver(&mut self, label: &str, steps: &mut Vec<Step>) -> Result<(), Error> {
        let batch = self.new_outbox_records()?;
        let count = batch["Records"].as_array().map_or(0, Vec::len);
        if count == 0 {
            return Ok(());
        }
        let publish = self.invoke(&format!("publish ({label})"), "publish-outbox", batch)?;
        let entries: Vec<Value> = publish
            .calls
            .iter()
            .filter(|c| c["operation"] == "PutEvents")
            .flat_map(|c| c["events"].as_array().cloned().unwrap_or_default())
            .collect();
        steps.push(publish);
        for entry in entries {
            let kind = entry["detail-type"].as_str().unwrap_or_default().to_owned();
            if kind == "invoice.paid" {
                let fulfil = self.invoke("fulfil: act, e-mail, subscription", "fulfil", bus_event(&entry))?;
                steps.push(fulfil);
            }
            steps.push(self.invoke(&format!("webhook {kind}"), "deliver-webhooks", bus_event(&entry))?);
        }
        Ok(())
    }

    /// One customer: form → PDF → paid → act e-mailed → subscription → webhooks → renewal invoice.
    fn customer(&mut self, n: usize) -> Result<Vec<Step>, Error> {
        let mut steps = Vec::new();
        let inn = ["7736207543", "7707083893"][n % 2];
        let form = json!({
            "plan": "start", "company": format!("ООО «Покупатель {n}»"), "inn": inn, "kpp": "770401001",
            "address": "119021, г. Москва, ул. Льва Толстого, д. 16", "email": format!("buh{n}@buyer.example"),
        });
        let key = format!("bench-{}-{n}", chrono::Utc::now().timestamp_micros());
        let created = self.invoke(
            "form → invoice",
            "create-invoice",
            http_event(
                "POST",
                "/invoices",
                &[
                    ("content-type", "application/json"),
                    ("accept", "application/json"),
                    ("idempotency-key", &key),
                ],
                &form.to_string(),
            ),
        )?;
        let body: Value = serde_json::from_str(created.answer["body"].as_str().unwrap_or("{}"))?;
        if created.answer["statusCode"] != 201 {
            return Err(format!("the form was refused: {}", created.answer).into());
        }
        steps.push(created);
        let (id, total) = (
            body["id"].as_str().unwrap_or_default().to_owned(),
            body["total"].as_i64().unwrap_or(0),
        );
        let page_url = body["invoice_url"].as_str().unwrap_or_default();
        let page_path = page_url
            .split_once("://")
            .and_then(|(_, r)| r.find('/').map(|i| &r[i..]))
            .unwrap_or("/");
        steps.push(self.invoke(
            "invoice page",
            "get-invoice",
            http_event("GET", page_path, &[("accept", "text/html")], ""),
        )?);

        self.calls.take()?;
        let (status, bytes) = browser_get(body["pdf_url"].as_str().unwrap_or_default())?;
        if status != 200 || bytes == 0 {
            return Err(format!("the PDF link answered {status} with {bytes} bytes").into());
        }
        steps.push(Step {
            name: "PDF download (browser, presigned)".into(),
            calls: self.calls.take()?,
            ..Step::default()
        });
        self.publish_and_deliver("invoice.issued", &mut steps)?;

        let fields = [
            (
                "TransactionId",
                format!("{}{n}", chrono::Utc::now().timestamp_micros() % 1_000_000_000),
            ),
            ("Amount", format!("{}.{:02}", total / 100, total % 100)),
            ("Currency", "RUB".into()),
            ("InvoiceId", id.clone()),
            ("AccountId", inn.into()),
            ("Status", "Completed".into()),
            ("OperationType", "Payment".into()),
            ("TestMode", "0".into()),
        ];
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.setup.cloudpayments_secret.as_bytes())?;
        mac.update(body.as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let paid = self.invoke(
            "payment callback (CloudPayments)",
            "payment-callback",
            http_event(
                "POST",
                "/callbacks/cloudpayments",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("content-hmac", &signature),
                ],
                &body,
            ),
        )?;
        if paid.answer["statusCode"] != 200 || !paid.answer["body"].as_str().unwrap_or_default().contains("\"code\":0")
        {
            return Err(format!("the callback was refused: {}", paid.answer).into());
        }
        steps.push(paid);
        // Paid, then fulfilled (its own outbox events), each published as the stream hands it on.
        self.publish_and_deliver("invoice.paid", &mut steps)?;
        self.publish_and_deliver("subscription", &mut steps)?;

        self.next_day("renewal-reminders")?;
        let renewal = self.invoke("renewal reminder job", "renewal-reminders", json!({}))?;
        if renewal.answer["issued"] != 1 {
            return Err(format!("the renewal job should issue one invoice: {}", renewal.answer).into());
        }
        steps.push(renewal);
        self.publish_and_deliver("renewal invoice.issued", &mut steps)?;
        Ok(steps)
    }

    /// The schedules' idle runs: what the sweeps and jobs cost when there is nothing to do.
    fn schedules(&mut self) -> Result<Vec<(Step, u32)>, Error> {
        let month = [
            (
                "outbox sweep (every 5 min)",
                "publish-outbox",
                json!({"action": "sweep"}),
                8640,
            ),
            (
                "fulfilment sweep (every 10 min)",
                "fulfil",
                json!({"action": "sweep"}),
                4320,
            ),
            ("renewal reminders (daily, idle)", "renewal-reminders", json!({}), 30),
            ("expiry (daily)", "expire-subscriptions", json!({}), 30),
        ];
        month
            .into_iter()
            .map(|(name, function, event, times)| {
                self.next_day(function)?;
                Ok((self.invoke(name, function, event)?, times))
            })
            .collect()
    }
}

/// Runs two customers (cold, then warm) and the idle schedules; returns the report.
pub fn run(setup: &Setup) -> Result<Value, Error> {
    let (hook_url, hooks) = receiver()?;
    std::fs::create_dir_all(&setup.logs_dir)?;
    let base = std::fs::read_to_string(&setup.base_config)?;
    if !base.contains("reminder_days = [7]") {
        return Err(format!(
            "{}: no `reminder_days = [7]` line to change",
            setup.base_config.display()
        )
        .into());
    }
    let config = setup.logs_dir.join("config.toml");
    let webhook = format!(
        "\n[[webhooks]]\nid = \"bench\"\nurl = \"{hook_url}\"\nsecret = \"whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA==\"\n"
    );
    std::fs::write(
        &config,
        base.replace("reminder_days = [7]", "reminder_days = [40]") + &webhook,
    )?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let db = aws_sdk_dynamodb::Client::new(&rt.block_on(autobill::aws::sdk_config()));
    let mut h = Harness {
        setup,
        config,
        functions: HashMap::new(),
        calls: Calls::open(&setup.request_log)?,
        db,
        rt,
        delivered: HashSet::new(),
        seq: 0,
    };
    h.new_outbox_records()?; // whatever an earlier run left is not ours
    let cold = h.customer(1)?;
    let warm = h.customer(2)?;
    let schedules = h.schedules()?;
    let peak_rss: BTreeMap<&str, u64> = h
        .functions
        .iter()
        .map(|(k, f)| (*k, f.peak_rss_kib().unwrap_or(0)))
        .collect();
    let webhooks = hooks.lock().map_err(|_| "receiver lock")?.len();

    // The warm pass is what a busy day costs; the cold pass gives each function's init.
    let init: HashMap<&str, (f64, usize)> = cold
        .iter()
        .filter(|s| s.cold)
        .filter_map(|s| Some((s.function?, (s.init_ms?, s.init_calls.len()))))
        .collect();
    let names = |steps: &[Step]| steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    if names(&cold) != names(&warm) {
        return Err(format!(
            "the two customers took different steps: {:?} vs {:?}",
            names(&cold),
            names(&warm)
        )
        .into());
    }
    let mut steps: Vec<Value> = warm
        .iter()
        .zip(&cold)
        .map(|(w, c)| {
            let mut v = w.json();
            v["cold_duration_ms"] = json!(c.duration_ms);
            if let Some((ms, calls)) = w.function.and_then(|f| init.get(f)) {
                // Costed as if every invocation were cold (cost.py's --cold-fraction scales it).
                v["cold"] = json!(true);
                v["init_ms"] = json!(ms);
                v["init_call_count"] = json!(calls);
            }
            v
        })
        .collect();
    for (step, times) in &schedules {
        let mut v = step.json();
        v["per"] = json!("month");
        v["times"] = json!(times);
        v["scheduler"] = json!(true);
        steps.push(v);
    }
    let metrics = emf_metrics(&setup.logs_dir)?;
    Ok(json!({
        "measured_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "machine": machine(),
        "command": "make bench-lambda (bench/run.sh: autobill-bench lifecycle)",
        "steps": steps,
        "cold_steps": cold.iter().map(Step::json).collect::<Vec<_>>(),
        "webhooks_received": webhooks,
        "peak_rss_kib": peak_rss,
        "metrics": metrics.len(),
        "metric_names": metrics,
    }))
}

/// The distinct EMF metrics (name and dimension values) the functions wrote.
fn emf_metrics(dir: &Path) -> Result<Vec<String>, Error> {
    let mut found = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        for line in std::fs::read_to_string(entry?.path())?.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            for m in v["_aws"]["CloudWatchMetrics"].as_array().into_iter().flatten() {
                let dims: Vec<String> = m["Dimensions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|d| d.as_array().cloned().unwrap_or_default())
                    .map(|d| {
                        format!(
                            "{}={}",
                            d.as_str().unwrap_or(""),
                            v[d.as_str().unwrap_or("")].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                for metric in m["Metrics"].as_array().into_iter().flatten() {
                    found.insert(format!("{} {}", metric["Name"].as_str().unwrap_or(""), dims.join(",")));
                }
            }
        }
    }
    Ok(found.into_iter().collect())
}

/// The CPU model, core count and architecture.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores, {}", std::env::consts::ARCH)
}
