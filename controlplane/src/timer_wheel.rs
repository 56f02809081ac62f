//! Hierarchical timer wheel: O(1) insert and cancel, amortised O(levels)
//! per timer to fire.
//!
//! Every protocol lives on timers (hello, dead, hold, keepalive, retransmit,
//! advertisement), thousands of them re-armed on every received packet, so
//! arming and cancelling must not cost more than a few pointer writes.
//!
//! Layout (the Linux / Varghese–Lauck scheme, as in tokio's driver): time is
//! counted in ticks of `tick_ns`; level `L` has 64 slots of `64^L` ticks
//! each, so six levels span 64^6 ticks (≈ 2.2 years at 1 ms). A timer sits
//! in the level of the highest 6-bit group in which its expiry tick differs
//! from the wheel's current tick; when time reaches its slot it cascades
//! down a level, and fires from level 0. Timers beyond the top level wait in
//! an overflow list that is re-sorted once per top-level revolution.
//!
//! Entries live in a slab with intrusive doubly linked lists per slot, so
//! nothing allocates after warm-up except slab growth, and [`TimerId`]s
//! carry a generation so a stale id can never cancel a reused entry.

use serde::{Deserialize, Serialize};

use crate::clock::Nanos;

const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
const LEVELS: usize = 6;
/// Ticks covered by the whole hierarchy: 2^36.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;

const NIL: u32 = u32::MAX;

/// Where an entry is linked. Slots are numbered `level * 64 + slot`;
/// then come the two special lists.
const OVERFLOW_LIST: u16 = (LEVELS * SLOTS) as u16;
/// Timers whose expiry had already passed when they were inserted; they
/// fire on the next `advance`.
const DUE_LIST: u16 = OVERFLOW_LIST + 1;
const LIST_COUNT: usize = DUE_LIST as usize + 1;
/// Marks a slab entry that is on the free list.
const FREE: u16 = u16::MAX;

/// Handle to an armed timer. Cheap to copy; becomes inert once the timer
/// fires or is cancelled, even if its slab entry is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerId {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Entry<T> {
    payload: Option<T>,
    deadline_ns: Nanos,
    expiry_tick: u64,
    /// Insertion order: breaks deadline ties so firing order is reproducible.
    seq: u64,
    generation: u32,
    list: u16,
    prev: u32,
    next: u32,
}

/// A timer wheel holding payloads of type `T`.
#[derive(Debug)]
pub struct TimerWheel<T> {
    tick_ns: Nanos,
    /// The last tick fully processed: every timer expiring at or before it
    /// has fired.
    elapsed: u64,
    entries: Vec<Entry<T>>,
    free_head: u32,
    heads: [u32; LIST_COUNT],
    /// Per level, bit `s` set when slot `s` is non-empty: finding the next
    /// busy slot is a `trailing_zeros`, not a scan.
    occupied: [u64; LEVELS],
    len: usize,
    next_seq: u64,
    /// Reused between `advance` calls so firing does not allocate.
    fired: Vec<(Nanos, u64, TimerId, T)>,
}

impl<T> TimerWheel<T> {
    /// A wheel with `tick_ns` resolution whose time starts at 0.
    ///
    /// # Panics
    /// If `tick_ns` is 0 (a programming error, never reachable from input).
    pub fn new(tick_ns: Nanos) -> Self {
        Self::starting_at(tick_ns, 0)
    }

    /// A wheel whose time starts at `now`; timers due at or before `now`
    /// fire on the first `advance`.
    ///
    /// # Panics
    /// If `tick_ns` is 0.
    pub fn starting_at(tick_ns: Nanos, now: Nanos) -> Self {
        assert!(tick_ns > 0, "timer wheel tick must be positive");
        TimerWheel {
            tick_ns,
            elapsed: now / tick_ns,
            entries: Vec::new(),
            free_head: NIL,
            heads: [NIL; LIST_COUNT],
            occupied: [0; LEVELS],
            len: 0,
            next_seq: 0,
            fired: Vec::new(),
        }
    }

