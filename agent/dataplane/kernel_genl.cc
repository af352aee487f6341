// Building and parsing L2TP generic netlink messages (see kernel_genl.h).
#include "agent/dataplane/kernel_genl.h"

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/dataplane/kernel_uapi.h"

namespace pwire::dataplane::kernel {
namespace {

// What the kernel accepts and reports; libnl validates types and lengths against it.
nla_policy* Policy() {
  static nla_policy policy[L2TP_ATTR_MAX + 1] = {};
  static bool init = [] {
    policy[L2TP_ATTR_PW_TYPE].type = NLA_U16;
    policy[L2TP_ATTR_ENCAP_TYPE].type = NLA_U16;
    policy[L2TP_ATTR_L2SPEC_TYPE].type = NLA_U8;
    policy[L2TP_ATTR_PROTO_VERSION].type = NLA_U8;
    policy[L2TP_ATTR_IFNAME].type = NLA_STRING;
    policy[L2TP_ATTR_IFNAME].maxlen = 16;
    policy[L2TP_ATTR_CONN_ID].type = NLA_U32;
    policy[L2TP_ATTR_PEER_CONN_ID].type = NLA_U32;
    policy[L2TP_ATTR_SESSION_ID].type = NLA_U32;
    policy[L2TP_ATTR_PEER_SESSION_ID].type = NLA_U32;
    policy[L2TP_ATTR_COOKIE].maxlen = 8;
    policy[L2TP_ATTR_PEER_COOKIE].maxlen = 8;
    policy[L2TP_ATTR_RECV_SEQ].type = NLA_U8;
    policy[L2TP_ATTR_SEND_SEQ].type = NLA_U8;
    policy[L2TP_ATTR_LNS_MODE].type = NLA_U8;
    policy[L2TP_ATTR_RECV_TIMEOUT].type = NLA_U64;
    policy[L2TP_ATTR_FD].type = NLA_U32;
    policy[L2TP_ATTR_IP_SADDR].type = NLA_U32;
    policy[L2TP_ATTR_IP_DADDR].type = NLA_U32;
    policy[L2TP_ATTR_UDP_SPORT].type = NLA_U16;
    policy[L2TP_ATTR_UDP_DPORT].type = NLA_U16;
    policy[L2TP_ATTR_STATS].type = NLA_NESTED;
    policy[L2TP_ATTR_IP6_SADDR].minlen = 16;
    policy[L2TP_ATTR_IP6_DADDR].minlen = 16;
    return true;
  }();
  (void)init;
  return policy;
}

NlMsgPtr NewMessage(int family_id, uint8_t cmd, int flags) {
  NlMsgPtr msg(nlmsg_alloc());
  if (msg == nullptr) {
    return nullptr;
  }
  // Sequence and port numbers are filled in by nl_send_auto.
  if (genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0, flags, cmd,
                  L2TP_GENL_VERSION) == nullptr) {
    return nullptr;
  }
  return msg;
}

absl::Status PutFailed(const char* what) {
  return absl::ResourceExhaustedError(absl::StrCat("netlink message too small for ", what));
}

absl::Status PutAddresses(nl_msg* msg, const TunnelConfig& c) {
  if (c.local.family != c.peer.family || c.local.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tunnel ", c.local_tunnel_id, ": local and peer need one address family"));
  }
  int rc;
  if (c.local.is_v4()) {
    rc = nla_put(msg, L2TP_ATTR_IP_SADDR, 4, c.local.bytes.data()) |
         nla_put(msg, L2TP_ATTR_IP_DADDR, 4, c.peer.bytes.data());
  } else {
    rc = nla_put(msg, L2TP_ATTR_IP6_SADDR, 16, c.local.bytes.data()) |
         nla_put(msg, L2TP_ATTR_IP6_DADDR, 16, c.peer.bytes.data());
  }
  if (rc != 0) {
    return PutFailed("addresses");
  }
  if (c.encap == Encap::kUdp && (nla_put_u16(msg, L2TP_ATTR_UDP_SPORT, c.local_port) != 0 ||
                                 nla_put_u16(msg, L2TP_ATTR_UDP_DPORT, c.peer_port) != 0)) {
    return PutFailed("ports");
  }
  return absl::OkStatus();
}

absl::Status CheckCookie(const std::vector<uint8_t>& cookie, const char* what) {
  if (cookie.size() == 0 || cookie.size() == 4 || cookie.size() == 8) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " must be 0, 4 or 8 bytes (RFC 3931 §5.4.4), not ", cookie.size()));
}

