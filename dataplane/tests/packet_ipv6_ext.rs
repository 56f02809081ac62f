//! The IPv6 extension-header walk (RFC 8200 §4; AH per RFC 4302 §2.2).

use dataplane::packet::ipv6::{FragmentInfo, Ipv6Packet, MAX_EXTENSION_HEADERS, UpperLayer};
use dataplane::packet::{IpProtocol, ParseError, transport_ports};

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const ESP: u8 = 50;
const AH: u8 = 51;
const NO_NEXT: u8 = 59;
const DEST_OPTS: u8 = 60;
const UDP: u8 = 17;

/// One extension header: its own type and its body after the Next Header
/// octet (the walk fills Next Header from the following element).
struct Ext {
    kind: u8,
    after_next_header: Vec<u8>,
}

/// Options-style header (HbH, DestOpts) of `units` 8-octet units beyond
/// the first, padded with PadN (RFC 8200 §4.2).
fn options_header(kind: u8, units: u8) -> Ext {
    let len = (usize::from(units) + 1) * 8;
    let mut body = vec![units, 1, (len - 4) as u8];
    body.resize(len - 1, 0);
    Ext {
        kind,
        after_next_header: body,
    }
}

fn routing_header() -> Ext {
    // Type 4 (SRH) is irrelevant to the walk; only Hdr Ext Len matters.
    Ext {
        kind: ROUTING,
        after_next_header: vec![0, 4, 0, 0, 0, 0, 0],
    }
}

fn fragment_header(offset_bytes: u16, more: bool, ident: u32) -> Ext {
    let word = offset_bytes | u16::from(more);
    let mut body = vec![0];
    body.extend_from_slice(&word.to_be_bytes());
    body.extend_from_slice(&ident.to_be_bytes());
    Ext {
        kind: FRAGMENT,
        after_next_header: body,
    }
}

fn ah_header(payload_len_field: u8) -> Ext {
    let len = (usize::from(payload_len_field) + 2) * 4;
    let mut body = vec![payload_len_field];
    body.resize(len - 1, 0x5a);
    Ext {
        kind: AH,
        after_next_header: body,
    }
}

/// An IPv6 packet whose chain is `exts` then `upper` with `upper_bytes`.
fn packet(exts: &[Ext], upper: u8, upper_bytes: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (i, ext) in exts.iter().enumerate() {
        payload.push(exts.get(i + 1).map_or(upper, |e| e.kind));
        payload.extend_from_slice(&ext.after_next_header);
    }
    payload.extend_from_slice(upper_bytes);
    let mut bytes = vec![0x60, 0, 0, 0];
    bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    bytes.push(exts.first().map_or(upper, |e| e.kind));
    bytes.push(64);
    bytes.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    bytes.extend_from_slice(&[0; 11]);
    bytes.push(1);
    bytes.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    bytes.extend_from_slice(&[0; 11]);
    bytes.push(2);
    bytes.extend_from_slice(&payload);
    bytes
}

const UDP_HEADER: [u8; 8] = [0x12, 0x34, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];

fn walk(bytes: &[u8]) -> Result<UpperLayer, ParseError> {
    Ipv6Packet::new_checked(bytes)?.upper_layer()
}

#[test]
fn no_extension_headers_means_upper_layer_at_40() {
    let bytes = packet(&[], UDP, &UDP_HEADER);
    assert_eq!(
        walk(&bytes),
        Ok(UpperLayer {
            protocol: IpProtocol::Udp,
            offset: 40,
            fragment: None
        })
    );
}

#[test]
fn full_chain_to_udp_in_a_first_fragment() {
    let chain = [
        options_header(HOP_BY_HOP, 1), // 16 bytes
        options_header(DEST_OPTS, 0),  // 8
        routing_header(),              // 8
        fragment_header(0, true, 0xdead_beef),
    ];
    let bytes = packet(&chain, UDP, &UDP_HEADER);
    let upper = walk(&bytes).unwrap();
    let expected_offset = 40 + 16 + 8 + 8 + 8;
    assert_eq!(
        upper,
        UpperLayer {
            protocol: IpProtocol::Udp,
            offset: expected_offset,
            fragment: Some(FragmentInfo {
                offset: 0,
                more: true,
                ident: 0xdead_beef
            }),
        }
    );
    assert!(upper.has_header());
    assert_eq!(
        transport_ports(upper.protocol, &bytes[upper.offset..]),
        Some((0x1234, 53))
    );
}

