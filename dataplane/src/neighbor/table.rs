//! One dataplane core's neighbor table: MACs of next hops by (port, IP),
//! the timers of their reachability states, and the solicitations those
//! timers ask for. Sans-IO: every call takes the time, frames are bytes.

use std::net::IpAddr;

use hashbrown::HashMap;

use crate::packet::MacAddr;
use crate::pipeline::PortConfig;
use crate::pipeline::rate_limit::TokenBucket;
use crate::port::PortId;

use super::config::NeighborConfig;
use super::snoop::{self, Observation};
use super::solicit::Solicitation;
use super::state::{Entry, Learned, NeighborEntryView, NeighborState};

type Key = (PortId, IpAddr);

/// What the table did since it was made, for counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NeighborStats {
    /// Solicitations handed out to be sent.
    pub solicitations: u64,
    /// Solicitations due but withheld by the table-wide rate limit; they
    /// count as attempts, so a neighbor still fails on schedule.
    pub suppressed: u64,
    /// FAILED or STALE entries removed to make room.
    pub evicted: u64,
    /// New entries refused because the table was full of entries in use.
    pub refused: u64,
    /// Resolutions and probes that gave up (→ FAILED).
    pub failed: u64,
}

/// The neighbor table of one dataplane core.
#[derive(Debug)]
pub struct NeighborTable {
    config: NeighborConfig,
    entries: HashMap<Key, Entry>,
    /// No timer fires before this, so `poll` can return at once; it may be
    /// early (a timer was cancelled), never late.
    next_timer_ns: u64,
    solicit_budget: TokenBucket,
    stats: NeighborStats,
}

impl NeighborTable {
    /// New reachable and retransmit times (a commit of `[neighbor]`): they
    /// apply from each entry's next timer on; the entries stay.
    pub fn set_timers(&mut self, reachable_ns: u64, retrans_ns: u64) {
        self.config.reachable_ns = reachable_ns;
        self.config.retrans_ns = retrans_ns;
    }

    pub fn new(config: NeighborConfig) -> Self {
        let solicit_budget = TokenBucket::new(config.solicit_per_sec, config.solicit_burst, 0);
        Self {
            // Sized once, so the packet path never grows it.
            entries: HashMap::with_capacity(config.max_entries),
            next_timer_ns: u64::MAX,
            solicit_budget,
            stats: NeighborStats::default(),
            config,
        }
    }

    pub fn config(&self) -> &NeighborConfig {
        &self.config
    }

    /// The MAC to send a packet to `ip` on `port` with, if there is one
    /// to use. A STALE entry (or a REACHABLE one past its time) goes to
    /// DELAY (RFC 4861 §7.3.3). One hash lookup, no allocation.
    #[inline]
    pub fn lookup(&mut self, port: PortId, ip: IpAddr, now_ns: u64) -> Option<MacAddr> {
        let entry = self.entries.get_mut(&(port, ip))?;
        let mac = entry.use_for_send(now_ns, &self.config);
        self.next_timer_ns = self.next_timer_ns.min(entry.timer_ns);
        mac
    }

    /// A configured neighbor: never aged, probed or overwritten by what
    /// is learnt. Replaces any learnt entry. Configuration is not refused
    /// for lack of room: a static entry may take the table past
    /// `max_entries` when nothing can be evicted.
    pub fn add_static(&mut self, port: PortId, ip: IpAddr, mac: MacAddr) {
        let key = (port, ip);
        if !self.entries.contains_key(&key) {
            self.make_room();
        }
        self.entries.insert(key, Entry::static_entry(mac, 0));
    }

    /// Forgets one neighbor (static or not). Returns whether it was known.
    pub fn remove(&mut self, port: PortId, ip: IpAddr) -> bool {
        self.entries.remove(&(port, ip)).is_some()
    }

    /// Forgets every neighbor of a port (the port went down or its
    /// addresses changed). Returns how many.
    pub fn flush_port(&mut self, port: PortId) -> usize {
        let before = self.entries.len();
        self.entries.retain(|&(p, _), _| p != port);
        before - self.entries.len()
    }

    /// Upper-layer proof that `ip` receives our packets (RFC 4861 §7.3.1),
    /// e.g. a BFD session through it came up: the entry becomes REACHABLE
    /// without a probe. No effect without a MAC. Returns whether it applied.
    pub fn confirm(&mut self, port: PortId, ip: IpAddr, now_ns: u64) -> bool {
        let Some(entry) = self.entries.get_mut(&(port, ip)) else {
            return false;
        };
        let applied = entry.confirm(now_ns, &self.config);
        self.next_timer_ns = self.next_timer_ns.min(entry.timer_ns);
        applied
    }

