//! Benchmark on X Education's Leads.csv (9,240 leads): quality and speed of our models on a
//! fixed seeded stratified 70/30 split, in two settings (all columns; leaking sales-written
//! columns excluded). Writes the split and the exact encoded matrices to an output folder so
//! `bench/model/compare.py` can fit LightGBM and scikit-learn on the identical data.
//!
//! Run: `cargo bench -p leadgate-model --bench x_education` (or `bench/model/run.sh` for the
//! combined table). Output folder: `$LEADGATE_BENCH_OUT`, else `<tmp>/leadgate-model-bench`.

#[path = "../tests/model/leads_csv.rs"]
mod leads_csv;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use leadgate_model::{
    Dataset, FamilyChoice, GbdtModel, GbdtParams, LinearParams, LogisticModel, Matrix, TrainOptions,
    TrainedModel, log_loss, roc_auc, stratified_split, train,
};
use leads_csv::{Setting, leads_csv_path, load_leads};

const SEED: u64 = 42;
const TEST_FRACTION: f64 = 0.3;
/// Repetitions of each single fit; the fastest is reported. The machine is shared with
/// other work, which only ever adds time, so the minimum is the best estimate of a fit's
/// own cost (the Python side does the same for LightGBM and scikit-learn).
const FIT_REPEATS: usize = 7;
const BULK_LEADS: usize = 1_000_000;
/// Extra splits for the seed sweep: between two good models, one split's difference is
/// mostly noise (a few thousandths of log loss); the sweep shows whether it is systematic.
const SWEEP_SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

fn main() {
    let path = leads_csv_path();
    if !path.exists() {
        panic!(
            "Leads.csv not found at {} (set LEADGATE_DATASETS to the folder holding \
             x-education/)",
            path.display()
        );
    }
    let dataset = load_leads(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = output_dir();
    // The machine is shared (see BENCHMARKS.md): say how busy it was.
    if let Ok(load) = fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    fs::create_dir_all(&out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));

    let split = stratified_split(&dataset.labels, TEST_FRACTION, SEED);
    let mut split_csv = String::from("row,part\n");
    for &row in &split.train {
        writeln!(split_csv, "{row},train").ok();
    }
    for &row in &split.test {
        writeln!(split_csv, "{row},test").ok();
    }
    write(&out.join("split.csv"), &split_csv);

    println!(
        "X Education Leads.csv: {} leads, {} converted; seed {SEED}, stratified split {} train / {} test",
        dataset.rows(),
        dataset.labels.iter().filter(|&&l| l).count(),
        split.train.len(),
        split.test.len()
    );
    println!("output folder: {}", out.display());

    let mut results = Vec::new();
    for setting in Setting::BOTH {
        results.push(run_setting(&dataset, &split, setting, &out));
    }
    write(&out.join("rust_results.json"), &format!("[{}]\n", results.join(",\n")));

    println!("\n== seed sweep: train() on {} more splits per setting ==", SWEEP_SEEDS.len());
    let mut sweep = Vec::new();
    for seed in SWEEP_SEEDS {
        let split = stratified_split(&dataset.labels, TEST_FRACTION, seed);
        let mut split_csv = String::from("row,part\n");
        for (rows, part) in [(&split.train, "train"), (&split.test, "test")] {
            for &row in rows {
                writeln!(split_csv, "{row},{part}").ok();
            }
        }
        write(&out.join(format!("split-seed{seed}.csv")), &split_csv);
        for setting in Setting::BOTH {
            let mut options = options(setting, FamilyChoice::Auto);
            options.seed = seed;
            let model = train(&dataset, &options).unwrap_or_else(|e| panic!("{e}"));
            write_matrix(&model, &dataset, &out.join(format!("{}-seed{seed}.features.csv", setting.name())));
            let chosen =
                model.report().chosen().unwrap_or_else(|| unreachable!("the chosen family is reported"));
            println!(
                "seed {seed} {:<13} chose {:?}: AUC {:.4}, log loss {:.4}",
                setting.name(),
                chosen.family,
                chosen.test.auc,
                chosen.test.log_loss
            );
            sweep.push(format!(
                "{{\"seed\":{seed},\"setting\":\"{}\",\"family\":\"{:?}\",\"auc\":{},\"log_loss\":{}}}",
                setting.name(),
                chosen.family,
                chosen.test.auc,
                chosen.test.log_loss
            ));
        }
    }
    write(&out.join("rust_sweep.json"), &format!("[{}]\n", sweep.join(",\n")));
}

