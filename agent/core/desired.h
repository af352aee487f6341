// The agent's view of its desired state: the server's DesiredState (pwire.v1) turned into
// plain, validated values the reconciler computes with. One DesiredPseudowire per pseudowire
// end this agent runs; tunnels are grouped by TunnelKey (one control connection per peer and
// class, RFC 3931 §3.1), static pseudowires each get their own kernel-style static tunnel.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"
#include "pwire/base/time.h"

namespace pwire::v1 {
class DesiredState;
class PseudowireAssignment;
}  // namespace pwire::v1

namespace pwire::agent {

// Identifies one control connection: between two addresses, over one encapsulation, with one
// set of class parameters. Static pseudowires have no control connection: those between the
// same two addresses share one static tunnel whose local id is derived from the key (L2TPv3
// data packets carry only the session ID, so the static tunnel id is ours alone to choose).
struct TunnelKey {
  std::string local;
  std::string peer;
  dataplane::Encap encap = dataplane::Encap::kUdp;
  uint16_t peer_port = 1701;
  std::string klass;  // class name ("" for built-in defaults); "" for static tunnels
  bool is_static = false;

  std::string ToString() const;
  // Static tunnels: a stable id in [0x80000000, 0xffffffff] (dynamic ids stay below).
  uint32_t StaticTunnelId() const;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  auto operator<=>(const TunnelKey&) const = default;
};

enum class PwRole { kInitiator, kResponder };

// Control connection parameters (RFC 3931 §5.4.3), from the resolved class.
struct ControlParams {
  base::Duration hello_interval = std::chrono::seconds(60);
  base::Duration retransmit_timeout = std::chrono::seconds(1);
  base::Duration retransmit_timeout_max = std::chrono::seconds(8);
  uint32_t retransmit_retries = 10;
  uint16_t receive_window = 4;
  enum class Auth { kNone, kMd5, kSha1 } auth = Auth::kNone;
  std::string secret;
  std::string expected_hostname;
  uint32_t expected_router_id = 0;
  bool operator==(const ControlParams&) const = default;
};

struct DesiredPseudowire {
  std::string name;  // "pseudowires/{id}"
  int64_t generation = 0;
  bool is_static = false;
  PwRole role = PwRole::kInitiator;
  TunnelKey tunnel;
  ControlParams control;
  // Static: complete. Dynamic: the template; tunnel and session IDs and the peer's cookie are
  // filled in from negotiation.
  dataplane::TunnelConfig tunnel_config;
  dataplane::SessionConfig session;
  std::vector<uint8_t> remote_end_id;  // RFC 3931 §5.4.4 AVP 66: binds the session
  size_t cookie_length = 0;            // dynamic: length of the cookie we assign
  bool external_peer = false;
  std::string peer_agent;  // "agents/{id}" when the peer is a pwire agent
};

struct DesiredSnapshot {
  uint64_t version = 0;
  std::map<std::string, DesiredPseudowire> pseudowires;  // by name
};

struct ConversionError {
  std::string name;
  std::string message;
};

// Converts the server's message. Invalid assignments are left out and listed in `errors`
// (the agent nacks with them); the rest is usable.
DesiredSnapshot FromProto(const v1::DesiredState& state, std::vector<ConversionError>& errors);
absl::StatusOr<DesiredPseudowire> FromAssignment(const v1::PseudowireAssignment& a);

}  // namespace pwire::agent