    /// Learns from one frame seen on `port`, in either direction: ARP
    /// request, reply and gratuitous ARP senders; NS, RS and RA source
    /// link-layer options; NA target link-layer options with the
    /// Solicited/Override rules of RFC 4861 §7.2.5; and the neighbors the
    /// host kernel answers or probes. Only addresses on the port's subnets
    /// (and v6 link-local) are learnt, and only some frames may create an
    /// entry: see [`snoop`]. Returns the neighbor when its entry became
    /// usable or its MAC changed, so the packets waiting for it can go.
    pub fn learn(
        &mut self,
        port: PortId,
        port_cfg: &PortConfig,
        frame: &[u8],
        now_ns: u64,
    ) -> Option<Learned> {
        let observation = snoop::observe(port_cfg, frame)?;
        self.apply(port, &observation, now_ns)
    }

    fn apply(&mut self, port: PortId, obs: &Observation, now_ns: u64) -> Option<Learned> {
        let key = (port, obs.ip);
        let changed = match self.entries.get_mut(&key) {
            Some(entry) => {
                let changed = entry.observe(obs, now_ns, &self.config);
                self.next_timer_ns = self.next_timer_ns.min(entry.timer_ns);
                changed
            }
            None => {
                let entry = Entry::from_observation(obs, now_ns, &self.config)?;
                if !self.make_room() {
                    self.stats.refused += 1;
                    return None;
                }
                self.next_timer_ns = self.next_timer_ns.min(entry.timer_ns);
                self.entries.insert(key, entry);
                true
            }
        };
        let mac = self.entries.get(&key)?.mac?;
        changed.then_some(Learned {
            port,
            ip: obs.ip,
            mac,
        })
    }

    /// A packet needs `ip` on `port` and [`lookup`](Self::lookup) found no
    /// MAC. Starts resolution (an INCOMPLETE entry) unless one is under
    /// way, or failed less than `failed_hold_ns` ago. Returns whether a
    /// solicitation should go out now; retransmissions come from
    /// [`poll`](Self::poll).
    pub fn request(&mut self, port: PortId, ip: IpAddr, now_ns: u64) -> bool {
        if !is_resolvable(ip) {
            return false;
        }
        let key = (port, ip);
        if let Some(entry) = self.entries.get(&key) {
            // A FAILED entry past its hold, not yet swept by `poll`, is
            // as good as gone.
            if entry.state != NeighborState::Failed || now_ns < entry.timer_ns {
                return false;
            }
            self.entries.remove(&key);
        }
        if !self.make_room() {
            self.stats.refused += 1;
            return false;
        }
        let mut entry = Entry::incomplete(now_ns);
        let mut send = false;
        if self.config.max_multicast_solicit > 0 {
            send = self.spend_solicitation(now_ns);
            entry.solicits = 1;
            entry.timer_ns = now_ns.saturating_add(self.config.retrans_ns);
        }
        self.next_timer_ns = self.next_timer_ns.min(entry.timer_ns);
        self.entries.insert(key, entry);
        send
    }

    /// Runs the timers due at `now_ns`: retransmits for INCOMPLETE (every
    /// `retrans_ns`, `max_multicast_solicit` in all, then FAILED), DELAY →
    /// PROBE with unicast probes (`max_unicast_solicit`, then FAILED),
    /// REACHABLE → STALE, and forgets FAILED entries after
    /// `failed_hold_ns` and unused STALE ones after `stale_gc_ns`.
    /// Appends what to send to `out`. Returns at once when nothing is due.
    pub fn poll(&mut self, now_ns: u64, out: &mut Vec<Solicitation>) {
        self.run_timers(now_ns, out, None);
    }

    /// [`poll`](Self::poll), also naming the neighbors whose resolution or
    /// probing failed just now: RFC 4861 §7.2.2 wants an ICMP Address
    /// Unreachable for each packet that waited for them.
    pub fn poll_with_failures(
        &mut self,
        now_ns: u64,
        out: &mut Vec<Solicitation>,
        failed: &mut Vec<(PortId, IpAddr)>,
    ) {
        self.run_timers(now_ns, out, Some(failed));
    }

