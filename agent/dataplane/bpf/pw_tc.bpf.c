// SPDX-License-Identifier: GPL-2.0
/* pwire's eBPF data plane: L2TPv3 over UDP (RFC 3931 §4.1.2.1) Ethernet pseudowires as two tc
 * (clsact) programs, with the sessions in maps (pw_maps.h) that the agent fills.
 *
 * pw_encap, on the tc ingress of each session's hidden veth end (what the session interface
 * sends): outer Ethernet + IPv4/IPv6 + UDP + the L2TPv3 data header (session id, cookie of
 * 0/4/8 bytes, RFC 4719 §3 default sublayer when the peer asked for it) go in front of the
 * customer frame, and the packet is redirected to the underlay. IP frames grow with
 * bpf_skb_adjust_room(ENCAP_L3|ENCAP_L4_UDP|ENCAP_L2_ETH), so a TCP GSO super-packet stays one
 * SKB_GSO_UDP_TUNNEL packet; other frames (ARP) grow with bpf_skb_change_head.
 *
 * pw_decap, on the tc ingress of each underlay interface (one program for every session):
 * data messages to one of our UDP endpoints for a session we have, with the cookie we expect,
 * lose their outer headers and go to the session's hidden veth end, whose peer (the session
 * interface) receives the customer frame. Control messages (T bit, RFC 3931 §4.1.2.1), data
 * of unknown sessions and all other traffic pass to the stack (TC_ACT_OK): the agent's socket
 * keeps its control messages.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "pw_maps.h"

#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4 /* Debian 12's uapi headers predate Linux 6.3 */
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif
#define ADJ_ROOM_L2(len) (((__u64)(len)&BPF_ADJ_ROOM_ENCAP_L2_MASK) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT)

#define L2TP_T_BIT 0x80000000u /* RFC 3931 §4.1.2.1: control message */
#define L2TP_VER_MASK 0x000f0000u
#define L2TP_VER3 0x00030000u
#define IP_DF 0x4000
#define IP_MF_OFFSET 0x3fff

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PW_MAX_SESSIONS);
  __type(key, __u32);
  __type(value, struct pw_session);
} pw_sessions SEC(".maps");

/* attachment (hidden veth end) ifindex -> local session id */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PW_MAX_SESSIONS);
  __type(key, __u32);
  __type(value, __u32);
} pw_attachments SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PW_MAX_ENDPOINTS);
  __type(key, struct pw_endpoint);
  __type(value, __u32);
} pw_endpoints SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, PW_MAX_SESSIONS);
  __type(key, __u32);
  __type(value, struct pw_counters);
} pw_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_global);
} pw_global SEC(".maps");

static __always_inline struct pw_global *global(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&pw_global, &zero);
}

static __always_inline __u16 csum_fold(__u32 s) {
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (__u16)~s;
}

