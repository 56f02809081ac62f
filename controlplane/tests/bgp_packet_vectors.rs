//! Byte-exact packet vectors: every message type and every path
//! attribute, hand-assembled from the RFC layouts, must decode to the
//! expected value and that value must encode back to the same bytes.

use std::net::Ipv4Addr;

use controlplane::bgp::packet::*;
use ipnet::{Ipv4Net, Ipv6Net};

/// Hex with any whitespace, `|` separators and `#` comments to end of line.
fn hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(|line| line.chars())
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

const MARKER: &str = "ffffffff ffffffff ffffffff ffffffff";

fn ctx4() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        ..DecodeContext::default()
    }
}

fn ibgp4() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        ibgp: true,
        ..DecodeContext::default()
    }
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

/// Decodes `bytes` cleanly to `expected`, and encodes `expected` to `bytes`.
fn assert_vector(bytes: &[u8], expected: &Message, ctx: &DecodeContext) {
    assert_eq!(frame(bytes, ctx.max_message_len()), Ok(Some(bytes.len())));
    let decoded = Message::decode(bytes, ctx).expect("vector decodes");
    if let DecodedMessage::Update { action, .. } = &decoded {
        assert_eq!(action, &None, "vector decodes without RFC 7606 action");
    }
    assert_eq!(&decoded.into_message(), expected);
    assert_eq!(expected.to_bytes(ctx).expect("vector encodes"), bytes);
}

fn update(decoded: DecodedMessage) -> (Update, Option<UpdateErrorAction>) {
    match decoded {
        DecodedMessage::Update { update, action } => (update, action),
        other => panic!("not an UPDATE: {other:?}"),
    }
}

#[test]
fn keepalive() {
    let bytes = hex(&format!("{MARKER} 0013 04"));
    assert_vector(&bytes, &Message::Keepalive, &DecodeContext::default());
}

/// The OPEN FRR 8.4 sends on an eBGP session with IPv4 and IPv6 unicast:
/// each capability in its own parameter (RFC 5492 §4).
fn frr_open_bytes() -> Vec<u8> {
    hex(&format!(
        "{MARKER} 005c 01
         04 fde9 00b4 0a000001 3f        # version 4, AS 65001, hold 180, id 10.0.0.1, 63 octets
         02 06 01 04 0001 00 01          # MP IPv4 unicast (RFC 4760 §8)
         02 06 01 04 0002 00 01          # MP IPv6 unicast
         02 02 02 00                     # route refresh (RFC 2918)
         02 02 46 00                     # enhanced route refresh (RFC 7313)
         02 06 41 04 0000fde9            # four-octet AS 65001 (RFC 6793)
         02 02 06 00                     # extended message (RFC 8654)
         02 0a 45 08 0001 01 01 0002 01 01   # add-path receive v4, v6 (RFC 7911)
         02 07 49 05 03 677731 00        # FQDN hostname gw1, no domain
         02 04 40 02 4078                # graceful restart: N bit, 120 s, helper only (RFC 4724)"
    ))
}

fn frr_open() -> Open {
    Open {
        my_as: 65001,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
            },
            Capability::Multiprotocol {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs { asn: 65001 },
            Capability::ExtendedMessage,
            Capability::AddPath(vec![
                AddPathFamily {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                    mode: AddPathMode::Receive,
                },
                AddPathFamily {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                    mode: AddPathMode::Receive,
                },
            ]),
            Capability::Unknown {
                code: capability_code::FQDN,
                value: vec![3, b'g', b'w', b'1', 0],
            },
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 120,
                families: vec![],
            }),
        ],
    }
}

#[test]
fn open_as_frr_sends_it() {
    let bytes = frr_open_bytes();
    let open = frr_open();
    assert_vector(
        &bytes,
        &Message::Open(open.clone()),
        &DecodeContext::default(),
    );
    assert_eq!(open.asn(), 65001);
    assert_eq!(
        open.multiprotocol().collect::<Vec<_>>(),
        [(Afi::Ipv4, Safi::Unicast), (Afi::Ipv6, Safi::Unicast)]
    );
    assert!(open.has_capability(capability_code::ENHANCED_ROUTE_REFRESH));
    assert_eq!(open.graceful_restart().map(|gr| gr.restart_time), Some(120));
}

