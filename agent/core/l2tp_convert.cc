// Conversions between the agent's types and the L2TP engine's. See l2tp_convert.h.
#include "agent/core/l2tp_convert.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace pwire::agent {

using dataplane::IpAddress;

l2tp::PeerAddress ToPeer(const IpAddress& a, uint16_t port) {
  l2tp::PeerAddress p;
  p.ip = a.bytes;
  p.v6 = a.is_v6();
  p.port = port;
  return p;
}

IpAddress FromPeer(const l2tp::PeerAddress& p) {
  IpAddress a;
  a.family = p.v6 ? IpAddress::Family::kV6 : IpAddress::Family::kV4;
  a.bytes = p.ip;
  if (!p.v6) std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
  return a;
}

l2tp::AuthConfig AuthFor(const ControlParams& c) {
  l2tp::AuthConfig a;
  if (c.auth == ControlParams::Auth::kNone || c.secret.empty()) return a;
  a.secrets.push_back(l2tp::Bytes(c.secret.begin(), c.secret.end()));
  a.digest = c.auth == ControlParams::Auth::kSha1 ? l2tp::DigestType::kHmacSha1
                                                  : l2tp::DigestType::kHmacMd5;
  return a;
}

// A class's control connection parameters: secret (§4.3), retransmission timers (§4.2),
// receive window (§5.4.3) and HELLO interval (§6.5).
l2tp::ControlConnectionParams ParamsFor(const ControlParams& c) {
  l2tp::ControlConnectionParams p;
  p.auth = AuthFor(c);
  l2tp::ReliableConfig r;
  r.initial_timeout = c.retransmit_timeout;
  r.max_timeout = c.retransmit_timeout_max;
  r.max_retries = static_cast<int>(c.retransmit_retries);
  r.receive_window = c.receive_window;
  p.reliable = r;
  p.hello_interval = c.hello_interval;
  return p;
}

std::string IncomingKey(const std::string& peer, const std::string& remote_end_id) {
  return absl::StrCat(peer, "|", remote_end_id);
}

std::string RequestKey(uint32_t ccid, const std::string& remote_end_id) {
  return absl::StrCat(ccid, "/", remote_end_id);
}

}  // namespace pwire::agent
