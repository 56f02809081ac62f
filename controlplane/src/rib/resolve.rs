//! Recursive next-hop resolution and the per-prefix evaluation.
//!
//! A next hop with a port is used as given. A next hop with only a gateway
//! is resolved through the RIB itself: the most specific prefix covering
//! the gateway that has a usable route decides. A connected subnet gives
//! (its port, the gateway); a forwarding route gives its own resolved next
//! hops (an iBGP next hop reached through the IGP); the router's own
//! address or a discard route makes the next hop unusable.
//!
//! Evaluating a prefix is a pure function of the candidates in the table,
//! defined by a depth-first expansion: the prefixes being resolved form a
//! stack, and reaching a prefix already on the stack cuts that branch (a
//! resolution loop, including a route whose gateway lies inside itself, as
//! zebra does). The expansion is limited to `max_depth` nested levels.
//! Because the cut depends on the stack, a value computed nested is reused
//! as a prefix's own value only when it provably is the same (no cut above
//! it, no depth limit hit) — so the answer never depends on the order in
//! which prefixes happen to be evaluated.
//!
//! Within one commit, a gateway resolved for a prefix at the top of the
//! stack is remembered and reused for every other prefix the resolution
//! did not visit, so a million routes through one BGP next hop walk the
//! covering routes once.
//!
//! Every gateway met anywhere in a prefix's expansion is recorded: the
//! prefix's value can only change when the candidates of the prefix itself,
//! or of a prefix containing one of those gateways, change (see
//! [`super::tracking`]).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use dataplane::fib::group::{MAX_MEMBERS, MAX_TIERS};
use hashbrown::{HashMap, HashSet};
use ipnet::IpNet;

use super::candidate::RouteKind;
use super::nexthop_groups::NextHopKey;
use super::selection::{self, CandidateStatus, SelectionRule};
use super::table::Table;
use crate::route::{RouteNextHop, RouteSource};

/// A next hop after resolution, with its weight in its tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResolvedMember {
    pub key: NextHopKey,
    pub weight: u32,
}

/// Resolved next hops by tier (primary first), each tier sorted: the
/// canonical form that identical routes share a next-hop group by.
pub type ResolvedTiers = Vec<Vec<ResolvedMember>>;

/// Why a candidate's next hops do not resolve. When a gateway is covered
/// only by routes that are themselves unusable, the reason given is the
/// innermost one (the root cause), not "no route".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Unresolved {
    /// The route has no next hop, or one with neither port nor gateway.
    NoNextHops,
    /// No route covers the gateway.
    NoRoute { gateway: IpAddr },
    /// Resolving the gateway leads back to a prefix being resolved.
    Loop { gateway: IpAddr, via: IpNet },
    /// Resolution needs more nested levels than allowed.
    TooDeep { gateway: IpAddr },
    /// The gateway is one of the router's own addresses.
    GatewayIsLocal { gateway: IpAddr, via: IpNet },
    /// The gateway is covered by a blackhole or reject route.
    GatewayDiscarded { gateway: IpAddr, via: IpNet },
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::NoNextHops => f.write_str("no next hop with a port or a gateway"),
            Unresolved::NoRoute { gateway } => write!(f, "no route to gateway {gateway}"),
            Unresolved::Loop { gateway, via } => {
                write!(
                    f,
                    "gateway {gateway} resolves through {via}, which loops back"
                )
            }
            Unresolved::TooDeep { gateway } => {
                write!(f, "gateway {gateway} needs too many levels of recursion")
            }
            Unresolved::GatewayIsLocal { gateway, via } => {
                write!(f, "gateway {gateway} is a local address ({via})")
            }
            Unresolved::GatewayDiscarded { gateway, via } => {
                write!(f, "gateway {gateway} is covered by discard route {via}")
            }
        }
    }
}

/// What a prefix's selected route does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No usable candidate.
    NoRoute,
    Local,
    Blackhole,
    Reject,
    Forward(Arc<ResolvedTiers>),
}