IpAddress AddressFrom(nlattr* attr, IpAddress::Family family) {
  IpAddress a;
  a.family = family;
  std::memcpy(a.bytes.data(), nla_data(attr), family == IpAddress::Family::kV4 ? 4 : 16);
  return a;
}

std::vector<uint8_t> BytesOf(nlattr* attr) {
  if (attr == nullptr) {
    return {};
  }
  auto* p = static_cast<const uint8_t*>(nla_data(attr));
  return std::vector<uint8_t>(p, p + nla_len(attr));
}

absl::Status ParseAttrs(nlmsghdr* hdr, nlattr** attrs) {
  int rc = genlmsg_parse(hdr, 0, attrs, L2TP_ATTR_MAX, Policy());
  if (rc < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed l2tp netlink message: ", nl_geterror(rc)));
  }
  return absl::OkStatus();
}

absl::Status ParseStats(nlattr* nested, Stats* stats) {
  if (nested == nullptr) {
    return absl::OkStatus();
  }
  nlattr* s[L2TP_ATTR_STATS_MAX + 1] = {};
  if (nla_parse_nested(s, L2TP_ATTR_STATS_MAX, nested, nullptr) < 0) {
    return absl::InvalidArgumentError("malformed L2TP_ATTR_STATS");
  }
  auto get = [&](int attr) -> uint64_t {
    return s[attr] != nullptr && nla_len(s[attr]) >= 8 ? nla_get_u64(s[attr]) : 0;
  };
  stats->tx_packets = get(L2TP_ATTR_TX_PACKETS);
  stats->tx_bytes = get(L2TP_ATTR_TX_BYTES);
  stats->tx_errors = get(L2TP_ATTR_TX_ERRORS);
  stats->rx_packets = get(L2TP_ATTR_RX_PACKETS);
  stats->rx_bytes = get(L2TP_ATTR_RX_BYTES);
  stats->rx_seq_discards = get(L2TP_ATTR_RX_SEQ_DISCARDS);
  stats->rx_oos_packets = get(L2TP_ATTR_RX_OOS_PACKETS);
  stats->rx_errors = get(L2TP_ATTR_RX_ERRORS);
  stats->rx_cookie_discards = get(L2TP_ATTR_RX_COOKIE_DISCARDS);
  stats->rx_malformed = get(L2TP_ATTR_RX_INVALID);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NlMsgPtr> BuildTunnelCreate(int family_id, const TunnelConfig& c) {
  if (c.local_tunnel_id == 0 || c.peer_tunnel_id == 0) {
    return absl::InvalidArgumentError("tunnel ids must be non-zero (RFC 3931 §5.4.4 AVP 61)");
  }
  NlMsgPtr msg = NewMessage(family_id, L2TP_CMD_TUNNEL_CREATE, NLM_F_ACK);
  if (msg == nullptr) {
    return PutFailed("header");
  }
  nl_msg* m = msg.get();
  if (nla_put_u32(m, L2TP_ATTR_CONN_ID, c.local_tunnel_id) != 0 ||
      nla_put_u32(m, L2TP_ATTR_PEER_CONN_ID, c.peer_tunnel_id) != 0 ||
      nla_put_u8(m, L2TP_ATTR_PROTO_VERSION, 3) != 0 ||
      nla_put_u16(m, L2TP_ATTR_ENCAP_TYPE,
                  c.encap == Encap::kUdp ? L2TP_ENCAPTYPE_UDP : L2TP_ENCAPTYPE_IP) != 0) {
    return PutFailed("tunnel ids");
  }
  if (c.mode == TunnelMode::kManaged) {
    if (c.fd < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("managed tunnel ", c.local_tunnel_id, " needs the agent's socket (fd)"));
    }
    if (nla_put_u32(m, L2TP_ATTR_FD, static_cast<uint32_t>(c.fd)) != 0) {
      return PutFailed("fd");
    }
    return msg;
  }
  if (absl::Status s = PutAddresses(m, c); !s.ok()) {
    return s;
  }
  return msg;
}

