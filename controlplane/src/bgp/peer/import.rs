//! The routes a peer sends us: UPDATEs into the Adj-RIB-In and the RIB
//! (RFC 4271 §9, RFC 7606 outcomes, eBGP checks), End-of-RIB, route
//! refresh (RFC 2918, RFC 7313), maximum-prefix (RFC 4486) and the
//! graceful restart helper's stale routes (RFC 4724 §4.2).

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use super::{Env, HoldDown, Payload, Peer};
use crate::bgp::adj_rib_in::{Rejection, RouteIn};
use crate::bgp::config::{DEFAULT_STALE_TIME_S, Family, FirstAsCheck};
use crate::bgp::event::BgpNotification;
use crate::bgp::fsm::{Event, State};
use crate::bgp::negotiation::{LocalSpeaker, Negotiated};
use crate::bgp::packet::{
    Afi, ErrorCode, MpNextHop, MpPrefixes, Notification, RouteRefresh, RouteRefreshSubtype, Safi,
    Update, UpdateErrorAction, UpdateSubcode,
};
use crate::bgp::timer::{SECOND, TimerKind};
use crate::rib::{Candidate, CandidateKey, RouteKind};
use crate::route::{RibUpdate, RouteNextHop, RouteSource};

impl Peer {
    /// RFC 4724 §4.2, the session is back: the Restart Time no longer
    /// runs; stale routes of families the new OPEN does not preserve
    /// forwarding for go now, the rest wait for End-of-RIB (or our bound).
    pub(super) fn resume_after_restart(&mut self, env: &mut Env, session: &Negotiated) {
        if self.graceful_restart_at.take().is_some() {
            env.out
                .cancel_timer(self.timer(TimerKind::GracefulRestart, 0));
        }
        if self.adj_rib_in.stale_count() == 0 {
            return;
        }
        let preserved: Vec<Family> = session
            .graceful_restart
            .iter()
            .flat_map(|gr| gr.families.iter())
            .filter(|f| f.forwarding_preserved)
            .filter_map(|f| Family::from_afi_safi(f.afi, f.safi))
            .collect();
        self.flush_stale(env, |family| !preserved.contains(&family));
        if self.adj_rib_in.stale_count() > 0 {
            let bound = self
                .config
                .capabilities
                .graceful_restart
                .map_or(DEFAULT_STALE_TIME_S, |gr| gr.stale_time);
            let at = env.now.saturating_add(u64::from(bound) * SECOND);
            self.stale_at = Some(at);
            env.out.arm_timer(self.timer(TimerKind::StaleRoutes, 0), at);
        }
    }

    /// RFC 4724 §4.2 on losing the TCP session of a graceful-restart peer:
    /// keep its routes of the families it listed, marked stale, for its
    /// Restart Time. Routes already stale (a restart during a restart) and
    /// those of other families go.
    pub(super) fn retain_routes(&mut self, env: &mut Env, serial: u32) {
        let Some(session) = self.fsm(serial).and_then(|f| f.session.clone()) else {
            self.withdraw_all(env);
            return;
        };
        let families = session.graceful_restart_families();
        self.flush_stale(env, |_| true);
        let others = self
            .adj_rib_in
            .take_family(|family| !families.contains(&family));
        self.withdraw_from_rib(env, others);
        let kept = self.adj_rib_in.mark_stale(&families);
        let restart_time = session
            .graceful_restart
            .as_ref()
            .map_or(0, |gr| gr.restart_time);
        tracing::info!(
            peer = %self.config.address,
            kept,
            restart_time,
            "BGP graceful restart: keeping the peer's routes as stale"
        );
        if kept > 0 && restart_time > 0 {
            let at = env.now.saturating_add(u64::from(restart_time) * SECOND);
            self.graceful_restart_at = Some(at);
            env.out
                .arm_timer(self.timer(TimerKind::GracefulRestart, 0), at);
        } else {
            self.flush_stale(env, |_| true);
        }
    }

    /// Removes stale routes of the families `which` selects; once none is
    /// left, their timers stop.
    pub(super) fn flush_stale(&mut self, env: &mut Env, which: impl Fn(Family) -> bool) {
        let gone = self.adj_rib_in.take_stale(which);
        self.withdraw_from_rib(env, gone);
        if self.adj_rib_in.stale_count() == 0 {
            for (kind, at) in [
                (TimerKind::GracefulRestart, self.graceful_restart_at.take()),
                (TimerKind::StaleRoutes, self.stale_at.take()),
            ] {
                if at.is_some() {
                    env.out.cancel_timer(self.timer(kind, 0));
                }
            }
        }
    }