/// A prefix's selection and resolution, with what it depended on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evaluation {
    pub outcome: Outcome,
    pub winner_source: Option<RouteSource>,
    pub statuses: Vec<CandidateStatus>,
    pub decided_by: Option<SelectionRule>,
    /// Every gateway resolved in the expansion, sorted, once each.
    pub gateways: Vec<IpAddr>,
    /// Every prefix evaluated in the expansion (not this one), sorted.
    pub visited: Vec<IpNet>,
    /// Nested levels the expansion used.
    pub height: u8,
    /// The lowest stack position a loop cut referred to (`usize::MAX`: none).
    lowest_cut: usize,
    /// Whether the depth limit cut the expansion.
    too_deep: bool,
}

/// What an evaluation in progress has depended on so far.
#[derive(Clone)]
struct Dependencies {
    gateways: Vec<IpAddr>,
    visited: Vec<IpNet>,
    height: u8,
    lowest_cut: usize,
    too_deep: bool,
}

impl Dependencies {
    fn new() -> Self {
        Dependencies {
            gateways: Vec::new(),
            visited: Vec::new(),
            height: 0,
            lowest_cut: usize::MAX,
            too_deep: false,
        }
    }

    fn absorb(&mut self, other: &Dependencies) {
        self.gateways.extend_from_slice(&other.gateways);
        self.visited.extend_from_slice(&other.visited);
        self.height = self.height.max(other.height);
        self.lowest_cut = self.lowest_cut.min(other.lowest_cut);
        self.too_deep |= other.too_deep;
    }

    fn sort(&mut self) {
        self.gateways.sort_unstable();
        self.gateways.dedup();
        self.visited.sort_unstable();
        self.visited.dedup();
    }
}

/// A gateway resolved for a prefix at the top of the stack, with what the
/// resolution depended on.
struct GatewayResolution {
    result: Result<Arc<ResolvedTiers>, Unresolved>,
    deps: Dependencies,
}

/// What one commit's evaluations share: the values of prefixes waiting
/// for their own turn that were computed (context-free) while resolving
/// others, and one copy of each distinct resolved next-hop set, so a
/// million routes through one gateway hold one set, not a million.
#[derive(Default)]
pub(crate) struct Batch {
    evaluations: HashMap<IpNet, Arc<Evaluation>>,
    interned: HashSet<Arc<ResolvedTiers>>,
    /// Gateways as resolved for a prefix being evaluated, valid for every
    /// other prefix the resolution did not visit: a million routes through
    /// one BGP next hop resolve it once per commit.
    gateways: HashMap<IpAddr, GatewayResolution>,
}

/// Evaluates prefixes against a table in which the entries marked dirty
/// have no valid stored evaluation.
pub(crate) struct Resolver<'a> {
    table: &'a Table,
    batch: &'a mut Batch,
    max_paths: usize,
    max_depth: usize,
}

impl<'a> Resolver<'a> {
    pub fn new(table: &'a Table, batch: &'a mut Batch, max_paths: usize, max_depth: u8) -> Self {
        Resolver {
            table,
            batch,
            max_paths: max_paths.max(1),
            max_depth: usize::from(max_depth),
        }
    }

    /// The prefix's own value (evaluated at the top of the stack).
    pub fn evaluate(&mut self, prefix: IpNet) -> Arc<Evaluation> {
        if let Some(done) = self.batch.evaluations.remove(&prefix) {
            return done;
        }
        Arc::new(self.evaluate_at(prefix, &mut Vec::new()))
    }

    fn stored(&self, prefix: &IpNet) -> Option<&Arc<Evaluation>> {
        let entry = self.table.entry(prefix)?;
        if entry.dirty {
            self.batch.evaluations.get(prefix)
        } else {
            entry.evaluation.as_ref()
        }
    }

