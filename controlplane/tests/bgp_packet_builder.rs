//! UpdateBuilder: 10 000 prefixes pack into UPDATEs that each fit the
//! session maximum (4096, or 65535 with RFC 8654), decode back to exactly
//! the prefixes given, and use as few messages as possible — every message
//! but the last would overflow with one more prefix.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use controlplane::bgp::packet::*;
use ipnet::{Ipv4Net, Ipv6Net};

const COUNT: u32 = 10_000;

/// Mixed lengths so messages do not all hold the same number of prefixes.
fn ipv4_prefixes() -> Vec<Ipv4Net> {
    (0..COUNT)
        .map(|i| {
            let len = [24u8, 16, 32, 22, 8][i as usize % 5];
            Ipv4Net::new(
                Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761))),
                len,
            )
            .unwrap()
            .trunc()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn ipv6_prefixes() -> Vec<Ipv6Net> {
    (0..COUNT)
        .map(|i| {
            let len = [48u8, 64, 128, 32, 56][i as usize % 5];
            let addr = (0x2001_0db8u128 << 96) | (u128::from(i) << 64) | u128::from(i);
            Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap().trunc()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn attrs() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence([65000, 65001, 4_200_000_000])),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(10),
        communities: vec![Community::new(65000, 1), Community::NO_EXPORT],
        large_communities: vec![LargeCommunity {
            global_admin: 65000,
            local_data1: 1,
            local_data2: 2,
        }],
        ..PathAttributes::default()
    }
}

fn sessions() -> [DecodeContext; 2] {
    let base = DecodeContext {
        four_octet_as: true,
        ..DecodeContext::default()
    };
    [
        base,
        DecodeContext {
            extended_messages: true,
            ..base
        },
    ]
}

