// The reconciler: a pure function from (desired snapshot, observed state) to the list of
// actions that moves the host toward the desired state (level-triggered: run it after any
// change and periodically; a plan over an already converged host is empty). The applier
// (agent.cc) executes a plan against the control plane and the data plane and reports what it
// really applied.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "agent/core/desired.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::agent {

enum class LinkState { kConnecting, kEstablished, kClosing };

// A control connection (RFC 3931 §7.2) as the engine reports it.
struct ObservedTunnel {
  uint32_t local_id = 0;
  uint32_t peer_id = 0;
  TunnelKey key;
  LinkState state = LinkState::kConnecting;
  bool peer_initiated = false;
  // The managed tunnel as the data plane gets it once established (fd filled by the applier).
  dataplane::TunnelConfig config;
};

// What of a desired pseudowire a running session depends on (negotiated or programmed), as
// a 64-bit fingerprint: an observed session keeps this, not a copy of the pseudowire.
struct SessionShape {
  SessionShape() = default;
  SessionShape(const DesiredPseudowire& pw);  // NOLINT(google-explicit-constructor)
  uint64_t fingerprint = 0;
  bool operator==(const SessionShape&) const = default;
};

// A dynamic session (RFC 3931 §7.3/§7.4) bound to a pseudowire by its Remote End ID (kept
// by pseudowire name, see ObservedState::sessions).
struct ObservedSession {
  uint32_t tunnel_id = 0;
  uint32_t local_session_id = 0;
  uint32_t peer_session_id = 0;
  std::vector<uint8_t> cookie;       // what we assigned (expect to receive)
  std::vector<uint8_t> peer_cookie;  // what the peer assigned (we send)
  // RFC 3931 §5.4.4, per direction: we send the L2-Specific Sublayer and sequencing the peer
  // asked for, and receive what we asked for.
  dataplane::Sublayer tx_sublayer = dataplane::Sublayer::kNone;
  dataplane::Sublayer rx_sublayer = dataplane::Sublayer::kNone;
  bool send_seq = false;
  bool recv_seq = false;
  LinkState state = LinkState::kConnecting;
  // Still connecting, but both sides' parameters are known and the peer may send data once
  // it has our ICRP/OCRP (RFC 3931 §7.3.2, §7.4): the data plane holds the session already.
  bool negotiated = false;
  bool peer_circuit_active = true;  // the peer's Circuit Status (RFC 3931 §5.4.5)
  // The desired values the session was opened or accepted with (their fingerprint); a change
  // that needs new negotiation (type, sublayer, sequencing, tunnel) closes and reopens it.
  SessionShape opened_with;
};

struct ObservedState {
  std::map<uint32_t, ObservedTunnel> tunnels;       // by local control connection id
  std::map<std::string, ObservedSession> sessions;  // by pseudowire name
  dataplane::Snapshot dataplane;
};

// The same, referring to state held elsewhere (the agent plans over its control plane's maps
// without copying them: a copy per reconcile is O(sessions)).
struct ObservedView {
  const std::map<uint32_t, ObservedTunnel>& tunnels;
  const std::map<std::string, ObservedSession>& sessions;
  const dataplane::Snapshot& dataplane;
};

namespace action {
struct OpenTunnel {  // SCCRQ (RFC 3931 §3.3)
  TunnelKey key;
  std::string for_pw;  // the pseudowire whose parameters (class) it uses
};
struct CloseTunnel {  // StopCCN (RFC 3931 §3.3)
  uint32_t tunnel_id;
};
struct OpenSession {  // ICRQ (RFC 3931 §3.4.1)
  std::string pw;
  uint32_t tunnel_id;
};
struct CloseSession {  // CDN (RFC 3931 §3.4.3)
  std::string pw;
};
struct ProgramTunnel {
  dataplane::TunnelConfig config;
};
struct RemoveTunnel {
  uint32_t tunnel_id;
};
struct ProgramSession {
  std::string pw;
  dataplane::SessionConfig config;
};
struct RemoveSession {
  uint32_t tunnel_id;
  uint32_t session_id;
};
}  // namespace action

using Action = std::variant<action::OpenTunnel, action::CloseTunnel, action::OpenSession,
                            action::CloseSession, action::ProgramTunnel, action::RemoveTunnel,
                            action::ProgramSession, action::RemoveSession>;

std::string ActionToString(const Action& a);

// Whether a session opened with `had` can keep running for `want` (nothing negotiated or
// programmed differs).
bool SessionCompatible(const SessionShape& had, const DesiredPseudowire& want);

// The data plane session config for an established (or negotiated) dynamic session: the
// pseudowire's settings with what was negotiated (IDs, cookies, sublayers, sequencing).
dataplane::SessionConfig SessionConfigFor(const DesiredPseudowire& pw, const ObservedSession& s);

// Whether the data plane should hold an observed dynamic session now: established, or
// negotiated and about to let the peer send (RFC 3931 §7.3.2), and still compatible with
// its desired pseudowire.
bool WantedInDataplane(const DesiredPseudowire& pw, const ObservedSession& s);

// What to program at once, before the reply that lets the peer send (ICRP, ICCN) leaves: the
// session's managed tunnel (unless `tunnel_programmed`) and the session; empty when the
// session is not wanted in the data plane yet. The next Plan agrees with it.
std::vector<Action> PlanEarlySession(const DesiredPseudowire& pw, const ObservedSession& s,
                                     const ObservedTunnel& t, bool tunnel_programmed);

// The plan. Order: data plane removals (sessions, then tunnels), CDNs, StopCCNs, data plane
// programming (tunnels, then sessions), SCCRQs, ICRQs.
std::vector<Action> Plan(const DesiredSnapshot& desired, const ObservedState& observed);
std::vector<Action> Plan(const DesiredSnapshot& desired, const ObservedView& observed);

}  // namespace pwire::agent
