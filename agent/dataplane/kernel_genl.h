// Messages of the Linux kernel's L2TP generic netlink family ("l2tp", <linux/l2tp.h>), built and
// parsed without any I/O: the kernel data plane builds a message here and sends it elsewhere
// (kernel_netlink.h), so unit tests can build a message and parse it back attribute by attribute.
// libnl 3.7 has no L2TP object API, so these use genlmsg_put and nla_put_* directly.
#pragma once

#include <netlink/msg.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane::kernel {

struct NlMsgFree {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using NlMsgPtr = std::unique_ptr<nl_msg, NlMsgFree>;

// A tunnel as the kernel reports it (L2TP_CMD_TUNNEL_GET and multicast notifications).
struct KernelTunnel {
  uint32_t tunnel_id = 0;
  uint32_t peer_tunnel_id = 0;
  uint8_t proto_version = 0;
  Encap encap = Encap::kUdp;
  IpAddress local;
  IpAddress peer;
  uint16_t local_port = 0;
  uint16_t peer_port = 0;
  Stats stats;
};

// A session as the kernel reports it (L2TP_CMD_SESSION_GET and notifications).
struct KernelSession {
  uint32_t tunnel_id = 0;
  uint32_t session_id = 0;
  uint32_t peer_tunnel_id = 0;
  uint32_t peer_session_id = 0;
  uint16_t pw_type = 0;              // L2TP_PWTYPE_*
  std::vector<uint8_t> cookie;       // we expect (the kernel's L2TP_ATTR_PEER_COOKIE)
  std::vector<uint8_t> peer_cookie;  // we send (the kernel's L2TP_ATTR_COOKIE)
  std::optional<Sublayer> sublayer;  // not reported by every kernel (6.1 does not)
  bool send_seq = false;
  bool recv_seq = false;
  uint64_t reorder_timeout_ms = 0;
  std::string ifname;
  Stats stats;
};

// L2TP_CMD_TUNNEL_CREATE. Managed (config.fd >= 0): L2TP_ATTR_FD, the kernel uses the agent's
// socket and takes addresses from it. Static: addresses and UDP ports; the kernel opens its own
// socket. Fails on inconsistent configs (mixed families, managed without fd).
absl::StatusOr<NlMsgPtr> BuildTunnelCreate(int family_id, const TunnelConfig& config);
NlMsgPtr BuildTunnelDelete(int family_id, uint32_t tunnel_id);
// L2TP_CMD_TUNNEL_GET for one tunnel, or a dump of all when tunnel_id is empty.
NlMsgPtr BuildTunnelGet(int family_id, std::optional<uint32_t> tunnel_id);
// L2TP_CMD_SESSION_CREATE of an Ethernet session (L2TP_PWTYPE_ETH; Ethernet VLAN pseudowires
// are Ethernet sessions with a VLAN device on top). `ifname` is the name to give the interface.
absl::StatusOr<NlMsgPtr> BuildSessionCreate(int family_id, const SessionConfig& config,
                                            const std::string& ifname);
NlMsgPtr BuildSessionDelete(int family_id, uint32_t tunnel_id, uint32_t session_id);
// L2TP_CMD_SESSION_GET of one session, or a dump of all sessions when both are empty.
NlMsgPtr BuildSessionGet(int family_id, std::optional<uint32_t> tunnel_id,
                         std::optional<uint32_t> session_id);

// The generic netlink command of a message of the family (L2TP_CMD_*), or an error.
absl::StatusOr<uint8_t> CommandOf(nlmsghdr* hdr);
// Parse a message carrying tunnel (resp. session) attributes, as sent by the kernel or built
// above. Untrusted: every attribute is length-checked; missing ids are an error.
absl::StatusOr<KernelTunnel> ParseTunnel(nlmsghdr* hdr);
absl::StatusOr<KernelSession> ParseSession(nlmsghdr* hdr);

}  // namespace pwire::dataplane::kernel