static __always_inline __u64 ld64(const void *p) {
  __u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static __always_inline __u32 ld32(const void *p) {
  __u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

static __always_inline int same16(const __u8 *a, const __u8 *b) {
  return ld64(a) == ld64(b) && ld64(a + 8) == ld64(b + 8);
}

/* RFC 3931 §4.1: the cookie must match what we asked for. */
static __always_inline int cookie_ok(const __u8 *p, const struct pw_session *s) {
  if (s->rx_cookie_len == 8) return ld64(p) == ld64(s->rx_cookie);
  if (s->rx_cookie_len == 4) return ld32(p) == ld32(s->rx_cookie);
  return 1;
}

/* Length of the Ethernet (+ VLAN tag) + IPv4/IPv6 + TCP headers of the frame at `off`, 0 when
 * it is not TCP. */
static __always_inline __u32 tcp_headers(struct __sk_buff *skb, __u32 off) {
  __u16 proto;
  __u8 b[2];
  if (bpf_skb_load_bytes(skb, off + 12, &proto, 2)) return 0;
  off += ETH_HLEN;
  if (proto == bpf_htons(0x8100)) {
    if (bpf_skb_load_bytes(skb, off + 2, &proto, 2)) return 0;
    off += 4;
  }
  if (proto == bpf_htons(ETH_P_IP)) {
    if (bpf_skb_load_bytes(skb, off, b, 1) || bpf_skb_load_bytes(skb, off + 9, b + 1, 1) ||
        b[1] != IPPROTO_TCP)
      return 0;
    off += (b[0] & 0xf) * 4;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    if (bpf_skb_load_bytes(skb, off + 6, b + 1, 1) || b[1] != IPPROTO_TCP) return 0;
    off += 40;
  } else {
    return 0;
  }
  if (bpf_skb_load_bytes(skb, off + 12, b, 1)) return 0;
  return off + (b[0] >> 4) * 4;
}

/* Wire packets and customer bytes of the frame at `off` (`len` bytes): a GSO super-packet
 * counts as the segments it becomes, each with a copy of the headers, as the other data
 * planes count (the kernel leaves gso_segs unset after bpf_skb_adjust_room). */
static __always_inline void count_frame(struct __sk_buff *skb, __u32 off, __u32 len,
                                        __u64 *packets, __u64 *bytes) {
  __u32 size = skb->gso_size, hdr = size ? tcp_headers(skb, off) : 0;
  if (hdr > off) hdr -= off;
  __u32 segs = 1;
  if (hdr && len > hdr) segs = (len - hdr + size - 1) / size;
  if (segs < 1 || segs > 65535) segs = 1;
  *packets += segs;
  *bytes += len + (segs - 1) * hdr;
}

/* ---------------------------------------------------------------- decapsulation */

struct outer {
  __u8 src[16];
  __u8 dst[16];
  __u16 sport, dport;
  __u32 l2tp_off; /* offset of the L2TPv3 header from the start of the frame */
  int v6;
};

/* Parses outer Ethernet + IPv4/IPv6 + UDP; 0 when the packet is not UDP to one of our
 * endpoints (leave it alone). */
static __always_inline int parse_outer(struct __sk_buff *skb, struct outer *o) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  struct udphdr *uh;
  if ((void *)(eth + 1) > end) return 0;
  __builtin_memset(o, 0, sizeof *o);
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = (void *)(eth + 1);
    /* Fragments go to the stack, which reassembles them for the socket. */
    if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
        (ip->frag_off & bpf_htons(IP_MF_OFFSET)))
      return 0;
    __builtin_memcpy(o->src, &ip->saddr, 4);
    __builtin_memcpy(o->dst, &ip->daddr, 4);
    uh = (void *)(ip + 1);
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP) return 0;
    __builtin_memcpy(o->src, &ip6->saddr, 16);
    __builtin_memcpy(o->dst, &ip6->daddr, 16);
    o->v6 = 1;
    uh = (void *)(ip6 + 1);
  } else {
    return 0;
  }
  if ((void *)(uh + 1) > end) return 0;
  o->sport = uh->source;
  o->dport = uh->dest;
  o->l2tp_off = (__u32)((void *)(uh + 1) - data);
  struct pw_endpoint ep = {.port = o->dport, .v6 = (__u8)o->v6};
  __builtin_memcpy(ep.addr, o->dst, 16);
  return bpf_map_lookup_elem(&pw_endpoints, &ep) != 0;
}

static __always_inline int from_peer(const struct outer *o, const struct pw_session *s) {
  int v6 = (s->flags & PW_F_V6) != 0;
  if (v6 != o->v6 || o->sport != s->peer_port || o->dport != s->local_port) return 0;
  if (v6) return same16(o->src, s->peer) && same16(o->dst, s->local);
  return ld32(o->src) == ld32(s->peer) && ld32(o->dst) == ld32(s->local);
}

/* A data message too short or of another version than 3: counted, and left to the stack. */
static __always_inline int malformed(void) {
  struct pw_global *g = global();
  if (g) g->rx_malformed++;
  return TC_ACT_OK;
}

/* Strips everything in front of the inner Ethernet header at `inner` and sends the customer
 * frame to the session's hidden veth end. */
