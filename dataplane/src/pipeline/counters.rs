//! Per-core counters: plain integers written by one core only and summed by
//! whoever reads them. Each is an `AtomicU64` updated with a relaxed
//! load + store (not a read-modify-write): with a single writer that is a
//! plain `mov` on x86, and readers on other threads still see whole values.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A counter with exactly one writing thread.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

macro_rules! reasons {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $label:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case name, used in metrics and `--json`.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)* }
            }
        }
    };
}

reasons! {
    /// Why the dataplane dropped a packet. Every drop has exactly one.
    DropReason {
        /// Shorter than an Ethernet header.
        FrameTooShort => "frame_too_short",
        /// Unicast to a MAC that is not the receiving port's.
        NotOurMac => "not_our_mac",
        /// 802.1Q/802.1ad tagged, and the port has no such VLAN.
        VlanNotConfigured => "vlan_not_configured",
        /// IPv4 header invalid: version, header or total length (RFC 1812 §5.2.2).
        Ipv4HeaderInvalid => "ipv4_header_invalid",
        /// IPv4 header checksum wrong (RFC 1812 §5.2.2).
        Ipv4BadChecksum => "ipv4_bad_checksum",
        /// IPv6 header invalid: version or payload length (RFC 8200 §3).
        Ipv6HeaderInvalid => "ipv6_header_invalid",
        /// Source that must never appear on the wire (RFC 1812 §5.3.7, RFC 4291 §2.5.2).
        MartianSource => "martian_source",
        /// Destination that must never be forwarded (RFC 1812 §5.3.7).
        MartianDestination => "martian_destination",
        /// TTL or hop limit would reach 0 (RFC 1812 §5.3.1, RFC 8200 §3).
        TtlExpired => "ttl_expired",
        /// No route matched.
        NoRoute => "no_route",
        /// A blackhole route matched.
        Blackhole => "blackhole",
        /// A reject route matched.
        Unreachable => "unreachable_route",
        /// Every tier of the route's next-hop group is down.
        NoLiveNextHop => "no_live_nexthop",
        /// The FIB names a group or next hop it does not hold.
        FibInconsistent => "fib_inconsistent",
        /// Larger than the egress MTU and may not be fragmented.
        MtuExceeded => "mtu_exceeded",
        /// IPv6 with a link-local source leaving its link (RFC 4291 §2.5.6).
        SourceBeyondScope => "source_beyond_scope",
        /// Fragmentation was needed but failed (bad options, no buffers).
        FragmentationFailed => "fragmentation_failed",
        /// The queue of packets waiting for ARP/ND was full.
        NeighborQueueFull => "neighbor_queue_full",
        /// Waited for ARP/ND longer than allowed.
        NeighborTimeout => "neighbor_timeout",
        /// The neighbor never answered ARP/ND (RFC 4861 §7.2.2).
        NeighborFailed => "neighbor_failed",
        /// The queue to the host/control plane was full.
        PuntQueueFull => "punt_queue_full",
        /// Over its punt class's rate (control-plane policing).
        PuntRateLimited => "punt_rate_limited",
        /// The egress port's transmit queue was full.
        TxQueueFull => "tx_queue_full",
        /// The egress port does not exist on this core.
        NoSuchPort => "no_such_port",
        /// No free frame to build a packet in.
        NoBuffer => "no_buffer",
        /// A BFD packet of ours found no MAC for its next hop; resolution
        /// was started and BFD's next packet retries.
        BfdNeighborUnresolved => "bfd_neighbor_unresolved",
        /// A datagram to a BFD port the engine never saw: fragment, bad
        /// UDP length or checksum, or not to a unicast address.
        BfdInvalid => "bfd_invalid",
    }
}

reasons! {
    /// Why a frame goes to the host side or control plane instead of out.
    PuntClass {
        Arp => "arp",
        NeighborDiscovery => "nd",
        Ospf => "ospf",
        Vrrp => "vrrp",
        Bfd => "bfd",
        /// Unicast to one of the router's addresses.
        Local => "local",
        /// Multicast/broadcast the router listens to, link-local traffic.
        LinkLocal => "link_local",
        /// Anything else for the host (other ethertypes).
        Other => "other",
    }
}

/// Counters of one port as seen by one core.
#[derive(Debug, Default)]
pub struct PortCounters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
    pub tx_dropped: Counter,
}

