//! Golden tests of the configuration reader: each `tests/config/*.toml`
//! is validated (for a 4-CPU machine) and its report compared byte for
//! byte with the `.errors` file next to it (empty for a valid file).
//!
//! After a deliberate change of wording, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p router --test config_golden` and review
//! the diff.

use std::fs;
use std::path::{Path, PathBuf};

use router::config::{ValidationEnv, parse_str};

const ENV: ValidationEnv = ValidationEnv { cpu_count: 4 };

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config")
}

fn check(name: &str) {
    let dir = golden_dir();
    let input = dir.join(format!("{name}.toml"));
    let text = fs::read_to_string(&input)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", input.display()));
    let origin = format!("tests/config/{name}.toml");
    let actual = match parse_str(&text, &origin, &ENV) {
        Ok(_) => String::new(),
        Err(errors) => format!("{errors}\n"),
    };
    let expected_path = dir.join(format!("{name}.errors"));
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        fs::write(&expected_path, &actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", expected_path.display()));
        return;
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (create it with UPDATE_GOLDEN=1)",
            expected_path.display()
        )
    });
    assert!(
        actual == expected,
        "{name}: report differs from {}\n--- expected\n{expected}--- actual\n{actual}---",
        expected_path.display()
    );
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        const GOLDEN: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

golden!(
    valid_full,
    minimal,
    empty,
    comments_only,
    syntax_error,
    unknown_key,
    wrong_type,
    port_as_table,
    invalid_values,
    duplicate_port_name,
    overlapping_addresses,
    prefix_host_bits,
    next_hop_not_connected,
    next_hop_unknown_interface,
    blackhole_with_next_hop,
    route_without_next_hop,
    duplicates_in_route,
    mtu_out_of_range,
    ipv6_small_mtu,
    core_out_of_range,
    core_shared,
    port_core_not_dataplane,
    tier_gap,
    weight_zero,
    many_errors,
    management_relative_socket,
    management_long_socket,
    probe_errors,
    bfd_errors,
);

/// A golden input without a test would silently test nothing, and a test
/// without its files fails only when run; keep the list and the folder in
/// step.
#[test]
fn every_golden_file_has_a_test_and_an_expected_report() {
    let mut inputs = Vec::new();
    for entry in fs::read_dir(golden_dir()).expect("tests/config exists") {
        let path = entry.expect("readable entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => inputs.push(stem),
            Some("errors") => assert!(
                path.with_extension("toml").exists(),
                "{} has no input next to it",
                path.display()
            ),
            _ => panic!("unexpected file {}", path.display()),
        }
    }
    inputs.sort();
    let mut listed: Vec<String> = GOLDEN.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(
        inputs, listed,
        "tests/config/*.toml and the golden! list differ"
    );
}
