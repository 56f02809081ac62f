//! Transport ports for flow hashing.

use super::ip_protocol::IpProtocol;

/// Source and destination ports of a TCP, UDP or SCTP header: all three
/// put them in the first four bytes (RFC 9293 §3.1, RFC 768, RFC 9260
/// §3.1). `None` for other protocols or fewer than four bytes.
///
/// On the per-packet path for ECMP hashing: no validation beyond length.
#[inline]
pub fn transport_ports(protocol: IpProtocol, l4: &[u8]) -> Option<(u16, u16)> {
    if !matches!(
        protocol,
        IpProtocol::Tcp | IpProtocol::Udp | IpProtocol::Sctp
    ) {
        return None;
    }
    let [a, b, c, d] = *l4.first_chunk::<4>()?;
    Some((u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])))
}
