//! Whatever text it is given, the configuration reader returns a config
//! or errors, never panics, and every error points inside the text.

use std::path::Path;

use proptest::prelude::*;
use router::config::{ConfigErrors, ValidationEnv, parse_str};

const ENV: ValidationEnv = ValidationEnv { cpu_count: 4 };

fn valid_example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid_full.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every error is on a line of `text` (or the line after its last
/// newline), at a column that exists on that line, plus one for the end.
fn assert_positions_inside(text: &str, errors: &ConfigErrors) {
    let lines: Vec<&str> = text.split('\n').collect();
    for e in errors.errors() {
        assert!(
            e.line >= 1 && e.line <= lines.len(),
            "line {} outside 1..={} in\n{errors}",
            e.line,
            lines.len()
        );
        let width = lines[e.line - 1].chars().count();
        assert!(
            e.column >= 1 && e.column <= width + 1,
            "column {} outside 1..={} on line {}\n{errors}",
            e.column,
            width + 1,
            e.line
        );
        assert!(!e.message.is_empty());
    }
}

fn check(text: &str) {
    if let Err(errors) = parse_str(text, "t.toml", &ENV) {
        assert!(
            !errors.errors().is_empty(),
            "Err with no error for {text:?}"
        );
        assert_positions_inside(text, &errors);
    }
}

#[test]
fn every_truncation_of_the_valid_example_is_handled() {
    let text = valid_example();
    let mut refused = 0;
    for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        let prefix = &text[..end];
        check(prefix);
        refused += usize::from(parse_str(prefix, "t.toml", &ENV).is_err());
    }
    // Most cuts land mid-value or before the first port: the loop above
    // really exercised the error paths, not only the happy one.
    assert!(
        refused > text.len() / 2,
        "only {refused} truncations refused"
    );
    assert!(parse_str(&text, "t.toml", &ENV).is_ok());
}

#[test]
fn every_line_removed_from_the_valid_example_is_handled() {
    let text = valid_example();
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, l)| *l)
            .collect();
        check(&without.join("\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn edits_of_the_valid_example_never_panic(
        at in any::<prop::sample::Index>(),
        cut in 0usize..40,
        insert in "[\\[\\]{}=\",.#a-z0-9 \n:/_-]{0,12}",
    ) {
        let text = valid_example();
        let boundaries: Vec<usize> =
            (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let start = boundaries[at.index(boundaries.len())];
        let end = boundaries
            .iter()
            .copied()
            .find(|&b| b >= start + cut)
            .unwrap_or(text.len());
        let edited = format!("{}{insert}{}", &text[..start], &text[end..]);
        check(&edited);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn arbitrary_values_for_known_keys_never_panic(
        key in prop::sample::select(vec![
            "mtu", "addresses", "queues", "core", "xdp-mode", "bind-mode", "name",
        ]),
        value in prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            "\"[^\"\\\\\n]{0,20}\"",
            Just("[]".to_owned()),
            Just("{}".to_owned()),
            Just("1.5".to_owned()),
            Just("true".to_owned()),
            Just("1979-05-27".to_owned()),
            Just("0xffffffffffffffff".to_owned()),
            Just("[\"::/0\", \"0.0.0.0/0\", \"255.255.255.255/32\"]".to_owned()),
        ],
    ) {
        let text = format!("[[port]]\nname = \"eth0\"\n{key} = {value}\n");
        check(&text);
    }
}