#[test]
fn non_first_fragment_stops_at_the_fragment_header() {
    // RFC 8200 §4.5: the fragment's data is the middle of the original
    // payload; there is no UDP header to read, only the Next Header value.
    let chain = [
        options_header(HOP_BY_HOP, 0),
        fragment_header(1232, false, 7),
    ];
    let bytes = packet(&chain, UDP, &[0xaa; 16]);
    let upper = walk(&bytes).unwrap();
    assert_eq!(
        upper,
        UpperLayer {
            protocol: IpProtocol::Udp,
            offset: 40 + 8 + 8,
            fragment: Some(FragmentInfo {
                offset: 1232,
                more: false,
                ident: 7
            }),
        }
    );
    assert!(!upper.has_header());
    // Even a Destination Options header after the Fragment header is not walked.
    let chain = [fragment_header(8, true, 9), options_header(DEST_OPTS, 0)];
    let bytes = packet(&chain, UDP, &UDP_HEADER);
    assert_eq!(walk(&bytes).unwrap().protocol, IpProtocol::Ipv6Opts);
}

#[test]
fn ah_length_is_in_four_octet_units_plus_two() {
    // Payload Len 4 → (4 + 2) × 4 = 24 bytes (RFC 4302 §2.2).
    let bytes = packet(&[ah_header(4)], UDP, &UDP_HEADER);
    assert_eq!(walk(&bytes).unwrap().offset, 40 + 24);
}

#[test]
fn walk_stops_at_esp_and_no_next_header() {
    let bytes = packet(
        &[options_header(DEST_OPTS, 0)],
        ESP,
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert_eq!(
        walk(&bytes).unwrap(),
        UpperLayer {
            protocol: IpProtocol::Esp,
            offset: 48,
            fragment: None
        }
    );
    let bytes = packet(&[options_header(DEST_OPTS, 0)], NO_NEXT, &[]);
    assert_eq!(
        walk(&bytes).unwrap(),
        UpperLayer {
            protocol: IpProtocol::Ipv6NoNxt,
            offset: 48,
            fragment: None
        }
    );
}

#[test]
fn chain_running_off_the_end_is_truncated() {
    // Hdr Ext Len claims 3 more units than the packet carries.
    let mut bytes = packet(&[options_header(DEST_OPTS, 0)], UDP, &UDP_HEADER);
    bytes[41] = 3;
    assert_eq!(walk(&bytes), Err(ParseError::Truncated));
    // A header cut in half by the end of the payload.
    let full = packet(&[routing_header(), fragment_header(0, true, 1)], UDP, &[]);
    for cut in 41..full.len() {
        let mut bytes = full[..cut].to_vec();
        bytes[4..6].copy_from_slice(&((cut - 40) as u16).to_be_bytes());
        assert_eq!(walk(&bytes), Err(ParseError::Truncated), "cut at {cut}");
    }
}

#[test]
fn walk_respects_payload_len_not_the_buffer() {
    // The header fits in the buffer, but only because of trailing padding
    // beyond payload_len: it still runs off the packet.
    let mut bytes = packet(&[options_header(DEST_OPTS, 0)], UDP, &[]);
    bytes[5] = 4;
    assert_eq!(walk(&bytes), Err(ParseError::Truncated));
}

#[test]
fn over_long_chain_is_refused() {
    let chain: Vec<Ext> = (0..MAX_EXTENSION_HEADERS)
        .map(|_| options_header(DEST_OPTS, 0))
        .collect();
    let bytes = packet(&chain, UDP, &UDP_HEADER);
    assert_eq!(walk(&bytes).unwrap().offset, 40 + 8 * MAX_EXTENSION_HEADERS);

    let chain: Vec<Ext> = (0..=MAX_EXTENSION_HEADERS)
        .map(|_| options_header(DEST_OPTS, 0))
        .collect();
    let bytes = packet(&chain, UDP, &UDP_HEADER);
    assert_eq!(walk(&bytes), Err(ParseError::TooManyHeaders));
}

#[test]
fn hop_by_hop_after_the_first_header_is_malformed() {
    // RFC 8200 §4.3: Hop-by-Hop Options appear only right after the IPv6 header.
    let bytes = packet(
        &[options_header(DEST_OPTS, 0), options_header(HOP_BY_HOP, 0)],
        UDP,
        &UDP_HEADER,
    );
    assert!(matches!(walk(&bytes), Err(ParseError::Malformed(_))));
}

#[test]
fn two_fragment_headers_are_malformed() {
    let bytes = packet(
        &[fragment_header(0, true, 1), fragment_header(0, true, 1)],
        UDP,
        &UDP_HEADER,
    );
    assert!(matches!(walk(&bytes), Err(ParseError::Malformed(_))));
}

#[test]
fn walk_on_unchecked_short_buffer_does_not_panic() {
    let bytes = packet(&[options_header(DEST_OPTS, 0)], UDP, &UDP_HEADER);
    for cut in 0..bytes.len() {
        // new_unchecked skips the length checks; upper_layer must cope.
        let _ = Ipv6Packet::new_unchecked(&bytes[..cut]).upper_layer();
    }
    assert_eq!(
        Ipv6Packet::new_unchecked(&bytes[..39]).upper_layer(),
        Err(ParseError::Truncated)
    );
}
