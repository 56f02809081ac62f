//! Next-hop groups: ordered tiers of weighted next hops.
//!
//! A route points to a group. The group's tiers are tried in order
//! (primary, backup, …) and a packet uses the first tier with a live member.
//! Inside the tier, the flow hash picks a bucket of the tier's
//! [`BucketTable`] and the bucket names the member. Liveness is read per
//! packet from the shared [`Liveness`] bitmap, never cached here: the BFD
//! engine flips bits without telling any group, and the next packet already
//! sees the change.
//!
//! When a flow's own member is down, only that flow is redirected, to a
//! live member of the same tier chosen as a fixed function of the hash;
//! flows whose member is live never move, and when the member comes back
//! its flows return to it. The control plane changes a group with
//! [`NextHopGroup::update`], which keeps the bucket assignment of members
//! that stay (see [`BucketTable::rebuild`]).

use std::fmt;

use super::liveness::Liveness;
use super::nexthop::NextHopId;
use super::resilient::{self, BucketTable};

/// The most tiers a group may have. Every tier that is entirely down costs
/// each packet a scan of it, and no deployment needs more than a handful.
pub const MAX_TIERS: usize = 16;

/// The most members a tier may have (one bucket byte indexes them).
pub const MAX_MEMBERS: usize = resilient::MAX_MEMBERS;

/// Redirect attempts through the bucket table before the last-resort scan
/// of the members. With one member of N down a probe fails with probability
/// about 1/N, so the scan is almost only reached when most of a tier is
/// down.
const PROBES: u32 = 8;

/// A next hop in a tier, with its share of the tier's traffic relative to
/// the other members' weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub nexthop: NextHopId,
    pub weight: u32,
}

/// What [`NextHopGroup::select`] picked: the tier index (0 = primary) and
/// the next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selected {
    pub tier: u8,
    pub nexthop: NextHopId,
}

/// Why a group definition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupError {
    /// The group has no tiers at all.
    NoTiers,
    /// The tier with this index has no members.
    EmptyTier(usize),
    /// A member has weight 0.
    ZeroWeight(NextHopId),
    /// A next hop appears twice in the group, in one tier or in two.
    DuplicateMember(NextHopId),
    /// The tier with this index has more than [`MAX_MEMBERS`] members.
    TooManyMembers(usize),
    /// The group has this many tiers, more than [`MAX_TIERS`].
    TooManyTiers(usize),
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTiers => write!(
                f,
                "next-hop group has no tiers; give it at least one tier with one next hop"
            ),
            Self::EmptyTier(tier) => write!(
                f,
                "tier {tier} of the next-hop group is empty; add a next hop or remove the tier"
            ),
            Self::ZeroWeight(nexthop) => {
                write!(
                    f,
                    "next hop {nexthop} has weight 0; use a weight of at least 1, or leave it out of the group"
                )
            }
            Self::DuplicateMember(nexthop) => write!(
                f,
                "next hop {nexthop} is listed twice in the group; list it once (a backup tier never needs a next hop \
                 of an earlier tier: when that tier is down, so is the next hop)"
            ),
            Self::TooManyMembers(tier) => {
                write!(
                    f,
                    "tier {tier} of the next-hop group has more than {MAX_MEMBERS} next hops; remove some"
                )
            }
            Self::TooManyTiers(tiers) => {
                write!(
                    f,
                    "next-hop group has {tiers} tiers, more than {MAX_TIERS}; merge or remove tiers"
                )
            }
        }
    }
}

impl std::error::Error for GroupError {}

/// One tier: its members and the buckets that spread flows over them.
#[derive(Clone, Debug)]
pub struct Tier {
    members: Box<[Member]>,
    /// `None` for a single-member tier, which needs no buckets: every flow
    /// goes to the one member, and 4 KiB per such tier is saved.
    table: Option<BucketTable>,
}

impl Tier {
    fn new(members: &[Member]) -> Self {
        let table = (members.len() > 1).then(|| BucketTable::new(&weights(members)));
        Tier {
            members: members.into(),
            table,
        }
    }