/// Encodes every update, checks each fits and decodes cleanly, and returns
/// the decoded updates with their encoded lengths.
fn encode_all(updates: &[Update], ctx: &DecodeContext) -> Vec<(Update, usize)> {
    updates
        .iter()
        .map(|update| {
            let bytes = Message::Update(update.clone())
                .to_bytes(ctx)
                .expect("builder output encodes");
            assert!(
                bytes.len() <= ctx.max_message_len(),
                "{} > {}",
                bytes.len(),
                ctx.max_message_len()
            );
            match Message::decode(&bytes, ctx).expect("builder output decodes") {
                DecodedMessage::Update {
                    update: decoded,
                    action,
                } => {
                    assert_eq!(action, None);
                    assert_eq!(&decoded, update);
                    (decoded, bytes.len())
                }
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

/// Octets a prefix of `bits` takes (RFC 4271 §4.3).
fn wire_len(bits: u8) -> usize {
    1 + usize::from(bits).div_ceil(8)
}

/// Every message but the last is full: the next prefix would not fit
/// (allowing one octet for an attribute length growing to two).
fn assert_full(lengths: &[usize], next_prefix_bits: &[u8], max: usize) {
    for (len, bits) in lengths.iter().zip(next_prefix_bits) {
        assert!(
            len + wire_len(*bits) + 1 > max,
            "message of {len} octets could take a /{bits} too"
        );
    }
}

#[test]
fn ipv4_announcements_pack_tightly_and_decode_back() {
    let prefixes = ipv4_prefixes();
    for ctx in sessions() {
        let builder = UpdateBuilder::new(ctx);
        let updates = builder.announce_ipv4(&attrs(), &prefixes).unwrap();
        let decoded = encode_all(&updates, &ctx);
        let got: Vec<Ipv4Net> = decoded.iter().flat_map(|(u, _)| u.nlri.clone()).collect();
        assert_eq!(got, prefixes);
        assert!(decoded.iter().all(|(u, _)| u.attrs == attrs()));
        let lengths: Vec<usize> = decoded.iter().map(|(_, len)| *len).collect();
        let next: Vec<u8> = decoded
            .iter()
            .skip(1)
            .map(|(u, _)| u.nlri[0].prefix_len())
            .collect();
        assert_full(&lengths, &next, ctx.max_message_len());
        // No message may be smaller than needed: the total cannot fit fewer.
        let total: usize = lengths.iter().sum();
        assert!(updates.len() <= total.div_ceil(ctx.max_message_len()) + 1);
    }
}

#[test]
fn ipv4_withdrawals_pack_tightly_and_decode_back() {
    let prefixes = ipv4_prefixes();
    for ctx in sessions() {
        let updates = UpdateBuilder::new(ctx).withdraw_ipv4(&prefixes);
        let decoded = encode_all(&updates, &ctx);
        let got: Vec<Ipv4Net> = decoded
            .iter()
            .flat_map(|(u, _)| u.withdrawn.clone())
            .collect();
        assert_eq!(got, prefixes);
        let lengths: Vec<usize> = decoded.iter().map(|(_, len)| *len).collect();
        let next: Vec<u8> = decoded
            .iter()
            .skip(1)
            .map(|(u, _)| u.withdrawn[0].prefix_len())
            .collect();
        assert_full(&lengths, &next, ctx.max_message_len());
    }
}

#[test]
fn ipv6_announcements_pack_tightly_and_decode_back() {
    let prefixes = ipv6_prefixes();
    let next_hop = MpNextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    let mut attrs = attrs();
    attrs.next_hop = None;
    for ctx in sessions() {
        let updates = UpdateBuilder::new(ctx)
            .announce_ipv6(&attrs, next_hop.clone(), &prefixes)
            .unwrap();
        let decoded = encode_all(&updates, &ctx);
        let mut got = Vec::new();
        let mut next_bits = Vec::new();
        for (update, _) in &decoded {
            let reach = update.mp_reach.as_ref().unwrap();
            assert_eq!(reach.next_hop, next_hop);
            let MpPrefixes::Ipv6(nlri) = &reach.nlri else {
                panic!("{reach:?}")
            };
            next_bits.push(nlri[0].prefix_len());
            got.extend_from_slice(nlri);
        }
        assert_eq!(got, prefixes);
        let lengths: Vec<usize> = decoded.iter().map(|(_, len)| *len).collect();
        assert_full(&lengths, &next_bits[1..], ctx.max_message_len());
    }
}

#[test]
fn ipv6_withdrawals_pack_tightly_and_decode_back() {
    let prefixes = ipv6_prefixes();
    for ctx in sessions() {
        let updates = UpdateBuilder::new(ctx).withdraw_ipv6(&prefixes);
        let decoded = encode_all(&updates, &ctx);
        let mut got = Vec::new();
        let mut next_bits = Vec::new();
        for (update, _) in &decoded {
            let MpPrefixes::Ipv6(withdrawn) = &update.mp_unreach.as_ref().unwrap().withdrawn else {
                panic!("{update:?}")
            };
            next_bits.push(withdrawn[0].prefix_len());
            got.extend_from_slice(withdrawn);
        }
        assert_eq!(got, prefixes);
        let lengths: Vec<usize> = decoded.iter().map(|(_, len)| *len).collect();
        assert_full(&lengths, &next_bits[1..], ctx.max_message_len());
    }
}

#[test]
fn nothing_to_send_is_no_message() {
    let builder = UpdateBuilder::new(sessions()[0]);
    assert!(builder.announce_ipv4(&attrs(), &[]).unwrap().is_empty());
    assert!(builder.withdraw_ipv6(&[]).is_empty());
}

#[test]
fn attributes_too_large_for_any_prefix_are_refused() {
    // With 4070 octets of unknown attribute the attributes alone exceed 4096.
    let mut attrs = attrs();
    attrs.unknown.push(UnknownAttr {
        flags: AttrFlags(0xc0),
        type_code: 200,
        value: vec![0; 4070],
    });
    let prefixes = [Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8).unwrap()];
    let builder = UpdateBuilder::new(sessions()[0]);
    assert!(matches!(
        builder.announce_ipv4(&attrs, &prefixes),
        Err(EncodeError::TooLong { max: 4096, .. })
    ));
    // With extended messages they fit.
    let extended = UpdateBuilder::new(sessions()[1]);
    assert_eq!(extended.announce_ipv4(&attrs, &prefixes).unwrap().len(), 1);
}
