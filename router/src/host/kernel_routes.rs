//! Kernel route sync: the routes the RIB selected, installed into the
//! host's routing table over rtnetlink the way FRR's zebra does, so the
//! host's own traffic (and every program on it) follows the router.
//!
//! Every route we install carries our own protocol number,
//! [`VROUTER_RTPROT`], and our metric. That is what makes the sync safe to
//! run on a host that has routes of its own: we only ever list, replace and
//! delete routes of our protocol, and deletes always name the protocol, so
//! the kernel itself refuses to match anyone else's route. A route of
//! another protocol to the same prefix stays where it is; ours goes in
//! beside it (see [`KernelRouteSync::apply`] for the case where it also
//! has our metric).
//!
//! Next hops point at the TAP twins (`vr-ethN`): what the kernel sends
//! there goes through the dataplane like any transit packet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType, RouteVia,
};
use tracing::{debug, warn};

use super::netlink::route_table;
use super::{HostError, Netlink};

/// Our rtnetlink route protocol (`rtm_protocol`, the `proto` of
/// `ip route`). The kernel does not interpret it; it only labels who owns a
/// route. 201 is free in iproute2's registry (/etc/iproute2/rt_protos:
/// 0–18 kernel and classic daemons, 42 babel, 99 openr, 186–192 for
/// bgp/isis/ospf/rip/eigrp) and in FRR's rt_protos.d/frr.conf (186–197:
/// bgp … openfabric), and it is above all of them with room to spare, so
/// `ip route show proto 201` lists exactly the routes vrouterd installed.
pub const VROUTER_RTPROT: u8 = 201;

/// The main routing table (`RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

/// Metric (`RTA_PRIORITY`) of our routes unless configured: zebra's 20.
/// Lower than the kernel's defaults for IPv6 (1024) and for DHCP/RA
/// routes, so the router's choice wins over those; above 0, the default of
/// IPv4 routes an operator adds by hand, which keep precedence.
pub const DEFAULT_METRIC: u32 = 20;

/// The table id written in the header when the real one (in `RTA_TABLE`)
/// does not fit a byte (`RT_TABLE_COMPAT`).
const TABLE_COMPAT: u8 = 252;

/// One next hop of a kernel route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelNextHop {
    /// `None`: the destination is on the link of `ifindex`.
    pub gateway: Option<IpAddr>,
    /// The twin's interface index.
    pub ifindex: u32,
    /// ECMP weight (`rtnh_hops + 1`); 0 is taken as 1. A route with a
    /// single next hop has no weight in the kernel.
    pub weight: u8,
}

/// Where a kernel route sends packets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KernelTarget {
    /// Unicast through one next hop, or ECMP (`RTA_MULTIPATH`) over several.
    NextHops(Vec<KernelNextHop>),
    /// Drop silently (`RTN_BLACKHOLE`).
    Blackhole,
    /// Drop with ICMP unreachable (`RTN_UNREACHABLE`).
    Unreachable,
}

/// A route the kernel should hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelRoute {
    pub prefix: IpNet,
    pub target: KernelTarget,
}

impl KernelRoute {
    pub fn via(prefix: IpNet, next_hops: Vec<KernelNextHop>) -> Self {
        KernelRoute {
            prefix,
            target: KernelTarget::NextHops(next_hops),
        }
    }

    pub fn blackhole(prefix: IpNet) -> Self {
        KernelRoute {
            prefix,
            target: KernelTarget::Blackhole,
        }
    }

    pub fn unreachable(prefix: IpNet) -> Self {
        KernelRoute {
            prefix,
            target: KernelTarget::Unreachable,
        }
    }

    /// The form the kernel stores and dumps back, so that "already there"
    /// is a plain comparison: host bits cleared, next hops sorted, weight 0
    /// as 1, and no weight on a single next hop.
    fn normalized(&self) -> KernelRoute {
        let target = match &self.target {
            KernelTarget::NextHops(hops) => {
                let mut hops = hops.clone();
                for hop in &mut hops {
                    hop.weight = hop.weight.max(1);
                }
                if let [only] = hops.as_mut_slice() {
                    only.weight = 1;
                }
                hops.sort_unstable();
                KernelTarget::NextHops(hops)
            }
            other => other.clone(),
        };
        KernelRoute {
            prefix: self.prefix.trunc(),
            target,
        }
    }

