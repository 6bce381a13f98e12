//! Operator-facing counters as CloudWatch Embedded Metric Format: one JSON line on stdout that
//! CloudWatch turns into a metric (namespace `autobill`), no API call, no extra permission.

/// Counts one occurrence of `name`, with a `provider` dimension (the provider, or the job).
pub fn count(name: &str, provider: &str) {
    count_n(name, provider, 1);
}

/// Counts `n` occurrences at once (a job's totals).
pub fn count_n(name: &str, provider: &str, n: usize) {
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "autobill",
                "Dimensions": [["provider"]],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        },
        "provider": provider,
        name: n,
    });
    println!("{line}");
}
