// SPDX-License-Identifier: Apache-2.0
//
// Hands every received frame to the AF_XDP socket bound to the queue it
// arrived on; a queue with no socket passes its frames to the kernel.
//
// Self-contained on purpose (no <linux/bpf.h>, no libbpf headers) so that
// the Debian package clang is the only build dependency.

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

#define XDP_PASS 2
#define BPF_MAP_TYPE_XSKMAP 17

// BTF map definition, as libbpf's bpf_helpers.h spells it. The loader
// resizes max_entries to the interface's queue count.
struct {
	int (*type)[BPF_MAP_TYPE_XSKMAP];
	int (*max_entries)[1];
	__u32 *key;
	__u32 *value;
} xsks_map __attribute__((section(".maps"), used));

// Helper 51 is bpf_redirect_map. Since kernel 5.3 the low bits of flags
// are the action returned when the map has no entry for the key.
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)51;

__attribute__((section("xdp"), used))
int xsk_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char _license[] __attribute__((section("license"), used)) = "Apache-2.0"; // uses no GPL-only helper
