// Conversion of the server's DesiredState into DesiredSnapshot. See desired.h.
#include "agent/core/desired.h"

#include "absl/strings/str_cat.h"
#include "pwire/v1/agent_service.pb.h"

namespace pwire::agent {
namespace {

using dataplane::PwType;
using v1::PseudowireSpec;

absl::StatusOr<PwType> ToPwType(PseudowireSpec::Type t) {
  switch (t) {
    case PseudowireSpec::ETHERNET:
      return PwType::kEthernet;
    case PseudowireSpec::ETHERNET_VLAN:
      return PwType::kEthernetVlan;
    case PseudowireSpec::FRAME_RELAY_DLCI:
      return PwType::kFrameRelayDlci;
    case PseudowireSpec::ATM_AAL5_SDU:
      return PwType::kAtmAal5SduVcc;
    case PseudowireSpec::ATM_CELL_VCC:
      return PwType::kAtmCellVcc;
    case PseudowireSpec::ATM_CELL_VPC:
      return PwType::kAtmCellVpc;
    case PseudowireSpec::ATM_CELL_PORT:
      return PwType::kAtmCellPort;
    case PseudowireSpec::HDLC:
      return PwType::kHdlc;
    case PseudowireSpec::PPP:
      return PwType::kPpp;
    default:
      return absl::InvalidArgumentError(absl::StrCat("type: unsupported value ", t));
  }
}

base::Duration FromProtoDuration(const google::protobuf::Duration& d, base::Duration dflt,
                                 bool present) {
  if (!present) return dflt;
  return std::chrono::seconds(d.seconds()) + std::chrono::nanoseconds(d.nanos());
}

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

ControlParams ToControlParams(const v1::PseudowireAssignment& a) {
  const auto& p = a.params();
  ControlParams c;
  c.hello_interval =
      FromProtoDuration(p.hello_interval(), c.hello_interval, p.has_hello_interval());
  c.retransmit_timeout =
      FromProtoDuration(p.retransmit_timeout(), c.retransmit_timeout, p.has_retransmit_timeout());
  c.retransmit_timeout_max = FromProtoDuration(p.retransmit_timeout_max(), c.retransmit_timeout_max,
                                               p.has_retransmit_timeout_max());
  if (p.retransmit_retries()) c.retransmit_retries = p.retransmit_retries();
  if (p.receive_window()) c.receive_window = static_cast<uint16_t>(p.receive_window());
  switch (p.control_auth()) {
    case v1::PseudowireClass::HMAC_MD5:
      c.auth = ControlParams::Auth::kMd5;
      break;
    case v1::PseudowireClass::HMAC_SHA1:
      c.auth = ControlParams::Auth::kSha1;
      break;
    default:
      break;
  }
  c.secret = !a.shared_secret().empty() ? a.shared_secret() : p.control_secret();
  c.expected_hostname = a.peer().hostname();
  c.expected_router_id = a.peer().router_id();
  return c;
}

}  // namespace

std::string TunnelKey::ToString() const {
  return absl::StrCat(local, "->", peer, encap == dataplane::Encap::kIp ? "/ip" : "/udp:",
                      encap == dataplane::Encap::kIp ? "" : absl::StrCat(peer_port),
                      is_static ? " static" : absl::StrCat(" class=", klass));
}

uint32_t TunnelKey::StaticTunnelId() const {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char ch : ToString()) {
    h ^= static_cast<uint8_t>(ch);
    h *= 16777619u;
  }
  return h | 0x80000000u;
}

