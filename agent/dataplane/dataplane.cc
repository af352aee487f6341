// Shared value types of the data plane interface: addresses, config equality, MTU arithmetic.
#include "agent/dataplane/dataplane.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pwire::dataplane {

absl::StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV6;
    return a;
  }
  return absl::InvalidArgumentError(absl::StrCat("not an IPv4 or IPv6 address: '", s, "'"));
}

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress a;
  a.family = Family::kV4;
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family) {
    case Family::kV4:
      inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
      return buf;
    case Family::kV6:
      inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
      return buf;
    case Family::kNone:
      break;
  }
  return "none";
}

bool TunnelConfig::SameAs(const TunnelConfig& o) const {
  bool ports_matter = encap == Encap::kUdp;
  return local_tunnel_id == o.local_tunnel_id && peer_tunnel_id == o.peer_tunnel_id &&
         mode == o.mode && encap == o.encap && local == o.local && peer == o.peer &&
         (!ports_matter || (local_port == o.local_port && peer_port == o.peer_port));
}

std::string TunnelConfig::DebugString() const {
  return absl::StrFormat("tunnel %u->%u %s %s %s:%u->%s:%u", local_tunnel_id, peer_tunnel_id,
                         mode == TunnelMode::kManaged ? "managed" : "static",
                         encap == Encap::kUdp ? "udp" : "ip", local.ToString(), local_port,
                         peer.ToString(), peer_port);
}

namespace {
const char* SublayerName(Sublayer s) { return s == Sublayer::kDefault ? "default" : "none"; }
}  // namespace

bool SessionConfig::SameAs(const SessionConfig& o) const {
  return tunnel_id == o.tunnel_id && local_session_id == o.local_session_id &&
         peer_session_id == o.peer_session_id && pw_type == o.pw_type && cookie == o.cookie &&
         peer_cookie == o.peer_cookie && tx_sublayer == o.tx_sublayer &&
         rx_sublayer == o.rx_sublayer && send_seq == o.send_seq && recv_seq == o.recv_seq &&
         reorder_timeout == o.reorder_timeout &&
         (ifname.empty() || o.ifname.empty() || ifname == o.ifname) &&
         (mtu == 0 || o.mtu == 0 || mtu == o.mtu) && attach == o.attach && vlan_id == o.vlan_id;
}

namespace {
std::string Hex(const std::vector<uint8_t>& b) {
  std::string s;
  for (uint8_t c : b) {
    absl::StrAppendFormat(&s, "%02x", c);
  }
  return s.empty() ? "-" : s;
}
}  // namespace

std::string SessionConfig::DebugString() const {
  return absl::StrFormat(
      "session %u/%u->%u pw=%u cookie=%s peer_cookie=%s sublayer=tx:%s/rx:%s seq=tx:%d/rx:%d "
      "if=%s mtu=%d",
      tunnel_id, local_session_id, peer_session_id, static_cast<unsigned>(pw_type), Hex(cookie),
      Hex(peer_cookie), SublayerName(tx_sublayer), SublayerName(rx_sublayer), send_seq, recv_seq,
      ifname.empty() ? "-" : ifname, mtu);
}

absl::Status CheckSublayers(const SessionConfig& c, const Capabilities& caps) {
  if (c.send_seq && c.tx_sublayer != Sublayer::kDefault) {
    return absl::InvalidArgumentError(
        "send_seq needs tx_sublayer default: sequence numbers ride in the L2-Specific Sublayer "
        "(RFC 3931 §4.6)");
  }
  if (c.recv_seq && c.rx_sublayer != Sublayer::kDefault) {
    return absl::InvalidArgumentError(
        "recv_seq needs rx_sublayer default: sequence numbers ride in the L2-Specific Sublayer "
        "(RFC 3931 §4.6)");
  }
  if (c.tx_sublayer != c.rx_sublayer && !caps.asymmetric_sublayer) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", c.local_session_id, " sends L2-Specific Sublayer ", SublayerName(c.tx_sublayer),
        " (the peer asked for it) and receives ", SublayerName(c.rx_sublayer),
        " (we asked for it, RFC 3931 §5.4.4): the ", caps.name,
        " data plane has one sublayer per session for both directions; configure the same "
        "l2_sublayer as the peer or use the userspace data plane"));
  }
  return absl::OkStatus();
}