    pub fn tick_ns(&self) -> Nanos {
        self.tick_ns
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Arms a timer firing at the first `advance(now)` with `now >= deadline`
    /// on a tick boundary: never early, at most one tick late.
    pub fn insert(&mut self, deadline: Nanos, payload: T) -> TimerId {
        // Round up so a timer never fires before its deadline.
        let expiry_tick = deadline.div_ceil(self.tick_ns);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            self.free_head = entry.next;
            entry.payload = Some(payload);
            entry.deadline_ns = deadline;
            entry.expiry_tick = expiry_tick;
            entry.seq = seq;
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("more than 4 billion timers armed");
            self.entries.push(Entry {
                payload: Some(payload),
                deadline_ns: deadline,
                expiry_tick,
                seq,
                generation: 0,
                list: FREE,
                prev: NIL,
                next: NIL,
            });
            index
        };
        self.len += 1;
        self.place(index);
        TimerId {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Disarms a timer and returns its payload, or `None` if it already
    /// fired or was cancelled.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let entry = self.entries.get(id.index as usize)?;
        if entry.generation != id.generation || entry.list == FREE {
            return None;
        }
        self.unlink(id.index);
        Some(self.release(id.index))
    }

    /// The deadline a live timer was armed with.
    pub fn deadline(&self, id: TimerId) -> Option<Nanos> {
        let entry = self.entries.get(id.index as usize)?;
        (entry.generation == id.generation && entry.list != FREE).then_some(entry.deadline_ns)
    }

    /// A time at or before which the earliest timer fires: sleep until then,
    /// call `advance`, ask again. `None` when nothing is armed.
    ///
    /// It is a lower bound, not the exact deadline, because a far timer is
    /// only located to its slot; waking at a slot boundary to cascade it is
    /// cheap and keeps this O(levels).
    pub fn next_wakeup(&self) -> Option<Nanos> {
        if self.heads[DUE_LIST as usize] != NIL {
            return Some(self.elapsed.saturating_mul(self.tick_ns));
        }
        let tick = match self.next_slot() {
            Some((_, _, start)) => start,
            None if self.heads[OVERFLOW_LIST as usize] != NIL => self.next_revolution()?,
            None => return None,
        };
        Some(tick.saturating_mul(self.tick_ns))
    }

    /// Moves time to `now` and yields every timer that became due, in
    /// deadline order (ties in insertion order). `now` earlier than a
    /// previous call is treated as that call's time.
    pub fn advance(&mut self, now: Nanos) -> impl Iterator<Item = (TimerId, T)> + '_ {
        let now_tick = (now / self.tick_ns).max(self.elapsed);
        self.fire_list(DUE_LIST);
        loop {
            if let Some((level, slot, start)) = self.next_slot().filter(|&(_, _, s)| s <= now_tick)
            {
                self.elapsed = start;
                self.cascade(level, slot);
                continue;
            }
            // Nothing left in the levels before `now_tick`. If time enters a
            // later top-level revolution the levels are empty, and overflow
            // timers either are due or now fit inside the hierarchy: jump
            // straight to that revolution (one pass, however far time moved).
            let revolution = now_tick >> SPAN_BITS << SPAN_BITS;
            if revolution > self.elapsed && self.heads[OVERFLOW_LIST as usize] != NIL {
                self.elapsed = revolution;
                self.relocate_list(OVERFLOW_LIST);
                continue;
            }
            break;
        }
        self.elapsed = now_tick;
        self.fired
            .sort_unstable_by_key(|&(deadline, seq, _, _)| (deadline, seq));
        self.fired
            .drain(..)
            .map(|(_, _, id, payload)| (id, payload))
    }

