//! Configuration transactions end to end on real files, with a fake
//! applier and a fake clock: atomicity, confirmed commits and their
//! timeout, rollback, restarts, history.

mod commit_support;

use std::fs;
use std::time::Duration;

use commit_support::{BASE, ENV, FakeApplier, FakeState, TempDir, at, start, with_routes};
use router::config::{
    CommitError, CommitKind, CommitManager, CommitOrigin, CommitStatus, ConfigStore, ConfigUnit,
    HistoryEntry, parse_str,
};

fn history(manager: &CommitManager) -> Vec<(u64, CommitOrigin, CommitStatus)> {
    manager
        .history()
        .iter()
        .map(|e| (e.id, e.origin, e.status))
        .collect()
}

/// Everything a failed transaction must leave alone.
#[derive(Debug, PartialEq)]
struct Snapshot {
    running_text: String,
    file: String,
    history: Vec<HistoryEntry>,
    state: FakeState,
    pending_marker: bool,
}

fn snapshot(dir: &TempDir, manager: &CommitManager, applier: &FakeApplier) -> Snapshot {
    Snapshot {
        running_text: manager.running_text().to_owned(),
        file: fs::read_to_string(dir.config_file()).unwrap(),
        history: manager.history(),
        state: applier.state.clone(),
        pending_marker: dir.state_dir().join("pending-confirm.json").exists(),
    }
}

#[test]
fn the_first_start_records_the_file() {
    let dir = TempDir::new("commit");
    let m = start(&dir, BASE, at(0));
    assert_eq!(
        history(&m),
        [(1, CommitOrigin::Startup, CommitStatus::Confirmed)]
    );
    assert_eq!(m.running_id(), Some(1));
    assert!(m.history()[0].summary.starts_with("first start with"));
    assert_eq!(m.history()[0].time, 1_700_000_000);
    assert_eq!(m.history()[0].bytes, BASE.len());
}

#[test]
fn a_commit_applies_only_what_changed_then_saves_the_file_and_history() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let candidate = with_routes(&["10.9.0.0/16"]);
    let out = m
        .commit(
            &candidate,
            "new.toml",
            None,
            Some("add 10.9/16"),
            at(5),
            &mut applier,
        )
        .unwrap();
    assert_eq!(out.kind, CommitKind::Committed);
    assert_eq!(out.id, Some(2));
    assert_eq!(
        out.report.restarted,
        [ConfigUnit::element("static-route", "10.9.0.0/16")]
    );
    assert_eq!(out.diff.to_string().lines().count(), 1, "{}", out.diff);
    assert_eq!(applier.state, FakeState::of(m.running()));
    assert_eq!(m.running_text(), candidate);
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), candidate);
    let latest = &m.history()[0];
    assert_eq!(latest.comment.as_deref(), Some("add 10.9/16"));
    assert_eq!(latest.summary, "1 added: static-route[10.9.0.0/16]");
    assert_eq!(
        m.store().text(2).unwrap(),
        candidate,
        "the history keeps the text as committed"
    );
}

#[test]
fn a_commit_that_fails_half_way_leaves_everything_as_before() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, &with_routes(&["10.5.0.0/16"]), at(0));
    let mut applier = FakeApplier::new(m.running());
    // Three units change; the third in order fails after two were done.
    applier.fail_on = Some(ConfigUnit::element("static-route", "10.9.0.0/16"));
    let before = snapshot(&dir, &m, &applier);
    let candidate = with_routes(&["10.6.0.0/16", "10.7.0.0/16", "10.9.0.0/16"]);
    let e = m
        .commit(&candidate, "new.toml", None, None, at(5), &mut applier)
        .unwrap_err();
    assert_eq!(
        applier.undone, 3,
        "the failure struck after other units changed"
    );
    let CommitError::Apply(apply) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        apply.unit,
        Some(ConfigUnit::element("static-route", "10.9.0.0/16"))
    );
    assert!(
        e.to_string().contains("running configuration is unchanged"),
        "{e}"
    );
    assert_eq!(snapshot(&dir, &m, &applier), before);
    // The same with a confirm window: no marker, no pending commit.
    let e = m
        .commit(
            &candidate,
            "new.toml",
            Some(Duration::from_secs(60)),
            None,
            at(6),
            &mut applier,
        )
        .unwrap_err();
    assert!(matches!(e, CommitError::Apply(_)));
    assert_eq!(snapshot(&dir, &m, &applier), before);
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn an_invalid_candidate_is_refused_with_every_error_and_not_applied() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let before = snapshot(&dir, &m, &applier);
    let bad = "[[port]]\nname = \"p1\"\nmtu = 20\n\n[[port]]\nname = \"p1\"\n";
    let e = m
        .commit(bad, "bad.toml", None, None, at(1), &mut applier)
        .unwrap_err();
    let CommitError::Invalid(errors) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(errors.origin(), "bad.toml");
    let lines: Vec<usize> = errors.errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 6]);
    assert_eq!(applier.calls, 0);
    assert_eq!(snapshot(&dir, &m, &applier), before);
}

