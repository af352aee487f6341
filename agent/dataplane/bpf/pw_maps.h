/* The eBPF data plane's map layout, shared by the tc programs (pw_tc.bpf.c) and the loader
 * (ebpf_dataplane.cc, ebpf_maps.cc): one definition, so the two cannot disagree. Plain C with
 * uapi types; addresses and ports in network order, session ids in host order.
 * RFC 3931 §4.1.2.1 (L2TPv3 over UDP data header), RFC 4719 §3 (default L2-specific sublayer).
 */
#ifndef PWIRE_AGENT_DATAPLANE_BPF_PW_MAPS_H_
#define PWIRE_AGENT_DATAPLANE_BPF_PW_MAPS_H_

#include <linux/types.h>

#define PW_MAX_SESSIONS 65536
#define PW_MAX_ENDPOINTS 4096

/* pw_session.flags */
#define PW_F_V6 0x01          /* outer IPv6 (else IPv4) */
#define PW_F_TX_SUBLAYER 0x02 /* send the default sublayer (what the peer asked for) */
#define PW_F_RX_SUBLAYER 0x04 /* expect the default sublayer (what we asked for) */

/* pw_sessions: local session id (what the peer puts in our packets) -> session. */
struct pw_session {
  __u32 peer_session_id; /* what we put in packets to the peer */
  __u32 att_ifindex;     /* the session's hidden veth end: encap at its ingress, decap to its
                            egress */
  __u32 ul_ifindex;      /* underlay interface (holds `local`): FIB lookups go out of it */
  __u8 flags;            /* PW_F_* */
  __u8 tx_cookie_len;    /* 0, 4 or 8: cookie we send */
  __u8 rx_cookie_len;    /* 0, 4 or 8: cookie we expect */
  __u8 pad0;
  __u8 tx_cookie[8];
  __u8 rx_cookie[8];
  __u8 local[16]; /* outer addresses; IPv4 uses the first 4 bytes */
  __u8 peer[16];
  __u16 local_port; /* UDP ports */
  __u16 peer_port;
  __u8 ul_mac[6];   /* source MAC of outer frames */
  __u8 next_mac[6]; /* learned by pw_decap: the outer source MAC of the peer's packets */
};

/* pw_endpoints: the local UDP endpoints of our tunnels. The decap program leaves traffic to any
 * other address or port alone without counting it. The value is unused (1). */
struct pw_endpoint {
  __u8 addr[16];
  __u16 port;
  __u8 v6;
  __u8 pad;
};

/* pw_counters (per CPU, by local session id): the meaning of dataplane::Stats. Packets count
 * wire packets (a GSO super-packet of n segments counts n). */
struct pw_counters {
  __u64 tx_packets;
  __u64 tx_bytes; /* customer frame bytes, headers of every segment included */
  __u64 tx_errors;
  __u64 rx_packets;
  __u64 rx_bytes;
  __u64 rx_errors;
  __u64 rx_cookie_discards; /* RFC 3931 §4.1 */
  __u64 rx_malformed;
};

/* pw_global (per CPU, one entry): data messages of no session. */
struct pw_global {
  __u64 rx_unknown_session;
  __u64 rx_malformed;
};

#endif /* PWIRE_AGENT_DATAPLANE_BPF_PW_MAPS_H_ */