    /// Every route of this peer leaves the RIB.
    pub(super) fn withdraw_all(&mut self, env: &mut Env) {
        let gone = self.adj_rib_in.take_all();
        self.withdraw_from_rib(env, gone);
        self.over_limit = false;
        self.flush_stale(env, |_| true);
    }

    fn withdraw_from_rib(&self, env: &mut Env, routes: Vec<(IpNet, RouteIn)>) {
        for (prefix, route) in routes {
            if route.is_accepted() {
                env.out.rib(RibUpdate::RemoveCandidate {
                    prefix,
                    key: self.candidate_key(env.local),
                });
            }
        }
    }

    fn source(&self, local: &LocalSpeaker) -> RouteSource {
        if self.is_internal(local) {
            RouteSource::Ibgp
        } else {
            RouteSource::Ebgp
        }
    }

    fn candidate_key(&self, local: &LocalSpeaker) -> CandidateKey {
        CandidateKey {
            source: self.source(local),
            instance: self.index,
        }
    }

    /// The RIB candidate for a route via `next_hop`: one per peer
    /// (instance = peer index), next hop resolved recursively by the RIB.
    fn candidate(&self, local: &LocalSpeaker, next_hop: IpAddr) -> Candidate {
        let source = self.source(local);
        Candidate {
            source,
            instance: self.index,
            distance: source.default_distance(),
            metric: 0,
            kind: RouteKind::Forward(vec![RouteNextHop {
                gateway: Some(next_hop),
                port: None,
                weight: 1,
                tier: 0,
            }]),
        }
    }

    /// Stores one received route and tells the RIB what changed.
    fn learn(&mut self, env: &mut Env, prefix: IpNet, route: RouteIn) {
        let next_hop = route.next_hop;
        let accepted = route.is_accepted();
        let old = self.adj_rib_in.insert(prefix, route);
        let was = old.as_ref().filter(|r| r.is_accepted()).map(|r| r.next_hop);
        match (was, accepted) {
            (Some(old_hop), true) if old_hop == next_hop => {}
            (_, true) => env.out.rib(RibUpdate::SetCandidate {
                prefix,
                candidate: self.candidate(env.local, next_hop),
            }),
            (Some(_), false) => env.out.rib(RibUpdate::RemoveCandidate {
                prefix,
                key: self.candidate_key(env.local),
            }),
            (None, false) => {}
        }
    }

    fn forget(&mut self, env: &mut Env, prefix: IpNet) {
        if let Some(route) = self.adj_rib_in.remove(&prefix) {
            self.withdraw_from_rib(env, vec![(prefix, route)]);
        }
    }

