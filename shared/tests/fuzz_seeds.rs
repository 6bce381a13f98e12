//! The fuzz targets' committed inputs, replayed on stable through the same harnesses
//! (`autobill::fuzzing`): every file in `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`.
//! A crash the fuzzer found, minimised and saved under `fuzz/regressions/<target>/`, stays fixed.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut failures = Vec::new();
    for (target, harness) in autobill::fuzzing::TARGETS {
        for file in files(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&file).expect("a readable input");
            count += 1;
            if let Err(panic) = std::panic::catch_unwind(|| harness(&data)) {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {why}", file.display()));
            }
        }
    }
    (count, failures)
}

#[test]
fn every_seed_passes_its_harness() {
    let (count, failures) = replay("seeds");
    assert!(count > 0, "no seeds found under {}", fuzz_dir().display());
    assert!(
        failures.is_empty(),
        "{} of {count} seeds fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_regression_stays_fixed() {
    let (_, failures) = replay("regressions");
    assert!(
        failures.is_empty(),
        "{} regressions fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_seeds_and_a_fuzz_target() {
    let targets: Vec<&str> = autobill::fuzzing::TARGETS.iter().map(|(name, _)| *name).collect();
    for target in &targets {
        assert!(
            !files(&fuzz_dir().join("seeds").join(target)).is_empty(),
            "fuzz/seeds/{target}/ is empty"
        );
        let script = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let text = std::fs::read_to_string(&script).unwrap_or_default();
        assert!(
            text.contains(&format!("autobill::fuzzing::{target}(")),
            "{} must call autobill::fuzzing::{target}",
            script.display()
        );
    }
    for kind in ["seeds", "regressions"] {
        for dir in std::fs::read_dir(fuzz_dir().join(kind)).into_iter().flatten() {
            let name = dir.expect("a readable directory entry").file_name();
            let name = name.to_string_lossy();
            assert!(targets.contains(&name.as_ref()), "fuzz/{kind}/{name}/ has no target");
        }
    }
}
