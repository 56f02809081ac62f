//! Packs prefixes that share attributes into as few UPDATEs as fit the
//! session's maximum message length (4096, or 65535 with RFC 8654).
//!
//! Packing is greedy in the order given, which is optimal for keeping that
//! order: every message but the last is full, i.e. the next prefix would
//! not have fit.

use std::ops::Range;

use ipnet::{Ipv4Net, Ipv6Net};

use super::attribute::{PathAttributes, encoded_attr_len};
use super::consts::{Afi, HEADER_LEN, Safi};
use super::error::EncodeError;
use super::message::DecodeContext;
use super::mp::{MpNextHop, MpPrefixes, MpReach, MpUnreach};
use super::prefix;
use super::update::Update;

/// Header plus the Withdrawn Routes Length and Total Path Attribute Length fields.
const UPDATE_FIXED_LEN: usize = HEADER_LEN + 4;
/// AFI, SAFI, next hop length, reserved (RFC 4760 §3).
const MP_REACH_FIXED_LEN: usize = 5;
/// AFI, SAFI (RFC 4760 §4).
const MP_UNREACH_FIXED_LEN: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateBuilder {
    ctx: DecodeContext,
}

impl UpdateBuilder {
    pub fn new(ctx: DecodeContext) -> UpdateBuilder {
        UpdateBuilder { ctx }
    }

    fn max_len(&self) -> usize {
        self.ctx.max_message_len()
    }

    /// IPv4 unicast announcements in the classic NLRI field, `attrs`
    /// repeated in each message (NEXT_HOP included by the caller).
    pub fn announce_ipv4(
        &self,
        attrs: &PathAttributes,
        prefixes: &[Ipv4Net],
    ) -> Result<Vec<Update>, EncodeError> {
        let attrs_len = self.attrs_len(attrs)?;
        let room = self.room(UPDATE_FIXED_LEN + attrs_len)?;
        let sizes = prefixes.iter().map(|p| prefix::wire_len(p.prefix_len()));
        let chunks = pack(sizes, |payload| payload <= room)
            .ok_or_else(|| self.too_long(UPDATE_FIXED_LEN + attrs_len))?;
        Ok(chunks
            .into_iter()
            .map(|range| Update {
                attrs: attrs.clone(),
                nlri: prefixes[range].to_vec(),
                ..Update::default()
            })
            .collect())
    }

    /// IPv4 unicast withdrawals in the classic Withdrawn Routes field.
    pub fn withdraw_ipv4(&self, prefixes: &[Ipv4Net]) -> Vec<Update> {
        let room = self.max_len() - UPDATE_FIXED_LEN;
        let sizes = prefixes.iter().map(|p| prefix::wire_len(p.prefix_len()));
        // A prefix is at most 5 octets; it always fits.
        let chunks = pack(sizes, |payload| payload <= room).unwrap_or_default();
        chunks
            .into_iter()
            .map(|range| Update {
                withdrawn: prefixes[range].to_vec(),
                ..Update::default()
            })
            .collect()
    }

    /// IPv6 unicast announcements in MP_REACH_NLRI (RFC 4760, RFC 2545),
    /// which goes first in each message (RFC 7606 §5.1).
    pub fn announce_ipv6(
        &self,
        attrs: &PathAttributes,
        next_hop: MpNextHop,
        prefixes: &[Ipv6Net],
    ) -> Result<Vec<Update>, EncodeError> {
        let attrs_len = self.attrs_len(attrs)?;
        let next_hop_len = match &next_hop {
            MpNextHop::Ipv4(_) => 4,
            MpNextHop::Ipv6 { link_local, .. } => 16 + 16 * usize::from(link_local.is_some()),
            MpNextHop::Raw(raw) => raw.len(),
        };
        let fixed = MP_REACH_FIXED_LEN + next_hop_len;
        let room = self.room(UPDATE_FIXED_LEN + attrs_len)?;
        let sizes = prefixes.iter().map(|p| prefix::wire_len(p.prefix_len()));
        let chunks = pack(sizes, |payload| {
            encoded_attr_len(0, fixed + payload) <= room
        })
        .ok_or_else(|| self.too_long(UPDATE_FIXED_LEN + attrs_len + 3 + fixed))?;
        Ok(chunks
            .into_iter()
            .map(|range| Update {
                attrs: attrs.clone(),
                mp_reach: Some(MpReach {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                    next_hop: next_hop.clone(),
                    nlri: MpPrefixes::Ipv6(prefixes[range].to_vec()),
                }),
                ..Update::default()
            })
            .collect())
    }

    /// IPv6 unicast withdrawals in MP_UNREACH_NLRI.
    pub fn withdraw_ipv6(&self, prefixes: &[Ipv6Net]) -> Vec<Update> {
        let room = self.max_len() - UPDATE_FIXED_LEN;
        let sizes = prefixes.iter().map(|p| prefix::wire_len(p.prefix_len()));
        let chunks = pack(sizes, |payload| {
            encoded_attr_len(0, MP_UNREACH_FIXED_LEN + payload) <= room
        })
        .unwrap_or_default();
        chunks
            .into_iter()
            .map(|range| Update {
                mp_unreach: Some(MpUnreach {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                    withdrawn: MpPrefixes::Ipv6(prefixes[range].to_vec()),
                }),
                ..Update::default()
            })
            .collect()
    }

    fn attrs_len(&self, attrs: &PathAttributes) -> Result<usize, EncodeError> {
        let mut scratch = Vec::with_capacity(128);
        attrs.encode(&self.ctx, &mut scratch)?;
        Ok(scratch.len())
    }

    /// The error for attributes that leave no room for even one prefix.
    fn too_long(&self, used: usize) -> EncodeError {
        EncodeError::TooLong {
            len: used + 1,
            max: self.max_len(),
        }
    }

    /// Octets left for prefixes once `used` octets are spoken for.
    fn room(&self, used: usize) -> Result<usize, EncodeError> {
        self.max_len()
            .checked_sub(used)
            .ok_or_else(|| self.too_long(used))
    }
}

/// Cuts items of the given sizes into consecutive ranges whose summed size
/// `fits`; `None` if a single item does not fit on its own.
fn pack(
    sizes: impl Iterator<Item = usize>,
    fits: impl Fn(usize) -> bool,
) -> Option<Vec<Range<usize>>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut payload = 0;
    let mut end = 0;
    for size in sizes {
        if !fits(payload + size) {
            if end == start || !fits(size) {
                return None;
            }
            chunks.push(start..end);
            start = end;
            payload = 0;
        }
        payload += size;
        end += 1;
    }
    if end > start {
        chunks.push(start..end);
    }
    Some(chunks)
}