    fn intern(&mut self, tiers: ResolvedTiers) -> Arc<ResolvedTiers> {
        if let Some(shared) = self.batch.interned.get(&tiers) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(tiers);
        self.batch.interned.insert(Arc::clone(&shared));
        shared
    }

    fn evaluate_at(&mut self, prefix: IpNet, stack: &mut Vec<IpNet>) -> Evaluation {
        let table = self.table;
        let candidates = table.candidates(&prefix);
        stack.push(prefix);
        let mut deps = Dependencies::new();
        let mut resolved: Vec<Vec<(u8, usize, ResolvedMember)>> =
            vec![Vec::new(); candidates.len()];
        let choice = selection::select(candidates, |index, candidate| match &candidate.kind {
            RouteKind::Forward(next_hops) => {
                let members = self.resolve_next_hops(next_hops, stack, &mut deps)?;
                if let Some(slot) = resolved.get_mut(index) {
                    *slot = members;
                }
                Ok(())
            }
            _ => Ok(()),
        });
        stack.pop();

        let winner = choice.winner.and_then(|w| candidates.get(w));
        let outcome = match winner.map(|c| &c.kind) {
            None => Outcome::NoRoute,
            Some(RouteKind::Local) => Outcome::Local,
            Some(RouteKind::Blackhole) => Outcome::Blackhole,
            Some(RouteKind::Reject) => Outcome::Reject,
            Some(RouteKind::Forward(_)) => {
                let members = choice
                    .selected
                    .iter()
                    .filter_map(|&i| resolved.get(i))
                    .flatten()
                    .copied();
                let tiers = canonical_tiers(members, self.max_paths);
                Outcome::Forward(self.intern(tiers))
            }
        };
        deps.sort();
        Evaluation {
            outcome,
            winner_source: winner.map(|c| c.source),
            statuses: choice.statuses,
            decided_by: choice.decided_by,
            gateways: deps.gateways,
            visited: deps.visited,
            height: deps.height,
            lowest_cut: deps.lowest_cut,
            too_deep: deps.too_deep,
        }
    }

    /// Resolves one candidate's next hops into (tier, nested tier index,
    /// member) triples; an error when none resolves.
    fn resolve_next_hops(
        &mut self,
        next_hops: &[RouteNextHop],
        stack: &mut Vec<IpNet>,
        deps: &mut Dependencies,
    ) -> Result<Vec<(u8, usize, ResolvedMember)>, Unresolved> {
        let mut members = Vec::with_capacity(next_hops.len());
        let mut first_error = None;
        for hop in next_hops {
            let weight = hop.weight.max(1);
            match (hop.port, hop.gateway) {
                (Some(port), gateway) => members.push((
                    hop.tier,
                    0,
                    ResolvedMember {
                        key: NextHopKey { port, gateway },
                        weight,
                    },
                )),
                (None, Some(gateway)) => {
                    match self.resolve_gateway(gateway, stack, deps) {
                        // Each inner tier stays behind the previous one within
                        // this next hop's tier: (outer tier, inner tier) order.
                        Ok(tiers) => {
                            for (inner, tier) in tiers.iter().enumerate() {
                                members.extend(tier.iter().map(|m| {
                                    (hop.tier, inner, ResolvedMember { key: m.key, weight })
                                }));
                            }
                        }
                        Err(why) => {
                            first_error.get_or_insert(why);
                        }
                    }
                }
                (None, None) => {
                    first_error.get_or_insert(Unresolved::NoNextHops);
                }
            }
        }
        if members.is_empty() {
            return Err(first_error.unwrap_or(Unresolved::NoNextHops));
        }
        Ok(members)
    }