    /// IPv6 replaces a route in place only with one of the same kind: with
    /// a gateway (can be ECMP) or without (device, blackhole,
    /// unreachable); otherwise `NLM_F_REPLACE` adds a second route.
    fn has_gateway(&self) -> bool {
        matches!(&self.target, KernelTarget::NextHops(hops)
            if hops.first().is_some_and(|hop| hop.gateway.is_some()))
    }
}

/// One change for [`KernelRouteSync::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelRouteChange {
    /// Install this route, replacing ours to the same prefix.
    Upsert(KernelRoute),
    /// Remove our route to this prefix.
    Remove(IpNet),
}

/// A route the kernel refused; the other routes of the sync went on.
#[derive(Debug)]
pub struct RouteFailure {
    pub prefix: IpNet,
    pub error: HostError,
}

impl fmt::Display for RouteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.prefix, self.error)
    }
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub added: usize,
    pub replaced: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub failed: Vec<RouteFailure>,
}

impl SyncReport {
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty()
    }

    fn fail(&mut self, prefix: IpNet, error: HostError) {
        warn!(%prefix, "kernel route sync: {error}{}", errno_advice(&error));
        self.failed.push(RouteFailure { prefix, error });
    }
}

/// What the operator can do about the usual refusals.
fn errno_advice(error: &HostError) -> &'static str {
    match error.errno() {
        Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EINVAL) => {
            "; is the gateway on a connected subnet of the next hop's interface? (check the \
             twin's addresses)"
        }
        Some(libc::ENETDOWN) => "; the next hop's interface is down",
        Some(libc::ENODEV) => "; the next hop's interface does not exist (any more)",
        Some(libc::EEXIST) => {
            "; a route of another protocol holds this prefix with the same metric (for IPv6 \
             the kernel cannot keep ours beside it): give vrouterd's kernel sync another metric"
        }
        _ => "",
    }
}

/// What we installed for a prefix.
#[derive(Debug, Clone)]
struct Installed {
    route: KernelRoute,
    /// A route of another protocol holds the same prefix and metric, so
    /// ours went in with `NLM_F_APPEND` and must never be changed with
    /// `NLM_F_REPLACE` (which would replace theirs).
    beside_foreign: bool,
}

/// Keeps the kernel's routes of our protocol in one table equal to what
/// the router selected.
#[derive(Debug)]
pub struct KernelRouteSync {
    table: u32,
    metric: u32,
    installed: BTreeMap<IpNet, Installed>,
}

impl Default for KernelRouteSync {
    fn default() -> Self {
        KernelRouteSync::new(MAIN_TABLE, DEFAULT_METRIC)
    }
}

impl KernelRouteSync {
    pub fn new(table: u32, metric: u32) -> Self {
        KernelRouteSync {
            table,
            metric,
            installed: BTreeMap::new(),
        }
    }

    pub fn table(&self) -> u32 {
        self.table
    }

    pub fn metric(&self) -> u32 {
        self.metric
    }