    /// This tier's successor with `members`, keeping the buckets of the
    /// members that stay.
    fn rebuilt(&self, members: &[Member]) -> Self {
        let table = match &self.table {
            _ if members.len() <= 1 => None,
            Some(old) => {
                let old_ids: Vec<NextHopId> = self.members.iter().map(|m| m.nexthop).collect();
                let new: Vec<(NextHopId, u32)> =
                    members.iter().map(|m| (m.nexthop, m.weight)).collect();
                Some(old.rebuild(&old_ids, &new))
            }
            // Every flow was on the single old member: a fresh table moves
            // only the flows the new members take.
            None => Some(BucketTable::new(&weights(members))),
        };
        Tier {
            members: members.into(),
            table,
        }
    }

    /// The members, in the order they were given.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// How many of the [`resilient::BUCKETS`] buckets each member holds,
    /// indexed like [`Self::members`]; a single member holds them all.
    pub fn bucket_counts(&self) -> Vec<usize> {
        match &self.table {
            Some(table) => table.bucket_counts(),
            None => vec![resilient::BUCKETS; self.members.len()],
        }
    }

    #[inline]
    fn select(&self, hash: u32, live: &Liveness) -> Option<NextHopId> {
        let Some(table) = &self.table else {
            let only = self.members.first()?.nexthop;
            return live.is_live(only).then_some(only);
        };
        if let Some(hashed) = self.nexthop_at(table.member_index(hash))
            && live.is_live(hashed)
        {
            return Some(hashed);
        }
        self.redirect(table, hash, live)
    }

    /// The flow's own member is down: find it a live member of this tier,
    /// or report the tier down.
    #[cold]
    #[inline(never)]
    fn redirect(&self, table: &BucketTable, hash: u32, live: &Liveness) -> Option<NextHopId> {
        let count = self.members.len();
        // A small tier that is entirely down is common (a primary pair lost
        // to one failure) and persists while the backup carries the traffic:
        // answer it with one load per member instead of every probe.
        if count <= PROBES as usize && !self.members.iter().any(|m| live.is_live(m.nexthop)) {
            return None;
        }
        for attempt in 1..=PROBES {
            if let Some(candidate) = self.nexthop_at(table.probe_member_index(hash, attempt))
                && live.is_live(candidate)
            {
                return Some(candidate);
            }
        }
        // Last resort: the first live member from a hash-chosen start. The
        // start uses bits neither the bucket nor the stride is drawn from
        // alone, so flows do not pile onto the member after a down one.
        let start = ((u64::from(hash.rotate_left(16)) * count as u64) >> 32) as usize;
        let (after, before) = self.members.split_at(start.min(count));
        before
            .iter()
            .chain(after)
            .map(|m| m.nexthop)
            .find(|&n| live.is_live(n))
    }

    #[inline]
    fn nexthop_at(&self, index: usize) -> Option<NextHopId> {
        self.members.get(index).map(|m| m.nexthop)
    }
}

/// A route's next hops: tiers in order of preference, each a weighted set
/// spread by resilient hashing. Immutable; the control plane builds a new
/// one with [`Self::update`] and publishes it. Plain data, so it is
/// `Send + Sync` and is shared through an `Arc` by both FIB copies and
/// every dataplane core.
#[derive(Clone, Debug)]
pub struct NextHopGroup {
    tiers: Box<[Tier]>,
}

impl NextHopGroup {
    /// A group with `tiers`, the first the most preferred.
    pub fn new(tiers: &[Vec<Member>]) -> Result<Self, GroupError> {
        validate(tiers)?;
        Ok(NextHopGroup {
            tiers: tiers.iter().map(|members| Tier::new(members)).collect(),
        })
    }

    /// The group with `tiers` replacing this one's. Tier i of the result
    /// inherits the bucket assignment of tier i here, so the flows of every
    /// member that stays in its tier keep their member, up to its new share.
    pub fn update(&self, tiers: &[Vec<Member>]) -> Result<Self, GroupError> {
        validate(tiers)?;
        let tiers = tiers
            .iter()
            .enumerate()
            .map(|(index, members)| match self.tiers.get(index) {
                Some(old) => old.rebuilt(members),
                None => Tier::new(members),
            })
            .collect();
        Ok(NextHopGroup { tiers })
    }