#[test]
fn a_commit_without_changes_is_a_no_op() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let before = snapshot(&dir, &m, &applier);
    // Comments and layout are not configuration.
    let same = format!("# a comment\n{BASE}\n\n");
    let out = m
        .commit(&same, "same.toml", None, None, at(1), &mut applier)
        .unwrap();
    assert_eq!(out.kind, CommitKind::NoChanges);
    assert!(out.diff.is_empty());
    assert_eq!(applier.calls, 0);
    assert_eq!(snapshot(&dir, &m, &applier), before);
}

#[test]
fn a_confirmed_commit_rolls_back_by_itself_when_not_confirmed() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let candidate = with_routes(&["10.9.0.0/16"]);
    let out = m
        .commit(
            &candidate,
            "c.toml",
            Some(Duration::from_secs(60)),
            None,
            at(10),
            &mut applier,
        )
        .unwrap();
    let pending = out.pending.unwrap();
    assert_eq!(pending.commits, [2]);
    assert_eq!(pending.rollback_to, Some(1));
    assert_eq!(m.next_deadline(), Some(Duration::from_secs(70)));
    // It runs, but the file keeps the confirmed configuration.
    assert_eq!(m.running_text(), candidate);
    assert!(applier.state.routes.contains_key("10.9.0.0/16"));
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), BASE);
    assert!(dir.state_dir().join("pending-confirm.json").exists());

    assert_eq!(m.poll(at(69), &mut applier), None);
    let rollback = m.poll(at(70), &mut applier).expect("the window ran out");
    assert_eq!(rollback.rolled_back, [2]);
    assert_eq!(rollback.restored, Some(1));
    assert_eq!(rollback.id, Some(3));
    assert!(rollback.result.is_ok());
    assert_eq!(rollback.store_error, None);
    assert_eq!(m.running_text(), BASE);
    assert_eq!(applier.state, FakeState::of(m.running()));
    assert!(!applier.state.routes.contains_key("10.9.0.0/16"));
    assert_eq!(m.next_deadline(), None);
    assert_eq!(m.poll(at(1000), &mut applier), None);
    assert!(!dir.state_dir().join("pending-confirm.json").exists());
    assert_eq!(
        history(&m),
        [
            (3, CommitOrigin::ConfirmTimeout, CommitStatus::Confirmed),
            (2, CommitOrigin::Commit, CommitStatus::RolledBack),
            (1, CommitOrigin::Startup, CommitStatus::Confirmed),
        ]
    );
}

#[test]
fn a_confirmed_commit_stays_once_confirmed() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    assert_eq!(m.confirm(at(1)), Err(CommitError::NothingToConfirm));
    let candidate = with_routes(&["10.9.0.0/16"]);
    m.commit(
        &candidate,
        "c.toml",
        Some(Duration::from_secs(60)),
        None,
        at(10),
        &mut applier,
    )
    .unwrap();
    let confirmed = m.confirm(at(30)).unwrap();
    assert_eq!(confirmed.confirmed, [2]);
    assert_eq!(m.poll(at(1000), &mut applier), None);
    assert_eq!(m.running_text(), candidate);
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), candidate);
    assert!(!dir.state_dir().join("pending-confirm.json").exists());
    assert_eq!(
        history(&m)[0],
        (2, CommitOrigin::Commit, CommitStatus::Confirmed)
    );
    assert_eq!(m.confirm(at(31)), Err(CommitError::NothingToConfirm));
}

