//! Properties of the BGP wire layer: arbitrary bytes never panic any
//! decoder; every valid message survives encode → decode unchanged; a
//! valid UPDATE cut at any offset never panics and is never taken for
//! more than it says; two-octet AS conversion and RFC 6793 merge undo
//! each other.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use controlplane::bgp::packet::*;
use ipnet::{Ipv4Net, Ipv6Net};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

fn contexts() -> impl Iterator<Item = DecodeContext> {
    (0..8u8).map(|bits| DecodeContext {
        four_octet_as: bits & 1 != 0,
        ibgp: bits & 2 != 0,
        extended_messages: bits & 4 != 0,
    })
}

fn ipv4_prefix() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0..=32u8)
        .prop_map(|(addr, len)| Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc())
}

fn ipv6_prefix() -> impl Strategy<Value = Ipv6Net> {
    (any::<u128>(), 0..=128u8)
        .prop_map(|(addr, len)| Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap().trunc())
}

/// A unicast host address, as NEXT_HOP must be (RFC 4271 §6.3).
fn host_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    (1..=223u8, any::<[u8; 3]>())
        .prop_filter("not loopback", |(first, _)| *first != 127)
        .prop_map(|(first, rest)| Ipv4Addr::new(first, rest[0], rest[1], rest[2]))
}

fn asn(four_octet: bool) -> BoxedStrategy<u32> {
    if four_octet {
        any::<u32>().boxed()
    } else {
        any::<u16>().prop_map(u32::from).boxed()
    }
}

fn segment_type() -> impl Strategy<Value = SegmentType> {
    prop_oneof![
        Just(SegmentType::Sequence),
        Just(SegmentType::Set),
        Just(SegmentType::ConfedSequence),
        Just(SegmentType::ConfedSet),
    ]
}

fn as_path(four_octet: bool, confed: bool) -> impl Strategy<Value = AsPath> {
    let kind = if confed {
        segment_type().boxed()
    } else {
        prop_oneof![Just(SegmentType::Sequence), Just(SegmentType::Set)].boxed()
    };
    vec((kind, vec(asn(four_octet), 1..8)), 0..5).prop_map(|segments| AsPath {
        segments: segments
            .into_iter()
            .map(|(kind, asns)| AsSegment { kind, asns })
            .collect(),
    })
}

fn aggregator(four_octet: bool) -> impl Strategy<Value = Aggregator> {
    (asn(four_octet), any::<u32>()).prop_map(|(asn, addr)| Aggregator {
        asn,
        address: Ipv4Addr::from(addr),
    })
}

fn unknown_attrs() -> impl Strategy<Value = Vec<UnknownAttr>> {
    use attr_type::*;
    let known = [
        ORIGIN,
        AS_PATH,
        NEXT_HOP,
        MULTI_EXIT_DISC,
        LOCAL_PREF,
        ATOMIC_AGGREGATE,
        AGGREGATOR,
        COMMUNITIES,
        ORIGINATOR_ID,
        CLUSTER_LIST,
        MP_REACH_NLRI,
        MP_UNREACH_NLRI,
        EXTENDED_COMMUNITIES,
        AS4_PATH,
        AS4_AGGREGATOR,
        IPV6_EXTENDED_COMMUNITIES,
        LARGE_COMMUNITIES,
    ];
    btree_map(
        any::<u8>().prop_filter("unknown type", move |t| !known.contains(t)),
        (0..8u8, vec(any::<u8>(), 0..24)),
        0..3,
    )
    .prop_map(|attrs: BTreeMap<u8, (u8, Vec<u8>)>| {
        attrs
            .into_iter()
            .map(|(type_code, (bits, value))| UnknownAttr {
                // Optional, plus any of Transitive/Partial/Extended Length.
                flags: AttrFlags(0x80 | (bits << 4)),
                type_code,
                value,
            })
            .collect()
    })
}