#[test]
fn open_with_all_capabilities_in_one_parameter_decodes_the_same() {
    // BIRD packs every capability into a single parameter.
    let bytes = hex(&format!(
        "{MARKER} 002b 01
         04 fde9 00b4 0a000001 0e
         02 0c 01 04 0001 00 01  41 04 0000fde9"
    ));
    let open = match Message::decode(&bytes, &DecodeContext::default()).unwrap() {
        DecodedMessage::Open(open) => open,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        open.capabilities,
        [
            Capability::Multiprotocol {
                afi: Afi::Ipv4,
                safi: Safi::Unicast
            },
            Capability::FourOctetAs { asn: 65001 }
        ]
    );
}

#[test]
fn open_four_octet_as_uses_as_trans() {
    // AS 4200000001 = 0xfa56ea01; My AS carries AS_TRANS 23456 = 0x5ba0.
    let bytes = hex(&format!(
        "{MARKER} 0025 01
         04 5ba0 005a c0000201 08
         02 06 41 04 fa56ea01"
    ));
    let open = Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![Capability::FourOctetAs { asn: 4_200_000_001 }],
    );
    assert_eq!(open.my_as, AS_TRANS);
    assert_vector(
        &bytes,
        &Message::Open(open.clone()),
        &DecodeContext::default(),
    );
    assert_eq!(open.asn(), 4_200_000_001);
}

#[test]
fn open_graceful_restart_with_families() {
    // R bit, 300 s = 0x12c; IPv4 unicast with F bit, IPv6 unicast without.
    let bytes = hex(&format!(
        "{MARKER} 002b 01
         04 fde9 00b4 0a000001 0e
         02 0c 40 0a 812c 0001 01 80 0002 01 00"
    ));
    let open = Open {
        my_as: 65001,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: false,
            restart_time: 300,
            families: vec![
                GracefulRestartFamily {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                    forwarding_preserved: true,
                },
                GracefulRestartFamily {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                    forwarding_preserved: false,
                },
            ],
        })],
    };
    assert_vector(&bytes, &Message::Open(open), &DecodeContext::default());
}

#[test]
fn open_with_rfc9072_extended_parameters_length() {
    // A 300-octet unknown capability value does not fit the classic
    // one-octet lengths; RFC 9072 §2: 255, 255, 2-octet total, then
    // parameters with 2-octet lengths.
    let value: Vec<u8> = (0..253u8).collect();
    let mut open = frr_open();
    open.capabilities = vec![
        Capability::RouteRefresh,
        Capability::Unknown {
            code: 200,
            value: value.clone(),
        },
    ];
    // Parameters: route refresh 1+2+2, the big one 1+2+(2+253): 263 = 0x107.
    let mut body = hex("04 fde9 00b4 0a000001  ff ff 0107  02 0002 0200  02 00ff c8fd");
    body.extend_from_slice(&value);
    // 19 header + 10 fixed + 1 type + 2 length + 263 = 295 = 0x127.
    let mut bytes = hex(&format!("{MARKER} 0127 01"));
    bytes.extend_from_slice(&body);
    assert_eq!(bytes.len(), 0x127);
    assert_vector(&bytes, &Message::Open(open), &DecodeContext::default());
}