    /// The routes we believe the kernel holds, by prefix.
    pub fn installed(&self) -> impl Iterator<Item = &KernelRoute> + '_ {
        self.installed.values().map(|installed| &installed.route)
    }

    /// Makes our routes in the table exactly `desired` (one route per
    /// prefix; a later duplicate wins): adds what is missing, replaces what
    /// differs, deletes the rest of ours — also ours with another metric,
    /// left by an earlier configuration. Routes of other protocols are
    /// only read, to know which prefixes they hold at our metric.
    ///
    /// Use it at start (after [`KernelRouteSync::flush`] or instead of it)
    /// and whenever the kernel may have dropped routes on its own: IPv4
    /// routes through an interface vanish when it goes down. `Err` only
    /// when the table cannot be read; refused routes are in the report.
    pub fn reconcile(
        &mut self,
        nl: &mut Netlink,
        desired: &[KernelRoute],
    ) -> Result<SyncReport, HostError> {
        let mut ours: BTreeMap<IpNet, KernelRoute> = BTreeMap::new();
        let mut stale: Vec<RouteMessage> = Vec::new();
        let mut foreign: BTreeSet<IpNet> = BTreeSet::new();
        for message in nl.routes(None, Some(self.table))? {
            let metric = route_metric(&message);
            if u8::from(message.header.protocol) != VROUTER_RTPROT {
                if metric == self.metric
                    && let Some(prefix) = route_prefix(&message)
                {
                    foreign.insert(prefix);
                }
                continue;
            }
            match kernel_route_of(&message) {
                Some(route) if metric == self.metric && !ours.contains_key(&route.prefix) => {
                    ours.insert(route.prefix, route);
                }
                _ => stale.push(message),
            }
        }
        let wanted: BTreeMap<IpNet, KernelRoute> = desired
            .iter()
            .map(|route| {
                let route = route.normalized();
                (route.prefix, route)
            })
            .collect();

        let mut report = SyncReport::default();
        self.installed.clear();
        // New and changed routes first: a route that only changes metric
        // then never leaves a gap.
        for (prefix, route) in &wanted {
            let beside_foreign = foreign.contains(prefix);
            match ours.get(prefix) {
                Some(current) if current == route => {
                    report.unchanged += 1;
                    self.installed.insert(
                        *prefix,
                        Installed {
                            route: route.clone(),
                            beside_foreign,
                        },
                    );
                }
                Some(current) => {
                    let current = Installed {
                        route: current.clone(),
                        beside_foreign,
                    };
                    self.replace(nl, current, route.clone(), &mut report);
                }
                None => self.add(nl, route.clone(), &mut report),
            }
        }
        for (prefix, route) in ours {
            if !wanted.contains_key(&prefix) {
                let what = self.describe(prefix);
                match delete(nl, self.delete_message(&route), &what) {
                    Ok(()) => report.deleted += 1,
                    Err(error) => report.fail(prefix, error),
                }
            }
        }
        for message in stale {
            let prefix = route_prefix(&message).unwrap_or(IpNet::V4(Default::default()));
            let what = describe(prefix, route_table(&message), route_metric(&message));
            match delete(nl, deletion_of(&message), &what) {
                Ok(()) => report.deleted += 1,
                Err(error) => report.fail(prefix, error),
            }
        }
        debug!(
            table = self.table,
            added = report.added,
            replaced = report.replaced,
            deleted = report.deleted,
            unchanged = report.unchanged,
            failed = report.failed.len(),
            "kernel routes reconciled"
        );
        Ok(report)
    }

    /// Carries out `changes` against what we installed: O(changes), no
    /// dump. A change to a route that is already as asked is counted as
    /// unchanged; removing a prefix we did not install does nothing.
    ///
    /// A new prefix goes in with `NLM_F_EXCL`. If the kernel says a route
    /// with the same key exists, that route is another protocol's (ours
    /// would be in our records). IPv4 then takes ours beside it
    /// (`NLM_F_APPEND`) and keeps using theirs first; such a route of ours
    /// is later changed by deleting it and appending again, never by
    /// `NLM_F_REPLACE`, which would replace theirs. IPv6 would merge the
    /// two into one ECMP route, so there ours is refused and reported.
    pub fn apply(&mut self, nl: &mut Netlink, changes: &[KernelRouteChange]) -> SyncReport {
        let mut report = SyncReport::default();
        for change in changes {
            match change {
                KernelRouteChange::Upsert(route) => {
                    let route = route.normalized();
                    match self.installed.get(&route.prefix) {
                        Some(current) if current.route == route => report.unchanged += 1,
                        Some(current) => {
                            let current = current.clone();
                            self.replace(nl, current, route, &mut report);
                        }
                        None => self.add(nl, route, &mut report),
                    }
                }
                KernelRouteChange::Remove(prefix) => {
                    let prefix = prefix.trunc();
                    let Some(current) = self.installed.remove(&prefix) else {
                        continue;
                    };
                    let what = self.describe(prefix);
                    match delete(nl, self.delete_message(&current.route), &what) {
                        Ok(()) => report.deleted += 1,
                        Err(error) => {
                            report.fail(prefix, error);
                            self.installed.insert(prefix, current);
                        }
                    }
                }
            }
        }
        report
    }

    /// Deletes every route of our protocol, in every table: at shutdown,
    /// and at start for what a crashed run left behind.
    pub fn flush(&mut self, nl: &mut Netlink) -> Result<SyncReport, HostError> {
        let mut report = SyncReport::default();
        for message in nl.routes(Some(VROUTER_RTPROT), None)? {
            let prefix = route_prefix(&message).unwrap_or(IpNet::V4(Default::default()));
            let what = describe(prefix, route_table(&message), route_metric(&message));
            match delete(nl, deletion_of(&message), &what) {
                Ok(()) => report.deleted += 1,
                Err(error) => report.fail(prefix, error),
            }
        }
        self.installed.clear();
        debug!(
            deleted = report.deleted,
            failed = report.failed.len(),
            "kernel routes flushed"
        );
        Ok(report)
    }

    /// Installs a route to a prefix we hold nothing for.
    fn add(&mut self, nl: &mut Netlink, route: KernelRoute, report: &mut SyncReport) {
        let prefix = route.prefix;
        match self.install_new(nl, route) {
            Ok(()) => report.added += 1,
            Err(error) => report.fail(prefix, error),
        }
    }

    /// `NLM_F_EXCL` first; on `EEXIST` (a route of another protocol with
    /// our key) IPv4 appends beside it. Records the route on success.
    fn install_new(&mut self, nl: &mut Netlink, route: KernelRoute) -> Result<(), HostError> {
        let prefix = route.prefix;
        let what = self.describe(prefix);
        let message = route_message(&route, self.table, self.metric);
        let beside_foreign = match nl.new_route(
            message.clone(),
            NLM_F_CREATE | NLM_F_EXCL,
            "add route",
            &what,
        ) {
            Ok(()) => false,
            // IPv6 cannot hold two routes with one key apart: two gateway
            // routes would merge into one ECMP route, which dumps under the
            // first route's protocol only. Refused, reported.
            Err(error) if error.errno() == Some(libc::EEXIST) && prefix.addr().is_ipv4() => {
                warn!(
                    %prefix,
                    table = self.table,
                    metric = self.metric,
                    "a route of another protocol has the same prefix and metric; ours goes in \
                     beside it and the kernel keeps using theirs first (give vrouterd another \
                     kernel metric to avoid this)"
                );
                nl.new_route(message, NLM_F_CREATE | NLM_F_APPEND, "add route", &what)?;
                true
            }
            Err(error) => return Err(error),
        };
        self.installed.insert(
            prefix,
            Installed {
                route,
                beside_foreign,
            },
        );
        Ok(())
    }

    /// Changes our route to a prefix. If that fails the old route stays
    /// (and stays recorded); if the old one was deleted and the new one is
    /// refused, the prefix has none of ours.
    fn replace(
        &mut self,
        nl: &mut Netlink,
        current: Installed,
        route: KernelRoute,
        report: &mut SyncReport,
    ) {
        let prefix = route.prefix;
        let what = self.describe(prefix);
        let in_place = !current.beside_foreign
            && (prefix.addr().is_ipv4() || current.route.has_gateway() == route.has_gateway());
        if in_place {
            let message = route_message(&route, self.table, self.metric);
            match nl.new_route(
                message,
                NLM_F_CREATE | NLM_F_REPLACE,
                "replace route",
                &what,
            ) {
                Ok(()) => {
                    report.replaced += 1;
                    self.installed.insert(
                        prefix,
                        Installed {
                            route,
                            beside_foreign: false,
                        },
                    );
                }
                Err(error) => {
                    report.fail(prefix, error);
                    self.installed.insert(prefix, current);
                }
            }
            return;
        }
        if let Err(error) = delete(nl, self.delete_message(&current.route), &what) {
            report.fail(prefix, error);
            self.installed.insert(prefix, current);
            return;
        }
        self.installed.remove(&prefix);
        match self.install_new(nl, route) {
            Ok(()) => report.replaced += 1,
            Err(error) => report.fail(prefix, error),
        }
    }

    fn delete_message(&self, route: &KernelRoute) -> RouteMessage {
        let mut message = route_message(route, self.table, self.metric);
        message.header.scope = RouteScope::NoWhere;
        message
    }

    fn describe(&self, prefix: IpNet) -> String {
        describe(prefix, self.table, self.metric)
    }
}