absl::StatusOr<DesiredPseudowire> FromAssignment(const v1::PseudowireAssignment& a) {
  DesiredPseudowire pw;
  pw.name = a.name();
  pw.generation = a.generation();
  pw.is_static = a.mode() == PseudowireSpec::STATIC;
  pw.role = a.role() == v1::RESPONDER ? PwRole::kResponder : PwRole::kInitiator;
  auto type = ToPwType(a.type());
  if (!type.ok()) return type.status();
  auto local = dataplane::IpAddress::Parse(a.local_address());
  if (!local.ok()) return absl::InvalidArgumentError("local_address: not an IP address");
  auto peer = dataplane::IpAddress::Parse(a.peer().address());
  if (!peer.ok()) return absl::InvalidArgumentError("peer.address: not an IP address");
  if (local->family != peer->family) {
    return absl::InvalidArgumentError("local_address and peer.address: different families");
  }
  const auto& p = a.params();
  pw.tunnel.local = local->ToString();
  pw.tunnel.peer = peer->ToString();
  pw.tunnel.encap =
      p.encapsulation() == v1::PseudowireClass::IP ? dataplane::Encap::kIp : dataplane::Encap::kUdp;
  uint32_t port = a.peer().udp_port() ? a.peer().udp_port() : (p.udp_port() ? p.udp_port() : 1701);
  if (port > 65535) return absl::InvalidArgumentError("peer.udp_port: out of range");
  pw.tunnel.peer_port = pw.tunnel.encap == dataplane::Encap::kIp ? 0 : static_cast<uint16_t>(port);
  pw.tunnel.is_static = pw.is_static;
  pw.tunnel.klass = pw.is_static ? "" : p.name();
  pw.control = ToControlParams(a);
  pw.remote_end_id = Bytes(a.remote_end_id());
  pw.external_peer = a.peer().external();
  pw.peer_agent = a.peer().agent();
  pw.cookie_length = p.cookie_length();
  if (pw.cookie_length != 0 && pw.cookie_length != 4 && pw.cookie_length != 8) {
    return absl::InvalidArgumentError("params.cookie_length: must be 0, 4 or 8");
  }

  auto& t = pw.tunnel_config;
  t.mode = pw.is_static ? dataplane::TunnelMode::kStatic : dataplane::TunnelMode::kManaged;
  t.encap = pw.tunnel.encap;
  t.local = *local;
  t.peer = *peer;
  t.local_port = pw.tunnel.encap == dataplane::Encap::kIp ? 0 : static_cast<uint16_t>(port);
  t.peer_port = pw.tunnel.peer_port;
  if (pw.is_static) {
    t.local_tunnel_id = pw.tunnel.StaticTunnelId();
    t.peer_tunnel_id = t.local_tunnel_id;
  }

  auto& s = pw.session;
  s.tunnel_id = t.local_tunnel_id;
  s.pw_type = *type;
  // Our side's settings. Static: both directions. Dynamic: what we ask the peer for (RFC 3931
  // §5.4.4: what we receive); what we send is what the peer asks for (ObservedSession).
  s.rx_sublayer = p.l2_sublayer() == v1::PseudowireClass::NO_SUBLAYER
                      ? dataplane::Sublayer::kNone
                      : dataplane::Sublayer::kDefault;
  s.tx_sublayer = s.rx_sublayer;
  s.send_seq = s.recv_seq = p.data_sequencing();
  if (p.has_reorder_timeout()) {
    s.reorder_timeout = FromProtoDuration(p.reorder_timeout(), {}, true);
  }
  const auto& c = a.circuit();
  s.ifname = c.pw_interface_name();
  if (s.ifname.size() > 15) {
    return absl::InvalidArgumentError("circuit.pw_interface_name: longer than 15 characters");
  }
  s.mtu = static_cast<int>(c.mtu() ? c.mtu() : p.mtu());
  if (c.target_case() == v1::AttachmentCircuit::kInterface) {
    s.attach = {dataplane::Attachment::Kind::kInterface, c.interface()};
  } else if (c.target_case() == v1::AttachmentCircuit::kBridge) {
    s.attach = {dataplane::Attachment::Kind::kBridge, c.bridge()};
  }
  if (s.pw_type == PwType::kEthernetVlan) {
    if (c.vlan_id() < 1 || c.vlan_id() > 4094) {
      return absl::InvalidArgumentError("circuit.vlan_id: must be 1-4094 for ETHERNET_VLAN");
    }
    s.vlan_id = static_cast<uint16_t>(c.vlan_id());
  }
  if (pw.is_static) {
    if (a.local_session_id() == 0 || a.remote_session_id() == 0) {
      return absl::InvalidArgumentError("static: local_session_id and remote_session_id needed");
    }
    s.local_session_id = a.local_session_id();
    s.peer_session_id = a.remote_session_id();
    s.cookie = Bytes(a.local_cookie());
    s.peer_cookie = Bytes(a.remote_cookie());
    for (const auto* ck : {&s.cookie, &s.peer_cookie}) {
      if (!ck->empty() && ck->size() != 4 && ck->size() != 8) {
        return absl::InvalidArgumentError("static: cookies must be 0, 4 or 8 octets");
      }
    }
  }
  return pw;
}

DesiredSnapshot FromProto(const v1::DesiredState& state, std::vector<ConversionError>& errors) {
  DesiredSnapshot snap;
  snap.version = state.version();
  for (const auto& a : state.pseudowires()) {
    if (a.disabled()) continue;  // Keep nothing up for it.
    auto pw = FromAssignment(a);
    if (!pw.ok()) {
      errors.push_back({a.name(), std::string(pw.status().message())});
      continue;
    }
    snap.pseudowires[a.name()] = std::move(*pw);
  }
  return snap;
}

}  // namespace pwire::agent