#[test]
fn open_errors_carry_the_rfc4271_notification() {
    let ctx = DecodeContext::default();
    let cases = [
        // Version 3: Unsupported Version, data = 2-octet version 4.
        (
            format!("{MARKER} 001d 01 03 fde9 00b4 0a000001 00"),
            ErrorCode::Open(OpenSubcode::UnsupportedVersionNumber),
            vec![0, 4],
        ),
        // Hold time 2.
        (
            format!("{MARKER} 001d 01 04 fde9 0002 0a000001 00"),
            ErrorCode::Open(OpenSubcode::UnacceptableHoldTime),
            vec![],
        ),
        // Identifier 0.0.0.0 (RFC 6286 §2.1).
        (
            format!("{MARKER} 001d 01 04 fde9 00b4 00000000 00"),
            ErrorCode::Open(OpenSubcode::BadBgpIdentifier),
            vec![],
        ),
        // Optional parameter type 1 (authentication, deprecated).
        (
            format!("{MARKER} 0020 01 04 fde9 00b4 0a000001 03 01 01 00"),
            ErrorCode::Open(OpenSubcode::UnsupportedOptionalParameter),
            vec![],
        ),
        // Four-octet AS capability with 3 octets: malformed, Unspecific.
        (
            format!("{MARKER} 0024 01 04 fde9 00b4 0a000001 07 02 05 41 03 000000"),
            ErrorCode::Open(OpenSubcode::Unspecific),
            vec![],
        ),
        // Capability length past the parameter.
        (
            format!("{MARKER} 0021 01 04 fde9 00b4 0a000001 04 02 02 41 04"),
            ErrorCode::Open(OpenSubcode::Unspecific),
            vec![],
        ),
        // OPEN shorter than 29 octets.
        (
            format!("{MARKER} 001c 01 04 fde9 00b4 0a000001"),
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageLength),
            vec![0, 0x1c],
        ),
    ];
    for (text, code, data) in cases {
        let error = Message::decode(&hex(&text), &ctx).expect_err(&text);
        assert_eq!(error.notification.error, code, "{text}: {error}");
        assert_eq!(error.notification.data, data, "{text}");
    }
}

/// An eBGP UPDATE for IPv6 with a global and a link-local next hop
/// (RFC 2545 §3), MP_REACH_NLRI first (RFC 7606 §5.1).
#[test]
fn update_ipv6_with_link_local_next_hop() {
    let bytes = hex(&format!(
        "{MARKER} 005a 02
         0000 0043
         80 0e 2c 0002 01 20
            20010db8 00000000 00000000 00000001     # 2001:db8::1
            fe800000 00000000 00000000 00000001     # fe80::1
            00
            28 20010db801                            # 2001:db8:100::/40
            00                                       # ::/0
         40 01 01 00                                 # ORIGIN IGP
         40 02 06 02 01 0000fde9                     # AS_PATH 65001
         80 04 04 00000000                           # MED 0"
    ));
    let expected = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([65001])),
            med: Some(0),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach::ipv6_unicast(
            "2001:db8::1".parse().unwrap(),
            Some("fe80::1".parse().unwrap()),
            vec![v6("2001:db8:100::/40"), v6("::/0")],
        )),
        ..Update::default()
    };
    assert_vector(&bytes, &Message::Update(expected.clone()), &ctx4());

    // FRR writes MP_REACH_NLRI with the Extended Length bit even when short.
    let frr = hex(&format!(
        "{MARKER} 005b 02
         0000 0044
         90 0e 002c 0002 01 20
            20010db8 00000000 00000000 00000001
            fe800000 00000000 00000000 00000001
            00
            28 20010db801
            00
         40 01 01 00
         40 02 06 02 01 0000fde9
         80 04 04 00000000"
    ));
    let (decoded, action) = update(Message::decode(&frr, &ctx4()).unwrap());
    assert_eq!(action, None);
    assert_eq!(decoded, expected);
}