/// Everything one dataplane core counts.
///
/// Drops are counted per ingress port: row `i` of `drops` is port `i`,
/// the last row the drops no received frame is to blame for (a neighbor
/// that never answered, a full queue of frames the host sent). The core
/// says which port's burst it is working on with [`CoreCounters::set_rx_port`],
/// one relaxed store per burst, so a drop costs no more than before.
#[derive(Debug)]
pub struct CoreCounters {
    pub ports: Vec<PortCounters>,
    drops: Vec<[Counter; DropReason::COUNT]>,
    rx_port: AtomicUsize,
    pub punts: [Counter; PuntClass::COUNT],
    pub forwarded: Counter,
    pub icmp_errors_sent: Counter,
    pub icmp_errors_rate_limited: Counter,
    pub fragments_sent: Counter,
    pub neighbor_queued: Counter,
    pub solicitations_sent: Counter,
    pub bursts: Counter,
    /// BFD Control packets this core's engine sent. Those it received are
    /// counted as `punts[PuntClass::Bfd]`: handed to the engine, never to
    /// the host.
    pub bfd_sent: Counter,
}

impl CoreCounters {
    pub fn new(ports: usize) -> Self {
        Self {
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
            drops: (0..=ports)
                .map(|_| std::array::from_fn(|_| Counter::default()))
                .collect(),
            rx_port: AtomicUsize::new(ports),
            punts: std::array::from_fn(|_| Counter::default()),
            forwarded: Counter::default(),
            icmp_errors_sent: Counter::default(),
            icmp_errors_rate_limited: Counter::default(),
            fragments_sent: Counter::default(),
            neighbor_queued: Counter::default(),
            solicitations_sent: Counter::default(),
            bursts: Counter::default(),
            bfd_sent: Counter::default(),
        }
    }

    /// Drops from now on are charged to port `port` (`None`: to no port).
    #[inline]
    pub fn set_rx_port(&self, port: Option<usize>) {
        let row = port
            .filter(|p| *p < self.ports.len())
            .unwrap_or(self.ports.len());
        self.rx_port.store(row, Ordering::Relaxed);
    }

    #[inline]
    pub fn count_drop(&self, reason: DropReason) {
        let row = self.rx_port.load(Ordering::Relaxed);
        if let Some(counters) = self.drops.get(row) {
            counters[reason as usize].inc();
        }
    }

    #[inline]
    pub fn punt(&self, class: PuntClass) {
        self.punts[class as usize].inc();
    }

    /// Drops for `reason`, every port together.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops
            .iter()
            .map(|row| row[reason as usize].get())
            .sum()
    }

    /// Drops for `reason` of frames received on `port` (`None`: drops no
    /// received frame is to blame for).
    pub fn port_drops(&self, port: Option<usize>, reason: DropReason) -> u64 {
        let row = port.unwrap_or(self.ports.len());
        self.drops
            .get(row)
            .map_or(0, |counters| counters[reason as usize].get())
    }

    pub fn punts(&self, class: PuntClass) -> u64 {
        self.punts[class as usize].get()
    }

    /// Sum of every drop counter.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().flatten().map(Counter::get).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            assert!(seen.insert(r.label()), "{}", r.label());
        }
        assert_eq!(DropReason::ALL.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    #[test]
    fn counters_sum() {
        let c = CoreCounters::new(2);
        c.count_drop(DropReason::NoRoute);
        c.count_drop(DropReason::NoRoute);
        c.count_drop(DropReason::TtlExpired);
        assert_eq!(c.drops(DropReason::NoRoute), 2);
        assert_eq!(c.total_drops(), 3);
    }

    #[test]
    fn drops_are_charged_to_the_port_whose_burst_is_in_hand() {
        let c = CoreCounters::new(2);
        c.set_rx_port(Some(1));
        c.count_drop(DropReason::NoRoute);
        c.count_drop(DropReason::TtlExpired);
        c.set_rx_port(Some(0));
        c.count_drop(DropReason::NoRoute);
        c.set_rx_port(None);
        c.count_drop(DropReason::NeighborTimeout);
        c.set_rx_port(Some(7)); // no such port: charged to no port
        c.count_drop(DropReason::NeighborTimeout);
        assert_eq!(c.port_drops(Some(1), DropReason::NoRoute), 1);
        assert_eq!(c.port_drops(Some(1), DropReason::TtlExpired), 1);
        assert_eq!(c.port_drops(Some(0), DropReason::NoRoute), 1);
        assert_eq!(c.port_drops(None, DropReason::NeighborTimeout), 2);
        assert_eq!(
            c.drops(DropReason::NoRoute),
            2,
            "the core's total sums the ports"
        );
        assert_eq!(c.total_drops(), 5);
    }
}
