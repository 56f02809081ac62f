//! Poptrie against a naive reference (a list of prefixes, linear longest
//! match) under random interleavings of inserts, replacements, removals
//! and lookups, for IPv4 and IPv6 and several direct-pointing widths; the
//! properties left-right publication relies on (two copies fed the same
//! operations stay identical, a clone taken mid-way too); memory coming
//! back when routes go; and agreement with the multibit trie it replaces
//! on Internet-shaped tables.

use dataplane::fib::lpm::{LpmKey, Poptrie, PoptrieKey, StrideLpm};
use dataplane::fib::prefix_set::PrefixSet;
use dataplane::fib::synthetic;
use proptest::prelude::*;
use proptest::sample::select;

/// The obviously-correct model: every route in a list, longest match by
/// scanning all of them — RFC 1812 §5.2.4.3's Basic Match (keep routes
/// whose first `length` bits equal the address's) then Longest Match.
struct NaiveLpm<K> {
    routes: Vec<(K, u8, u32)>,
}

impl<K: LpmKey> NaiveLpm<K> {
    fn insert(&mut self, prefix: K, len: u8, value: u32) {
        let prefix = prefix.masked(len);
        match self.routes.iter_mut().find(|r| r.0 == prefix && r.1 == len) {
            Some(route) => route.2 = value,
            None => self.routes.push((prefix, len, value)),
        }
    }

    fn remove(&mut self, prefix: K, len: u8) {
        let prefix = prefix.masked(len);
        self.routes.retain(|r| !(r.0 == prefix && r.1 == len));
    }

    fn lookup(&self, address: K) -> Option<(u8, u32)> {
        self.routes
            .iter()
            .filter(|&&(prefix, len, _)| address.masked(len) == prefix)
            .max_by_key(|&&(_, len, _)| len)
            .map(|&(_, len, value)| (len, value))
    }
}

#[derive(Clone, Debug)]
enum Op<K> {
    Insert(K, u8, u32),
    /// Remove the route at this index (modulo the route count), so removals
    /// mostly hit.
    RemoveExisting(usize),
    /// Remove whatever is there (usually nothing).
    Remove(K, u8),
    Lookup(K),
}

/// Lengths over the whole range, with extra weight at /0, full length and
/// where 6-bit node strides begin and end for the direct widths tested.
fn length<K: LpmKey>() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => 0..=K::BITS,
        2 => select(vec![0, 1, 5, 6, 7, 11, 12, 13, 16, 17, 18, 19, 22, 23, 24, 25, 28, 29, 30, 31, 32]),
        1 => select(vec![K::BITS - 1, K::BITS, K::BITS / 2, K::BITS / 2 + 1, 48, 64])
            .prop_map(|l: u8| l.min(K::BITS)),
    ]
}

/// IPv4 addresses concentrated in 10.0.0.0/16 (so prefixes overlap a lot),
/// sometimes anywhere.
fn v4_address() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![
        6 => any::<u16>().prop_map(|low| 0x0A00_0000 | u32::from(low)),
        1 => any::<u32>(),
    ]
}

/// IPv6 addresses that differ in only 12 bits, scattered across the
/// address (after the /32, in the middle, at the very end), so prefixes of
/// every length overlap; sometimes anywhere.
fn v6_address() -> impl Strategy<Value = u128> + Clone {
    let base: u128 = 0x2001_0db8 << 96;
    prop_oneof![
        6 => (0u128..16, 0u128..16, 0u128..16)
            .prop_map(move |(a, b, c)| base | a << 92 | b << 60 | c),
        1 => any::<u128>(),
    ]
}

/// An address near `address`: the same with some low bits randomised.
fn near<K: LpmKey>(address: impl Strategy<Value = K>) -> impl Strategy<Value = K> {
    (address, 0..=K::BITS, any::<u128>()).prop_map(|(address, keep, noise)| {
        address.with_host(K::BITS - keep.min(K::BITS), K::from_u128_truncating(noise))
    })
}

fn ops<K: PoptrieKey>(
    address: impl Strategy<Value = K> + Clone,
    max_ops: usize,
) -> impl Strategy<Value = Vec<Op<K>>> {
    // Few distinct values, so replacements that keep the value and
    // neighbours with equal values (which share a word) both occur.
    let value = prop_oneof![1u32..=4, Just(Poptrie::<K>::MAX_VALUE)];
    let op = prop_oneof![
        5 => (address.clone(), length::<K>(), value).prop_map(|(a, l, v)| Op::Insert(a, l, v)),
        3 => any::<usize>().prop_map(Op::RemoveExisting),
        1 => (address.clone(), length::<K>()).prop_map(|(a, l)| Op::Remove(a, l)),
        4 => near(address).prop_map(Op::Lookup),
    ];
    prop::collection::vec(op, 1..max_ops)
}

