//! Operator-facing counters as CloudWatch Embedded Metric Format: one JSON line on stdout that
//! CloudWatch turns into a metric (namespace `autobill`), no API call, no extra permission.
//!
//! Every metric has one dimension, `provider`: the payment provider (`PaymentsRecorded`,
//! `PaymentMismatch`, …), the kind of e-mail (`EmailsSent`: `closing`, `reminder`, `invoice`), or
//! the part of the system (`invoices`, `webhooks`, `fulfil`, a job's name, `manual`).

pub const NAMESPACE: &str = "autobill";

/// Counts one occurrence of `name`, with a `provider` dimension (the provider, or the job).
pub fn count(name: &str, provider: &str) {
    count_n(name, provider, 1);
}

/// Counts `n` occurrences at once (a job's totals).
pub fn count_n(name: &str, provider: &str, n: usize) {
    println!("{}", emf(name, provider, n, chrono::Utc::now().timestamp_millis()));
}

/// The EMF document of one count.
fn emf(name: &str, provider: &str, n: usize, timestamp_millis: i64) -> serde_json::Value {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["provider"]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        },
        "provider": provider,
        name: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_of_embedded_metric_format() {
        let line = emf("PaymentsRecorded", "stripe", 2, 1_764_230_400_000);
        assert_eq!(
            line,
            serde_json::json!({
                "_aws": {"Timestamp": 1_764_230_400_000i64, "CloudWatchMetrics": [{
                    "Namespace": "autobill", "Dimensions": [["provider"]],
                    "Metrics": [{"Name": "PaymentsRecorded", "Unit": "Count"}]}]},
                "provider": "stripe",
                "PaymentsRecorded": 2,
            })
        );
        // One line: CloudWatch reads EMF per log line.
        assert!(!line.to_string().contains('\n'));
    }
}