fn describe(prefix: IpNet, table: u32, metric: u32) -> String {
    format!("{prefix} in table {table} (metric {metric})")
}

/// Deletes a route; one already gone (`ESRCH`) is not an error.
fn delete(nl: &mut Netlink, message: RouteMessage, what: &str) -> Result<(), HostError> {
    match nl.delete_route(message, what) {
        Err(error) if error.errno() == Some(libc::ESRCH) => Ok(()),
        other => other,
    }
}

/// The request that installs `route` as ours.
fn route_message(route: &KernelRoute, table: u32, metric: u32) -> RouteMessage {
    let prefix = route.prefix;
    let mut message = RouteMessage::default();
    message.header.address_family = match prefix {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    };
    message.header.destination_prefix_length = prefix.prefix_len();
    message.header.table = u8::try_from(table).unwrap_or(TABLE_COMPAT);
    message.header.protocol = RouteProtocol::from(VROUTER_RTPROT);
    message.header.scope = RouteScope::Universe;
    message.header.kind = match route.target {
        KernelTarget::NextHops(_) => RouteType::Unicast,
        KernelTarget::Blackhole => RouteType::BlackHole,
        KernelTarget::Unreachable => RouteType::Unreachable,
    };
    message.attributes = vec![
        RouteAttribute::Destination(RouteAddress::from(prefix.network())),
        RouteAttribute::Table(table),
        RouteAttribute::Priority(metric),
    ];
    if let KernelTarget::NextHops(hops) = &route.target {
        if let [hop] = hops.as_slice() {
            if let Some(gateway) = hop.gateway {
                message.attributes.push(gateway_attribute(prefix, gateway));
            }
            if hop.ifindex != 0 {
                message.attributes.push(RouteAttribute::Oif(hop.ifindex));
            }
        } else if !hops.is_empty() {
            let next_hops = hops
                .iter()
                .map(|hop| {
                    let mut next_hop = RouteNextHop::default();
                    next_hop.hops = hop.weight.max(1) - 1;
                    next_hop.interface_index = hop.ifindex;
                    if let Some(gateway) = hop.gateway {
                        next_hop.attributes.push(gateway_attribute(prefix, gateway));
                    }
                    next_hop
                })
                .collect();
            message
                .attributes
                .push(RouteAttribute::MultiPath(next_hops));
        }
        // As `ip route` does: an IPv4 route with no gateway at all is on
        // the link, which is what the kernel's source address choice reads.
        if prefix.addr().is_ipv4() && hops.iter().all(|hop| hop.gateway.is_none()) {
            message.header.scope = RouteScope::Link;
        }
    }
    message
}

