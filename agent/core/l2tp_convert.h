// Parameter conversion between the agent (addresses, a class's ControlParams) and the L2TP
// engine (PeerAddress, AuthConfig, ControlConnectionParams), and the keys under which the
// control plane files pseudowires, requests and peers. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "agent/core/desired.h"
#include "agent/dataplane/dataplane.h"
#include "agent/l2tp/engine.h"

namespace pwire::agent {

l2tp::PeerAddress ToPeer(const dataplane::IpAddress& a, uint16_t port);
dataplane::IpAddress FromPeer(const l2tp::PeerAddress& p);

// A class's secret and digest (RFC 3931 §4.3, §5.4.1); none without a secret.
l2tp::AuthConfig AuthFor(const ControlParams& c);
// A class's control connection parameters: secret (§4.3), retransmission timers (§4.2),
// receive window (§5.4.3) and HELLO interval (§6.5).
l2tp::ControlConnectionParams ParamsFor(const ControlParams& c);

// Desired dynamic pseudowires that an incoming ICRQ may match: "peer|remote end id".
std::string IncomingKey(const std::string& peer, const std::string& remote_end_id);
// An accepted incoming request awaiting SessionUp: "ccid/remote end id".
std::string RequestKey(uint32_t ccid, const std::string& remote_end_id);

}  // namespace pwire::agent
