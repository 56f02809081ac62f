// SPDX-License-Identifier: Apache-2.0
//
// The traffic generator of `vrperf fwd`: run with BPF_PROG_TEST_RUN and
// BPF_F_TEST_XDP_LIVE_FRAMES, each run of this program is one frame sent
// out of the interface named in the test run's context (XDP_TX).
//
// The kernel recycles the frames' pages, and a router on the path (the
// kernel's, or one that hands the page on) may have rewritten MACs and
// TTL in them: so every run writes the whole header block again from
// the template, then makes the frame flow number `sent % flows`, the
// same function as `FrameTemplate::frame_for_flow` in
// src/frame_template.rs (the two are compared by a root-only test).
//
// Self-contained (no kernel or libbpf headers) so that the Debian package
// clang is the only build dependency.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

#define XDP_ABORTED 0
#define XDP_TX 3
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PERCPU_ARRAY 6

// Frame offsets, Ethernet + IPv4 (20 bytes) or IPv6 (40 bytes) + UDP.
#define V4_LEN 60
#define V4_CSUM 24
#define V4_DST 30
#define V4_SPORT 34
#define V6_LEN 62
#define V6_DST_LOW 50
#define V6_SPORT 54
#define V6_UDP_CSUM 60

// Must match `GenConfig` in src/live_frames_generator.rs: 80 bytes.
struct gen_config {
	__u8 frame[64];
	__u32 len;      // V4_LEN or V6_LEN
	__u32 flows;    // 1 or more
	__u32 family;   // 4 or 6
	__u32 dst_mask; // destination bits varied per flow
};

struct {
	int (*type)[BPF_MAP_TYPE_ARRAY];
	int (*max_entries)[1];
	__u32 *key;
	struct gen_config *value;
} gen_config_map __attribute__((section(".maps"), used));

// Frames sent, per CPU: the generator's own count of what it offered.
struct {
	int (*type)[BPF_MAP_TYPE_PERCPU_ARRAY];
	int (*max_entries)[1];
	__u32 *key;
	__u64 *value;
} gen_sent __attribute__((section(".maps"), used));

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

static inline __u16 load16(const __u8 *p)
{
	return ((__u16)p[0] << 8) | p[1];
}

static inline void store16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

// RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m').
static inline __u16 csum_replace(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32)new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

// ORs `off` into the 32-bit big-endian field at `p`; returns the checksum
// `check` updated for the change.
static inline __u16 or32(__u8 *p, __u32 off, __u16 check)
{
	__u16 old_hi = load16(p), old_lo = load16(p + 2);
	__u16 new_hi = old_hi | (off >> 16), new_lo = old_lo | (off & 0xffff);
	store16(p, new_hi);
	store16(p + 2, new_lo);
	check = csum_replace(check, old_hi, new_hi);
	return csum_replace(check, old_lo, new_lo);
}

__attribute__((section("xdp"), used))
int live_frames_gen(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct gen_config *cfg = bpf_map_lookup_elem(&gen_config_map, &zero);
	__u64 *sent = bpf_map_lookup_elem(&gen_sent, &zero);
	if (!cfg || !sent || cfg->flows == 0)
		return XDP_ABORTED;
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *data_end = (__u8 *)(long)ctx->data_end;

	__u32 flow = (__u32)(*sent % cfg->flows);
	__u16 sport = 0x8000 | (flow & 0x7fff);
	__u32 off = (flow * 2654435761u) & cfg->dst_mask;

	if (cfg->family == 4) {
		if (data + V4_LEN > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, cfg->frame, V4_LEN);
		__u16 check = load16(data + V4_CSUM);
		check = or32(data + V4_DST, off, check);
		store16(data + V4_CSUM, check);
		// The IPv4 header checksum does not cover UDP; the UDP
		// checksum is 0 (none), which IPv4 allows (RFC 768).
		store16(data + V4_SPORT, sport);
	} else {
		if (data + V6_LEN > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, cfg->frame, V6_LEN);
		__u16 check = load16(data + V6_UDP_CSUM);
		check = or32(data + V6_DST_LOW, off, check);
		check = csum_replace(check, load16(data + V6_SPORT), sport);
		store16(data + V6_SPORT, sport);
		// Over IPv6 a zero UDP checksum means "none", which is not
		// allowed (RFC 8200 §8.1): a computed zero is sent as 0xffff.
		store16(data + V6_UDP_CSUM, check ? check : 0xffff);
	}
	*sent += 1;
	return XDP_TX;
}

char _license[] __attribute__((section("license"), used)) = "Apache-2.0"; // uses no GPL-only helper