/// An IPv4 route through an IPv6 gateway (RFC 5549) needs `RTA_VIA`;
/// `RTA_GATEWAY` holds only an address of the route's own family.
fn gateway_attribute(prefix: IpNet, gateway: IpAddr) -> RouteAttribute {
    match (prefix, gateway) {
        (IpNet::V4(_), IpAddr::V6(v6)) => RouteAttribute::Via(RouteVia::Inet6(v6)),
        _ => RouteAttribute::Gateway(RouteAddress::from(gateway)),
    }
}

/// The request that deletes exactly the dumped route: its key, protocol,
/// type and next hops, any scope (`RT_SCOPE_NOWHERE`, as `ip route del`).
fn deletion_of(dumped: &RouteMessage) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        scope: RouteScope::NoWhere,
        ..dumped.header.clone()
    };
    message.attributes = dumped
        .attributes
        .iter()
        .filter(|attribute| {
            matches!(
                attribute,
                RouteAttribute::Destination(_)
                    | RouteAttribute::Table(_)
                    | RouteAttribute::Priority(_)
                    | RouteAttribute::Gateway(_)
                    | RouteAttribute::Via(_)
                    | RouteAttribute::Oif(_)
                    | RouteAttribute::MultiPath(_)
            )
        })
        .cloned()
        .collect();
    message
}

fn route_metric(message: &RouteMessage) -> u32 {
    message
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(metric) => Some(*metric),
            _ => None,
        })
        .unwrap_or(0)
}

fn route_prefix(message: &RouteMessage) -> Option<IpNet> {
    let destination = message.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    });
    // A default route carries no RTA_DST.
    let address = match (destination, message.header.address_family) {
        (Some(address), _) => address,
        (None, AddressFamily::Inet) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (None, _) => return None,
    };
    IpNet::new(address, message.header.destination_prefix_length)
        .ok()
        .map(|net| net.trunc())
}