#[test]
fn a_second_confirmed_commit_restarts_the_timer_and_keeps_the_rollback_target() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let minute = Some(Duration::from_secs(60));
    m.commit(
        &with_routes(&["10.8.0.0/16"]),
        "a",
        minute,
        None,
        at(0),
        &mut applier,
    )
    .unwrap();
    let out = m
        .commit(
            &with_routes(&["10.8.0.0/16", "10.9.0.0/16"]),
            "b",
            minute,
            None,
            at(50),
            &mut applier,
        )
        .unwrap();
    let pending = out.pending.unwrap();
    assert_eq!(pending.commits, [2, 3]);
    assert_eq!(pending.rollback_to, Some(1));
    assert_eq!(m.poll(at(60), &mut applier), None, "the timer restarted");
    let rollback = m.poll(at(110), &mut applier).unwrap();
    assert_eq!(rollback.rolled_back, [2, 3]);
    assert_eq!(m.running_text(), BASE, "back to before the first one");
    assert_eq!(applier.state, FakeState::of(m.running()));
}

#[test]
fn inside_the_window_a_plain_commit_confirms_and_an_unchanged_one_too() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let minute = Some(Duration::from_secs(60));
    let a = with_routes(&["10.8.0.0/16"]);
    m.commit(&a, "a", minute, None, at(0), &mut applier)
        .unwrap();
    let b = with_routes(&["10.8.0.0/16", "10.9.0.0/16"]);
    let out = m.commit(&b, "b", None, None, at(10), &mut applier).unwrap();
    assert_eq!(out.confirmed, [2]);
    assert_eq!(out.pending, None);
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), b);
    assert_eq!(m.poll(at(1000), &mut applier), None);

    // The same text again while a window is open: that is `confirm`.
    m.commit(&a, "a", minute, None, at(2000), &mut applier)
        .unwrap();
    let out = m
        .commit(&a, "a", None, None, at(2010), &mut applier)
        .unwrap();
    assert_eq!(out.kind, CommitKind::Confirmed);
    assert_eq!(out.confirmed, [4]);
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), a);
    // With --confirm: the window restarts.
    m.commit(&b, "b", minute, None, at(3000), &mut applier)
        .unwrap();
    let out = m
        .commit(&b, "b", minute, None, at(3050), &mut applier)
        .unwrap();
    assert_eq!(out.kind, CommitKind::ConfirmExtended);
    assert_eq!(m.next_deadline(), Some(Duration::from_secs(3110)));
}

#[test]
fn confirm_windows_out_of_range_are_refused() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let text = with_routes(&["10.9.0.0/16"]);
    for secs in [0, 24 * 3600 + 1] {
        let e = m
            .commit(
                &text,
                "c",
                Some(Duration::from_secs(secs)),
                None,
                at(1),
                &mut applier,
            )
            .unwrap_err();
        assert_eq!(e, CommitError::BadConfirm(Duration::from_secs(secs)));
    }
    assert_eq!(applier.calls, 0);
}

#[test]
fn rollback_n_goes_back_n_configurations_and_refuses_beyond_the_history() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let one = with_routes(&["10.1.1.0/24"]);
    let two = with_routes(&["10.1.1.0/24", "10.2.2.0/24"]);
    m.commit(&one, "1", None, None, at(1), &mut applier)
        .unwrap();
    m.commit(&two, "2", None, None, at(2), &mut applier)
        .unwrap();

    let e = m.rollback(3, None, at(3), &mut applier).unwrap_err();
    assert_eq!(
        e,
        CommitError::NoSuchCommit {
            steps: 3,
            available: 3
        }
    );
    assert!(e.to_string().contains("rollback 0 to 2"), "{e}");

    let out = m.rollback(0, None, at(3), &mut applier).unwrap();
    assert_eq!(out.kind, CommitKind::NoChanges);

    let out = m.rollback(1, None, at(4), &mut applier).unwrap();
    assert_eq!(out.kind, CommitKind::Committed);
    assert_eq!(m.running_text(), one);
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), one);
    assert_eq!(applier.state, FakeState::of(m.running()));
    let latest = &m.history()[0];
    assert_eq!(latest.origin, CommitOrigin::Rollback);
    assert_eq!(latest.comment.as_deref(), Some("rollback 1 to commit 2"));
    // The rollback is a commit of its own: rollback 1 now undoes it.
    m.rollback(1, None, at(5), &mut applier).unwrap();
    assert_eq!(m.running_text(), two);
    m.rollback(4, Some("from scratch"), at(6), &mut applier)
        .unwrap();
    assert_eq!(m.running_text(), BASE);
    assert_eq!(m.history()[0].comment.as_deref(), Some("from scratch"));
}

