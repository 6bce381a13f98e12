//! Cold start: exec → the function's first `next` request, and its peak RSS by then.

use crate::runtime::{Function, Options};
use crate::stats::Summary;
use serde_json::{Value, json};
use std::time::Duration;

pub fn measure(command: &[String], name: &str, memory_mb: u32, runs: usize) -> std::io::Result<Value> {
    let (mut init, mut rss) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    let options = Options {
        name,
        memory_mb,
        env: &[],
        log_file: None,
        ready_timeout: Duration::from_secs(30),
    };
    for _ in 0..runs {
        let function = Function::start(command, &options)?;
        init.push(function.init.as_secs_f64() * 1e3);
        rss.push(function.peak_rss_kib().unwrap_or(0) as f64);
    }
    let (init, rss) = (Summary::of(&init), Summary::of(&rss));
    Ok(json!({
        "name": name,
        "runs": runs,
        "median_ms": init.median,
        "min_ms": init.min,
        "max_ms": init.max,
        "peak_rss_kib": rss.median as u64,
        "peak_rss_kib_max": rss.max as u64,
    }))
}
