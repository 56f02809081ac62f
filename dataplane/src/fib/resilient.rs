//! Resilient hashing: the bucket table of one next-hop group tier.
//!
//! Hash-threshold ECMP (RFC 2992 §1) gives each of N next hops one
//! contiguous region of the hash space. RFC 2992 §2.2 shows what that costs:
//! removing one of N next hops shifts every region boundary, so flows move
//! between next hops that did not change at all (3/10 of all flows when one
//! of five goes). Here the hash picks one of [`BUCKETS`] buckets and each
//! bucket names a member; a change of members reassigns only the buckets
//! that must change, and a bucket whose member stays keeps it, so its flows
//! never move.
//!
//! Why 4096 one-byte buckets: the table must sit in L1 next to the packet
//! (4 KiB, one page), and must split traffic finely: with 8 members each owns
//! 512 buckets, so rounding is off by at most 1/512 (0.2 %) of a member's
//! share, far inside the ±5 % the distribution tests allow; even 256 equal
//! members still get 16 buckets each. A byte per bucket caps a tier at 256
//! members ([`MAX_MEMBERS`]). Each bucket is 1/4096 of the traffic, which is
//! also the granularity in which a rebuild moves flows.

use super::nexthop::NextHopId;

/// The number of buckets in every table.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// The most members one table can index (one byte per bucket).
pub const MAX_MEMBERS: usize = 1 << u8::BITS;

const BUCKET_BITS: u32 = 12;
const BUCKET_MASK: usize = BUCKETS - 1;

/// Buckets are dealt to members in runs of "spread order" positions, and
/// position k of that order is bucket `k * SPREAD mod 4096`. SPREAD is the
/// odd integer nearest 4096/φ (Fibonacci hashing), so a run of k is spread
/// evenly over the table instead of sitting in one contiguous region: each
/// member's buckets interleave with everybody else's, so any slice of the
/// hash space (a skewed hash, a subset of flows) still sees every member.
const SPREAD: usize = 2531;

/// One tier's buckets: each holds the index of a member in the tier's
/// member list.
#[derive(Clone, PartialEq, Eq)]
pub struct BucketTable {
    buckets: Box<[u8; BUCKETS]>,
    members: usize,
}

impl BucketTable {
    /// Splits the buckets among members in proportion to `weights` (largest
    /// remainder), each member with a non-zero weight getting at least one
    /// bucket. Zero weights get none, unless every weight is zero, in which
    /// case all members share equally. More than [`MAX_MEMBERS`] weights
    /// are cut to the first [`MAX_MEMBERS`].
    pub fn new(weights: &[u32]) -> Self {
        let weights = weights.get(..MAX_MEMBERS).unwrap_or(weights);
        let shares = fair_shares(weights);
        let mut buckets = Box::new([0u8; BUCKETS]);
        let dealt = shares
            .iter()
            .enumerate()
            .flat_map(|(member, &share)| std::iter::repeat_n(member as u8, share));
        for (k, member) in dealt.enumerate() {
            buckets[spread_position(k)] = member;
        }
        BucketTable {
            buckets,
            members: weights.len(),
        }
    }

    /// The table for `new_members`, built from this one, whose bucket
    /// values index `old_members`.
    ///
    /// A bucket keeps its member when the member is still present and has
    /// not yet reached its new fair share; only the remaining buckets, those
    /// of members that left and the excess of members whose share shrank,
    /// are dealt to the members that are short. That moves the fewest flows
    /// any table with exact shares can: the sum over members of the buckets
    /// they must give up. The result has the same shares as
    /// `BucketTable::new` of the new weights.
    pub fn rebuild(&self, old_members: &[NextHopId], new_members: &[(NextHopId, u32)]) -> Self {
        let new_members = new_members.get(..MAX_MEMBERS).unwrap_or(new_members);
        let weights: Vec<u32> = new_members.iter().map(|&(_, weight)| weight).collect();
        let shares = fair_shares(&weights);
        // Where each old member index went; a next hop listed twice keeps
        // the first of its places.
        let survivor: Vec<Option<usize>> = old_members
            .iter()
            .map(|id| new_members.iter().position(|(new, _)| new == id))
            .collect();

        let mut buckets = Box::new([0u8; BUCKETS]);
        let mut held = vec![0usize; new_members.len()];
        let mut orphans = Vec::new();
        // Walk in spread order so that a member giving up buckets gives up
        // spread-out ones, and keeps spread-out ones.
        for k in 0..BUCKETS {
            let position = spread_position(k);
            let old = usize::from(self.buckets[position]);
            match survivor.get(old).copied().flatten() {
                Some(new) if held[new] < shares[new] => {
                    held[new] += 1;
                    buckets[position] = new as u8;
                }
                _ => orphans.push(position),
            }
        }

        // Deal the orphans round-robin among the members still short, so a
        // newly added member's buckets interleave with the others' too.
        let mut short: Vec<usize> = (0..new_members.len())
            .filter(|&m| held[m] < shares[m])
            .collect();
        let mut turn = 0;
        for position in orphans {
            if short.is_empty() {
                break;
            }
            turn %= short.len();
            let member = short[turn];
            buckets[position] = member as u8;
            held[member] += 1;
            if held[member] == shares[member] {
                short.remove(turn);
            } else {
                turn += 1;
            }
        }
        BucketTable {
            buckets,
            members: new_members.len(),
        }
    }