static __always_inline int strip_and_forward(struct __sk_buff *skb, __u32 inner,
                                             const struct pw_session *s, struct pw_counters *c) {
  struct ethhdr eth;
  if (bpf_skb_load_bytes(skb, inner, &eth, ETH_HLEN)) {
    c->rx_malformed++;
    return TC_ACT_SHOT;
  }
  /* The room removed is outer L3 .. inner Ethernet; the outer Ethernet header stays and is
   * then overwritten with the inner one. DECAP_L3_* lowers the minimum-length check so short
   * frames (ARP) pass under an IPv6 outer header. */
  __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | (eth.h_proto == bpf_htons(ETH_P_IPV6)
                                                ? BPF_F_ADJ_ROOM_DECAP_L3_IPV6
                                                : BPF_F_ADJ_ROOM_DECAP_L3_IPV4);
  if (bpf_skb_adjust_room(skb, -(__s32)(inner), BPF_ADJ_ROOM_MAC, flags) ||
      bpf_skb_store_bytes(skb, 0, &eth, ETH_HLEN, 0)) {
    c->rx_errors++;
    return TC_ACT_SHOT;
  }
  count_frame(skb, 0, skb->len, &c->rx_packets, &c->rx_bytes);
  /* To the egress of the hidden end: the session interface re-derives the protocol. */
  return bpf_redirect(s->att_ifindex, 0);
}

SEC("tc")
int pw_decap(struct __sk_buff *skb) {
  struct outer o;
  if (!parse_outer(skb, &o)) return TC_ACT_OK;
  __u32 off = o.l2tp_off;
  __u32 hdr[2];
  if (bpf_skb_load_bytes(skb, off, hdr, 4)) return malformed();
  __u32 w = bpf_ntohl(hdr[0]);
  if (w & L2TP_T_BIT) return TC_ACT_OK; /* control message: the agent's */
  if ((w & L2TP_VER_MASK) != L2TP_VER3 || bpf_skb_load_bytes(skb, off, hdr, 8))
    return malformed();
  __u32 sid = bpf_ntohl(hdr[1]);
  struct pw_session *s = bpf_map_lookup_elem(&pw_sessions, &sid);
  if (!s || !from_peer(&o, s)) {
    struct pw_global *g = global();
    if (g) g->rx_unknown_session++;
    return TC_ACT_OK;
  }
  struct pw_counters *c = bpf_map_lookup_elem(&pw_counters, &sid);
  if (!c) return TC_ACT_OK;
  struct ethhdr outer_eth;
  if (!bpf_skb_load_bytes(skb, 0, &outer_eth, ETH_HLEN) && /* for pw_encap's non-IP frames */
      (ld32(s->next_mac) != ld32(outer_eth.h_source) ||
       s->next_mac[4] != outer_eth.h_source[4] || s->next_mac[5] != outer_eth.h_source[5]))
    __builtin_memcpy(s->next_mac, outer_eth.h_source, 6); /* written only when it changes */
  off += 8;
  __u8 cookie[8];
  if (s->rx_cookie_len) {
    __u32 n = s->rx_cookie_len == 8 ? 8 : 4;
    if (bpf_skb_load_bytes(skb, off, cookie, n)) goto short_packet;
    if (!cookie_ok(cookie, s)) {
      c->rx_cookie_discards++;
      return TC_ACT_SHOT;
    }
    off += n;
  }
  if (s->flags & PW_F_RX_SUBLAYER) off += 4; /* RFC 4719 §3; sequencing is not offered */
  if (off > 256) goto short_packet;
  return strip_and_forward(skb, off, s, c);
short_packet:
  c->rx_malformed++;
  return TC_ACT_SHOT;
}

/* ---------------------------------------------------------------- encapsulation */

/* Writes outer IPv4 or IPv6 + UDP at `p` (just after the outer Ethernet header). `l3_payload`
 * is the length after the IP header. Returns the end of UDP, or 0. */
