//! One neighbor cache entry and its reachability state machine
//! (RFC 4861 §7.3.2, §7.3.3, Appendix C; ARP entries follow the same
//! states, as in Linux).

use std::fmt;
use std::net::IpAddr;

use crate::packet::MacAddr;
use crate::port::PortId;

use super::config::NeighborConfig;
use super::snoop::{Observation, ObservationKind};

/// Neighbor Unreachability Detection state (RFC 4861 §7.3.2), plus the
/// two a router's table needs besides: FAILED (resolution gave up; kept a
/// while so traffic does not restart it at once) and STATIC (configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighborState {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    Static,
}

impl NeighborState {
    /// Whether packets may be sent with the cached MAC: §7.3.3 keeps using
    /// it while reachability is being re-established.
    pub fn is_usable(self) -> bool {
        matches!(
            self,
            NeighborState::Reachable
                | NeighborState::Stale
                | NeighborState::Delay
                | NeighborState::Probe
                | NeighborState::Static
        )
    }

    /// The name `ip neigh` and the RFC use.
    pub fn as_str(self) -> &'static str {
        match self {
            NeighborState::Incomplete => "INCOMPLETE",
            NeighborState::Reachable => "REACHABLE",
            NeighborState::Stale => "STALE",
            NeighborState::Delay => "DELAY",
            NeighborState::Probe => "PROBE",
            NeighborState::Failed => "FAILED",
            NeighborState::Static => "STATIC",
        }
    }
}

impl fmt::Display for NeighborState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A neighbor's MAC became known or changed: packets waiting for it can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    pub port: PortId,
    pub ip: IpAddr,
    pub mac: MacAddr,
}

/// One row of `show neighbors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborEntryView {
    pub port: PortId,
    pub ip: IpAddr,
    /// None while INCOMPLETE, and FAILED if it never resolved.
    pub mac: Option<MacAddr>,
    pub state: NeighborState,
    pub is_router: bool,
    /// When the MAC was last recorded or reachability last confirmed.
    pub updated_ns: u64,
}

impl NeighborEntryView {
    pub fn age_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.updated_ns)
    }
}

/// The table's record of one neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub mac: Option<MacAddr>,
    pub state: NeighborState,
    /// When this state's timer fires: retransmit or fail (INCOMPLETE,
    /// PROBE), age to STALE (REACHABLE), be forgotten (STALE, FAILED),
    /// probe (DELAY). Never for STATIC.
    pub timer_ns: u64,
    /// Solicitations sent (or suppressed by the table's rate limit) in
    /// the current INCOMPLETE or PROBE episode.
    pub solicits: u8,
    pub is_router: bool,
    pub updated_ns: u64,
}

impl Entry {
    /// A new INCOMPLETE entry whose first solicitation is due now.
    pub fn incomplete(now_ns: u64) -> Self {
        Entry {
            mac: None,
            state: NeighborState::Incomplete,
            timer_ns: now_ns,
            solicits: 0,
            is_router: false,
            updated_ns: now_ns,
        }
    }

    pub fn static_entry(mac: MacAddr, now_ns: u64) -> Self {
        Entry {
            mac: Some(mac),
            state: NeighborState::Static,
            timer_ns: u64::MAX,
            solicits: 0,
            is_router: false,
            updated_ns: now_ns,
        }
    }

    /// The entry an observation creates when there is none, if it may
    /// create one: unsolicited information makes a STALE entry (§7.3.3),
    /// a reply addressed to us a REACHABLE one. NAs never create
    /// (§7.2.5: the advertisement is discarded).
    pub fn from_observation(obs: &Observation, now_ns: u64, cfg: &NeighborConfig) -> Option<Self> {
        let mac = obs.mac?;
        let (state, is_router) = match obs.kind {
            ObservationKind::Unsolicited {
                may_create: true,
                is_router,
            } => (NeighborState::Stale, is_router.unwrap_or(false)),
            ObservationKind::Advertisement {
                may_create: true,
                solicited,
                is_router,
                ..
            } => {
                let state = if solicited {
                    NeighborState::Reachable
                } else {
                    NeighborState::Stale
                };
                (state, is_router.unwrap_or(false))
            }
            ObservationKind::HostMapping => (NeighborState::Stale, false),
            _ => return None,
        };
        let mut entry = Entry {
            mac: Some(mac),
            state,
            timer_ns: 0,
            solicits: 0,
            is_router,
            updated_ns: now_ns,
        };
        entry.enter(state, now_ns, cfg);
        Some(entry)
    }

    /// Moves to `state` and arms its timer.
    pub fn enter(&mut self, state: NeighborState, now_ns: u64, cfg: &NeighborConfig) {
        self.state = state;
        self.timer_ns = match state {
            NeighborState::Reachable => now_ns.saturating_add(cfg.reachable_ns),
            NeighborState::Stale => now_ns.saturating_add(cfg.stale_gc_ns),
            NeighborState::Delay => now_ns.saturating_add(cfg.delay_first_probe_ns),
            // Due at once: the table sends the first solicitation.
            NeighborState::Incomplete | NeighborState::Probe => now_ns,
            NeighborState::Failed => now_ns.saturating_add(cfg.failed_hold_ns),
            NeighborState::Static => u64::MAX,
        };
        if matches!(state, NeighborState::Incomplete | NeighborState::Probe) {
            self.solicits = 0;
        }
    }