NlMsgPtr BuildTunnelDelete(int family_id, uint32_t tunnel_id) {
  NlMsgPtr msg = NewMessage(family_id, L2TP_CMD_TUNNEL_DELETE, NLM_F_ACK);
  if (msg != nullptr && nla_put_u32(msg.get(), L2TP_ATTR_CONN_ID, tunnel_id) != 0) {
    return nullptr;
  }
  return msg;
}

NlMsgPtr BuildTunnelGet(int family_id, std::optional<uint32_t> tunnel_id) {
  NlMsgPtr msg = NewMessage(family_id, L2TP_CMD_TUNNEL_GET, tunnel_id ? 0 : NLM_F_DUMP);
  if (msg != nullptr && tunnel_id && nla_put_u32(msg.get(), L2TP_ATTR_CONN_ID, *tunnel_id) != 0) {
    return nullptr;
  }
  return msg;
}

absl::StatusOr<NlMsgPtr> BuildSessionCreate(int family_id, const SessionConfig& c,
                                            const std::string& ifname) {
  if (c.pw_type != PwType::kEthernet && c.pw_type != PwType::kEthernetVlan) {
    return absl::UnimplementedError(
        absl::StrCat("the kernel data plane carries Ethernet and Ethernet VLAN pseudowires, not "
                     "type ",
                     static_cast<int>(c.pw_type)));
  }
  if (c.local_session_id == 0 || c.peer_session_id == 0) {
    return absl::InvalidArgumentError("session ids must be non-zero (RFC 3931 §4.1)");
  }
  if (absl::Status s = CheckCookie(c.cookie, "cookie"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckCookie(c.peer_cookie, "peer cookie"); !s.ok()) {
    return s;
  }
  if (ifname.size() >= 16) {
    return absl::InvalidArgumentError(absl::StrCat("interface name too long: ", ifname));
  }
  NlMsgPtr msg = NewMessage(family_id, L2TP_CMD_SESSION_CREATE, NLM_F_ACK);
  if (msg == nullptr) {
    return PutFailed("header");
  }
  nl_msg* m = msg.get();
  int rc = nla_put_u32(m, L2TP_ATTR_CONN_ID, c.tunnel_id) |
           nla_put_u32(m, L2TP_ATTR_SESSION_ID, c.local_session_id) |
           nla_put_u32(m, L2TP_ATTR_PEER_SESSION_ID, c.peer_session_id) |
           nla_put_u16(m, L2TP_ATTR_PW_TYPE, L2TP_PWTYPE_ETH) |
           nla_put_u8(m, L2TP_ATTR_L2SPEC_TYPE,
                      c.tx_sublayer == Sublayer::kDefault ? L2TP_L2SPECTYPE_DEFAULT
                                                          : L2TP_L2SPECTYPE_NONE) |
           nla_put_u8(m, L2TP_ATTR_RECV_SEQ, c.recv_seq ? 1 : 0) |
           nla_put_u8(m, L2TP_ATTR_SEND_SEQ, c.send_seq ? 1 : 0);
  // The kernel sends L2TP_ATTR_COOKIE and checks received packets against
  // L2TP_ATTR_PEER_COOKIE; our config names them from the receiver's side (RFC 3931 §5.4.4:
  // the cookie we assigned is the one we expect).
  if (!c.peer_cookie.empty()) {
    rc |= nla_put(m, L2TP_ATTR_COOKIE, c.peer_cookie.size(), c.peer_cookie.data());
  }
  if (!c.cookie.empty()) {
    rc |= nla_put(m, L2TP_ATTR_PEER_COOKIE, c.cookie.size(), c.cookie.data());
  }
  int64_t reorder_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.reorder_timeout).count();
  if (reorder_ms > 0) {
    rc |= nla_put_u64(m, L2TP_ATTR_RECV_TIMEOUT, static_cast<uint64_t>(reorder_ms));
  }
  if (!ifname.empty()) {
    rc |= nla_put_string(m, L2TP_ATTR_IFNAME, ifname.c_str());
  }
  if (rc != 0) {
    return PutFailed("session attributes");
  }
  return msg;
}