    /// RFC 4271 §9 with RFC 7606 outcomes. Returns the event that ends the
    /// session when the UPDATE calls for it.
    pub(super) fn process_update(
        &mut self,
        env: &mut Env,
        serial: u32,
        update: Update,
        action: Option<UpdateErrorAction>,
    ) -> Option<Event> {
        let fsm = self.fsm(serial)?;
        let session = fsm.session.as_ref()?;
        // Copied out: the session is borrowed from `self`, which learning mutates.
        let (four_octet_as, ibgp, remote_as) =
            (session.four_octet_as, session.ibgp, session.remote_as);
        let negotiated = [
            session.has_family(Family::Ipv4Unicast),
            session.has_family(Family::Ipv6Unicast),
        ];
        let has_family = |family: Family| match family {
            Family::Ipv4Unicast => negotiated[0],
            Family::Ipv6Unicast => negotiated[1],
        };
        let local_addr = fsm.local.map(|a| a.ip());
        match action {
            Some(UpdateErrorAction::TreatAsWithdraw { reason }) => {
                tracing::warn!(
                    peer = %self.config.address,
                    %reason,
                    "UPDATE treated as withdraw (RFC 7606)"
                );
                for prefix in every_prefix(&update) {
                    self.forget(env, prefix);
                }
                return None;
            }
            Some(UpdateErrorAction::AttributeDiscard { discarded }) => {
                for error in discarded {
                    tracing::warn!(
                        peer = %self.config.address,
                        %error,
                        "UPDATE attribute discarded (RFC 7606)"
                    );
                }
            }
            Some(UpdateErrorAction::SessionReset(notification)) => {
                return Some(Event::UpdateMsgErr(notification));
            }
            None => {}
        }
        if let Some((afi, safi)) = update.as_end_of_rib() {
            self.end_of_rib(env, afi, safi);
            return None;
        }
        for prefix in &update.withdrawn {
            self.forget(env, IpNet::V4(prefix.trunc()));
        }
        if let Some(unreach) = &update.mp_unreach
            && unreach.safi == Safi::Unicast
        {
            for prefix in mp_prefixes(&unreach.withdrawn) {
                self.forget(env, prefix);
            }
        }
        if !update.has_reachable_nlri() {
            return None;
        }

        let Update {
            attrs,
            nlri,
            mp_reach,
            ..
        } = update;
        let mut attrs = attrs;
        if !four_octet_as {
            // RFC 6793 §4.2.3: rebuild the real path from AS4_PATH.
            attrs.merge_as4();
        }
        let as_path = attrs.as_path.clone().unwrap_or_default();
        // RFC 4271 §6.3 / RFC 7606 §7.2: an external peer puts its own AS first.
        if !ibgp
            && self.config.enforce_first_as != FirstAsCheck::Off
            && as_path.first_as() != Some(remote_as)
        {
            tracing::warn!(
                peer = %self.config.address,
                first = ?as_path.first_as(),
                "AS_PATH does not start with the neighbor's AS"
            );
            if self.config.enforce_first_as == FirstAsCheck::SessionReset {
                return Some(Event::UpdateMsgErr(Notification::new(
                    ErrorCode::Update(UpdateSubcode::MalformedAsPath),
                    Vec::new(),
                )));
            }
            let announced = nlri
                .iter()
                .map(|p| IpNet::V4(p.trunc()))
                .chain(mp_reach.iter().flat_map(|r| mp_prefixes(&r.nlri)))
                .collect::<Vec<_>>();
            for prefix in announced {
                self.forget(env, prefix);
            }
            return None;
        }
        // RFC 4271 §9.1.2: a path through our own AS is a loop.
        let looped = as_path.contains(env.local.asn);
        let attrs = Arc::new(attrs);
        let verdict = |next_hop: IpAddr| {
            if looped {
                Some(Rejection::AsPathLoop)
            } else if Some(next_hop) == local_addr {
                Some(Rejection::NextHopIsLocal)
            } else {
                None
            }
        };
        let mut first_family = None;
        if !nlri.is_empty()
            && has_family(Family::Ipv4Unicast)
            && let Some(next_hop) = attrs.next_hop
        {
            first_family.get_or_insert(Family::Ipv4Unicast);
            let next_hop = IpAddr::V4(next_hop);
            for prefix in nlri {
                let route = RouteIn {
                    attrs: Arc::clone(&attrs),
                    next_hop,
                    rejected: verdict(next_hop),
                    stale: false,
                };
                self.learn(env, IpNet::V4(prefix.trunc()), route);
            }
        }
        if let Some(reach) = mp_reach {
            let family = Family::from_afi_safi(reach.afi, reach.safi);
            let next_hop = match reach.next_hop {
                MpNextHop::Ipv4(addr) => Some(IpAddr::V4(addr)),
                // RFC 2545 §3: the global address, unless there is only a
                // link-local one.
                MpNextHop::Ipv6 { global, link_local } => {
                    match (global.is_unspecified(), link_local) {
                        (true, Some(link_local)) => Some(IpAddr::V6(link_local)),
                        _ => Some(IpAddr::V6(global)),
                    }
                }
                MpNextHop::Raw(_) => None,
            };
            match (family, next_hop) {
                (Some(family), Some(next_hop)) if has_family(family) => {
                    first_family.get_or_insert(family);
                    for prefix in mp_prefixes(&reach.nlri) {
                        if Family::of(&prefix) != family {
                            continue;
                        }
                        let route = RouteIn {
                            attrs: Arc::clone(&attrs),
                            next_hop,
                            rejected: verdict(next_hop),
                            stale: false,
                        };
                        self.learn(env, prefix, route);
                    }
                }
                _ => tracing::debug!(
                    peer = %self.config.address,
                    afi = ?reach.afi,
                    safi = ?reach.safi,
                    "ignoring MP_REACH_NLRI of a family not negotiated"
                ),
            }
        }
        first_family.and_then(|family| self.check_max_prefix(env, family))
    }