#[test]
fn update_ipv6_global_next_hop_only_and_withdraw() {
    let bytes = hex(&format!(
        "{MARKER} 004c 02
         0000 0035
         80 0f 0a 0002 01 30 20010db80001           # withdraw 2001:db8:1::/48
         80 0e 1e 0002 01 10
            20010db8 00000000 00000000 00000001
            00
            40 20010db800020000                     # 2001:db8:2::/64
         40 01 01 02
         40 02 00"
    ));
    let expected = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Incomplete),
            as_path: Some(AsPath::new()),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach::ipv6_unicast(
            "2001:db8::1".parse().unwrap(),
            None,
            vec![v6("2001:db8:2::/64")],
        )),
        mp_unreach: Some(MpUnreach {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            withdrawn: MpPrefixes::Ipv6(vec![v6("2001:db8:1::/48")]),
        }),
        ..Update::default()
    };
    // Our encoder puts MP_REACH first, then MP_UNREACH: decode the peer's
    // order, then compare with ours.
    let (decoded, action) = update(Message::decode(&bytes, &ibgp4()).unwrap());
    assert_eq!(action, None);
    assert_eq!(decoded, expected);
    let ours = Message::Update(expected).to_bytes(&ibgp4()).unwrap();
    assert_eq!(ours.len(), bytes.len());
    assert_eq!(&ours[23..56], &bytes[36..69], "MP_REACH first");
    assert_eq!(&ours[56..69], &bytes[23..36], "then MP_UNREACH");
    assert_eq!(&ours[69..], &bytes[69..], "then ORIGIN, AS_PATH");
}

/// Every IPv4 path attribute in one iBGP UPDATE with four-octet ASes.
#[test]
fn update_ipv4_every_attribute() {
    let bytes = hex(&format!(
        "{MARKER} 00a6 02
         0004 18cb0071                               # withdraw 203.0.113.0/24
         007f
         40 01 01 00                                 # ORIGIN IGP
         40 02 14 02 02 0000fde9 fa56ea00            # AS_PATH 65001 4200000000
                  01 02 0000fdf2 0000fdf3            #   {{65010,65011}}
         40 03 04 c0000201                           # NEXT_HOP 192.0.2.1
         80 04 04 00000064                           # MED 100
         40 05 04 000000c8                           # LOCAL_PREF 200
         40 06 00                                    # ATOMIC_AGGREGATE
         c0 07 08 0000fde9 c0000209                  # AGGREGATOR 65001 192.0.2.9
         c0 08 0c fde90064 ffffff01 ffffff04         # COMMUNITIES 65001:100 no-export no-peer
         80 09 04 0a000009                           # ORIGINATOR_ID 10.0.0.9
         80 0a 08 0a000001 0a000002                  # CLUSTER_LIST
         c0 10 08 0002fde9 00000064                  # EXTENDED_COMMUNITIES, kept verbatim
         c0 20 0c 0000fde9 00000001 00000002         # LARGE_COMMUNITIES 65001:1:2
         e0 63 03 aabbcc                             # unknown optional transitive, Partial
         18 c63364                                   # 198.51.100.0/24
         08 0a                                       # 10.0.0.0/8
         00                                          # 0.0.0.0/0
         19 c0000280                                 # 192.0.2.128/25"
    ));
    let expected = Update {
        withdrawn: vec![v4("203.0.113.0/24")],
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![
                    AsSegment {
                        kind: SegmentType::Sequence,
                        asns: vec![65001, 4_200_000_000],
                    },
                    AsSegment {
                        kind: SegmentType::Set,
                        asns: vec![65010, 65011],
                    },
                ],
            }),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: Some(100),
            local_pref: Some(200),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 65001,
                address: Ipv4Addr::new(192, 0, 2, 9),
            }),
            communities: vec![
                Community::new(65001, 100),
                Community::NO_EXPORT,
                Community::NO_PEER,
            ],
            originator_id: Some(Ipv4Addr::new(10, 0, 0, 9)),
            cluster_list: vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
            large_communities: vec![LargeCommunity {
                global_admin: 65001,
                local_data1: 1,
                local_data2: 2,
            }],
            unknown: vec![
                UnknownAttr {
                    flags: AttrFlags(0xc0),
                    type_code: attr_type::EXTENDED_COMMUNITIES,
                    value: hex("0002fde9 00000064"),
                },
                UnknownAttr {
                    flags: AttrFlags(0xe0),
                    type_code: 99,
                    value: vec![0xaa, 0xbb, 0xcc],
                },
            ],
            ..PathAttributes::default()
        },
        nlri: vec![
            v4("198.51.100.0/24"),
            v4("10.0.0.0/8"),
            v4("0.0.0.0/0"),
            v4("192.0.2.128/25"),
        ],
        ..Update::default()
    };
    assert_vector(&bytes, &Message::Update(expected.clone()), &ibgp4());
    let attrs = &expected.attrs;
    assert_eq!(attrs.as_path.as_ref().unwrap().path_length(), 3);
    assert_eq!(
        attrs.as_path.as_ref().unwrap().to_string(),
        "65001 4200000000 {65010,65011}"
    );
    assert_eq!(attrs.communities[1].to_string(), "no-export");
    assert_eq!(attrs.large_communities[0].to_string(), "65001:1:2");
}