NlMsgPtr BuildSessionDelete(int family_id, uint32_t tunnel_id, uint32_t session_id) {
  NlMsgPtr msg = NewMessage(family_id, L2TP_CMD_SESSION_DELETE, NLM_F_ACK);
  if (msg != nullptr && (nla_put_u32(msg.get(), L2TP_ATTR_CONN_ID, tunnel_id) != 0 ||
                         nla_put_u32(msg.get(), L2TP_ATTR_SESSION_ID, session_id) != 0)) {
    return nullptr;
  }
  return msg;
}

NlMsgPtr BuildSessionGet(int family_id, std::optional<uint32_t> tunnel_id,
                         std::optional<uint32_t> session_id) {
  bool dump = !tunnel_id && !session_id;
  NlMsgPtr msg = NewMessage(family_id, L2TP_CMD_SESSION_GET, dump ? NLM_F_DUMP : 0);
  if (msg == nullptr) {
    return nullptr;
  }
  if (tunnel_id && nla_put_u32(msg.get(), L2TP_ATTR_CONN_ID, *tunnel_id) != 0) {
    return nullptr;
  }
  if (session_id && nla_put_u32(msg.get(), L2TP_ATTR_SESSION_ID, *session_id) != 0) {
    return nullptr;
  }
  return msg;
}

absl::StatusOr<uint8_t> CommandOf(nlmsghdr* hdr) {
  if (!genlmsg_valid_hdr(hdr, 0)) {
    return absl::InvalidArgumentError("short generic netlink");
  }
  return static_cast<genlmsghdr*>(nlmsg_data(hdr))->cmd;
}

absl::StatusOr<KernelTunnel> ParseTunnel(nlmsghdr* hdr) {
  nlattr* a[L2TP_ATTR_MAX + 1] = {};
  if (absl::Status s = ParseAttrs(hdr, a); !s.ok()) {
    return s;
  }
  if (a[L2TP_ATTR_CONN_ID] == nullptr) {
    return absl::InvalidArgumentError("tunnel without id");
  }
  KernelTunnel t;
  t.tunnel_id = nla_get_u32(a[L2TP_ATTR_CONN_ID]);
  if (a[L2TP_ATTR_PEER_CONN_ID] != nullptr) {
    t.peer_tunnel_id = nla_get_u32(a[L2TP_ATTR_PEER_CONN_ID]);
  }
  if (a[L2TP_ATTR_PROTO_VERSION] != nullptr) {
    t.proto_version = nla_get_u8(a[L2TP_ATTR_PROTO_VERSION]);
  }
  if (a[L2TP_ATTR_ENCAP_TYPE] != nullptr) {
    t.encap = nla_get_u16(a[L2TP_ATTR_ENCAP_TYPE]) == L2TP_ENCAPTYPE_IP ? Encap::kIp : Encap::kUdp;
  }
  if (a[L2TP_ATTR_IP_SADDR] != nullptr && a[L2TP_ATTR_IP_DADDR] != nullptr) {
    t.local = AddressFrom(a[L2TP_ATTR_IP_SADDR], IpAddress::Family::kV4);
    t.peer = AddressFrom(a[L2TP_ATTR_IP_DADDR], IpAddress::Family::kV4);
  } else if (a[L2TP_ATTR_IP6_SADDR] != nullptr && a[L2TP_ATTR_IP6_DADDR] != nullptr) {
    t.local = AddressFrom(a[L2TP_ATTR_IP6_SADDR], IpAddress::Family::kV6);
    t.peer = AddressFrom(a[L2TP_ATTR_IP6_DADDR], IpAddress::Family::kV6);
  }
  if (a[L2TP_ATTR_UDP_SPORT] != nullptr) {
    t.local_port = nla_get_u16(a[L2TP_ATTR_UDP_SPORT]);
  }
  if (a[L2TP_ATTR_UDP_DPORT] != nullptr) {
    t.peer_port = nla_get_u16(a[L2TP_ATTR_UDP_DPORT]);
  }
  if (absl::Status st = ParseStats(a[L2TP_ATTR_STATS], &t.stats); !st.ok()) {
    return st;
  }
  return t;
}