    /// The MAC to send with, for a packet sent now. Using a STALE entry
    /// starts the delay timer (§7.3.3); a REACHABLE entry past its
    /// ReachableTime is STALE (the note in §7.3.3 allows noticing that
    /// lazily), so using it does the same.
    #[inline]
    pub fn use_for_send(&mut self, now_ns: u64, cfg: &NeighborConfig) -> Option<MacAddr> {
        match self.state {
            NeighborState::Reachable if now_ns < self.timer_ns => self.mac,
            NeighborState::Reachable | NeighborState::Stale => {
                self.enter(NeighborState::Delay, now_ns, cfg);
                self.mac
            }
            NeighborState::Delay | NeighborState::Probe | NeighborState::Static => self.mac,
            NeighborState::Incomplete | NeighborState::Failed => None,
        }
    }

    /// Upper-layer reachability confirmation (§7.3.1); none for entries
    /// without a MAC (§7.3.3) nor for configured ones.
    pub fn confirm(&mut self, now_ns: u64, cfg: &NeighborConfig) -> bool {
        match self.state {
            NeighborState::Reachable
            | NeighborState::Stale
            | NeighborState::Delay
            | NeighborState::Probe => {
                self.enter(NeighborState::Reachable, now_ns, cfg);
                self.updated_ns = now_ns;
                true
            }
            _ => false,
        }
    }

    /// Applies what a frame said about this neighbor. Returns whether the
    /// entry became usable or its MAC changed.
    pub fn observe(&mut self, obs: &Observation, now_ns: u64, cfg: &NeighborConfig) -> bool {
        if self.state == NeighborState::Static {
            return false;
        }
        let unresolved = matches!(
            self.state,
            NeighborState::Incomplete | NeighborState::Failed
        );
        match obs.kind {
            // Appendix C, second table: record, and STALE if the MAC is
            // new; the same MAC changes nothing. §7.2.3: an NS does not
            // touch IsRouter of an existing entry (is_router is None).
            ObservationKind::Unsolicited { is_router, .. } => {
                let Some(mac) = obs.mac else {
                    return false;
                };
                if let Some(r) = is_router {
                    self.is_router = r;
                }
                if unresolved || self.mac != Some(mac) {
                    self.record(mac, now_ns);
                    self.enter(NeighborState::Stale, now_ns, cfg);
                    return true;
                }
                false
            }
            ObservationKind::Advertisement {
                solicited,
                override_,
                is_router,
                ..
            } => self.advertised(
                obs.mac, solicited, override_, is_router, unresolved, now_ns, cfg,
            ),
            // The kernel's view only fills a gap: what the router saw on
            // the wire itself takes precedence.
            ObservationKind::HostMapping => match obs.mac {
                Some(mac) if unresolved => {
                    self.record(mac, now_ns);
                    self.enter(NeighborState::Stale, now_ns, cfg);
                    true
                }
                _ => false,
            },
        }
    }

    /// RFC 4861 §7.2.5.
    #[allow(clippy::too_many_arguments)]
    fn advertised(
        &mut self,
        mac: Option<MacAddr>,
        solicited: bool,
        override_: bool,
        is_router: Option<bool>,
        unresolved: bool,
        now_ns: u64,
        cfg: &NeighborConfig,
    ) -> bool {
        if unresolved {
            if let Some(r) = is_router {
                self.is_router = r;
            }
            // Without a target link-layer address there is nothing to
            // resolve with; the Override flag is ignored here.
            let Some(mac) = mac else {
                return false;
            };
            self.record(mac, now_ns);
            let state = if solicited {
                NeighborState::Reachable
            } else {
                NeighborState::Stale
            };
            self.enter(state, now_ns, cfg);
            return true;
        }
        let differs = mac.is_some_and(|m| Some(m) != self.mac);
        if differs && !override_ {
            // I.a: a REACHABLE entry goes STALE so NUD checks it soon;
            // I.b: otherwise the advertisement MUST NOT update the cache.
            if self.state == NeighborState::Reachable {
                self.enter(NeighborState::Stale, now_ns, cfg);
            }
            return false;
        }
        // II: Override set, same MAC, or no MAC supplied.
        if let Some(r) = is_router {
            self.is_router = r;
        }
        if let (true, Some(mac)) = (differs, mac) {
            self.record(mac, now_ns);
        }
        if solicited {
            self.enter(NeighborState::Reachable, now_ns, cfg);
            self.updated_ns = now_ns;
        } else if differs {
            self.enter(NeighborState::Stale, now_ns, cfg);
        }
        differs
    }

    fn record(&mut self, mac: MacAddr, now_ns: u64) {
        self.mac = Some(mac);
        self.updated_ns = now_ns;
    }

    pub fn view(&self, port: PortId, ip: IpAddr) -> NeighborEntryView {
        NeighborEntryView {
            port,
            ip,
            mac: self.mac,
            state: self.state,
            is_router: self.is_router,
            updated_ns: self.updated_ns,
        }
    }
}