/// A two-octet AS peer: AGGREGATOR with 2 octets, AS_TRANS in AS_PATH and
/// the real ASes in AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.2), Partial
/// bit on AS4_PATH preserved; confederation segments parsed.
#[test]
fn update_two_octet_peer_with_as4_attributes() {
    let bytes = hex(&format!(
        "{MARKER} 0054 02
         0000 0039
         40 01 01 01                                 # ORIGIN EGP
         40 02 0a 03 01 fde8  02 02 5ba0 fde9        # AS_PATH (65000) 23456 65001
         40 03 04 c0000201
         c0 07 06 5ba0 c0000209                      # AGGREGATOR AS_TRANS 192.0.2.9
         e0 11 0a 02 02 fa56ea00 0000fde9            # AS4_PATH 4200000000 65001, Partial
         c0 12 08 fa56ea00 c0000209                  # AS4_AGGREGATOR 4200000000
         18 c63364"
    ));
    let ctx = DecodeContext::default();
    let mut attrs = PathAttributes {
        origin: Some(Origin::Egp),
        as_path: Some(AsPath {
            segments: vec![
                AsSegment {
                    kind: SegmentType::ConfedSequence,
                    asns: vec![65000],
                },
                AsSegment {
                    kind: SegmentType::Sequence,
                    asns: vec![23456, 65001],
                },
            ],
        }),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        aggregator: Some(Aggregator {
            asn: 23456,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        as4_path: Some(AsPath::from_sequence([4_200_000_000, 65001])),
        as4_aggregator: Some(Aggregator {
            asn: 4_200_000_000,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        ..PathAttributes::default()
    };
    attrs.partial.as4_path = true;
    let expected = Update {
        attrs: attrs.clone(),
        nlri: vec![v4("198.51.100.0/24")],
        ..Update::default()
    };
    assert_vector(&bytes, &Message::Update(expected), &ctx);

    // RFC 6793 §4.2.3: AGGREGATOR is AS_TRANS, so AS4_AGGREGATOR wins and
    // the path is rebuilt, keeping the leading confederation segment.
    attrs.merge_as4();
    assert_eq!(attrs.aggregator.unwrap().asn, 4_200_000_000);
    assert_eq!(
        attrs.as_path.as_ref().unwrap().to_string(),
        "(65000) 4200000000 65001"
    );
    assert_eq!(attrs.as4_path, None);
    assert_eq!(attrs.as4_aggregator, None);
}

#[test]
fn update_builder_output_for_two_octet_peer() {
    // The speaker's side of RFC 6793 §4.2.2.
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence([4_200_000_000, 65001])),
        aggregator: Some(Aggregator {
            asn: 4_200_000_000,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        ..PathAttributes::default()
    };
    let two = attrs.for_two_octet_peer();
    assert_eq!(two.as_path, Some(AsPath::from_sequence([23456, 65001])));
    assert_eq!(
        two.as4_path,
        Some(AsPath::from_sequence([4_200_000_000, 65001]))
    );
    assert_eq!(two.aggregator.unwrap().asn, 23456);
    assert_eq!(two.as4_aggregator.unwrap().asn, 4_200_000_000);
    // Without the conversion a two-octet session refuses to encode.
    let update = Update {
        attrs,
        ..Update::default()
    };
    assert_eq!(
        Message::Update(update).to_bytes(&DecodeContext::default()),
        Err(EncodeError::AsNumberTooLarge { asn: 4_200_000_000 })
    );
}

#[test]
fn end_of_rib_markers() {
    // RFC 4724 §2: IPv4 unicast is the empty UPDATE.
    let ipv4 = hex(&format!("{MARKER} 0017 02 0000 0000"));
    assert_vector(
        &ipv4,
        &Message::Update(Update::end_of_rib(Afi::Ipv4, Safi::Unicast)),
        &ctx4(),
    );
    let (decoded, _) = update(Message::decode(&ipv4, &ctx4()).unwrap());
    assert_eq!(decoded.as_end_of_rib(), Some((Afi::Ipv4, Safi::Unicast)));
    // Other families: an MP_UNREACH_NLRI with no prefixes.
    let ipv6 = hex(&format!("{MARKER} 001d 02 0000 0006 80 0f 03 0002 01"));
    assert_vector(
        &ipv6,
        &Message::Update(Update::end_of_rib(Afi::Ipv6, Safi::Unicast)),
        &ctx4(),
    );
    let (decoded, _) = update(Message::decode(&ipv6, &ctx4()).unwrap());
    assert_eq!(decoded.as_end_of_rib(), Some((Afi::Ipv6, Safi::Unicast)));
    // A withdrawal is not an End-of-RIB.
    let withdraw = hex(&format!("{MARKER} 001b 02 0004 18cb0071 0000"));
    let (decoded, _) = update(Message::decode(&withdraw, &ctx4()).unwrap());
    assert_eq!(decoded.as_end_of_rib(), None);
    assert_eq!(decoded.withdrawn, [v4("203.0.113.0/24")]);
}

#[test]
fn update_unknown_family_is_kept_raw() {
    // AFI 1 / SAFI 128 (VPN): next hop and NLRI we do not parse, kept verbatim.
    let bytes = hex(&format!(
        "{MARKER} 0034 02
         0000 001d
         80 0e 13 0001 80 0c 0000000000000000c0000201 00 aabb
         40 01 01 00
         40 02 00"
    ));
    let expected = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::new()),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach {
            afi: Afi::Ipv4,
            safi: Safi::Unknown(128),
            next_hop: MpNextHop::Raw(hex("0000000000000000c0000201")),
            nlri: MpPrefixes::Raw(vec![0xaa, 0xbb]),
        }),
        ..Update::default()
    };
    assert_vector(&bytes, &Message::Update(expected), &ctx4());
}

#[test]
fn notifications() {
    let ctx = DecodeContext::default();
    // Hold Timer Expired.
    assert_vector(
        &hex(&format!("{MARKER} 0015 03 04 00")),
        &Message::Notification(Notification::hold_timer_expired()),
        &ctx,
    );
    // Bad Message Length carries the length (RFC 4271 §6.1).
    assert_vector(
        &hex(&format!("{MARKER} 0017 03 01 02 1001")),
        &Message::Notification(Notification::bad_message_length(4097)),
        &ctx,
    );
    // Administrative Shutdown with an RFC 8203 communication.
    let bytes = hex(&format!("{MARKER} 0021 03 06 02 0b 6d61696e74656e616e6365"));
    let shutdown = Notification::administrative_shutdown("maintenance");
    assert_vector(&bytes, &Message::Notification(shutdown.clone()), &ctx);
    assert_eq!(shutdown.shutdown_communication(), Some("maintenance"));
    assert_eq!(
        shutdown.to_string(),
        "Cease / Administrative Shutdown (6/2): \"maintenance\""
    );
    // Unknown code and subcode are kept.
    let odd = hex(&format!("{MARKER} 0016 03 09 63 ff"));
    let decoded = Message::decode(&odd, &ctx).unwrap().into_message();
    assert_eq!(
        decoded,
        Message::Notification(Notification::new(
            ErrorCode::Unknown {
                code: 9,
                subcode: 99
            },
            vec![0xff]
        ))
    );
    assert_eq!(decoded.to_bytes(&ctx).unwrap(), odd);
    // Unsupported Capability lists the capability as in OPEN (RFC 5492 §5).
    let unsupported =
        Notification::unsupported_capability(&[Capability::FourOctetAs { asn: 65001 }]);
    assert_eq!(
        unsupported.error,
        ErrorCode::Open(OpenSubcode::UnsupportedCapability)
    );
    assert_eq!(unsupported.data, hex("41 04 0000fde9"));
    // Maximum prefixes (RFC 4486 §4): AFI, SAFI, limit.
    let max = Notification::maximum_prefixes(Afi::Ipv4, Safi::Unicast, 1000);
    assert_eq!((max.code(), max.subcode()), (6, 1));
    assert_eq!(max.data, hex("0001 01 000003e8"));
}

#[test]
fn shutdown_communication_is_cut_at_a_character_boundary() {
    // 130 two-octet characters: RFC 8203 allows 128 octets, so 64 fit.
    let long = "é".repeat(130);
    let notification = Notification::administrative_reset(&long);
    assert_eq!(notification.data[0], 128);
    assert_eq!(
        notification.shutdown_communication(),
        Some("é".repeat(64).as_str())
    );
    // Malformed UTF-8 or a length past the data: no text, no failure.
    let bad = Notification::new(
        ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown),
        vec![2, 0xc3, 0x28],
    );
    assert_eq!(bad.shutdown_communication(), None);
    let short = Notification::new(
        ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown),
        vec![9, b'a'],
    );
    assert_eq!(short.shutdown_communication(), None);
    // Another subcode has no communication even with the same bytes.
    let other = Notification::new(
        ErrorCode::Cease(CeaseSubcode::PeerDeconfigured),
        vec![1, b'a'],
    );
    assert_eq!(other.shutdown_communication(), None);
}