/// The exact matrix `model` feeds its learner, every row of `dataset`, for Python: one
/// column per feature (header = feature label), empty cell = missing, then `converted`.
fn write_matrix(model: &TrainedModel, dataset: &Dataset, path: &Path) {
    let spec = model.spec();
    let encoded = spec.encode(dataset).unwrap_or_else(|e| panic!("{e}"));
    let mut csv = String::new();
    let header: Vec<String> =
        spec.features().iter().map(|f| format!("\"{}\"", f.label.replace('"', "\"\""))).collect();
    writeln!(csv, "{},converted", header.join(",")).ok();
    for row in 0..encoded.rows() {
        for &x in encoded.row(row) {
            if x.is_finite() {
                write!(csv, "{x},").ok();
            } else {
                csv.push(',');
            }
        }
        writeln!(csv, "{}", u8::from(dataset.labels[row])).ok();
    }
    write(path, &csv);
}

fn output_dir() -> PathBuf {
    std::env::var_os("LEADGATE_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("leadgate-model-bench"))
}

fn write(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn fastest(durations: &[Duration]) -> Duration {
    durations.iter().copied().min().unwrap_or_default()
}

fn options(setting: Setting, family: FamilyChoice) -> TrainOptions {
    TrainOptions {
        seed: SEED,
        test_fraction: TEST_FRACTION,
        family,
        features: setting.feature_options(),
        ..TrainOptions::default()
    }
}

/// Test AUC and log loss of uncalibrated `sigmoid(raw)`, as LightGBM and scikit-learn report.
fn raw_quality(score: impl Fn(&[f64]) -> f64, x: &Matrix, labels: &[bool]) -> (f64, f64) {
    let raw: Vec<f64> = (0..x.rows()).map(|i| score(x.row(i))).collect();
    let p: Vec<f64> = raw.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect();
    (roc_auc(labels, &raw).unwrap_or(f64::NAN), log_loss(labels, &p).unwrap_or(f64::NAN))
}

fn run_setting(dataset: &Dataset, split: &leadgate_model::Split, setting: Setting, out: &Path) -> String {
    let name = setting.name();
    println!("\n== setting: {name} ==");

    // The whole product pipeline: split, featurize, 5-fold CV + calibration + final fit for
    // both families, test evaluation.
    let started = Instant::now();
    let model = train(dataset, &options(setting, FamilyChoice::Auto)).unwrap_or_else(|e| panic!("{e}"));
    let train_seconds = started.elapsed().as_secs_f64();
    let report = model.report();
    assert_eq!(report.rows.train, split.train.len(), "train() used another split");
    assert_eq!(report.rows.test, split.test.len(), "train() used another split");

    // The exact matrix our models see, for Python.
    write_matrix(&model, dataset, &out.join(format!("{name}.features.csv")));
    let spec = model.spec();
    let encoded = spec.encode(dataset).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "fields used {}, excluded {:?}, dropped {:?}; {} encoded features",
        report.fields_used.len(),
        report.fields_excluded,
        report.fields_dropped.iter().map(|d| d.field.as_str()).collect::<Vec<_>>(),
        spec.features().len()
    );

    // Single fits on the training rows, like for like with LightGBM / scikit-learn fits.
    let train_x = encoded.select_rows(&split.train);
    let test_x = encoded.select_rows(&split.test);
    let train_labels: Vec<bool> = split.train.iter().map(|&i| dataset.labels[i]).collect();
    let test_labels: Vec<bool> = split.test.iter().map(|&i| dataset.labels[i]).collect();
    let mut gbdt_times = Vec::new();
    let mut gbdt = None;
    for _ in 0..FIT_REPEATS {
        let started = Instant::now();
        let fitted =
            GbdtModel::fit(&train_x, &train_labels, &GbdtParams::default()).unwrap_or_else(|e| panic!("{e}"));
        gbdt_times.push(started.elapsed());
        gbdt = Some(fitted);
    }
    let gbdt = gbdt.unwrap_or_else(|| unreachable!("FIT_REPEATS > 0"));
    let mut linear_times = Vec::new();
    let mut linear = None;
    for _ in 0..FIT_REPEATS {
        let started = Instant::now();
        let fitted = LogisticModel::fit(&train_x, &train_labels, &LinearParams::default())
            .unwrap_or_else(|e| panic!("{e}"));
        linear_times.push(started.elapsed());
        linear = Some(fitted);
    }
    let linear = linear.unwrap_or_else(|| unreachable!("FIT_REPEATS > 0"));
    let gbdt_fit = fastest(&gbdt_times).as_secs_f64();
    let linear_fit = fastest(&linear_times).as_secs_f64();
    let (gbdt_auc, gbdt_ll) = raw_quality(|r| gbdt.raw_score(r), &test_x, &test_labels);
    let (linear_auc, linear_ll) = raw_quality(|r| linear.raw_score(r), &test_x, &test_labels);

    // Explanation latency and bulk scoring, for the chosen model and for the GBDT (the
    // costlier one to explain) when the chosen one is linear.
    let rows: Vec<Vec<leadgate_model::Value>> = (0..dataset.rows()).map(|i| dataset.row(i)).collect();
    let gbdt_model;
    let mut timed: Vec<(&str, &TrainedModel)> = vec![("chosen", &model)];
    if model.family() != leadgate_model::Family::Gbdt {
        gbdt_model = train(dataset, &options(setting, FamilyChoice::Gbdt)).unwrap_or_else(|e| panic!("{e}"));
        timed.push(("gbdt", &gbdt_model));
    }
    let mut speed_json = Vec::new();
    for (role, scored) in &timed {
        let (explain_mean, explain_p99, explain_max, worst_identity) = explain_latency(scored, &rows, split);
        let bulk = bulk_scoring(scored, &rows);
        println!(
            "{role} ({}): explain one lead mean {:.1} µs, p99 {:.1} µs, max {:.1} µs; \
             |base + Σ contributions − raw| ≤ {worst_identity:.1e}; {BULK_LEADS} probabilities in {bulk:.2} s",
            scored.family(),
            explain_mean * 1e6,
            explain_p99 * 1e6,
            explain_max * 1e6
        );
        speed_json.push(format!(
            "{{\"role\":\"{role}\",\"family\":\"{:?}\",\"explain_mean_us\":{},\"explain_p99_us\":{},\"explain_max_us\":{},\"identity_max_error\":{},\"bulk_seconds\":{}}}",
            scored.family(),
            explain_mean * 1e6,
            explain_p99 * 1e6,
            explain_max * 1e6,
            worst_identity,
            bulk
        ));
    }

    let chosen = report.chosen().unwrap_or_else(|| unreachable!("report lists the chosen family"));
    println!(
        "train() full pipeline: {train_seconds:.2} s; chose {} with {:?} calibration",
        report.family, report.calibration
    );
    println!("{:<44} {:>7} {:>9} {:>9} {:>7} {:>9}", "model", "AUC", "log loss", "Brier", "lift@10", "fit s");
    for candidate in &report.candidates {
        println!(
            "{:<44} {:>7.4} {:>9.4} {:>9.4} {:>7.2} {:>9}",
            format!(
                "train(): {:?} + {:?}{}",
                candidate.family,
                candidate.calibration,
                if candidate.family == report.family { " (chosen)" } else { "" }
            ),
            candidate.test.auc,
            candidate.test.log_loss,
            candidate.test.brier,
            candidate.test.top_decile_lift,
            "-"
        );
    }
    println!(
        "{:<44} {:>7.4} {:>9.4} {:>9} {:>7} {:>9.3}",
        "single fit: GBDT defaults, uncalibrated", gbdt_auc, gbdt_ll, "-", "-", gbdt_fit
    );
    println!(
        "{:<44} {:>7.4} {:>9.4} {:>9} {:>7} {:>9.3}",
        "single fit: logistic C=1, uncalibrated", linear_auc, linear_ll, "-", "-", linear_fit
    );
    println!(
        "cross-validated AUC (train part, {} folds): {}",
        chosen.cross_validation.folds,
        report
            .candidates
            .iter()
            .map(|c| format!(
                "{:?} {:.4} ± {:.4}",
                c.family, c.cross_validation.auc_mean, c.cross_validation.auc_std
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("base rate (test) {:.4}", chosen.test.base_rate);

    let candidates_json: Vec<String> = report
        .candidates
        .iter()
        .map(|c| {
            format!(
                "{{\"family\":\"{:?}\",\"calibration\":\"{:?}\",\"auc\":{},\"log_loss\":{},\"brier\":{},\"lift\":{},\"cv_auc_mean\":{},\"cv_auc_std\":{},\"log_loss_uncalibrated\":{}}}",
                c.family, c.calibration, c.test.auc, c.test.log_loss, c.test.brier, c.test.top_decile_lift,
                c.cross_validation.auc_mean, c.cross_validation.auc_std, c.test_log_loss_uncalibrated
            )
        })
        .collect();
    format!(
        "{{\"setting\":\"{name}\",\"features\":{},\"chosen\":\"{:?}\",\"train_seconds\":{train_seconds},\
         \"candidates\":[{}],\"gbdt_single\":{{\"auc\":{gbdt_auc},\"log_loss\":{gbdt_ll},\"fit_seconds\":{gbdt_fit},\"trees\":{}}},\
         \"linear_single\":{{\"auc\":{linear_auc},\"log_loss\":{linear_ll},\"fit_seconds\":{linear_fit}}},\"speed\":[{}]}}",
        spec.features().len(),
        report.family,
        candidates_json.join(","),
        gbdt.trees().len(),
        speed_json.join(",")
    )
}

/// Mean, p99 and max seconds of `predict` (score + explanation) over the test leads, and
/// the largest additivity error seen. Three passes; the pass with the lowest p99 is kept:
/// on a shared machine a single call's time includes whatever pre-empted it, and
/// interference only ever adds time.
fn explain_latency(
    model: &TrainedModel,
    rows: &[Vec<leadgate_model::Value>],
    split: &leadgate_model::Split,
) -> (f64, f64, f64, f64) {
    // Warm-up pass so first-touch page faults are not counted.
    for &i in split.test.iter().take(100) {
        std::hint::black_box(model.predict(&rows[i]).ok());
    }
    let mut worst: f64 = 0.0;
    let mut best: Option<(f64, f64, f64)> = None;
    for _pass in 0..3 {
        let mut times = Vec::with_capacity(split.test.len());
        for &i in &split.test {
            let started = Instant::now();
            let prediction = model.predict(&rows[i]).unwrap_or_else(|e| panic!("{e}"));
            times.push(started.elapsed().as_secs_f64());
            let total = prediction.base_value + prediction.contributions.iter().map(|c| c.value).sum::<f64>();
            worst = worst.max((total - prediction.raw_score).abs());
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        times.sort_by(f64::total_cmp);
        let p99 = times[times.len() * 99 / 100];
        let max = times[times.len() - 1];
        if best.is_none_or(|(_, best_p99, _)| p99 < best_p99) {
            best = Some((mean, p99, max));
        }
    }
    let (mean, p99, max) = best.unwrap_or_default();
    (mean, p99, max, worst)
}

/// Seconds to score `BULK_LEADS` leads (the 9,240 leads cycled) with the reusable scorer.
fn bulk_scoring(model: &TrainedModel, rows: &[Vec<leadgate_model::Value>]) -> f64 {
    let mut scorer = model.scorer();
    let started = Instant::now();
    let mut sum = 0.0;
    for k in 0..BULK_LEADS {
        sum += scorer.probability(&rows[k % rows.len()]).unwrap_or_else(|e| panic!("{e}"));
    }
    std::hint::black_box(sum);
    started.elapsed().as_secs_f64()
}