Stats& Stats::operator+=(const Stats& o) {
  tx_packets += o.tx_packets;
  tx_bytes += o.tx_bytes;
  tx_errors += o.tx_errors;
  rx_packets += o.rx_packets;
  rx_bytes += o.rx_bytes;
  rx_errors += o.rx_errors;
  rx_cookie_discards += o.rx_cookie_discards;
  rx_seq_discards += o.rx_seq_discards;
  rx_oos_packets += o.rx_oos_packets;
  rx_unknown_session += o.rx_unknown_session;
  rx_malformed += o.rx_malformed;
  return *this;
}

bool Capabilities::Supports(PwType t) const {
  return std::find(pw_types.begin(), pw_types.end(), t) != pw_types.end();
}

absl::StatusOr<DataplaneKind> ParseDataplaneKind(std::string_view name) {
  std::string n = absl::AsciiStrToLower(std::string(name));
  if (n == "auto") {
    return DataplaneKind::kAuto;
  }
  if (n == "kernel") {
    return DataplaneKind::kKernel;
  }
  if (n == "userspace") {
    return DataplaneKind::kUserspace;
  }
  if (n == "fake") {
    return DataplaneKind::kFake;
  }
  if (n == "ebpf") {
    return DataplaneKind::kEbpf;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown data plane '", std::string(name),
                                                 "' (use auto, kernel, ebpf, userspace or fake)"));
}

std::string_view DataplaneKindName(DataplaneKind kind) {
  switch (kind) {
    case DataplaneKind::kAuto:
      return "auto";
    case DataplaneKind::kKernel:
      return "kernel";
    case DataplaneKind::kUserspace:
      return "userspace";
    case DataplaneKind::kFake:
      return "fake";
    case DataplaneKind::kEbpf:
      return "ebpf";
  }
  return "?";
}

Dataplane* ChooseFor(const std::vector<Dataplane*>& candidates, PwType pw_type, Encap encap) {
  for (Dataplane* dp : candidates) {
    if (dp == nullptr) {
      continue;
    }
    Capabilities c = dp->GetCapabilities();
    bool encap_ok = encap == Encap::kUdp ? c.encap_udp : c.encap_ip;
    if (encap_ok && c.Supports(pw_type)) {
      return dp;
    }
  }
  return nullptr;
}

int EncapOverhead(Encap encap, IpAddress::Family family, size_t cookie_len, Sublayer sublayer) {
  int ip = family == IpAddress::Family::kV6 ? 40 : 20;
  int l2tp = encap == Encap::kUdp ? 8 + 8 : 4;  // UDP header + v3 header, or session id only
  int sub = sublayer == Sublayer::kDefault ? 4 : 0;
  return ip + l2tp + static_cast<int>(cookie_len) + sub;
}

namespace {
constexpr int kEthHeader = 14;
int InnerHeader(PwType pw_type) { return kEthHeader + (pw_type == PwType::kEthernetVlan ? 4 : 0); }
}  // namespace

int ComputeSessionMtu(int underlay_mtu, Encap encap, IpAddress::Family family, size_t cookie_len,
                      Sublayer sublayer, PwType pw_type) {
  return underlay_mtu - EncapOverhead(encap, family, cookie_len, sublayer) - InnerHeader(pw_type);
}

int RequiredUnderlayMtu(int session_mtu, Encap encap, IpAddress::Family family, size_t cookie_len,
                        Sublayer sublayer, PwType pw_type) {
  return session_mtu + EncapOverhead(encap, family, cookie_len, sublayer) + InnerHeader(pw_type);
}

}  // namespace pwire::dataplane