    /// The next hops that reach `gateway`, from the batch's resolutions
    /// when one is valid here.
    fn resolve_gateway(
        &mut self,
        gateway: IpAddr,
        stack: &mut Vec<IpNet>,
        deps: &mut Dependencies,
    ) -> Result<Arc<ResolvedTiers>, Unresolved> {
        let top = match stack.as_slice() {
            [prefix] => Some(*prefix),
            _ => None,
        };
        if let Some(prefix) = top
            && let Some(known) = self.batch.gateways.get(&gateway)
            && known.deps.visited.binary_search(&prefix).is_err()
        {
            deps.absorb(&known.deps);
            return known.result.clone();
        }
        let mut local = Dependencies::new();
        let result = self.walk_gateway(gateway, stack, &mut local);
        local.sort();
        deps.absorb(&local);
        // No cut at the prefix being evaluated: any other top-of-stack
        // prefix the walk did not visit would get the same answer.
        if top.is_some() && local.lowest_cut >= 1 {
            self.batch.gateways.insert(
                gateway,
                GatewayResolution {
                    result: result.clone(),
                    deps: local,
                },
            );
        }
        result
    }

    /// Walks the prefixes covering `gateway`, most specific first, until
    /// one has a usable route in this context.
    fn walk_gateway(
        &mut self,
        gateway: IpAddr,
        stack: &mut Vec<IpNet>,
        deps: &mut Dependencies,
    ) -> Result<Arc<ResolvedTiers>, Unresolved> {
        deps.gateways.push(gateway);
        let table = self.table;
        let level = stack.len();
        let mut cause = None;
        for via in table.covering(gateway) {
            if let Some(position) = stack.iter().position(|p| *p == via) {
                deps.lowest_cut = deps.lowest_cut.min(position);
                return Err(Unresolved::Loop { gateway, via });
            }
            if level > self.max_depth {
                deps.too_deep = true;
                return Err(Unresolved::TooDeep { gateway });
            }
            let nested = self.nested(via, stack);
            deps.visited.push(via);
            deps.visited.extend_from_slice(&nested.visited);
            deps.gateways.extend_from_slice(&nested.gateways);
            deps.height = deps.height.max(nested.height.saturating_add(1));
            deps.lowest_cut = deps.lowest_cut.min(nested.lowest_cut);
            deps.too_deep |= nested.too_deep;
            match &nested.outcome {
                // Unusable here: a less specific route may still do, and
                // if none does, the innermost reason is the useful one.
                Outcome::NoRoute => {
                    if cause.is_none() {
                        cause = nested.statuses.iter().find_map(|s| match s {
                            CandidateStatus::Unresolved(why) => Some(why.clone()),
                            _ => None,
                        });
                    }
                    continue;
                }
                Outcome::Local => return Err(Unresolved::GatewayIsLocal { gateway, via }),
                Outcome::Blackhole | Outcome::Reject => {
                    return Err(Unresolved::GatewayDiscarded { gateway, via });
                }
                Outcome::Forward(tiers) => {
                    // An attached subnet's next hop is the gateway itself.
                    if tiers.iter().flatten().all(|m| m.key.gateway.is_some()) {
                        return Ok(Arc::clone(tiers));
                    }
                    return Ok(Arc::new(
                        tiers
                            .iter()
                            .map(|tier| {
                                tier.iter()
                                    .map(|m| ResolvedMember {
                                        key: NextHopKey {
                                            port: m.key.port,
                                            gateway: m.key.gateway.or(Some(gateway)),
                                        },
                                        weight: m.weight,
                                    })
                                    .collect()
                            })
                            .collect(),
                    ));
                }
            }
        }
        Err(cause.unwrap_or(Unresolved::NoRoute { gateway }))
    }

