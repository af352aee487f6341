// Map values of the eBPF data plane: see ebpf_maps.h.
#include "agent/dataplane/ebpf_maps.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pwire::dataplane {

absl::Status EbpfCarries(const TunnelConfig& tunnel, const SessionConfig& session) {
  if (tunnel.encap != Encap::kUdp) {
    return absl::UnimplementedError(
        "encap: L2TPv3 over IP is not carried by the eBPF data plane (the kernel cannot segment "
        "GSO packets of protocol 115); use the userspace data plane");
  }
  if (tunnel.local.empty() || tunnel.local.family != tunnel.peer.family) {
    return absl::InvalidArgumentError("local, peer: addresses of one family are needed");
  }
  if (session.pw_type != PwType::kEthernet && session.pw_type != PwType::kEthernetVlan) {
    return absl::UnimplementedError(absl::StrCat("pw_type: pseudowire type ",
                                                 static_cast<unsigned>(session.pw_type),
                                                 " is not carried by the eBPF data plane"));
  }
  if (session.send_seq || session.recv_seq) {
    return absl::UnimplementedError(
        "send_seq, recv_seq: data sequencing (RFC 3931 §4.6) is not offered by the eBPF data "
        "plane; use the userspace data plane");
  }
  if (session.local_session_id == 0 || session.peer_session_id == 0) {
    return absl::InvalidArgumentError(
        "local_session_id, peer_session_id: session id 0 is reserved (RFC 3931 §4.1)");
  }
  for (const auto* c : {&session.cookie, &session.peer_cookie}) {
    if (c->size() != 0 && c->size() != 4 && c->size() != 8) {
      return absl::InvalidArgumentError(
          absl::StrCat(c == &session.cookie ? "cookie" : "peer_cookie",
                       ": a cookie is 0, 4 or 8 bytes (RFC 3931 §4.1)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<pw_session> BuildSessionValue(const TunnelConfig& tunnel,
                                             const SessionConfig& session,
                                             const EbpfUnderlay& underlay, int att_ifindex) {
  if (absl::Status s = EbpfCarries(tunnel, session); !s.ok()) {
    return s;
  }
  pw_session v{};
  v.peer_session_id = session.peer_session_id;
  v.att_ifindex = static_cast<uint32_t>(att_ifindex);
  v.ul_ifindex = static_cast<uint32_t>(underlay.ifindex);
  v.flags = tunnel.local.is_v6() ? PW_F_V6 : 0;
  // Per direction (RFC 3931 §5.4.4, RFC 4719 §3): what we send is what the peer asked for,
  // what we expect is what we asked for.
  if (session.tx_sublayer == Sublayer::kDefault) {
    v.flags |= PW_F_TX_SUBLAYER;
  }
  if (session.rx_sublayer == Sublayer::kDefault) {
    v.flags |= PW_F_RX_SUBLAYER;
  }
  v.tx_cookie_len = static_cast<uint8_t>(session.peer_cookie.size());
  v.rx_cookie_len = static_cast<uint8_t>(session.cookie.size());
  std::copy(session.peer_cookie.begin(), session.peer_cookie.end(), v.tx_cookie);
  std::copy(session.cookie.begin(), session.cookie.end(), v.rx_cookie);
  size_t alen = tunnel.local.is_v6() ? 16 : 4;
  std::memcpy(v.local, tunnel.local.bytes.data(), alen);
  std::memcpy(v.peer, tunnel.peer.bytes.data(), alen);
  v.local_port = htons(tunnel.local_port);
  v.peer_port = htons(tunnel.peer_port);
  std::memcpy(v.ul_mac, underlay.mac.data(), 6);
  return v;
}

pw_endpoint BuildEndpoint(const TunnelConfig& tunnel) {
  pw_endpoint e{};
  std::memcpy(e.addr, tunnel.local.bytes.data(), tunnel.local.is_v6() ? 16 : 4);
  e.port = htons(tunnel.local_port);
  e.v6 = tunnel.local.is_v6() ? 1 : 0;
  return e;
}

Stats SumCounters(const std::vector<pw_counters>& per_cpu) {
  Stats s;
  for (const pw_counters& c : per_cpu) {
    s.tx_packets += c.tx_packets;
    s.tx_bytes += c.tx_bytes;
    s.tx_errors += c.tx_errors;
    s.rx_packets += c.rx_packets;
    s.rx_bytes += c.rx_bytes;
    s.rx_errors += c.rx_errors;
    s.rx_cookie_discards += c.rx_cookie_discards;
    s.rx_malformed += c.rx_malformed;
  }
  return s;
}

Stats SumGlobal(const std::vector<pw_global>& per_cpu) {
  Stats s;
  for (const pw_global& g : per_cpu) {
    s.rx_unknown_session += g.rx_unknown_session;
    s.rx_malformed += g.rx_malformed;
  }
  return s;
}

}  // namespace pwire::dataplane
