// SPDX-License-Identifier: Apache-2.0
//
// The sink of `vrperf fwd`: counts and drops the benchmark's frames (UDP
// to the discard port, 9) on the sink's veth, IPv4 and IPv6 apart, and
// passes everything else (ARP, ND, ...) to the kernel, so that the router
// under test can still resolve the sink's address. Being an XDP program
// on the veth, it also gives the veth NAPI, without which frames a router
// redirects into it are lost.

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

#define XDP_DROP 1
#define XDP_PASS 2
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define IPPROTO_UDP 17
#define DISCARD_PORT 9

// Index 0: IPv4 frames, 1: IPv6 frames.
struct {
	int (*type)[BPF_MAP_TYPE_PERCPU_ARRAY];
	int (*max_entries)[2];
	__u32 *key;
	__u64 *value;
} sink_count __attribute__((section(".maps"), used));

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

static inline int count_and_drop(__u32 family_index)
{
	__u64 *count = bpf_map_lookup_elem(&sink_count, &family_index);
	if (count)
		*count += 1;
	return XDP_DROP;
}

__attribute__((section("xdp"), used))
int sink_counter(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *data_end = (__u8 *)(long)ctx->data_end;
	if (data + 14 > data_end)
		return XDP_PASS;
	__u16 ethertype = ((__u16)data[12] << 8) | data[13];
	__u8 *ip = data + 14;
	if (ethertype == 0x0800) {
		if (ip + 20 > data_end || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP)
			return XDP_PASS;
		__u32 ihl = (ip[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > 60)
			return XDP_PASS;
		__u8 *udp = ip + ihl;
		if (udp + 8 > data_end)
			return XDP_PASS;
		if (udp[2] == 0 && udp[3] == DISCARD_PORT)
			return count_and_drop(0);
	} else if (ethertype == 0x86dd) {
		__u8 *udp = ip + 40;
		if (udp + 8 > data_end || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP)
			return XDP_PASS;
		if (udp[2] == 0 && udp[3] == DISCARD_PORT)
			return count_and_drop(1);
	}
	return XDP_PASS;
}

char _license[] __attribute__((section("license"), used)) = "Apache-2.0"; // uses no GPL-only helper