    /// The next hop for a flow with this hash: the first tier with a live
    /// member, inside it the member of the flow's bucket, and if that member
    /// is down a live member of the same tier chosen by a fixed function of
    /// the hash (never a member of another tier while this tier has a live
    /// one). `None` when every member of every tier is down.
    ///
    /// Common case: one bucket load and one liveness load. No allocation.
    #[inline]
    pub fn select(&self, hash: u32, live: &Liveness) -> Option<Selected> {
        self.tiers.iter().zip(0u8..).find_map(|(tier, index)| {
            tier.select(hash, live).map(|nexthop| Selected {
                tier: index,
                nexthop,
            })
        })
    }

    /// Each tier's members, primary first.
    pub fn tiers(&self) -> impl Iterator<Item = &[Member]> {
        self.tiers.iter().map(|tier| tier.members())
    }

    /// Each tier, with its bucket counts, primary first.
    pub fn tier_details(&self) -> impl Iterator<Item = &Tier> {
        self.tiers.iter()
    }

    /// Every next hop of the group, once each (validation forbids repeats).
    pub fn nexthops(&self) -> impl Iterator<Item = NextHopId> + '_ {
        self.tiers
            .iter()
            .flat_map(|tier| tier.members.iter().map(|m| m.nexthop))
    }
}

fn weights(members: &[Member]) -> Vec<u32> {
    members.iter().map(|m| m.weight).collect()
}