    /// The member a flow with this hash is assigned to.
    #[inline]
    pub fn member_index(&self, hash: u32) -> usize {
        self.member_at(bucket_of(hash))
    }

    /// The member for the `attempt`-th redirect of a flow whose own bucket's
    /// member is down: a bucket drawn by mixing the hash with the attempt
    /// number. Every attempt is an independent draw, so the flows of a down
    /// member spread over the live members in proportion to their buckets.
    /// (Stepping through the table from the flow's own bucket would not:
    /// a flow whose first step fails has most likely stepped within the
    /// down member's own buckets, and its next steps pile onto the
    /// neighbours of that region.) The choice is a fixed function of the
    /// hash, so a redirected flow stays on its new member.
    #[inline]
    pub fn probe_member_index(&self, hash: u32, attempt: u32) -> usize {
        let mut x = u64::from(hash) | (u64::from(attempt) << 32);
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.member_at((x >> (u64::BITS - BUCKET_BITS)) as usize)
    }

    /// How many members the table indexes.
    pub fn member_count(&self) -> usize {
        self.members
    }

    /// How many buckets each member holds, indexed like the members.
    pub fn bucket_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.members];
        for &member in self.buckets.iter() {
            if let Some(count) = counts.get_mut(usize::from(member)) {
                *count += 1;
            }
        }
        counts
    }

    #[inline]
    fn member_at(&self, position: usize) -> usize {
        usize::from(self.buckets[position & BUCKET_MASK])
    }
}

impl std::fmt::Debug for BucketTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketTable")
            .field("bucket_counts", &self.bucket_counts())
            .finish()
    }
}

/// The bucket a hash falls in: its top bits, the best mixed ones of a
/// multiplicative hash.
#[inline]
fn bucket_of(hash: u32) -> usize {
    (hash >> (u32::BITS - BUCKET_BITS)) as usize
}

#[inline]
fn spread_position(k: usize) -> usize {
    k.wrapping_mul(SPREAD) & BUCKET_MASK
}

