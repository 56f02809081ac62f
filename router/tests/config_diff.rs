//! The configuration diff: golden files and properties.
//!
//! Golden: each `tests/config_diff/<case>.toml` is compared with
//! `base.toml` (running → candidate); the human rendering, the units
//! touched and the summary are compared byte for byte with
//! `<case>.diff`. After a deliberate change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p router --test config_diff` and review
//! the diff.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use router::config::{ChangeKind, Config, ConfigDiff, ConfigUnit, ValidationEnv, parse_str};

const ENV: ValidationEnv = ValidationEnv { cpu_count: 4 };

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config_diff")
}

fn load(name: &str) -> Config {
    let path = golden_dir().join(format!("{name}.toml"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_str(&text, name, &ENV).unwrap_or_else(|e| panic!("{e}"))
}

fn report(diff: &ConfigDiff) -> String {
    let units: Vec<String> = diff.units().iter().map(ToString::to_string).collect();
    let units = if units.is_empty() {
        "(none)".to_owned()
    } else {
        units.join(", ")
    };
    format!("{diff}\nunits: {units}\nsummary: {}\n", diff.summary())
}

fn check(name: &str) {
    let diff = ConfigDiff::new(&load("base"), &load(name));
    let actual = report(&diff);
    let expected_path = golden_dir().join(format!("{name}.diff"));
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        fs::write(&expected_path, &actual).unwrap();
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
        "{name}: differs from {}\n--- expected\n{expected}--- actual\n{actual}---",
        expected_path.display()
    );
    // The reverse diff touches the same units, additions and removals
    // swapped.
    let back = ConfigDiff::new(&load(name), &load("base"));
    assert_eq!(back.units(), diff.units(), "{name}");
    assert_eq!(
        back.count(ChangeKind::Added),
        diff.count(ChangeKind::Removed),
        "{name}"
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
    unchanged_but_reformatted,
    static_route_added,
    static_route_removed,
    port_mtu_changed,
    port_added,
    ports_reordered,
    next_hops_changed,
    blackhole_now_forwards,
    floating_static_added,
    global_sections_changed,
    addresses_and_router_id,
);

#[test]
fn every_case_file_has_a_test() {
    let mut cases: Vec<String> = fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".toml").map(str::to_owned)
        })
        .filter(|n| n != "base")
        .collect();
    cases.sort();
    let mut listed: Vec<&str> = GOLDEN.to_vec();
    listed.sort_unstable();
    assert_eq!(cases, listed);
}

#[test]
fn the_json_form_names_kinds_paths_and_units() {
    let diff = ConfigDiff::new(&load("base"), &load("static_route_added"));
    let json = serde_json::to_value(&diff).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "changes": [{
                "kind": "added",
                "path": "static-route[10.9.0.0/16]",
                "old": null,
                "new": "{ prefix = \"10.9.0.0/16\", distance = 1, target = { next-hops = [{ via = \"10.0.0.9\", interface = \"eth0\", weight = 1, tier = 0 }] } }"
            }],
            "units": [{"section": "static-route", "id": "10.9.0.0/16"}]
        })
    );
    let back: ConfigDiff = serde_json::from_value(json).unwrap();
    assert_eq!(back, diff);
}

/// One generated static route: (pool index, distance, target).
type RouteChoice = (usize, u8, u8);

const PREFIXES: [&str; 5] = [
    "0.0.0.0/0",
    "10.9.0.0/16",
    "172.16.0.0/12",
    "2001:db8:99::/48",
    "203.0.113.0/24",
];

fn config_text(routes: &[RouteChoice], jumbo: bool, burst: u32) -> String {
    let mut text = format!(
        "[[port]]\nname = \"p1\"\naddresses = [\"10.1.0.1/24\", \"2001:db8:1::1/64\"]\n\n\
         [[port]]\nname = \"p2\"\naddresses = [\"10.2.0.1/24\"]\nmtu = {}\n\n\
         [icmp]\nburst = {burst}\n",
        if jumbo { 9000 } else { 1500 }
    );
    // Pool order, one route per (prefix, distance): as validation wants.
    let mut seen = BTreeSet::new();
    let mut sorted: Vec<RouteChoice> = routes.to_vec();
    sorted.sort_by_key(|r| (r.0, r.1));
    for (p, distance, target) in sorted {
        let prefix = PREFIXES[p % PREFIXES.len()];
        if !seen.insert((prefix, distance)) {
            continue;
        }
        text.push_str(&format!(
            "\n[[static-route]]\nprefix = \"{prefix}\"\ndistance = {distance}\n"
        ));
        let v6 = prefix.contains(':');
        let hop = |n: u8| {
            if v6 {
                format!("[[static-route.next-hop]]\nvia = \"2001:db8:1::{n}\"\n")
            } else {
                format!(
                    "[[static-route.next-hop]]\nvia = \"10.{}.0.{n}\"\n",
                    1 + n % 2
                )
            }
        };
        match target % 5 {
            0 => text.push_str("blackhole = true\n"),
            1 => text.push_str("reject = true\n"),
            2 => text.push_str(&hop(2)),
            3 => text.push_str(&hop(3)),
            _ => {
                text.push_str(&hop(2));
                text.push_str(&hop(3));
            }
        }
    }
    text
}

fn arb_config() -> impl Strategy<Value = Config> {
    (
        prop::collection::vec(
            (
                0..PREFIXES.len(),
                prop::sample::select(vec![1u8, 5]),
                0..5u8,
            ),
            0..6,
        ),
        any::<bool>(),
        prop::sample::select(vec![10u32, 100]),
    )
        .prop_map(|(routes, jumbo, burst)| {
            let text = config_text(&routes, jumbo, burst);
            parse_str(&text, "generated", &ENV).unwrap_or_else(|e| panic!("{e}\n{text}"))
        })
}

/// The units a correct diff must report, from the model itself.
fn expected_units(a: &Config, b: &Config) -> BTreeSet<ConfigUnit> {
    let mut units = BTreeSet::new();
    for prefix in a
        .static_routes
        .iter()
        .chain(&b.static_routes)
        .map(|r| r.prefix)
    {
        let of = |c: &Config| -> Vec<_> {
            c.static_routes
                .iter()
                .filter(|r| r.prefix == prefix)
                .cloned()
                .collect()
        };
        if of(a) != of(b) {
            units.insert(ConfigUnit::element("static-route", &prefix.to_string()));
        }
    }
    for (pa, pb) in a.ports.iter().zip(&b.ports) {
        if pa != pb {
            units.insert(ConfigUnit::element("port", &pa.name));
        }
    }
    if a.icmp != b.icmp {
        units.insert(ConfigUnit::section("icmp"));
    }
    units
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_diff_is_empty_exactly_when_the_configs_are_equal(a in arb_config(), b in arb_config()) {
        let diff = ConfigDiff::new(&a, &b);
        prop_assert_eq!(diff.is_empty(), a == b, "{}", diff);
        prop_assert!(ConfigDiff::new(&a, &a).is_empty());
    }

    #[test]
    fn the_units_are_exactly_what_changed(a in arb_config(), b in arb_config()) {
        let diff = ConfigDiff::new(&a, &b);
        prop_assert_eq!(diff.units(), &expected_units(&a, &b), "{}", diff);
        let back = ConfigDiff::new(&b, &a);
        prop_assert_eq!(back.units(), diff.units());
        prop_assert_eq!(back.count(ChangeKind::Added), diff.count(ChangeKind::Removed));
        prop_assert_eq!(back.count(ChangeKind::Changed), diff.count(ChangeKind::Changed));
    }
}