    /// `prefix`'s value at stack position `stack.len()`, reusing its own
    /// value when the context cannot change it. Folds the context-dependent
    /// parts (cuts, depth limit) into `deps` via the returned evaluation.
    fn nested(&mut self, prefix: IpNet, stack: &mut Vec<IpNet>) -> NestedValue {
        let level = stack.len();
        if let Some(own) = self.stored(&prefix) {
            let fits = level + usize::from(own.height) <= self.max_depth;
            let independent = !own.visited.iter().any(|v| stack.contains(v));
            if fits && independent {
                return NestedValue::reused(Arc::clone(own));
            }
            let evaluation = self.evaluate_at(prefix, stack);
            return NestedValue::computed(evaluation);
        }
        let evaluation = Arc::new(self.evaluate_at(prefix, stack));
        let contextual = evaluation.too_deep || evaluation.lowest_cut < level;
        if !contextual {
            self.batch
                .evaluations
                .insert(prefix, Arc::clone(&evaluation));
        }
        NestedValue {
            lowest_cut: evaluation.lowest_cut,
            too_deep: evaluation.too_deep,
            evaluation,
        }
    }
}

/// A nested evaluation and its context-dependent flags, in the caller's
/// stack positions.
struct NestedValue {
    evaluation: Arc<Evaluation>,
    lowest_cut: usize,
    too_deep: bool,
}

impl NestedValue {
    /// A prefix's own value: its cuts refer to its own sub-stack, so they
    /// say nothing about the caller's context.
    fn reused(evaluation: Arc<Evaluation>) -> Self {
        NestedValue {
            evaluation,
            lowest_cut: usize::MAX,
            too_deep: false,
        }
    }

    fn computed(evaluation: Evaluation) -> Self {
        NestedValue {
            lowest_cut: evaluation.lowest_cut,
            too_deep: evaluation.too_deep,
            evaluation: Arc::new(evaluation),
        }
    }
}

impl std::ops::Deref for NestedValue {
    type Target = Evaluation;
    fn deref(&self) -> &Evaluation {
        &self.evaluation
    }
}

/// Groups `(tier, nested tier, member)` triples into dense tiers: a next
/// hop appears once (in its most preferred tier, with its largest weight),
/// each tier keeps its first `max_paths` next hops, sorted.
fn canonical_tiers(
    members: impl Iterator<Item = (u8, usize, ResolvedMember)>,
    max_paths: usize,
) -> ResolvedTiers {
    let mut members = members.peekable();
    let Some(first) = members.next() else {
        return Vec::new();
    };
    // The common case (one next hop) needs no ordering or deduplication.
    if members.peek().is_none() {
        return vec![vec![first.2]];
    }
    let members = std::iter::once(first).chain(members);
    let mut ordered: Vec<(u8, usize, usize, ResolvedMember)> = members
        .enumerate()
        .map(|(seen, (tier, inner, member))| (tier, inner, seen, member))
        .collect();
    ordered.sort_unstable_by_key(|&(tier, inner, seen, _)| (tier, inner, seen));
    let mut placed: HashMap<NextHopKey, (usize, usize)> = HashMap::new();
    let mut tiers: ResolvedTiers = Vec::new();
    let mut current: Option<(u8, usize)> = None;
    // Whether the last tier in `tiers` is the one `current` names (a tier
    // is only opened once it gets a member, so none ends up empty).
    let mut open = false;
    let cap = max_paths.min(MAX_MEMBERS);
    for (tier, inner, _, member) in ordered {
        if current != Some((tier, inner)) {
            current = Some((tier, inner));
            open = false;
        }
        if let Some(&(t, i)) = placed.get(&member.key) {
            // Twice in this tier: keep the larger weight. Already in a
            // preferred tier: nothing to add.
            if open
                && t + 1 == tiers.len()
                && let Some(existing) = tiers.get_mut(t).and_then(|tier| tier.get_mut(i))
            {
                existing.weight = existing.weight.max(member.weight);
            }
            continue;
        }
        if !open {
            if tiers.len() == MAX_TIERS {
                break;
            }
            tiers.push(Vec::new());
            open = true;
        }
        let t = tiers.len() - 1;
        if let Some(last) = tiers.last_mut()
            && last.len() < cap
        {
            placed.insert(member.key, (t, last.len()));
            last.push(member);
        }
    }
    for tier in &mut tiers {
        tier.sort_unstable();
    }
    tiers
}