fn gateway_in(attributes: &[RouteAttribute]) -> Option<IpAddr> {
    attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Gateway(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        RouteAttribute::Via(RouteVia::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Via(RouteVia::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })
}

/// A dumped route as a [`KernelRoute`], normalised; `None` for a type we
/// never install (it is then treated as stale).
fn kernel_route_of(message: &RouteMessage) -> Option<KernelRoute> {
    let prefix = route_prefix(message)?;
    let target = match message.header.kind {
        RouteType::BlackHole => KernelTarget::Blackhole,
        RouteType::Unreachable => KernelTarget::Unreachable,
        RouteType::Unicast => {
            let multipath = message.attributes.iter().find_map(|a| match a {
                RouteAttribute::MultiPath(hops) => Some(hops),
                _ => None,
            });
            let hops = match multipath {
                Some(hops) => hops
                    .iter()
                    .map(|hop| KernelNextHop {
                        gateway: gateway_in(&hop.attributes),
                        ifindex: hop.interface_index,
                        weight: hop.hops.saturating_add(1),
                    })
                    .collect(),
                None => {
                    let ifindex = message
                        .attributes
                        .iter()
                        .find_map(|a| match a {
                            RouteAttribute::Oif(ifindex) => Some(*ifindex),
                            _ => None,
                        })
                        .unwrap_or(0);
                    vec![KernelNextHop {
                        gateway: gateway_in(&message.attributes),
                        ifindex,
                        weight: 1,
                    }]
                }
            };
            KernelTarget::NextHops(hops)
        }
        _ => return None,
    };
    Some(KernelRoute { prefix, target }.normalized())
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{Emitable, Parseable};
    use proptest::prelude::*;

    use super::*;

    fn hop(gateway: &str, ifindex: u32, weight: u8) -> KernelNextHop {
        KernelNextHop {
            gateway: Some(gateway.parse().unwrap()),
            ifindex,
            weight,
        }
    }

    /// Encodes as the kernel would receive it and decodes back.
    fn wire_round_trip(message: &RouteMessage) -> RouteMessage {
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        RouteMessage::parse(bytes.as_slice()).expect("our own message decodes")
    }

    #[test]
    fn ecmp_route_goes_out_as_multipath_with_weights() {
        let route = KernelRoute::via(
            "198.51.100.0/24".parse().unwrap(),
            vec![hop("192.0.2.2", 4, 3), hop("192.0.2.3", 5, 1)],
        );
        let message = wire_round_trip(&route_message(&route, MAIN_TABLE, 20));
        assert_eq!(u8::from(message.header.protocol), VROUTER_RTPROT);
        assert_eq!(message.header.kind, RouteType::Unicast);
        assert_eq!(message.header.table, 254);
        assert_eq!(route_metric(&message), 20);
        let hops = message
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(hops) => Some(hops.clone()),
                _ => None,
            })
            .expect("RTA_MULTIPATH");
        assert_eq!(hops.len(), 2);
        assert_eq!((hops[0].interface_index, hops[0].hops), (4, 2));
        assert_eq!(kernel_route_of(&message), Some(route.normalized()));
    }

    #[test]
    fn single_next_hop_uses_gateway_and_oif_and_loses_its_weight() {
        let route = KernelRoute::via(
            "2001:db8:9::/48".parse().unwrap(),
            vec![hop("2001:db8:1::2", 7, 9)],
        );
        let message = wire_round_trip(&route_message(&route, 1000, 5));
        assert_eq!(
            message.header.table, TABLE_COMPAT,
            "1000 only fits RTA_TABLE"
        );
        assert_eq!(route_table(&message), 1000);
        assert!(message.attributes.contains(&RouteAttribute::Oif(7)));
        let back = kernel_route_of(&message).unwrap();
        let KernelTarget::NextHops(hops) = &back.target else {
            panic!("{back:?}");
        };
        assert_eq!(hops[0].weight, 1);
        assert_eq!(back, route.normalized());
    }

    #[test]
    fn device_routes_are_link_scoped_in_ipv4_and_drop_routes_have_their_types() {
        let on_link = KernelRoute::via(
            "192.0.2.0/24".parse().unwrap(),
            vec![KernelNextHop {
                gateway: None,
                ifindex: 3,
                weight: 1,
            }],
        );
        assert_eq!(
            route_message(&on_link, MAIN_TABLE, 20).header.scope,
            RouteScope::Link
        );
        for (route, kind) in [
            (
                KernelRoute::blackhole("10.0.0.0/8".parse().unwrap()),
                RouteType::BlackHole,
            ),
            (
                KernelRoute::unreachable("2001:db8::/32".parse().unwrap()),
                RouteType::Unreachable,
            ),
        ] {
            let message = wire_round_trip(&route_message(&route, MAIN_TABLE, 20));
            assert_eq!(message.header.kind, kind);
            assert_eq!(kernel_route_of(&message), Some(route));
        }
    }

    #[test]
    fn ipv4_over_an_ipv6_gateway_uses_via() {
        let route = KernelRoute::via(
            "203.0.113.0/24".parse().unwrap(),
            vec![hop("fe80::1", 2, 1)],
        );
        let message = route_message(&route, MAIN_TABLE, 20);
        assert!(
            message
                .attributes
                .contains(&RouteAttribute::Via(RouteVia::Inet6(
                    "fe80::1".parse().unwrap()
                )))
        );
        assert_eq!(
            kernel_route_of(&wire_round_trip(&message)),
            Some(route.normalized())
        );
    }

    #[test]
    fn normalisation_clears_host_bits_sorts_and_fixes_zero_weights() {
        let route = KernelRoute::via(
            "10.1.2.3/16".parse().unwrap(),
            vec![hop("10.1.0.9", 2, 0), hop("10.1.0.1", 2, 4)],
        );
        let normal = route.normalized();
        assert_eq!(normal.prefix, "10.1.0.0/16".parse::<IpNet>().unwrap());
        assert_eq!(
            normal.target,
            KernelTarget::NextHops(vec![hop("10.1.0.1", 2, 4), hop("10.1.0.9", 2, 1)])
        );
    }

    #[test]
    fn a_deletion_names_protocol_type_and_next_hops_with_any_scope() {
        let route = KernelRoute::via(
            "198.51.100.0/24".parse().unwrap(),
            vec![hop("192.0.2.2", 4, 1)],
        );
        let mut dumped = route_message(&route, MAIN_TABLE, 20);
        dumped
            .attributes
            .push(RouteAttribute::PrefSource(RouteAddress::Inet(
                "192.0.2.1".parse().unwrap(),
            )));
        let deletion = deletion_of(&dumped);
        assert_eq!(deletion.header.scope, RouteScope::NoWhere);
        assert_eq!(u8::from(deletion.header.protocol), VROUTER_RTPROT);
        assert!(
            deletion
                .attributes
                .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                    "192.0.2.2".parse().unwrap()
                )))
        );
        assert!(
            !deletion
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::PrefSource(_)))
        );
    }

    #[test]
    fn default_route_without_destination_attribute_is_parsed() {
        let mut message = route_message(
            &KernelRoute::blackhole("::/0".parse().unwrap()),
            MAIN_TABLE,
            20,
        );
        message
            .attributes
            .retain(|a| !matches!(a, RouteAttribute::Destination(_)));
        assert_eq!(route_prefix(&message), Some("::/0".parse().unwrap()));
    }

    fn arb_route() -> impl Strategy<Value = KernelRoute> {
        let v4 = (
            any::<u32>(),
            0u8..=32,
            proptest::collection::vec((any::<u32>(), 1u32..64, any::<u8>()), 1..5),
        )
            .prop_map(|(addr, len, hops)| {
                let prefix = IpNet::new(IpAddr::V4(addr.into()), len).unwrap();
                let hops = hops
                    .into_iter()
                    .map(|(gw, ifindex, weight)| KernelNextHop {
                        gateway: Some(IpAddr::V4(gw.into())),
                        ifindex,
                        weight,
                    })
                    .collect();
                KernelRoute::via(prefix, hops)
            });
        let v6 = (
            any::<u128>(),
            0u8..=128,
            proptest::collection::vec((any::<u128>(), 1u32..64, any::<u8>()), 1..5),
        )
            .prop_map(|(addr, len, hops)| {
                let prefix = IpNet::new(IpAddr::V6(addr.into()), len).unwrap();
                let hops = hops
                    .into_iter()
                    .map(|(gw, ifindex, weight)| KernelNextHop {
                        gateway: Some(IpAddr::V6(gw.into())),
                        ifindex,
                        weight,
                    })
                    .collect();
                KernelRoute::via(prefix, hops)
            });
        prop_oneof![v4, v6]
    }

    proptest! {
        /// What we send is what a dump of it reads back as, so reconcile
        /// never replaces a route that is already right.
        #[test]
        fn routes_survive_the_wire(route in arb_route(), table in 1u32..5000, metric in any::<u32>()) {
            let message = wire_round_trip(&route_message(&route, table, metric));
            prop_assert_eq!(route_table(&message), table);
            prop_assert_eq!(route_metric(&message), metric);
            prop_assert_eq!(kernel_route_of(&message), Some(route.normalized()));
        }
    }
}