fn validate(tiers: &[Vec<Member>]) -> Result<(), GroupError> {
    if tiers.is_empty() {
        return Err(GroupError::NoTiers);
    }
    if tiers.len() > MAX_TIERS {
        return Err(GroupError::TooManyTiers(tiers.len()));
    }
    let mut seen = hashbrown::HashSet::new();
    for (index, members) in tiers.iter().enumerate() {
        if members.is_empty() {
            return Err(GroupError::EmptyTier(index));
        }
        if members.len() > MAX_MEMBERS {
            return Err(GroupError::TooManyMembers(index));
        }
        for member in members {
            if member.weight == 0 {
                return Err(GroupError::ZeroWeight(member.nexthop));
            }
            // Across tiers too: a next hop of an earlier tier could only be
            // reached in a later one when the earlier tier is all down, and
            // then so is that next hop.
            if !seen.insert(member.nexthop) {
                return Err(GroupError::DuplicateMember(member.nexthop));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(id: u32, weight: u32) -> Member {
        Member {
            nexthop: NextHopId(id),
            weight,
        }
    }

    fn all_live(capacity: u32) -> Liveness {
        let live = Liveness::new(capacity as usize);
        for id in 0..capacity {
            live.set(NextHopId(id), true);
        }
        live
    }

    #[test]
    fn groups_are_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<NextHopGroup>();
        shared::<Liveness>();
    }

    #[test]
    fn invalid_groups_are_refused_with_the_reason() {
        assert_eq!(NextHopGroup::new(&[]).unwrap_err(), GroupError::NoTiers);
        assert_eq!(
            NextHopGroup::new(&[vec![member(1, 1)], vec![]]).unwrap_err(),
            GroupError::EmptyTier(1)
        );
        assert_eq!(
            NextHopGroup::new(&[vec![member(1, 1), member(2, 0)]]).unwrap_err(),
            GroupError::ZeroWeight(NextHopId(2))
        );
        assert_eq!(
            NextHopGroup::new(&[vec![member(1, 1), member(1, 2)]]).unwrap_err(),
            GroupError::DuplicateMember(NextHopId(1))
        );
        assert_eq!(
            NextHopGroup::new(&[vec![member(1, 1)], vec![member(2, 1), member(1, 1)]]).unwrap_err(),
            GroupError::DuplicateMember(NextHopId(1))
        );
        let huge: Vec<Member> = (0..=MAX_MEMBERS as u32).map(|i| member(i, 1)).collect();
        assert_eq!(
            NextHopGroup::new(&[vec![member(9999, 1)], huge]).unwrap_err(),
            GroupError::TooManyMembers(1)
        );
        let full: Vec<Member> = (0..MAX_MEMBERS as u32).map(|i| member(i, 1)).collect();
        assert!(NextHopGroup::new(&[full]).is_ok());
        let tiers: Vec<Vec<Member>> = (0..=MAX_TIERS as u32).map(|i| vec![member(i, 1)]).collect();
        assert_eq!(
            NextHopGroup::new(&tiers).unwrap_err(),
            GroupError::TooManyTiers(MAX_TIERS + 1)
        );
        assert!(NextHopGroup::new(&tiers[..MAX_TIERS]).is_ok());
        // update validates too, and leaves the old group as it was.
        let group = NextHopGroup::new(&[vec![member(1, 1)]]).unwrap();
        assert_eq!(
            group.update(&[vec![member(1, 0)]]).unwrap_err(),
            GroupError::ZeroWeight(NextHopId(1))
        );
        assert_eq!(group.nexthops().collect::<Vec<_>>(), vec![NextHopId(1)]);
    }

    #[test]
    fn errors_say_what_to_fix() {
        assert!(
            GroupError::ZeroWeight(NextHopId(3))
                .to_string()
                .contains("nh3 has weight 0")
        );
        assert!(GroupError::EmptyTier(1).to_string().contains("tier 1"));
        assert!(
            GroupError::TooManyMembers(0)
                .to_string()
                .contains(&MAX_MEMBERS.to_string())
        );
        assert!(
            GroupError::DuplicateMember(NextHopId(4))
                .to_string()
                .contains("list it once")
        );
    }

    #[test]
    fn a_single_member_tier_follows_its_liveness() {
        let group = NextHopGroup::new(&[vec![member(5, 1)]]).unwrap();
        let live = Liveness::new(8);
        assert_eq!(group.select(123, &live), None);
        live.set(NextHopId(5), true);
        assert_eq!(
            group.select(123, &live),
            Some(Selected {
                tier: 0,
                nexthop: NextHopId(5)
            })
        );
        assert_eq!(
            group.tier_details().next().unwrap().bucket_counts(),
            vec![resilient::BUCKETS]
        );
    }

    #[test]
    fn listings_keep_the_given_order() {
        let tiers = vec![vec![member(3, 1), member(1, 2)], vec![member(7, 1)]];
        let group = NextHopGroup::new(&tiers).unwrap();
        assert_eq!(
            group.tiers().map(<[Member]>::to_vec).collect::<Vec<_>>(),
            tiers
        );
        assert_eq!(
            group.nexthops().collect::<Vec<_>>(),
            vec![NextHopId(3), NextHopId(1), NextHopId(7)]
        );
    }

    #[test]
    fn growing_a_single_member_tier_moves_only_the_new_members_flows() {
        let one = NextHopGroup::new(&[vec![member(0, 1)]]).unwrap();
        let two = one.update(&[vec![member(1, 1), member(0, 1)]]).unwrap();
        let live = all_live(2);
        let on_new = (0..4096u32)
            .map(|b| b << 20)
            .filter(|&h| two.select(h, &live).unwrap().nexthop == NextHopId(1))
            .count();
        assert_eq!(on_new, 2048);
    }

    proptest! {
        /// Under any liveness, `select` answers from the first tier with a
        /// live member, answers a live member, and answers the flow's own
        /// bucket member whenever that member is live.
        #[test]
        fn select_prefers_the_flows_member_then_its_tier(
            sizes in prop::collection::vec(1usize..10, 1..4),
            down in prop::collection::vec(any::<bool>(), 30),
            hash: u32,
        ) {
            let mut next = 0u32;
            let tiers: Vec<Vec<Member>> = sizes.iter().map(|&n| (0..n).map(|_| { next += 1; member(next - 1, next % 3 + 1) }).collect()).collect();
            let group = NextHopGroup::new(&tiers).unwrap();
            let live = Liveness::new(30);
            for (id, &is_down) in down.iter().enumerate() {
                live.set(NextHopId(id as u32), !is_down);
            }
            let first_live_tier = tiers.iter().position(|t| t.iter().any(|m| live.is_live(m.nexthop)));
            let selected = group.select(hash, &live);
            prop_assert_eq!(selected.map(|s| usize::from(s.tier)), first_live_tier);
            if let Some(selected) = selected {
                prop_assert!(live.is_live(selected.nexthop));
                let tier = &group.tiers[usize::from(selected.tier)];
                if let Some(table) = &tier.table {
                    let own = tier.members[table.member_index(hash)].nexthop;
                    if live.is_live(own) {
                        prop_assert_eq!(selected.nexthop, own);
                    }
                }
            }
        }
    }
}
