// The seam between the agent and the L2TP control protocol: the reconciler's dynamic actions
// (SCCRQ, ICRQ, CDN, StopCCN) go through ControlPlane, and the control plane reports the
// tunnels and sessions it holds as observed state. The real one (l2tp_control.h) drives the
// sans-I/O engine from the event loop over the agent's sockets; NullControlPlane serves
// hosts and tests that run static pseudowires only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "agent/core/desired.h"
#include "agent/core/reconciler.h"

namespace pwire::agent {

struct ControlPlaneStats {
  uint64_t retransmissions = 0;
  uint64_t auth_failures = 0;
  uint64_t refused_tunnels = 0;  // SCCRQs unanswered (nothing desired), peers misidentified
  uint64_t refused_sessions = 0;
  uint64_t malformed = 0;
  // L2TPv3 data packets (T=0) that reached a control socket: from an address with no tunnel
  // (the listening socket), or for a session the kernel does not have (it passes them up).
  uint64_t data_unknown_session = 0;
};

class ControlPlane {
 public:
  using ChangeHandler = std::function<void()>;
  virtual ~ControlPlane() = default;

  // Called on the event loop whenever a tunnel or session changes state.
  virtual void SetChangeHandler(ChangeHandler handler) = 0;
  // Called on the event loop, synchronously, when a session's data plane parameters become
  // final (sessions() has them), before the message after which the peer may send data (our
  // ICRP or ICCN, RFC 3931 §7.3) is sent: the handler programs the data plane at once, so
  // that the peer's first frames find the session.
  using SessionReadyHandler = std::function<void(const std::string& pw)>;
  virtual void SetSessionReadyHandler(SessionReadyHandler /*handler*/) {}
  // What peers may open is decided against this snapshot (RFC 3931 acceptance policy).
  virtual void SetDesired(const DesiredSnapshot* desired) = 0;

  virtual absl::Status OpenTunnel(const TunnelKey& key, const DesiredPseudowire& pw) = 0;
  virtual absl::Status CloseTunnel(uint32_t tunnel_id) = 0;
  virtual absl::Status OpenSession(uint32_t tunnel_id, const DesiredPseudowire& pw) = 0;
  virtual absl::Status CloseSession(const std::string& pw) = 0;

  virtual const std::map<uint32_t, ObservedTunnel>& tunnels() const = 0;
  virtual const std::map<std::string, ObservedSession>& sessions() const = 0;
  // The socket the data plane gets for a managed tunnel: a control connection's own socket,
  // or, for a static tunnel, a socket opened (bound and connected) for it. The agent owns
  // every L2TP socket so that they all share the local port. When the data plane reads the
  // socket itself (Capabilities::control_via_handler), the control plane stops reading it.
  virtual absl::StatusOr<int> TunnelSocket(const dataplane::TunnelConfig& config) = 0;
  // The data plane no longer uses the tunnel's socket (a static one is closed).
  virtual void ReleaseTunnelSocket(uint32_t tunnel_id) = 0;
  virtual ControlPlaneStats stats() const = 0;
  // The last error of a pseudowire's session (CDN result, refusal), or "".
  virtual std::string LastError(const std::string& pw) const = 0;
  // After a failure, when an SCCRQ (key: TunnelKey::ToString()) or an ICRQ (key: the
  // pseudowire's name) may be tried again (exponential backoff with jitter); nullopt: now.
  virtual std::optional<base::Instant> RetryAt(const std::string& /*key*/) const {
    return std::nullopt;
  }
  // The agent is stopping (RFC 3931 §7.2, local termination: "the originator MUST send a
  // StopCCN"): closes every control connection with a StopCCN of `result` (§5.4.2: 6,
  // requester is being shut down), which clears their sessions too (§6.4), answers no new
  // SCCRQ, and calls `done` once every StopCCN is acknowledged or its connection is gone
  // (§4.2). Without control connections `done` runs at once (posted).
  virtual void Shutdown(uint16_t /*result*/, std::function<void()> done) { done(); }
};

// For tests of static pseudowires: every dynamic action fails with UNIMPLEMENTED, and tunnel
// sockets are fake descriptor numbers (only FakeDataplane accepts them).
class NullControlPlane final : public ControlPlane {
 public:
  void SetChangeHandler(ChangeHandler) override {}
  void SetDesired(const DesiredSnapshot*) override {}
  absl::Status OpenTunnel(const TunnelKey&, const DesiredPseudowire&) override {
    return Unsupported();
  }
  absl::Status CloseTunnel(uint32_t) override { return Unsupported(); }
  absl::Status OpenSession(uint32_t, const DesiredPseudowire&) override { return Unsupported(); }
  absl::Status CloseSession(const std::string&) override { return Unsupported(); }
  const std::map<uint32_t, ObservedTunnel>& tunnels() const override { return tunnels_; }
  const std::map<std::string, ObservedSession>& sessions() const override { return sessions_; }
  absl::StatusOr<int> TunnelSocket(const dataplane::TunnelConfig& c) override {
    return static_cast<int>(1000 + (c.local_tunnel_id & 0xffff));
  }
  void ReleaseTunnelSocket(uint32_t) override {}
  ControlPlaneStats stats() const override { return {}; }
  std::string LastError(const std::string&) const override {
    return "dynamic pseudowires need the L2TP control plane, not built into this agent";
  }

 private:
  static absl::Status Unsupported() {
    return absl::UnimplementedError("no L2TP control plane in this agent: use mode STATIC");
  }
  std::map<uint32_t, ObservedTunnel> tunnels_;
  std::map<std::string, ObservedSession> sessions_;
};

}  // namespace pwire::agent

namespace pwire::dataplane {
class Dataplane;
}
namespace pwire::agent {
class EventLoop;
struct AgentConfig;
// The control plane this build has: the L2TP engine glue when built in, else NullControlPlane.
absl::StatusOr<std::unique_ptr<ControlPlane>> MakeControlPlane(EventLoop& loop,
                                                               const AgentConfig& config,
                                                               dataplane::Dataplane& dataplane);
}  // namespace pwire::agent
