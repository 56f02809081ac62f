//! Best-path selection among a prefix's candidates.
//!
//! Candidates are kept in preference order ([`Candidate::preference`]). The
//! winner is the first one that is usable (a forwarding candidate is usable
//! when at least one of its next hops resolves); the candidates after it
//! that tie with it (same source, distance and metric, both forwarding) and
//! are usable join it as ECMP paths. Falling back to a worse candidate when
//! a better one cannot be resolved is what makes a floating static route
//! take over when its preferred gateway disappears.

use std::fmt;

use super::candidate::Candidate;
use super::resolve::Unresolved;

/// The rule that decided between two candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectionRule {
    /// No other usable candidate competed (every other one, if any, was
    /// merged into the same ECMP set).
    OnlyCandidate,
    /// Lower administrative distance.
    Distance,
    /// Equal distance, lower metric.
    Metric,
    /// Equal distance and metric from two sources: the source with the
    /// lower default distance wins.
    SourcePreference,
    /// Equal in everything but cannot be merged (not both forwarding):
    /// the lower instance wins.
    Instance,
    /// Preferred candidates exist but none of their next hops resolves.
    BetterUnresolved,
}

impl fmt::Display for SelectionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelectionRule::OnlyCandidate => "only candidate",
            SelectionRule::Distance => "lower distance",
            SelectionRule::Metric => "lower metric",
            SelectionRule::SourcePreference => "source preference",
            SelectionRule::Instance => "lower instance",
            SelectionRule::BetterUnresolved => "preferred candidates unresolved",
        })
    }
}

/// Where a candidate stands after selection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateStatus {
    /// Installed (alone or as one of the ECMP set).
    Selected,
    /// Beaten by the selected candidate on this rule.
    Lost(SelectionRule),
    /// Not usable: none of its next hops resolves.
    Unresolved(Unresolved),
    /// Changed since the last commit; not evaluated yet.
    Pending,
}

/// The outcome of selection: the winner's index, every selected index
/// (winner first), each candidate's status and why the winner won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    pub winner: Option<usize>,
    pub selected: Vec<usize>,
    pub statuses: Vec<CandidateStatus>,
    pub decided_by: Option<SelectionRule>,
}

/// Selects among `candidates` (in preference order). `usable` is asked
/// only about the candidates that could still be selected, in order, so
/// candidates behind the winner are never resolved.
pub(crate) fn select(
    candidates: &[Candidate],
    mut usable: impl FnMut(usize, &Candidate) -> Result<(), Unresolved>,
) -> Choice {
    let mut statuses = vec![CandidateStatus::Pending; candidates.len()];
    let mut winner: Option<usize> = None;
    let mut selected = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        let contender = match winner.and_then(|w| candidates.get(w)) {
            None => true,
            Some(best) => best.ties_with(candidate),
        };
        statuses[index] = if contender {
            match usable(index, candidate) {
                Ok(()) => {
                    winner.get_or_insert(index);
                    selected.push(index);
                    CandidateStatus::Selected
                }
                Err(why) => CandidateStatus::Unresolved(why),
            }
        } else {
            let best = winner.and_then(|w| candidates.get(w)).unwrap_or(candidate);
            CandidateStatus::Lost(deciding_rule(best, candidate))
        };
    }
    let decided_by = winner.and_then(|w| {
        let best = candidates.get(w)?;
        let better_unresolved = candidates[..w].iter().any(|c| !best.ties_with(c));
        if better_unresolved {
            return Some(SelectionRule::BetterUnresolved);
        }
        let rule = statuses.iter().find_map(|s| match s {
            CandidateStatus::Lost(rule) => Some(*rule),
            _ => None,
        });
        Some(rule.unwrap_or(SelectionRule::OnlyCandidate))
    });
    Choice {
        winner,
        selected,
        statuses,
        decided_by,
    }
}

/// The first rule on which `winner` beats `loser`.
fn deciding_rule(winner: &Candidate, loser: &Candidate) -> SelectionRule {
    if winner.distance != loser.distance {
        SelectionRule::Distance
    } else if winner.metric != loser.metric {
        SelectionRule::Metric
    } else if winner.source != loser.source {
        SelectionRule::SourcePreference
    } else {
        SelectionRule::Instance
    }
}
