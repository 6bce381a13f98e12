//! JSON logs for CloudWatch (and the local console). `RUST_LOG` sets the level.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Lambda stamps every line itself; locally the time is useful.
    let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let fmt = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false);
    let _ = if on_lambda {
        fmt.without_time().try_init()
    } else {
        fmt.try_init()
    };
}
