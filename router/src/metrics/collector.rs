//! The metrics, read at each scrape from [`RouterState`].
//!
//! `prometheus-client` (the Prometheus project's Rust client) encodes;
//! its `Collector` hook lets every value be read at scrape time from the
//! counters the dataplane already keeps, instead of mirroring them into
//! registered metric objects that would need updating from the hot path.
//! Every series is documented in `docs/api.md#metrics`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use dataplane::pipeline::counters::PortCounters;
use dataplane::pipeline::{DropReason, PuntClass};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::mgmt::RouterState;
use crate::mgmt::api::BfdSession;

/// Label sets: (name, value) pairs.
type Labels = Vec<(&'static str, String)>;
/// Reads one counter of a port.
type PortRead = fn(&PortCounters) -> u64;

/// Reads [`RouterState`] at each scrape.
pub struct RouterCollector {
    state: Arc<RouterState>,
}

impl RouterCollector {
    pub fn new(state: Arc<RouterState>) -> Self {
        Self { state }
    }
}

impl fmt::Debug for RouterCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouterCollector")
    }
}

/// The whole exposition for `state`, `# EOF` included.
pub fn render(state: &Arc<RouterState>) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(RouterCollector::new(Arc::clone(state))));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// One metric with a sample per label set.
fn family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        let mut sample = metric.encode_family(&labels)?;
        match kind {
            MetricType::Counter => sample.encode_counter::<NoLabelSet, _, u64>(&value, None)?,
            _ => sample.encode_gauge(&value)?,
        }
    }
    Ok(())
}

/// One counter without labels.
fn counter(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&value, None)
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|&(k, v)| (k, v.to_owned())).collect()
}

impl Collector for RouterCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> fmt::Result {
        let state = &self.state;
        let c = &state.counters;
        let config = state.config();
        let ports: Vec<(&str, usize)> = config
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        let per_port = |read: PortRead| {
            ports
                .iter()
                .map(|&(name, i)| {
                    let value = c.ports.get(i).map_or(0, read);
                    (labels(&[("port", name)]), value)
                })
                .collect::<Vec<_>>()
        };
        let port_series: [(&str, &str, PortRead); 5] = [
            (
                "vrouter_port_rx_packets",
                "Frames received on the port.",
                |p| p.rx_packets.get(),
            ),
            (
                "vrouter_port_rx_bytes",
                "Bytes received on the port.",
                |p| p.rx_bytes.get(),
            ),
            ("vrouter_port_tx_packets", "Frames sent on the port.", |p| {
                p.tx_packets.get()
            }),
            ("vrouter_port_tx_bytes", "Bytes sent on the port.", |p| {
                p.tx_bytes.get()
            }),
            (
                "vrouter_port_tx_dropped",
                "Frames dropped because the port's transmit ring was full.",
                |p| p.tx_dropped.get(),
            ),
        ];
        for (name, help, read) in port_series {
            family(&mut e, name, help, MetricType::Counter, per_port(read))?;
        }
        family(
            &mut e,
            "vrouter_port_up",
            "1 when the port has carrier, 0 when not (absent when unreadable).",
            MetricType::Gauge,
            ports.iter().filter_map(|&(name, _)| {
                (state.carrier)(name).map(|up| (labels(&[("port", name)]), u64::from(up)))
            }),
        )?;
        family(
            &mut e,
            "vrouter_drops",
            "Packets the dataplane dropped, by reason.",
            MetricType::Counter,
            DropReason::ALL
                .iter()
                .map(|&r| (labels(&[("reason", r.label())]), c.drops(r))),
        )?;
        // Per ingress port, only the reasons that happened: 25 reasons ×
        // every port of zeros would drown the scrape.
        let mut port_drops = Vec::new();
        for &(name, i) in &ports {
            for &r in DropReason::ALL.iter() {
                let n = c.port_drops(Some(i), r);
                if n > 0 {
                    port_drops.push((labels(&[("port", name), ("reason", r.label())]), n));
                }
            }
        }
        family(
            &mut e,
            "vrouter_port_drops",
            "Packets received on the port and dropped, by reason (reasons seen so far).",
            MetricType::Counter,
            port_drops,
        )?;
        family(
            &mut e,
            "vrouter_punts",
            "Frames handed to the host or the control plane, by class.",
            MetricType::Counter,
            PuntClass::ALL
                .iter()
                .map(|&p| (labels(&[("class", p.label())]), c.punts(p))),
        )?;
        counter(
            &mut e,
            "vrouter_forwarded_packets",
            "Packets forwarded.",
            c.forwarded.get(),
        )?;
        counter(
            &mut e,
            "vrouter_icmp_errors_sent",
            "ICMP errors the router originated.",
            c.icmp_errors_sent.get(),
        )?;
        counter(
            &mut e,
            "vrouter_icmp_errors_rate_limited",
            "ICMP errors withheld by the [icmp] rate limit.",
            c.icmp_errors_rate_limited.get(),
        )?;
        counter(
            &mut e,
            "vrouter_fragments_sent",
            "IPv4 fragments sent.",
            c.fragments_sent.get(),
        )?;
        counter(
            &mut e,
            "vrouter_neighbor_queued",
            "Packets queued while their next hop's MAC was resolved.",
            c.neighbor_queued.get(),
        )?;
        counter(
            &mut e,
            "vrouter_solicitations_sent",
            "ARP requests and neighbor solicitations sent.",
            c.solicitations_sent.get(),
        )?;
        counter(
            &mut e,
            "vrouter_host_twin_drops",
            "Punted frames the host twin would not take.",
            state.host_drops.load(Ordering::Relaxed),
        )?;