#[test]
fn route_refresh_with_subtypes() {
    let ctx = DecodeContext::default();
    for (subtype, octet) in [
        (RouteRefreshSubtype::Normal, "00"),
        (RouteRefreshSubtype::BeginOfRefresh, "01"),
        (RouteRefreshSubtype::EndOfRefresh, "02"),
        (RouteRefreshSubtype::Unknown(255), "ff"),
    ] {
        let bytes = hex(&format!("{MARKER} 0017 05 0002 {octet} 01"));
        let refresh = RouteRefresh {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            subtype,
        };
        assert_vector(&bytes, &Message::RouteRefresh(refresh), &ctx);
    }
    // RFC 7313 §5: a BoRR with extra octets is a ROUTE-REFRESH Message
    // Error whose data is the whole message.
    let long = hex(&format!("{MARKER} 0018 05 0001 01 01 00"));
    let error = Message::decode(&long, &ctx).unwrap_err();
    assert_eq!(
        error.notification.error,
        ErrorCode::RouteRefresh(RouteRefreshSubcode::InvalidMessageLength)
    );
    assert_eq!(error.notification.data, long);
    // A normal request with trailing ORF entries is accepted, ORFs ignored.
    let orf = hex(&format!("{MARKER} 0019 05 0001 00 01 0102"));
    assert_eq!(
        Message::decode(&orf, &ctx).unwrap().into_message(),
        Message::RouteRefresh(RouteRefresh::new(Afi::Ipv4, Safi::Unicast))
    );
}

