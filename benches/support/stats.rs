//! Figures for the benchmarks: percentiles of sorted timings. Included by each bench with
//! `#[path]` (benches are separate crates).

/// The `p` quantile (0..=1) of `sorted` by nearest rank; NaN when there are no samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
