//! What the benchmarks measure the same way.

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// What `bench/compare.sh` checks two engines agree on before it reports a time: the
/// row count and the sum of each whole-number column (exact in any engine, where float
/// sums differ in their last digits with the order rows arrive in).
#[allow(dead_code)] // not every benchmark compares answers
pub fn answer(batches: &[datafusion::arrow::array::RecordBatch]) -> serde_json::Value {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Int64Type};
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut sums = serde_json::Map::new();
    if let Some(first) = batches.first() {
        for (i, field) in first.schema().fields().iter().enumerate() {
            let integer = matches!(
                field.data_type(),
                DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
            );
            if !integer {
                continue;
            }
            let mut sum: i128 = 0;
            for b in batches {
                let c = datafusion::arrow::compute::cast(b.column(i), &DataType::Int64)
                    .expect("a whole number fits i64");
                let c = c.as_primitive::<Int64Type>();
                sum += (0..c.len())
                    .filter(|&j| c.is_valid(j))
                    .map(|j| c.value(j) as i128)
                    .sum::<i128>();
            }
            sums.insert(
                field.name().clone(),
                serde_json::Value::String(sum.to_string()),
            );
        }
    }
    serde_json::json!({ "rows": rows, "integer_sums": sums })
}