static __always_inline __u8 *put_ip_udp(__u8 *p, void *end, const struct pw_session *s,
                                        __u32 l3_payload) {
  if (s->flags & PW_F_V6) {
    struct ipv6hdr *ip6 = (void *)p;
    if ((void *)(ip6 + 1) + 8 > end) return 0;
    *(__be32 *)ip6 = bpf_htonl(0x60000000);
    ip6->payload_len = bpf_htons((__u16)l3_payload);
    ip6->nexthdr = IPPROTO_UDP;
    ip6->hop_limit = 64;
    __builtin_memcpy(&ip6->saddr, s->local, 16);
    __builtin_memcpy(&ip6->daddr, s->peer, 16);
    p = (void *)(ip6 + 1);
  } else {
    struct iphdr *ip = (void *)p;
    if ((void *)(ip + 1) + 8 > end) return 0;
    ip->version = 4;
    ip->ihl = 5;
    ip->tos = 0;
    ip->tot_len = bpf_htons((__u16)(l3_payload + sizeof *ip));
    ip->id = 0;
    ip->frag_off = bpf_htons(IP_DF);
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->check = 0;
    __builtin_memcpy(&ip->saddr, s->local, 4);
    __builtin_memcpy(&ip->daddr, s->peer, 4);
    __u32 sum = 0;
    __u16 *w = (void *)ip;
#pragma unroll
    for (int i = 0; i < 10; i++) sum += w[i];
    ip->check = csum_fold(sum);
    p = (void *)(ip + 1);
  }
  struct udphdr *uh = (void *)p;
  uh->source = s->local_port;
  uh->dest = s->peer_port;
  uh->len = bpf_htons((__u16)l3_payload);
  /* IPv4: no checksum (Linux l2tp's default). IPv6: RFC 6935 zero-checksum mode, the only one a
   * UDP-tunnel GSO packet can have; the peer must accept it (Linux: udp6_zero_rx_checksums). */
  uh->check = 0;
  return (void *)(uh + 1);
}

/* Writes the L2TPv3 data header, cookie, sublayer and the inner Ethernet header (with its
 * VLAN tag when `tci` is set) at `p`. */
static __always_inline int put_l2tp(__u8 *p, void *end, const struct pw_session *s,
                                    const struct ethhdr *inner, __u32 vlan) {
  if ((void *)(p + 8 + 8 + 4 + ETH_HLEN + 4) > end) return -1;
  *(__be32 *)p = bpf_htonl(L2TP_VER3); /* T=0, L=0, S=0, Ver=3, reserved */
  *(__be32 *)(p + 4) = bpf_htonl(s->peer_session_id);
  p += 8;
  if (s->tx_cookie_len == 8) {
    __builtin_memcpy(p, s->tx_cookie, 8);
    p += 8;
  } else if (s->tx_cookie_len == 4) {
    __builtin_memcpy(p, s->tx_cookie, 4);
    p += 4;
  }
  if (s->flags & PW_F_TX_SUBLAYER) {
    *(__be32 *)p = 0; /* RFC 4719 §3: S=0, sequence 0 */
    p += 4;
  }
  __builtin_memcpy(p, inner, 12);
  if (vlan) {
    *(__be32 *)(p + 12) = bpf_htonl(vlan);
    p += 4;
  }
  __builtin_memcpy(p + 12, &inner->h_proto, 2);
  return 0;
}

static __always_inline __u32 l2tp_len(const struct pw_session *s) {
  return 8 + (s->tx_cookie_len == 8 ? 8 : s->tx_cookie_len == 4 ? 4 : 0) +
         ((s->flags & PW_F_TX_SUBLAYER) ? 4 : 0);
}

/* Sends the encapsulated packet to the next hop. An IP-grown packet (its skb->protocol is the
 * outer one) goes through bpf_redirect_neigh, which routes it and resolves the neighbour
 * without needing forwarding enabled (bpf_fib_lookup does). Others (ARP) keep the protocol of
 * the inner frame, which bpf_redirect_neigh refuses: they go to the MAC the peer's packets
 * came from, or to broadcast until one came (an underlay of one link; through a router, IP
 * traffic of the pseudowire resolves the next hop first). */