/// Attributes that decode cleanly on a session with `ctx`.
fn path_attributes(ctx: DecodeContext) -> impl Strategy<Value = PathAttributes> {
    let four = ctx.four_octet_as;
    let base = (
        proptest::option::of(prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ]),
        proptest::option::of(as_path(four, true)),
        proptest::option::of(host_ipv4()),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
        proptest::option::of(aggregator(four)),
        vec(any::<u32>().prop_map(Community), 0..5),
        btree_set(any::<(u32, u32, u32)>(), 0..4),
        unknown_attrs(),
        any::<[bool; 4]>(),
    );
    let internal = (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>().prop_map(Ipv4Addr::from)),
        vec(any::<u32>().prop_map(Ipv4Addr::from), 0..4),
    );
    let as4 = (
        proptest::option::of(as_path(true, false).prop_filter("not empty", |p| !p.is_empty())),
        proptest::option::of(aggregator(true)),
    );
    (base, internal, as4).prop_map(move |(base, internal, as4)| {
        let (
            origin,
            as_path,
            next_hop,
            med,
            atomic_aggregate,
            aggregator,
            communities,
            large,
            unknown,
            partial,
        ) = base;
        let mut attrs = PathAttributes {
            origin,
            as_path,
            next_hop,
            med,
            atomic_aggregate,
            aggregator,
            communities,
            large_communities: large
                .into_iter()
                .map(|(global_admin, local_data1, local_data2)| LargeCommunity {
                    global_admin,
                    local_data1,
                    local_data2,
                })
                .collect(),
            unknown,
            ..PathAttributes::default()
        };
        if ctx.ibgp {
            (attrs.local_pref, attrs.originator_id, attrs.cluster_list) = internal;
        }
        if !ctx.four_octet_as {
            (attrs.as4_path, attrs.as4_aggregator) = as4;
        }
        attrs.partial = PartialFlags {
            aggregator: partial[0] && attrs.aggregator.is_some(),
            communities: partial[1] && !attrs.communities.is_empty(),
            as4_path: partial[2] && attrs.as4_path.is_some(),
            large_communities: partial[3] && !attrs.large_communities.is_empty(),
            as4_aggregator: false,
        };
        attrs
    })
}

fn mp_reach() -> impl Strategy<Value = MpReach> {
    prop_oneof![
        (host_ipv4(), vec(ipv4_prefix(), 0..20)).prop_map(|(nh, nlri)| MpReach {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
            next_hop: MpNextHop::Ipv4(nh),
            nlri: MpPrefixes::Ipv4(nlri),
        }),
        (
            any::<u128>(),
            proptest::option::of(any::<u128>()),
            vec(ipv6_prefix(), 0..20)
        )
            .prop_map(|(global, link_local, nlri)| MpReach::ipv6_unicast(
                Ipv6Addr::from(global),
                link_local.map(Ipv6Addr::from),
                nlri
            )),
    ]
}

fn mp_unreach() -> impl Strategy<Value = MpUnreach> {
    prop_oneof![
        vec(ipv4_prefix(), 0..20).prop_map(|p| MpUnreach {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
            withdrawn: MpPrefixes::Ipv4(p),
        }),
        vec(ipv6_prefix(), 0..20).prop_map(|p| MpUnreach {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            withdrawn: MpPrefixes::Ipv6(p),
        }),
    ]
}

fn session() -> impl Strategy<Value = DecodeContext> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(four_octet_as, ibgp, extended_messages)| DecodeContext {
            four_octet_as,
            ibgp,
            extended_messages,
        },
    )
}

/// A valid UPDATE for `ctx`: mandatory attributes present whenever
/// prefixes are announced.
fn valid_update(ctx: DecodeContext) -> impl Strategy<Value = Update> {
    (
        vec(ipv4_prefix(), 0..30),
        path_attributes(ctx),
        vec(ipv4_prefix(), 0..30),
        proptest::option::of(mp_reach()),
        proptest::option::of(mp_unreach()),
        host_ipv4(),
    )
        .prop_map(
            |(withdrawn, mut attrs, nlri, mp_reach, mp_unreach, next_hop)| {
                let reachable =
                    !nlri.is_empty() || mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty());
                if reachable {
                    attrs.origin.get_or_insert(Origin::Igp);
                    attrs.as_path.get_or_insert_with(AsPath::new);
                }
                if !nlri.is_empty() {
                    attrs.next_hop.get_or_insert(next_hop);
                }
                Update {
                    withdrawn,
                    attrs,
                    nlri,
                    mp_reach,
                    mp_unreach,
                }
            },
        )
}