#[test]
fn header_errors() {
    let ctx = DecodeContext::default();
    let cases = [
        // Marker not all ones.
        (
            "ffffffff ffffffff ffffffff fffffffe 0013 04".to_string(),
            ErrorCode::MessageHeader(MessageHeaderSubcode::ConnectionNotSynchronized),
            vec![],
        ),
        // Unknown type 9: data is the type.
        (
            format!("{MARKER} 0013 09"),
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageType),
            vec![9],
        ),
        // KEEPALIVE of 20 octets: data is the length.
        (
            format!("{MARKER} 0014 04 00"),
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageLength),
            vec![0, 0x14],
        ),
        // UPDATE of 22 octets.
        (
            format!("{MARKER} 0016 02 000000"),
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageLength),
            vec![0, 0x16],
        ),
        // NOTIFICATION of 20 octets.
        (
            format!("{MARKER} 0014 03 06"),
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageLength),
            vec![0, 0x14],
        ),
        // Length 18.
        (
            format!("{MARKER} 0012 04"),
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageLength),
            vec![0, 0x12],
        ),
    ];
    for (text, code, data) in cases {
        let error = Message::decode(&hex(&text), &ctx).expect_err(&text);
        assert_eq!(error.notification.error, code, "{text}");
        assert_eq!(error.notification.data, data, "{text}");
    }
}