    /// When the next timer is due, at the earliest (u64::MAX: none): the
    /// core loop need not call [`poll`](Self::poll) before.
    pub fn next_timer_ns(&self) -> u64 {
        self.next_timer_ns
    }

    fn run_timers(
        &mut self,
        now_ns: u64,
        out: &mut Vec<Solicitation>,
        mut failed: Option<&mut Vec<(PortId, IpAddr)>>,
    ) {
        if now_ns < self.next_timer_ns {
            return;
        }
        let config = &self.config;
        let budget = &mut self.solicit_budget;
        let stats = &mut self.stats;
        let mut next = u64::MAX;
        self.entries.retain(|&(port, ip), entry| {
            if now_ns >= entry.timer_ns {
                let mut solicit = |entry: &mut Entry, unicast_to: Option<MacAddr>| {
                    if budget.allow(now_ns) {
                        stats.solicitations += 1;
                        out.push(Solicitation {
                            port,
                            target: ip,
                            unicast_to,
                        });
                    } else {
                        stats.suppressed += 1;
                    }
                    entry.solicits = entry.solicits.saturating_add(1);
                    entry.timer_ns = now_ns.saturating_add(config.retrans_ns);
                };
                match entry.state {
                    NeighborState::Incomplete | NeighborState::Probe | NeighborState::Delay => {
                        // §7.3.3: entering PROBE sends the first probe now.
                        if entry.state == NeighborState::Delay {
                            entry.enter(NeighborState::Probe, now_ns, config);
                        }
                        let (limit, unicast_to) = match entry.state {
                            NeighborState::Incomplete => (config.max_multicast_solicit, None),
                            _ => (config.max_unicast_solicit, entry.mac),
                        };
                        if entry.solicits < limit {
                            solicit(entry, unicast_to);
                        } else {
                            entry.enter(NeighborState::Failed, now_ns, config);
                            stats.failed += 1;
                            if let Some(failed) = failed.as_deref_mut() {
                                failed.push((port, ip));
                            }
                        }
                    }
                    NeighborState::Reachable => entry.enter(NeighborState::Stale, now_ns, config),
                    NeighborState::Stale | NeighborState::Failed => return false,
                    NeighborState::Static => {}
                }
            }
            next = next.min(entry.timer_ns);
            true
        });
        self.next_timer_ns = next;
    }

    /// Takes one token of the table-wide solicitation budget.
    fn spend_solicitation(&mut self, now_ns: u64) -> bool {
        if self.solicit_budget.allow(now_ns) {
            self.stats.solicitations += 1;
            true
        } else {
            self.stats.suppressed += 1;
            false
        }
    }

    /// Whether one more entry fits, evicting if the table is full: any
    /// FAILED entry first, else the STALE entry unused longest. Entries
    /// being resolved or in use are never evicted. O(entries), only at
    /// the bound.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < self.config.max_entries {
            return true;
        }
        let mut victim: Option<(Key, bool, u64)> = None;
        for (key, entry) in &self.entries {
            let failed = match entry.state {
                NeighborState::Failed => true,
                NeighborState::Stale => false,
                _ => continue,
            };
            let better = match victim {
                None => true,
                Some((_, v_failed, v_updated)) => {
                    (failed && !v_failed) || (failed == v_failed && entry.updated_ns < v_updated)
                }
            };
            if better {
                victim = Some((*key, failed, entry.updated_ns));
            }
        }
        match victim {
            Some((key, _, _)) => {
                self.entries.remove(&key);
                self.stats.evicted += 1;
                self.entries.len() < self.config.max_entries
            }
            None => false,
        }
    }

    /// Every entry, for `show neighbors`.
    pub fn entries(&self) -> impl Iterator<Item = NeighborEntryView> + '_ {
        self.entries
            .iter()
            .map(|(&(port, ip), entry)| entry.view(port, ip))
    }

    /// One entry.
    pub fn get(&self, port: PortId, ip: IpAddr) -> Option<NeighborEntryView> {
        self.entries
            .get(&(port, ip))
            .map(|entry| entry.view(port, ip))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stats(&self) -> NeighborStats {
        self.stats
    }
}

/// Addresses no neighbor can have: nothing to resolve.
fn is_resolvable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            !(ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback())
        }
        IpAddr::V6(ip) => !(ip.is_unspecified() || ip.is_multicast() || ip.is_loopback()),
    }
}