/// Each member's number of buckets: proportional to its weight, rounded by
/// largest remainder (ties to the earlier member), then topped up so that no
/// member with a non-zero weight is left without a bucket, taking from the
/// largest holder. Sums to [`BUCKETS`] whenever there is a member.
fn fair_shares(weights: &[u32]) -> Vec<usize> {
    let weights: Vec<u64> = if weights.iter().all(|&w| w == 0) {
        vec![1; weights.len()]
    } else {
        weights.iter().map(|&w| u64::from(w)).collect()
    };
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return Vec::new();
    }
    let buckets = BUCKETS as u64;
    // At most 256 × u32::MAX × 4096 < 2^52: no overflow.
    let mut shares: Vec<usize> = weights
        .iter()
        .map(|&w| (w * buckets / total) as usize)
        .collect();
    let dealt: usize = shares.iter().sum();
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by_key(|&m| std::cmp::Reverse(weights[m] * buckets % total));
    for &m in by_remainder.iter().take(BUCKETS - dealt) {
        shares[m] += 1;
    }
    for m in 0..weights.len() {
        if weights[m] > 0 && shares[m] == 0 {
            let richest = (0..shares.len())
                .max_by_key(|&r| (shares[r], std::cmp::Reverse(r)))
                .unwrap_or(m);
            shares[richest] -= 1;
            shares[m] += 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(n: u32) -> Vec<NextHopId> {
        (0..n).map(NextHopId).collect()
    }

    /// Buckets whose member changed, judged by next-hop id.
    fn moved(
        before: &BucketTable,
        before_ids: &[NextHopId],
        after: &BucketTable,
        after_ids: &[NextHopId],
    ) -> usize {
        (0..BUCKETS)
            .filter(|&p| before_ids[before.member_at(p)] != after_ids[after.member_at(p)])
            .count()
    }

    #[test]
    fn shares_follow_weights_by_largest_remainder() {
        assert_eq!(fair_shares(&[1, 1]), vec![2048, 2048]);
        // 4096/3 = 1365.33: one bucket left over, to the first of the ties.
        assert_eq!(fair_shares(&[1, 1, 1]), vec![1366, 1365, 1365]);
        // 4096 × 1/6, 2/6, 3/6 = 682.67, 1365.33, 2048: the largest
        // remainder (the first) gets the bucket.
        assert_eq!(fair_shares(&[1, 2, 3]), vec![683, 1365, 2048]);
        assert_eq!(fair_shares(&[0, 5]), vec![0, 4096]);
        assert_eq!(fair_shares(&[0, 0]), vec![2048, 2048]);
        assert_eq!(fair_shares(&[]), Vec::<usize>::new());
    }

    #[test]
    fn tiny_weights_still_get_a_bucket() {
        let shares = fair_shares(&[u32::MAX, 1]);
        assert_eq!(shares, vec![4095, 1]);
        assert_eq!(
            BucketTable::new(&[u32::MAX, 1]).bucket_counts(),
            vec![4095, 1]
        );
    }

    #[test]
    fn a_members_buckets_are_spread_not_contiguous() {
        let table = BucketTable::new(&[1, 1, 1, 1]);
        // Longest run of one member in bucket order, wrapping around.
        let mut longest = 0;
        let mut run = 0;
        for p in 0..2 * BUCKETS {
            if p > 0 && table.member_at(p) == table.member_at(p - 1) {
                run += 1;
            } else {
                run = 1;
            }
            longest = longest.max(run);
        }
        assert!(longest <= 4, "a run of {longest} buckets of one member");
        // And every eighth of the table holds every member about equally.
        for eighth in 0..8 {
            let mut counts = [0usize; 4];
            for p in eighth * 512..(eighth + 1) * 512 {
                counts[table.member_at(p)] += 1;
            }
            assert!(
                counts.iter().all(|&c| (96..=160).contains(&c)),
                "eighth {eighth}: {counts:?}"
            );
        }
    }

    #[test]
    fn removing_a_member_moves_only_its_buckets() {
        let before = BucketTable::new(&[1; 5]);
        let after = before.rebuild(
            &ids(5),
            &[
                (NextHopId(0), 1),
                (NextHopId(1), 1),
                (NextHopId(3), 1),
                (NextHopId(4), 1),
            ],
        );
        let after_ids = [NextHopId(0), NextHopId(1), NextHopId(3), NextHopId(4)];
        // Only member 2's buckets (4096/5, one fifth) move; hash-threshold
        // would move 3/10 of all flows (RFC 2992 §2.2).
        assert_eq!(
            moved(&before, &ids(5), &after, &after_ids),
            before.bucket_counts()[2]
        );
        assert_eq!(after.bucket_counts(), fair_shares(&[1; 4]));
    }

    #[test]
    fn rebuild_survives_a_mismatched_old_member_list() {
        // Buckets naming members past the end of `old_members` are treated
        // as orphans, not as a panic.
        let before = BucketTable::new(&[1; 4]);
        let after = before.rebuild(
            &ids(2),
            &[(NextHopId(0), 1), (NextHopId(1), 1), (NextHopId(9), 1)],
        );
        assert_eq!(after.bucket_counts(), fair_shares(&[1; 3]));
        assert_eq!(
            BucketTable::new(&[1]).rebuild(&ids(1), &[]).bucket_counts(),
            Vec::<usize>::new()
        );
    }

    fn members_strategy() -> impl Strategy<Value = Vec<(NextHopId, u32)>> {
        // Ids from a small pool so old and new lists overlap.
        prop::collection::btree_map(0u32..12, 1u32..20, 1..10)
            .prop_map(|m| m.into_iter().map(|(id, w)| (NextHopId(id), w)).collect())
    }

    proptest! {
        #[test]
        fn rebuild_keeps_exact_shares_and_moves_the_minimum(old in members_strategy(), new in members_strategy()) {
            let old_ids: Vec<NextHopId> = old.iter().map(|m| m.0).collect();
            let new_ids: Vec<NextHopId> = new.iter().map(|m| m.0).collect();
            let old_weights: Vec<u32> = old.iter().map(|m| m.1).collect();
            let new_weights: Vec<u32> = new.iter().map(|m| m.1).collect();
            let before = BucketTable::new(&old_weights);
            let after = before.rebuild(&old_ids, &new);
            let shares = fair_shares(&new_weights);
            prop_assert_eq!(after.bucket_counts(), shares.clone());
            // Lower bound: every bucket of a member beyond its new share
            // (a removed member's share is 0) must move; nothing else may.
            let old_counts = before.bucket_counts();
            let must_move: usize = old_ids.iter().zip(&old_counts).map(|(id, &count)| {
                let share = new_ids.iter().position(|n| n == id).map_or(0, |m| shares[m]);
                count.saturating_sub(share)
            }).sum();
            prop_assert_eq!(moved(&before, &old_ids, &after, &new_ids), must_move);
        }

        #[test]
        fn probes_stay_inside_the_table(weights in prop::collection::vec(1u32..100, 1..40), hash: u32, attempt: u32) {
            let table = BucketTable::new(&weights);
            prop_assert!(table.member_index(hash) < weights.len());
            prop_assert!(table.probe_member_index(hash, attempt) < weights.len());
        }
    }
}