    /// The earliest non-empty slot: (level, slot, first tick it covers).
    /// Lower levels always hold earlier timers than higher ones, so the
    /// first non-empty level is the answer.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let slot = self.occupied[level].trailing_zeros() as u64;
        let shift = SLOT_BITS * level as u32;
        // Slots at or before the current position are empty by construction,
        // so the first set bit lies ahead of `elapsed` within this level.
        let level_start = self.elapsed >> (shift + SLOT_BITS) << (shift + SLOT_BITS);
        Some((level, slot as usize, level_start + (slot << shift)))
    }

    /// The first tick of the next top-level revolution, if time has one.
    fn next_revolution(&self) -> Option<u64> {
        (self.elapsed >> SPAN_BITS)
            .checked_add(1)?
            .checked_mul(1 << SPAN_BITS)
    }

    fn cascade(&mut self, level: usize, slot: usize) {
        if level == 0 {
            self.fire_list(slot as u16);
        } else {
            self.relocate_list((level * SLOTS + slot) as u16);
        }
    }

    /// Detaches every entry of `list` and places each again relative to the
    /// current `elapsed`: lower level, overflow, or fired.
    fn relocate_list(&mut self, list: u16) {
        let mut index = self.detach_list(list);
        while index != NIL {
            let next = self.entries[index as usize].next;
            if self.entries[index as usize].expiry_tick <= self.elapsed {
                self.fire(index);
            } else {
                self.place(index);
            }
            index = next;
        }
    }

    fn fire_list(&mut self, list: u16) {
        let mut index = self.detach_list(list);
        while index != NIL {
            let next = self.entries[index as usize].next;
            self.fire(index);
            index = next;
        }
    }

    /// Links an unlinked entry where its expiry belongs.
    fn place(&mut self, index: u32) {
        let expiry = self.entries[index as usize].expiry_tick;
        if expiry <= self.elapsed {
            // Only `insert` gets here: relocation fires due entries itself.
            self.link(index, DUE_LIST);
            return;
        }
        let differing_bit = 63 - (expiry ^ self.elapsed).leading_zeros();
        let level = (differing_bit / SLOT_BITS) as usize;
        if level >= LEVELS {
            self.link(index, OVERFLOW_LIST);
            return;
        }
        let slot = ((expiry >> (SLOT_BITS * level as u32)) & SLOT_MASK) as usize;
        self.link(index, (level * SLOTS + slot) as u16);
    }

    fn fire(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (deadline, seq) = (entry.deadline_ns, entry.seq);
        let id = TimerId {
            index,
            generation: entry.generation,
        };
        let payload = self.release(index);
        self.fired.push((deadline, seq, id, payload));
    }

    fn link(&mut self, index: u32, list: u16) {
        let head = self.heads[list as usize];
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.list = list;
        entry.prev = NIL;
        entry.next = head;
        self.heads[list as usize] = index;
        if (list as usize) < LEVELS * SLOTS {
            self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS);
        }
    }

    fn unlink(&mut self, index: u32) {
        let Entry {
            list, prev, next, ..
        } = self.entries[index as usize];
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[list as usize] = next;
            if next == NIL && (list as usize) < LEVELS * SLOTS {
                self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
            }
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Empties `list` and returns its first entry; the entries keep their
    /// `next` links so the caller can walk them while re-placing each.
    fn detach_list(&mut self, list: u16) -> u32 {
        let head = std::mem::replace(&mut self.heads[list as usize], NIL);
        if (list as usize) < LEVELS * SLOTS {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        head
    }

    /// Returns an unlinked entry to the free list, bumping its generation so
    /// outstanding ids go stale.
    fn release(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.list = FREE;
        entry.prev = NIL;
        entry.next = self.free_head;
        self.free_head = index;
        self.len -= 1;
        entry
            .payload
            .take()
            .expect("armed timer entry holds a payload")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn fires_on_the_tick_of_its_deadline_not_before() {
        let mut wheel = TimerWheel::new(MS);
        let id = wheel.insert(5 * MS + 1, "hello");
        assert_eq!(
            wheel.advance(5 * MS).count(),
            0,
            "deadline 5ms+1ns must not fire at 5ms"
        );
        let fired: Vec<_> = wheel.advance(6 * MS).collect();
        assert_eq!(fired, vec![(id, "hello")]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn cancel_returns_payload_once_and_stale_ids_are_inert() {
        let mut wheel = TimerWheel::new(MS);
        let a = wheel.insert(10 * MS, 1);
        assert_eq!(wheel.cancel(a), Some(1));
        assert_eq!(wheel.cancel(a), None);
        // The slab entry is reused; the old id must not reach the new timer.
        let b = wheel.insert(10 * MS, 2);
        assert_ne!(a, b);
        assert_eq!(wheel.cancel(a), None);
        assert_eq!(wheel.deadline(b), Some(10 * MS));
        assert_eq!(wheel.advance(10 * MS).collect::<Vec<_>>(), vec![(b, 2)]);
        assert_eq!(wheel.cancel(b), None, "a fired timer cannot be cancelled");
    }

    #[test]
    fn far_timers_cascade_and_fire_in_deadline_order() {
        let mut wheel = TimerWheel::new(MS);
        // One per level, plus one beyond the 2^36-tick span (overflow list).
        let deadlines = [
            3 * MS,
            70 * MS,
            5_000 * MS,
            300_000 * MS,
            20_000_000 * MS,
            (1 << 37) * MS,
        ];
        for (i, &d) in deadlines.iter().enumerate().rev() {
            wheel.insert(d, i);
        }
        let fired: Vec<usize> = wheel.advance(u64::MAX).map(|(_, i)| i).collect();
        assert_eq!(fired, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn next_wakeup_is_never_after_the_earliest_deadline() {
        let mut wheel = TimerWheel::new(MS);
        assert_eq!(wheel.next_wakeup(), None);
        wheel.insert(4_000 * MS + 3, ());
        let mut now = 0;
        loop {
            let wake = wheel.next_wakeup().expect("timer still armed");
            assert!(wake <= 4_001 * MS, "wakeup {wake} after the deadline tick");
            assert!(wake >= now);
            now = wake;
            if wheel.advance(now).count() == 1 {
                break;
            }
        }
        assert_eq!(now, 4_001 * MS);
    }

    #[test]
    fn past_deadline_fires_on_next_advance() {
        let mut wheel = TimerWheel::starting_at(MS, 100 * MS);
        wheel.insert(7 * MS, 'x');
        assert_eq!(wheel.next_wakeup(), Some(100 * MS));
        assert_eq!(
            wheel.advance(100 * MS).map(|(_, p)| p).collect::<Vec<_>>(),
            vec!['x']
        );
    }
}