#[test]
fn extended_messages_only_when_negotiated() {
    // A 5000-octet UPDATE withdrawing 1250 /24s... as 4-octet entries.
    let withdrawn: Vec<Ipv4Net> = (0..1245u32)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap())
        .collect();
    let message = Message::Update(Update {
        withdrawn,
        ..Update::default()
    });
    let plain = DecodeContext::default();
    let extended = DecodeContext {
        extended_messages: true,
        ..plain
    };
    assert!(matches!(
        message.to_bytes(&plain),
        Err(EncodeError::TooLong { max: 4096, .. })
    ));
    let bytes = message.to_bytes(&extended).unwrap();
    assert_eq!(bytes.len(), 23 + 1245 * 4);
    assert_eq!(
        Message::decode(&bytes, &extended).unwrap().into_message(),
        message
    );
    // RFC 8654 §5: not negotiated → Bad Message Length with the length.
    let error = Message::decode(&bytes, &plain).unwrap_err();
    assert_eq!(
        error.notification,
        Notification::bad_message_length(bytes.len() as u16)
    );
    // OPEN and KEEPALIVE stay within 4096 even when negotiated (RFC 8654 §4).
    let mut big_open = hex(&format!("{MARKER} 1001 01"));
    big_open.resize(4097, 0);
    let error = Message::decode(&big_open, &extended).unwrap_err();
    assert_eq!(error.notification, Notification::bad_message_length(4097));
}

#[test]
fn framer_cuts_a_stream() {
    let keepalive = hex(&format!("{MARKER} 0013 04"));
    let open = frr_open_bytes();
    let mut stream = open.clone();
    stream.extend_from_slice(&keepalive);
    // Every prefix shorter than the OPEN asks for more bytes.
    for cut in 0..open.len() {
        assert_eq!(frame(&stream[..cut], 4096), Ok(None), "cut at {cut}");
    }
    assert_eq!(frame(&stream, 4096), Ok(Some(open.len())));
    assert_eq!(frame(&stream[open.len()..], 4096), Ok(Some(19)));
    // A bad marker is reported before a whole header has arrived.
    assert_eq!(
        frame(&[0xff, 0xff, 0x00], 4096),
        Err(MessageHeaderError::NotSynchronized)
    );
    // Lengths outside 19..=max.
    let mut long = hex(&format!("{MARKER} 1001 02"));
    assert_eq!(
        frame(&long, 4096),
        Err(MessageHeaderError::BadLength { length: 4097 })
    );
    assert_eq!(frame(&long, 65535), Ok(None));
    long.resize(4097, 0);
    assert_eq!(frame(&long, 65535), Ok(Some(4097)));
    assert_eq!(
        frame(&hex(&format!("{MARKER} 0012 04")), 4096),
        Err(MessageHeaderError::BadLength { length: 18 })
    );
}

#[test]
fn recorded_messages_decode_and_reencode_identically() {
    // tests/bgp/*.bin: one whole message each (also the fuzz corpus seeds).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bgp");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let ctx = if path.to_string_lossy().contains("ibgp") {
            ibgp4()
        } else {
            ctx4()
        };
        let message = Message::decode(&bytes, &ctx)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .into_message();
        assert_eq!(message.to_bytes(&ctx).unwrap(), bytes, "{}", path.display());
        seen += 1;
    }
    assert!(
        seen >= 3,
        "expected the recorded messages in {}",
        dir.display()
    );
}