#[test]
fn a_rollback_inside_the_window_closes_it() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    m.commit(
        &with_routes(&["10.9.0.0/16"]),
        "c",
        Some(Duration::from_secs(60)),
        None,
        at(0),
        &mut applier,
    )
    .unwrap();
    m.rollback(1, None, at(10), &mut applier).unwrap();
    assert_eq!(m.running_text(), BASE);
    assert_eq!(m.next_deadline(), None);
    assert!(!dir.state_dir().join("pending-confirm.json").exists());
    assert_eq!(
        history(&m),
        [
            (3, CommitOrigin::Rollback, CommitStatus::Confirmed),
            (2, CommitOrigin::Commit, CommitStatus::RolledBack),
            (1, CommitOrigin::Startup, CommitStatus::Confirmed),
        ]
    );
}

#[test]
fn a_restart_comes_back_with_the_last_confirmed_configuration() {
    let dir = TempDir::new("commit");
    let text = with_routes(&["10.9.0.0/16"]);
    {
        let mut m = start(&dir, BASE, at(0));
        let mut applier = FakeApplier::new(m.running());
        m.commit(&text, "c", None, None, at(1), &mut applier)
            .unwrap();
    }
    let store = ConfigStore::open(dir.config_file(), dir.state_dir()).unwrap();
    let (m, report) = CommitManager::start(store, ENV, at(100)).unwrap();
    assert_eq!(m.running_text(), text);
    assert_eq!(**m.running(), parse_str(&text, "t", &ENV).unwrap());
    assert_eq!(report.recorded, None, "nothing new to record");
    assert_eq!(report.interrupted, Vec::<u64>::new());
    assert_eq!(m.running_id(), Some(2));
    assert_eq!(m.history().len(), 2);
}

#[test]
fn a_restart_inside_the_confirm_window_runs_the_previous_configuration() {
    let dir = TempDir::new("commit");
    {
        let mut m = start(&dir, BASE, at(0));
        let mut applier = FakeApplier::new(m.running());
        m.commit(
            &with_routes(&["10.9.0.0/16"]),
            "c",
            Some(Duration::from_secs(600)),
            None,
            at(1),
            &mut applier,
        )
        .unwrap();
        // The daemon dies here, unconfirmed.
    }
    let store = ConfigStore::open(dir.config_file(), dir.state_dir()).unwrap();
    let (m, report) = CommitManager::start(store, ENV, at(2)).unwrap();
    assert_eq!(m.running_text(), BASE);
    assert_eq!(report.interrupted, [2]);
    assert!(!report.file_restored, "the file was never rewritten");
    assert_eq!(report.recorded, Some(3));
    assert_eq!(m.next_deadline(), None);
    assert_eq!(
        history(&m),
        [
            (3, CommitOrigin::Startup, CommitStatus::Confirmed),
            (2, CommitOrigin::Commit, CommitStatus::RolledBack),
            (1, CommitOrigin::Startup, CommitStatus::Confirmed),
        ]
    );
    assert!(
        m.history()[0]
            .summary
            .contains("stopped before commit 2 was confirmed")
    );
}

#[test]
fn a_restart_inside_the_window_undoes_an_in_place_edit_of_the_file() {
    let dir = TempDir::new("commit");
    let candidate = with_routes(&["10.9.0.0/16"]);
    {
        let mut m = start(&dir, BASE, at(0));
        let mut applier = FakeApplier::new(m.running());
        // The operator edits the daemon's own file, then commits it.
        fs::write(dir.config_file(), &candidate).unwrap();
        m.commit(
            &candidate,
            "c",
            Some(Duration::from_secs(600)),
            None,
            at(1),
            &mut applier,
        )
        .unwrap();
    }
    let store = ConfigStore::open(dir.config_file(), dir.state_dir()).unwrap();
    let (m, report) = CommitManager::start(store, ENV, at(2)).unwrap();
    assert!(report.file_restored);
    assert_eq!(m.running_text(), BASE);
    assert_eq!(fs::read_to_string(dir.config_file()).unwrap(), BASE);
}