absl::StatusOr<KernelSession> ParseSession(nlmsghdr* hdr) {
  nlattr* a[L2TP_ATTR_MAX + 1] = {};
  if (absl::Status s = ParseAttrs(hdr, a); !s.ok()) {
    return s;
  }
  if (a[L2TP_ATTR_CONN_ID] == nullptr || a[L2TP_ATTR_SESSION_ID] == nullptr) {
    return absl::InvalidArgumentError("session without tunnel or session id");
  }
  KernelSession s;
  s.tunnel_id = nla_get_u32(a[L2TP_ATTR_CONN_ID]);
  s.session_id = nla_get_u32(a[L2TP_ATTR_SESSION_ID]);
  if (a[L2TP_ATTR_PEER_CONN_ID] != nullptr) {
    s.peer_tunnel_id = nla_get_u32(a[L2TP_ATTR_PEER_CONN_ID]);
  }
  if (a[L2TP_ATTR_PEER_SESSION_ID] != nullptr) {
    s.peer_session_id = nla_get_u32(a[L2TP_ATTR_PEER_SESSION_ID]);
  }
  if (a[L2TP_ATTR_PW_TYPE] != nullptr) {
    s.pw_type = nla_get_u16(a[L2TP_ATTR_PW_TYPE]);
  }
  s.cookie = BytesOf(a[L2TP_ATTR_PEER_COOKIE]);  // checked on receive (see BuildSessionCreate)
  s.peer_cookie = BytesOf(a[L2TP_ATTR_COOKIE]);  // sent
  if (a[L2TP_ATTR_L2SPEC_TYPE] != nullptr) {
    s.sublayer = nla_get_u8(a[L2TP_ATTR_L2SPEC_TYPE]) == L2TP_L2SPECTYPE_DEFAULT
                     ? Sublayer::kDefault
                     : Sublayer::kNone;
  }
  if (a[L2TP_ATTR_SEND_SEQ] != nullptr) {
    s.send_seq = nla_get_u8(a[L2TP_ATTR_SEND_SEQ]) != 0;
  }
  if (a[L2TP_ATTR_RECV_SEQ] != nullptr) {
    s.recv_seq = nla_get_u8(a[L2TP_ATTR_RECV_SEQ]) != 0;
  }
  if (a[L2TP_ATTR_RECV_TIMEOUT] != nullptr) {
    s.reorder_timeout_ms = nla_get_u64(a[L2TP_ATTR_RECV_TIMEOUT]);
  }
  if (a[L2TP_ATTR_IFNAME] != nullptr) {
    // NLA_STRING is checked to be NUL-terminated within maxlen by the policy.
    s.ifname = nla_get_string(a[L2TP_ATTR_IFNAME]);
  }
  if (absl::Status st = ParseStats(a[L2TP_ATTR_STATS], &s.stats); !st.ok()) {
    return st;
  }
  return s;
}

}  // namespace pwire::dataplane::kernel