    /// `maximum-prefix`: warn once when the accepted routes go over the
    /// limit; unless only warning, tear down with Cease / Maximum Number of
    /// Prefixes Reached (RFC 4486 §4, RFC 4271 §8.2.2 AutomaticStop).
    fn check_max_prefix(&mut self, env: &mut Env, family: Family) -> Option<Event> {
        let Some(limit) = self.config.max_prefix else {
            self.over_limit = false;
            return None;
        };
        let count = self.adj_rib_in.accepted_count();
        if count <= limit.limit as usize {
            self.over_limit = false;
            return None;
        }
        if !self.over_limit {
            self.over_limit = true;
            tracing::warn!(
                peer = %self.config.address,
                count,
                limit = limit.limit,
                "maximum-prefix exceeded"
            );
            env.out.notify(BgpNotification::PrefixLimitExceeded {
                peer: self.config.address,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                limit: limit.limit,
                teardown: !limit.warning_only,
            });
        }
        if limit.warning_only {
            return None;
        }
        self.hold_down = HoldDown::MaxPrefix {
            restart: limit.restart.map(|s| u64::from(s) * SECOND),
        };
        let (afi, safi) = family.afi_safi();
        Some(Event::AutomaticStop(Notification::maximum_prefixes(
            afi,
            safi,
            limit.limit,
        )))
    }

    /// A new maximum-prefix setting applies to the routes already held.
    pub(crate) fn recheck_max_prefix(&mut self, env: &mut Env) {
        if self.primary.state != State::Established {
            return;
        }
        let family = self
            .adj_rib_in
            .post_policy()
            .next()
            .map_or(Family::Ipv4Unicast, |(prefix, _)| Family::of(prefix));
        if let Some(event) = self.check_max_prefix(env, family) {
            self.run(env, self.primary.serial, event, Payload::None);
        }
    }

    fn end_of_rib(&mut self, env: &mut Env, afi: Afi, safi: Safi) {
        tracing::debug!(peer = %self.config.address, ?afi, ?safi, "End-of-RIB");
        env.out.notify(BgpNotification::EndOfRib {
            peer: self.config.address,
            afi,
            safi,
        });
        // RFC 4724 §4.2: what is still stale after End-of-RIB is gone.
        if let Some(family) = Family::from_afi_safi(afi, safi) {
            self.flush_stale(env, |f| f == family);
        }
    }

    pub(super) fn process_route_refresh(
        &mut self,
        env: &mut Env,
        serial: u32,
        refresh: RouteRefresh,
    ) {
        let Some(session) = self.fsm(serial).and_then(|f| f.session.as_ref()) else {
            return;
        };
        let family = Family::from_afi_safi(refresh.afi, refresh.safi)
            .filter(|family| session.has_family(*family));
        // RFC 2918 §4: a family we did not negotiate is ignored.
        let Some(family) = family else {
            return;
        };
        let (route_refresh, enhanced) = (session.route_refresh, session.enhanced_route_refresh);
        match refresh.subtype {
            RouteRefreshSubtype::Normal if route_refresh => {
                env.out.notify(BgpNotification::RefreshRequested {
                    peer: self.config.address,
                    afi: refresh.afi,
                    safi: refresh.safi,
                });
            }
            // RFC 7313 §4.2: the peer re-sends everything between BoRR and
            // EoRR; what it does not re-send is gone.
            RouteRefreshSubtype::BeginOfRefresh if enhanced => {
                self.adj_rib_in.mark_stale(&[family]);
            }
            RouteRefreshSubtype::EndOfRefresh if enhanced => {
                self.flush_stale(env, |f| f == family);
            }
            // RFC 7313 §5: unknown subtypes are ignored.
            _ => {}
        }
    }
}

/// Every prefix an UPDATE names, announced or withdrawn (RFC 7606 §2
/// treat-as-withdraw covers them all).
fn every_prefix(update: &Update) -> Vec<IpNet> {
    let mut prefixes: Vec<IpNet> = update
        .withdrawn
        .iter()
        .chain(&update.nlri)
        .map(|p| IpNet::V4(p.trunc()))
        .collect();
    if let Some(reach) = &update.mp_reach {
        prefixes.extend(mp_prefixes(&reach.nlri));
    }
    if let Some(unreach) = &update.mp_unreach {
        prefixes.extend(mp_prefixes(&unreach.withdrawn));
    }
    prefixes
}

fn mp_prefixes(prefixes: &MpPrefixes) -> Vec<IpNet> {
    match prefixes {
        MpPrefixes::Ipv4(v4) => v4.iter().map(|p| IpNet::V4(p.trunc())).collect(),
        MpPrefixes::Ipv6(v6) => v6.iter().map(|p| IpNet::V6(p.trunc())).collect(),
        MpPrefixes::Raw(_) => Vec::new(),
    }
}