fn capability() -> impl Strategy<Value = Capability> {
    let family = (any::<u16>(), any::<u8>())
        .prop_map(|(afi, safi)| (Afi::from_wire(afi), Safi::from_wire(safi)));
    prop_oneof![
        family
            .clone()
            .prop_map(|(afi, safi)| Capability::Multiprotocol { afi, safi }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        any::<u32>().prop_map(|asn| Capability::FourOctetAs { asn }),
        (
            any::<bool>(),
            any::<bool>(),
            0..4096u16,
            vec((family.clone(), any::<bool>()), 0..4)
        )
            .prop_map(|(restart_state, notification, restart_time, families)| {
                Capability::GracefulRestart(GracefulRestart {
                    restart_state,
                    notification,
                    restart_time,
                    families: families
                        .into_iter()
                        .map(
                            |((afi, safi), forwarding_preserved)| GracefulRestartFamily {
                                afi,
                                safi,
                                forwarding_preserved,
                            },
                        )
                        .collect(),
                })
            }),
        vec((family, 1..=3u8), 0..3).prop_map(|families| Capability::AddPath(
            families
                .into_iter()
                .map(|((afi, safi), mode)| AddPathFamily {
                    afi,
                    safi,
                    mode: [AddPathMode::Receive, AddPathMode::Send, AddPathMode::Both]
                        [usize::from(mode - 1)],
                })
                .collect()
        )),
        (any::<u8>(), vec(any::<u8>(), 0..40))
            .prop_filter("unknown code", |(code, _)| ![1, 2, 6, 64, 65, 69, 70]
                .contains(code))
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u16>(),
        prop_oneof![Just(0u16), 3..=u16::MAX],
        1..=u32::MAX,
        vec(capability(), 0..12),
    )
        .prop_map(|(my_as, hold_time, id, capabilities)| Open {
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
}

fn message(ctx: DecodeContext) -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        valid_update(ctx).prop_map(Message::Update),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..64)).prop_map(|(code, subcode, data)| {
            Message::Notification(Notification::new(ErrorCode::from_wire(code, subcode), data))
        }),
        Just(Message::Keepalive),
        (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(afi, subtype, safi)| {
            Message::RouteRefresh(RouteRefresh {
                afi: Afi::from_wire(afi),
                safi: Safi::from_wire(safi),
                subtype: RouteRefreshSubtype::from_wire(subtype),
            })
        }),
    ]
}