/// Applies `ops` to the poptrie (with `PrefixSet::covering` for removals,
/// as production does), the prefix set and the naive model, checking every
/// lookup on the way, and every probe address one by one and as a batch at
/// the end.
fn check_against_naive<K: PoptrieKey>(direct_bits: u8, ops: &[Op<K>]) -> Result<(), TestCaseError> {
    let mut lpm = Poptrie::<K>::new(direct_bits);
    let mut set = PrefixSet::<K>::new();
    let mut naive = NaiveLpm { routes: Vec::new() };
    let mut probes = Vec::new();
    for op in ops {
        match *op {
            Op::Insert(prefix, len, value) => {
                lpm.insert(prefix, len, value);
                set.insert(prefix, len, value);
                naive.insert(prefix, len, value);
                probes.push(prefix);
            }
            Op::RemoveExisting(index) => {
                if naive.routes.is_empty() {
                    continue;
                }
                let (prefix, len, _) = naive.routes[index % naive.routes.len()];
                prop_assert!(set.remove(prefix, len).is_some());
                lpm.remove(prefix, len, set.covering(prefix, len));
                naive.remove(prefix, len);
            }
            Op::Remove(prefix, len) => {
                set.remove(prefix, len);
                lpm.remove(prefix, len, set.covering(prefix, len));
                naive.remove(prefix, len);
            }
            Op::Lookup(address) => {
                let want = naive.lookup(address);
                prop_assert_eq!(lpm.lookup_with_len(address), want, "address {:?}", address);
                prop_assert_eq!(lpm.lookup(address), want.map_or(0, |w| w.1));
                probes.push(address);
            }
        }
    }
    // Every route's first and last address, plus everything looked up.
    for &(prefix, len, _) in &naive.routes {
        probes.push(prefix);
        probes.push(prefix.with_host(len, K::from_u128_truncating(u128::MAX)));
    }
    let mut batch = vec![0; probes.len()];
    lpm.lookup_batch(&probes, &mut batch);
    for (&address, &batched) in probes.iter().zip(&batch) {
        let want = naive.lookup(address);
        prop_assert_eq!(lpm.lookup_with_len(address), want, "address {:?}", address);
        prop_assert_eq!(
            batched,
            want.map_or(0, |w| w.1),
            "batch, address {:?}",
            address
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn v4_matches_naive_reference(
        direct_bits in select(vec![1u8, 6, 13, 16, 18]),
        ops in ops(v4_address(), 200),
    ) {
        check_against_naive(direct_bits, &ops)?;
    }

    #[test]
    fn v6_matches_naive_reference(
        direct_bits in select(vec![1u8, 8, 16, 20]),
        ops in ops(v6_address(), 200),
    ) {
        check_against_naive(direct_bits, &ops)?;
    }
}

/// Applies `ops` the way both left-right copies get them.
fn apply<K: PoptrieKey>(lpm: &mut Poptrie<K>, set: &mut PrefixSet<K>, ops: &[Op<K>]) {
    for op in ops {
        match *op {
            Op::Insert(prefix, len, value) => {
                set.insert(prefix, len, value);
                lpm.insert(prefix, len, value);
            }
            Op::RemoveExisting(index) => {
                let mut routes: Vec<_> = set.iter().collect();
                if routes.is_empty() {
                    continue;
                }
                routes.sort_unstable();
                let (prefix, len, _) = routes[index % routes.len()];
                set.remove(prefix, len);
                lpm.remove(prefix, len, set.covering(prefix, len));
            }
            Op::Remove(prefix, len) => {
                set.remove(prefix, len);
                lpm.remove(prefix, len, set.covering(prefix, len));
            }
            Op::Lookup(_) => {}
        }
    }
}

fn check_copies_stay_identical<K: PoptrieKey>(
    direct_bits: u8,
    ops: &[Op<K>],
    split: usize,
) -> Result<(), TestCaseError> {
    let (head, tail) = ops.split_at(split.min(ops.len()));
    let (mut left, mut left_set) = (Poptrie::<K>::new(direct_bits), PrefixSet::new());
    let (mut right, mut right_set) = (Poptrie::<K>::new(direct_bits), PrefixSet::new());
    apply(&mut left, &mut left_set, head);
    apply(&mut right, &mut right_set, head);
    // A copy made mid-way (left-right's `sync_with`) must evolve the same,
    // and so must one brought up to date with `clone_from`.
    let (mut copy, mut copy_set) = (left.clone(), left_set.clone());
    let mut synced = Poptrie::<K>::new(direct_bits);
    synced.clone_from(&left);
    let mut synced_set = left_set.clone();
    apply(&mut left, &mut left_set, tail);
    apply(&mut right, &mut right_set, tail);
    apply(&mut copy, &mut copy_set, tail);
    apply(&mut synced, &mut synced_set, tail);
    prop_assert!(left == right, "independently built copies differ");
    prop_assert!(left == copy, "clone fed the rest differs");
    prop_assert!(left == synced, "clone_from fed the rest differs");
    prop_assert_eq!(left.node_count(), right.node_count());
    prop_assert_eq!(left.memory_bytes(), right.memory_bytes());
    for op in ops {
        if let Op::Lookup(address) | Op::Insert(address, _, _) = *op {
            let want = left.lookup_with_len(address);
            prop_assert_eq!(right.lookup_with_len(address), want);
            prop_assert_eq!(copy.lookup_with_len(address), want);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn copies_fed_the_same_ops_stay_identical(
        direct_bits in select(vec![6u8, 16]),
        v4_ops in ops(v4_address(), 150),
        v6_ops in ops(v6_address(), 150),
        split in 0usize..150,
    ) {
        check_copies_stay_identical(direct_bits, &v4_ops, split)?;
        check_copies_stay_identical(direct_bits, &v6_ops, split)?;
    }

    /// Adding routes and taking them away again leaves as many nodes and
    /// leaves as before, and the old routes answering as before.
    #[test]
    fn removing_added_routes_returns_their_nodes(
        direct_bits in select(vec![8u8, 16]),
        base in prop::collection::vec((v6_address(), length::<u128>(), 1u32..100), 0..30),
        added in prop::collection::vec((v6_address(), 40u8..=128, 100u32..200), 1..60),
        order_seed in any::<u64>(),
    ) {
        let mut lpm = Poptrie::<u128>::new(direct_bits);
        let mut set = PrefixSet::new();
        for &(prefix, len, value) in &base {
            set.insert(prefix, len, value);
            lpm.insert(prefix, len, value);
        }
        let base_routes: Vec<_> = set.iter().collect();
        let before = (lpm.node_count(), lpm.leaf_count());
        let probes: Vec<u128> = added.iter().map(|a| a.0).chain(base.iter().map(|b| b.0)).collect();
        let answers_before: Vec<_> = probes.iter().map(|&p| lpm.lookup_with_len(p)).collect();
        let mut fresh = Vec::new();
        for &(prefix, len, value) in &added {
            if set.insert(prefix, len, value).is_none() {
                fresh.push((prefix, len));
            }
            lpm.insert(prefix, len, value);
        }
        // Restore the base routes' values that `added` replaced, then remove
        // the new ones in a scrambled order.
        for &(prefix, len, value) in &base_routes {
            if set.get(prefix, len) != Some(value) {
                set.insert(prefix, len, value);
                lpm.insert(prefix, len, value);
            }
        }
        let mut order: Vec<usize> = (0..fresh.len()).collect();
        let mut state = order_seed | 1;
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for i in order {
            let (prefix, len) = fresh[i];
            set.remove(prefix, len);
            lpm.remove(prefix, len, set.covering(prefix, len));
        }
        prop_assert_eq!((lpm.node_count(), lpm.leaf_count()), before);
        let answers_after: Vec<_> = probes.iter().map(|&p| lpm.lookup_with_len(p)).collect();
        prop_assert_eq!(answers_after, answers_before);
    }
}

/// Many routes in, all out again (in another order): every node folds
/// back, nothing routes, and the pool is empty again — a second round
/// needs no more memory than the first.
#[test]
fn removing_every_route_frees_every_node() {
    fn round<K: PoptrieKey>(lpm: &mut Poptrie<K>, table: &[(K, u8)], probes: &[K]) {
        let mut set = PrefixSet::new();
        for (i, &(prefix, len)) in table.iter().enumerate() {
            set.insert(prefix, len, i as u32 % 1000 + 1);
            lpm.insert(prefix, len, i as u32 % 1000 + 1);
        }
        assert!(lpm.node_count() > 1_000, "table too small to test");
        assert!(probes.iter().all(|&p| lpm.lookup(p) != 0));
        for &(prefix, len) in table
            .iter()
            .skip(1)
            .step_by(2)
            .rev()
            .chain(table.iter().step_by(2))
        {
            set.remove(prefix, len);
            lpm.remove(prefix, len, set.covering(prefix, len));
        }
        assert!(set.is_empty());
        assert_eq!((lpm.node_count(), lpm.leaf_count()), (0, 0));
        assert!(probes.iter().all(|&p| lpm.lookup(p) == 0));
    }

    let v4 = synthetic::internet_v4(20_000, 11);
    let v4_probes = synthetic::destinations_from_table(&v4, 5_000, 12);
    for direct_bits in [8, 16, 18] {
        let mut lpm = Poptrie::<u32>::new(direct_bits);
        let empty = lpm.memory_bytes();
        round(&mut lpm, &v4, &v4_probes);
        let after_first = lpm.memory_bytes();
        round(&mut lpm, &v4, &v4_probes);
        assert_eq!(lpm.memory_bytes(), after_first, "second round grew");
        assert!(after_first >= empty);
    }
    let v6 = synthetic::internet_v6(5_000, 13);
    let v6_probes = synthetic::destinations_from_table(&v6, 5_000, 12);
    let mut lpm = Poptrie::<u128>::new(16);
    round(&mut lpm, &v6, &v6_probes);
    round(&mut lpm, &v6, &v6_probes);
}

/// Internet-shaped tables (50k IPv4 routes, 20k IPv6: the debug-build
/// stand-ins for the benchmark's 1M and 200k) answer exactly like the
/// multibit trie and the prefix set's hash-per-length match, one by one
/// and in batches, before and after removing half of the routes.
#[test]
fn synthetic_tables_agree_with_the_multibit_trie() {
    fn check<K: PoptrieKey>(table: &[(K, u8)], random: &[K], direct_bits: u8) {
        let mut lpm = Poptrie::<K>::new(direct_bits);
        let mut old = StrideLpm::<K>::new(16);
        let mut set = PrefixSet::new();
        for (i, &(prefix, len)) in table.iter().enumerate() {
            let value = (i as u32 * 7919) % Poptrie::<K>::MAX_VALUE + 1;
            set.insert(prefix, len, value);
            lpm.insert(prefix, len, value);
            old.insert(prefix, len, value);
        }
        let mut probes = synthetic::destinations_from_table(table, 10_000, 21);
        probes.extend_from_slice(random);
        let verify = |lpm: &Poptrie<K>, old: &StrideLpm<K>, set: &PrefixSet<K>| {
            let mut batch = vec![0; probes.len()];
            lpm.lookup_batch(&probes, &mut batch);
            let mut hits = 0;
            for (&address, &batched) in probes.iter().zip(&batch) {
                let want = set.longest_match(address);
                assert_eq!(lpm.lookup_with_len(address), want, "{address:?}");
                assert_eq!(old.lookup_with_len(address), want, "{address:?}");
                assert_eq!(batched, want.map_or(0, |w| w.1));
                hits += usize::from(want.is_some());
            }
            hits
        };
        assert!(verify(&lpm, &old, &set) >= 10_000);
        for &(prefix, len) in table.iter().step_by(2) {
            set.remove(prefix, len);
            let covering = set.covering(prefix, len);
            lpm.remove(prefix, len, covering);
            old.remove(prefix, len, covering);
        }
        verify(&lpm, &old, &set);
    }
    let v4 = synthetic::internet_v4(50_000, 1);
    let v4_random = synthetic::random_v4(10_000, 2);
    check(&v4, &v4_random, 16);
    check(&v4, &v4_random, 18);
    let v6 = synthetic::internet_v6(20_000, 1);
    let v6_random = synthetic::random_v6_global(10_000, 2);
    check(&v6, &v6_random, 16);
    check(&v6, &v6_random, 20);
}

/// Batches of any length (the forwarding loop's bursts are at most 64, the
/// API takes more) answer like single lookups; `out` may be longer.
#[test]
fn batches_of_every_length_match_single_lookups() {
    let table = synthetic::internet_v4(5_000, 3);
    let mut lpm = Poptrie::<u32>::new(18);
    for (i, &(prefix, len)) in table.iter().enumerate() {
        lpm.insert(prefix, len, i as u32 + 1);
    }
    let keys = synthetic::destinations_from_table(&table, 200, 4);
    for n in [0, 1, 63, 64, 65, 128, 200] {
        let mut out = vec![u32::MAX; n + 3];
        lpm.lookup_batch(&keys[..n], &mut out);
        let single: Vec<u32> = keys[..n].iter().map(|&k| lpm.lookup(k)).collect();
        assert_eq!(&out[..n], &single[..], "batch of {n}");
        assert!(
            out[n..].iter().all(|&v| v == u32::MAX),
            "wrote past the keys"
        );
    }
}