#[test]
fn a_file_edited_by_hand_is_recorded_at_start_with_what_changed() {
    let dir = TempDir::new("commit");
    drop(start(&dir, BASE, at(0)));
    fs::write(dir.config_file(), with_routes(&["10.9.0.0/16"])).unwrap();
    let store = ConfigStore::open(dir.config_file(), dir.state_dir()).unwrap();
    let (m, report) = CommitManager::start(store, ENV, at(5)).unwrap();
    assert_eq!(report.recorded, Some(2));
    assert!(
        m.history()[0]
            .summary
            .ends_with("differs from the last commit: 1 added: static-route[10.9.0.0/16]"),
        "{}",
        m.history()[0].summary
    );
}

#[test]
fn a_commit_that_cannot_be_saved_is_undone() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let before = snapshot(&dir, &m, &applier);
    // A directory where the index file should be: its replacement fails
    // even for root.
    let index = dir.state_dir().join("history/index.jsonl");
    let saved = fs::read(&index).unwrap();
    fs::remove_file(&index).unwrap();
    fs::create_dir(&index).unwrap();
    fs::write(index.join("x"), "keeps the directory non-empty").unwrap();
    let e = m
        .commit(
            &with_routes(&["10.9.0.0/16"]),
            "c",
            None,
            None,
            at(1),
            &mut applier,
        )
        .unwrap_err();
    assert!(
        matches!(e, CommitError::Store { reverted: true, .. }),
        "{e:?}"
    );
    assert_eq!(applier.calls, 2, "applied, then undone");
    fs::remove_dir_all(&index).unwrap();
    fs::write(&index, saved).unwrap();
    assert_eq!(snapshot(&dir, &m, &applier), before);
    assert!(
        !dir.state_dir().join("history/2.toml").exists(),
        "no text left behind"
    );
}

#[test]
fn a_failed_automatic_rollback_is_retried() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    let candidate = with_routes(&["10.9.0.0/16"]);
    m.commit(
        &candidate,
        "c",
        Some(Duration::from_secs(60)),
        None,
        at(0),
        &mut applier,
    )
    .unwrap();
    applier.fail_calls = 1;
    let first = m.poll(at(60), &mut applier).unwrap();
    assert!(first.result.is_err());
    assert_eq!(first.id, None);
    assert_eq!(m.running_text(), candidate, "still the unconfirmed one");
    assert_eq!(m.next_deadline(), Some(Duration::from_secs(65)));
    assert_eq!(m.poll(at(64), &mut applier), None);
    let second = m.poll(at(65), &mut applier).unwrap();
    assert!(second.result.is_ok());
    assert_eq!(m.running_text(), BASE);
}

#[test]
fn the_history_lists_newest_first_with_comments_and_summaries() {
    let dir = TempDir::new("commit");
    let mut m = start(&dir, BASE, at(0));
    let mut applier = FakeApplier::new(m.running());
    m.commit(
        &with_routes(&["10.9.0.0/16"]),
        "c",
        None,
        Some("uplink"),
        at(60),
        &mut applier,
    )
    .unwrap();
    let mtu = BASE.replacen("name = \"p2\"\n", "name = \"p2\"\nmtu = 9000\n", 1);
    m.commit(&mtu, "c", None, None, at(120), &mut applier)
        .unwrap();
    let h = m.history();
    let rows: Vec<(u64, u64, Option<&str>, &str)> = h
        .iter()
        .map(|e| (e.id, e.time, e.comment.as_deref(), e.summary.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                3,
                1_700_000_120,
                None,
                "1 removed, 1 changed: port[p2], static-route[10.9.0.0/16]"
            ),
            (
                2,
                1_700_000_060,
                Some("uplink"),
                "1 added: static-route[10.9.0.0/16]"
            ),
            (1, 1_700_000_000, None, h[2].summary.as_str()),
        ]
    );
    assert_eq!(applier.state.mtus["p2"], 9000);
}