/// Drives every decoder over `bytes`; only panics are failures.
fn decode_everything(bytes: &[u8]) {
    for ctx in contexts() {
        let _ = frame(bytes, ctx.max_message_len());
        let _ = Message::decode(bytes, &ctx);
        let _ = Update::decode(bytes, &ctx);
        if let Some((&flags, rest)) = bytes.split_first()
            && let Some((&type_code, value)) = rest.split_first()
        {
            let _ = Attr::decode(AttrFlags(flags), type_code, value, &ctx);
            let _ = Capability::decode(type_code, value);
        }
    }
    let _ = Open::decode(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        decode_everything(&bytes);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_header_never_panic(
        message_type in 0..=6u8,
        body in vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = vec![0xff; 16];
        bytes.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        bytes.push(message_type);
        bytes.extend_from_slice(&body);
        decode_everything(&bytes);
    }

    #[test]
    fn messages_round_trip((ctx, message) in session().prop_flat_map(|ctx| (Just(ctx), message(ctx)))) {
        let bytes = match message.to_bytes(&ctx) {
            Ok(bytes) => bytes,
            // Only size limits may refuse a valid message.
            Err(EncodeError::TooLong { .. }) => return Err(TestCaseError::reject("too long")),
            Err(other) => return Err(TestCaseError::fail(format!("{other}: {message:?}"))),
        };
        prop_assert_eq!(frame(&bytes, ctx.max_message_len()), Ok(Some(bytes.len())));
        let decoded = Message::decode(&bytes, &ctx).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        if let DecodedMessage::Update { action, .. } = &decoded {
            prop_assert_eq!(action, &None);
        }
        prop_assert_eq!(decoded.into_message(), message);
    }

    #[test]
    fn truncated_update_never_panics_nor_claims_more_than_it_has(
        (ctx, update) in session().prop_flat_map(|ctx| (Just(ctx), valid_update(ctx)))
    ) {
        let Ok(bytes) = Message::Update(update.clone()).to_bytes(&ctx) else {
            return Err(TestCaseError::reject("too long"));
        };
        let body = &bytes[19..];
        let withdrawn_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
        let attrs_len = usize::from(u16::from_be_bytes([body[2 + withdrawn_len], body[3 + withdrawn_len]]));
        let nlri_at = 4 + withdrawn_len + attrs_len;
        for cut in 0..bytes.len() {
            // A cut message never decodes: its header says more.
            prop_assert!(Message::decode(&bytes[..cut], &ctx).is_err());
            if cut < 19 {
                continue;
            }
            let (partial, action) = Update::decode(&body[..cut - 19], &ctx);
            if cut - 19 < nlri_at {
                // Cut inside the length fields, withdrawn routes or attributes.
                prop_assert!(
                    matches!(action, Some(UpdateErrorAction::SessionReset(_))),
                    "cut at {} of {}: {:?}", cut, bytes.len(), action
                );
            } else if !matches!(action, Some(UpdateErrorAction::SessionReset(_))) {
                // Cut between two NLRI prefixes: what is left is a prefix
                // of the NLRI list, nothing invented.
                prop_assert_eq!(&partial.nlri[..], &update.nlri[..partial.nlri.len()]);
                prop_assert_eq!(&partial.attrs, &update.attrs);
            }
        }
    }

    #[test]
    fn two_octet_conversion_and_as4_merge_undo_each_other(
        // Confederation members must be two-octet ASes while two-octet
        // speakers remain (RFC 6793 §7): AS4_PATH cannot carry them.
        leading_confed in proptest::option::of(vec(asn(false), 1..4)),
        path in as_path(true, false),
        aggregator in proptest::option::of(aggregator(true)),
    ) {
        // RFC 6793 §4.2.2 on the way out, §4.2.3 on the way in.
        let mut original = path;
        if let Some(asns) = leading_confed {
            original.segments.insert(0, AsSegment { kind: SegmentType::ConfedSequence, asns });
        }
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(original.clone()),
            aggregator,
            ..PathAttributes::default()
        };
        let ctx = DecodeContext::default();
        let update = Update { attrs: attrs.for_two_octet_peer(), ..Update::default() };
        let bytes = Message::Update(update).to_bytes(&ctx).unwrap();
        let mut received = match Message::decode(&bytes, &ctx).unwrap() {
            DecodedMessage::Update { update, .. } => update.attrs,
            other => panic!("{other:?}"),
        };
        received.merge_as4();
        prop_assert_eq!(received.aggregator, aggregator);
        prop_assert_eq!(joined(received.as_path.unwrap()), joined(original));
    }
}

/// The path with neighbouring AS_SEQUENCEs merged: the same path.
fn joined(path: AsPath) -> Vec<(SegmentType, Vec<u32>)> {
    let mut out: Vec<(SegmentType, Vec<u32>)> = Vec::new();
    for segment in path.segments {
        match out.last_mut() {
            Some((SegmentType::Sequence, asns)) if segment.kind == SegmentType::Sequence => {
                asns.extend(segment.asns)
            }
            _ => out.push((segment.kind, segment.asns)),
        }
    }
    out
}
