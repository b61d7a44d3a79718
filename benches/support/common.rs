//! What every `make bench` program shares: median / min / max of repeated
//! runs, and the `BENCH_*` knobs read from the environment. Included with
//! `#[path]` by `benches/*.rs` and `acceptance-tests/benches/*.rs`.
#![allow(dead_code)] // each includer uses part of it

/// Median, min and max of a set of runs.
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Panics on an empty set: a figure needs at least one run.
pub fn stats(mut xs: Vec<f64>) -> Stats {
    xs.sort_by(|a, b| a.total_cmp(b));
    Stats {
        median: xs[xs.len() / 2],
        min: xs[0],
        max: xs[xs.len() - 1],
    }
}

/// `k` from the environment, parsed, or `default`.
pub fn env_or<T: std::str::FromStr>(k: &str, default: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A comma-separated list from `k` (`default` when unset; anything that
/// parses to nothing, such as `none`, is an empty list).
pub fn env_list<T: std::str::FromStr>(k: &str, default: &str) -> Vec<T> {
    std::env::var(k)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}