        let fib = state.fib_route_counts();
        family(
            &mut e,
            "vrouter_fib_routes",
            "Routes in the FIB, by address family.",
            MetricType::Gauge,
            [
                (labels(&[("family", "ipv4")]), fib.ipv4 as u64),
                (labels(&[("family", "ipv6")]), fib.ipv6 as u64),
            ],
        )?;
        family(
            &mut e,
            "vrouter_routes",
            "Selected routes (those in the FIB), by source.",
            MetricType::Gauge,
            state
                .selected_routes_by_source()
                .into_iter()
                .map(|(source, n)| (vec![("source", source.to_string())], n as u64)),
        )?;
        family(
            &mut e,
            "vrouter_nexthop_up",
            "1 while the next hop is live (its port has carrier), 0 when down.",
            MetricType::Gauge,
            state.nexthops().into_iter().map(|n| {
                let labels: Labels = vec![
                    ("nexthop", n.id.map(|i| i.to_string()).unwrap_or_default()),
                    ("interface", n.interface),
                    ("via", n.via.map(|v| v.to_string()).unwrap_or_default()),
                ];
                (labels, u64::from(n.live == Some(true)))
            }),
        )?;
        let mut by_state = std::collections::BTreeMap::<String, u64>::new();
        for neighbor in state.neighbors().neighbors {
            *by_state.entry(neighbor.state).or_default() += 1;
        }
        family(
            &mut e,
            "vrouter_neighbors",
            "Entries of the dataplane's neighbor table, by state.",
            MetricType::Gauge,
            by_state.into_iter().map(|(s, n)| (vec![("state", s)], n)),
        )?;
        encode_bfd(&mut e, &state.bfd_sessions(None).sessions)?;
        Ok(())
    }
}

/// Per BFD session: state, timers and counters, labelled by peer, local
/// address and interface.
fn encode_bfd(e: &mut DescriptorEncoder<'_>, sessions: &[BfdSession]) -> fmt::Result {
    let session_labels = |s: &BfdSession| -> Labels {
        vec![
            ("peer", s.peer.to_string()),
            ("local", s.local.to_string()),
            ("interface", s.interface.clone().unwrap_or_default()),
        ]
    };
    type Read = fn(&BfdSession) -> u64;
    let gauges: [(&str, &str, Read); 4] = [
        (
            "vrouter_bfd_session_up",
            "1 while the BFD session is Up, 0 otherwise.",
            |s| u64::from(s.state == "up"),
        ),
        (
            "vrouter_bfd_session_guards_live",
            "1 while the session holds its guarded next hops live (Up, past hold-down, not dampened).",
            |s| u64::from(s.guards_live),
        ),
        (
            "vrouter_bfd_tx_interval_microseconds",
            "Negotiated transmit interval.",
            |s| u64::from(s.tx_interval_us),
        ),
        (
            "vrouter_bfd_detect_time_microseconds",
            "Detection time: the peer's multiplier times the agreed receive interval.",
            |s| s.detect_time_us,
        ),
    ];
    for (name, help, read) in gauges {
        family(
            e,
            name,
            help,
            MetricType::Gauge,
            sessions.iter().map(|s| (session_labels(s), read(s))),
        )?;
    }
    let counters: [(&str, &str, Read); 6] = [
        ("vrouter_bfd_rx_packets", "BFD packets accepted.", |s| {
            s.rx_packets
        }),
        ("vrouter_bfd_tx_packets", "BFD packets sent.", |s| {
            s.tx_packets
        }),
        (
            "vrouter_bfd_dropped_packets",
            "BFD packets for the session dropped, for any reason.",
            |s| s.dropped,
        ),
        (
            "vrouter_bfd_auth_failures",
            "BFD packets dropped for failed authentication.",
            |s| s.auth_failures,
        ),
        (
            "vrouter_bfd_ttl_failures",
            "BFD packets dropped for a TTL below 255 (single-hop) or minimum-ttl (multihop).",
            |s| s.ttl_failures,
        ),
        ("vrouter_bfd_flaps", "Times the session left Up.", |s| {
            s.flaps
        }),
    ];
    for (name, help, read) in counters {
        family(
            e,
            name,
            help,
            MetricType::Counter,
            sessions.iter().map(|s| (session_labels(s), read(s))),
        )?;
    }
    Ok(())
}