static __always_inline long send_out(struct __sk_buff *skb, const struct pw_session *s, int ip) {
  __u8 mac[12];
  __builtin_memcpy(mac + 6, s->ul_mac, 6);
  if (ip) {
    /* bpf_redirect_neigh drops frames whose destination MAC is multicast (the inner one's may
     * be): any unicast placeholder does, the neighbour's replaces it. */
    __builtin_memcpy(mac, s->ul_mac, 6);
    if (bpf_skb_store_bytes(skb, 0, mac, 12, 0)) return -1;
    return bpf_redirect_neigh(s->ul_ifindex, 0, 0, 0);
  }
  if (ld32(s->next_mac) | (__u32)(s->next_mac[4] | s->next_mac[5]))
    __builtin_memcpy(mac, s->next_mac, 6);
  else
    __builtin_memset(mac, 0xff, 6);
  if (bpf_skb_store_bytes(skb, 0, mac, 12, 0)) return -1;
  return bpf_redirect(s->ul_ifindex, 0);
}

SEC("tc")
int pw_encap(struct __sk_buff *skb) {
  __u32 ifindex = skb->ifindex;
  __u32 *sid = bpf_map_lookup_elem(&pw_attachments, &ifindex);
  if (!sid) return TC_ACT_SHOT;
  struct pw_session *s = bpf_map_lookup_elem(&pw_sessions, sid);
  struct pw_counters *c = bpf_map_lookup_elem(&pw_counters, sid);
  if (!s || !c) return TC_ACT_SHOT;

  /* A tag the veth carried as metadata goes back into the frame (RFC 4448 §4.4.2: the tag
   * crosses the pseudowire). */
  __u32 vlan = 0;
  if (skb->vlan_present) {
    vlan = (bpf_ntohs((__u16)skb->vlan_proto) << 16) | (skb->vlan_tci & 0xffff);
    if (bpf_skb_vlan_pop(skb)) goto err;
  }
  __u32 tag = vlan ? 4 : 0;
  struct ethhdr inner;
  if (bpf_skb_load_bytes(skb, 0, &inner, ETH_HLEN)) goto err;
  __u32 frame = skb->len + tag; /* the customer frame as it crosses */
  __u64 packets = 0, bytes = 0;
  count_frame(skb, 0, frame, &packets, &bytes);

  int v6 = s->flags & PW_F_V6;
  __u32 ip_len = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
  __u32 push = ip_len + sizeof(struct udphdr) + l2tp_len(s) + ETH_HLEN + tag;
  int ip = skb->protocol == bpf_htons(ETH_P_IP) || skb->protocol == bpf_htons(ETH_P_IPV6);
  if (ip) {
    /* ENCAP_L2 is the inner Ethernet header alone (with its tag): the inner MAC header must
     * sit just before the inner IP header or GSO packets are dropped on transmit. */
    __u64 fl = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
               BPF_F_ADJ_ROOM_ENCAP_L2_ETH | ADJ_ROOM_L2(ETH_HLEN + tag) |
               (v6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4);
    if (bpf_skb_adjust_room(skb, (__s32)push, BPF_ADJ_ROOM_MAC, fl)) goto err;
  } else {
    if (skb->gso_segs > 1 || bpf_skb_change_head(skb, push, 0)) goto err;
  }
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) goto err;
  eth->h_proto = bpf_htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
  __u8 *p = put_ip_udp((void *)(eth + 1), end, s, frame + push - ETH_HLEN - tag - ip_len);
  if (!p || put_l2tp(p, end, s, &inner, vlan)) goto err;
  long r = send_out(skb, s, ip);
  if (r < 0 || r == TC_ACT_SHOT) goto err;
  c->tx_packets += packets;
  c->tx_bytes += bytes;
  return r;
err:
  c->tx_errors++;
  return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
