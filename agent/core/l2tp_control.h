// L2tpControlPlane: the ControlPlane that runs RFC 3931 through the sans-I/O l2tp::Engine on
// the agent's event loop. One engine per local underlay address; a UDP socket bound to the
// L2TP port there receives SCCRQs and carries every control message we send; each
// established control connection gets its own connected socket (same local port), which the
// data plane attaches to as a managed tunnel. One timer per engine, armed from
// NextDeadline(). Peer-initiated sessions are accepted only when they match a desired
// pseudowire (peer address and Remote End ID, RFC 3931 §5.4.4); the rest get a CDN.
//
// One job per file: l2tp_control.cc drives the engines (endpoints, datagrams in, packets
// and events out, the reconciler's commands); l2tp_policy.cc decides which peers' SCCRQs
// and ICRQs are accepted; l2tp_sockets.cc reads the sockets and lends them to the data
// plane; udp_socket.h opens them; l2tp_convert.h converts parameters; retry_backoff.h
// spaces the retries of what failed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/core/config.h"
#include "agent/core/control_plane.h"
#include "agent/core/datagram_socket.h"
#include "agent/core/event_loop.h"
#include "agent/core/retry_backoff.h"
#include "agent/dataplane/dataplane.h"
#include "agent/l2tp/engine.h"
#include "pwire/base/random.h"

namespace pwire::agent {

class L2tpControlPlane final : public ControlPlane, public l2tp::SessionPolicy {
 public:
  // On the event loop's clock, over UDP sockets.
  L2tpControlPlane(EventLoop& loop, const AgentConfig& config, dataplane::Dataplane& dataplane,
                   std::unique_ptr<base::Random> random);
  // On any dispatcher and datagram sockets (a test's virtual time and network).
  L2tpControlPlane(Dispatcher& loop, const AgentConfig& config, dataplane::Dataplane& dataplane,
                   std::unique_ptr<base::Random> random, DatagramSockets& sockets);
  ~L2tpControlPlane() override;

  void SetChangeHandler(ChangeHandler handler) override { on_change_ = std::move(handler); }
  void SetSessionReadyHandler(SessionReadyHandler handler) override {
    on_ready_ = std::move(handler);
  }
  void SetDesired(const DesiredSnapshot* desired) override;
  absl::Status OpenTunnel(const TunnelKey& key, const DesiredPseudowire& pw) override;
  absl::Status CloseTunnel(uint32_t tunnel_id) override;
  absl::Status OpenSession(uint32_t tunnel_id, const DesiredPseudowire& pw) override;
  absl::Status CloseSession(const std::string& pw) override;
  const std::map<uint32_t, ObservedTunnel>& tunnels() const override { return tunnels_; }
  const std::map<std::string, ObservedSession>& sessions() const override { return sessions_; }
  absl::StatusOr<int> TunnelSocket(const dataplane::TunnelConfig& config) override;
  void ReleaseTunnelSocket(uint32_t tunnel_id) override;
  ControlPlaneStats stats() const override;
  std::string LastError(const std::string& pw) const override;
  std::optional<base::Instant> RetryAt(const std::string& key) const override;
  void Shutdown(uint16_t result, std::function<void()> done) override;

  // l2tp::SessionPolicy: an ICRQ/OCRQ from a peer.
  l2tp::SessionDecision OnIncomingSession(const l2tp::IncomingSession& request) override;
  // l2tp::SessionPolicy: a peer's SCCRQ is answered with the secret and timers of the class
  // of a desired pseudowire with that peer (RFC 3931 §4.3: both ends share the secret).
  // Any other peer's SCCRQ is refused with StopCCN result 4.
  l2tp::ControlConnectionDecision OnIncomingControlConnection(
      const l2tp::PeerAddress& peer, const std::string& host_name) override;

  // Listens on every underlay address now (so peers can open tunnels to us at once).
  absl::Status Listen();

 private:
  struct Endpoint {
    std::string local;
    std::unique_ptr<DatagramSocket> socket;  // the listener; sends everything
    std::unique_ptr<l2tp::Engine> engine;
    Dispatcher::TimerId timer = 0;
    bool driving = false;  // inside Drive: a nested call leaves the work to the outer one
  };
  struct Socket {
    std::unique_ptr<DatagramSocket> socket;
    bool watched = false;  // read by us (not yet handed to the data plane)
    bool is_static = false;
    std::string local;
  };

  absl::StatusOr<Endpoint*> EndpointFor(const std::string& local);
  L2tpControlPlane(Dispatcher& loop, const AgentConfig& config, dataplane::Dataplane& dataplane,
                   std::unique_ptr<base::Random> random, std::unique_ptr<DatagramSockets> owned,
                   DatagramSockets* sockets);
  // Reads `socket` into the endpoint's engine (OnDatagram each, Drive after each batch).
  absl::Status WatchSocket(Endpoint& ep, DatagramSocket& socket);
  void OnDatagram(Endpoint& ep, const l2tp::PeerAddress& peer, std::span<const uint8_t> bytes);
  void OnControlFromDataplane(uint32_t tunnel_id, std::vector<uint8_t> packet);
  // A closed control connection's engine state lives on after the StopCCN (RFC 3931 §4.2:
  // until it is acknowledged, or the full retransmission interval): what the data plane
  // reads for it from the tunnel socket (the peer's ACK of our StopCCN, its retransmitted
  // StopCCN) still reaches the engine.
  void HoldClosed(uint32_t ccid, const std::string& local, const l2tp::PeerAddress& peer);
  void OnControlForClosed(uint32_t ccid, std::span<const uint8_t> packet);
  void Drive(Endpoint& ep);
  void HandleEvent(Endpoint& ep, const l2tp::Event& event);
  void OnConnectionUp(Endpoint& ep, const l2tp::ControlConnectionUp& up);
  void OnConnectionDown(const l2tp::ControlConnectionDown& down);
  // Whether a desired dynamic pseudowire has this peer (its SCCRQ is answered).
  bool Expects(const l2tp::PeerAddress& peer) const;
  // Whether an SCCRQ from an unexpected peer is still left unanswered: within kUnexpectedGrace
  // of its first one (our desired state may be on its way), or while we have none at all.
  bool InUnexpectedGrace(const l2tp::PeerAddress& peer);
  // Why an established control connection is not with the external peer the desired
  // pseudowires to that address name (Host Name, Router ID), or "" when it is.
  std::string IdentityMismatch(const std::string& local, const std::string& peer,
                               const l2tp::ControlConnectionUp& up) const;
  void CloseTunnelWith(uint32_t tunnel_id, uint16_t result);
  // Closes it (StopCCN) and records why for the pseudowires to that peer.
  void RefuseConnection(ObservedTunnel& t, const std::string& why);
  // Records a negotiated (state kConnecting) or established session under its pseudowire and
  // tells the ready handler; closes it when no desired pseudowire has it.
  void BindSession(const l2tp::SessionInfo& info, LinkState state);
  void OnSessionDown(const l2tp::SessionDown& down);
  Endpoint* EndpointOfTunnel(uint32_t tunnel_id);
  void CloseSocket(uint32_t tunnel_id);
  absl::Status CloseSessionById(uint32_t tunnel_id, uint32_t session_id);
  void Changed();
  // While shutting down: calls on_drained_ once no connection in draining_ is left.
  void CheckDrained();
  // Backoff after a failed SCCRQ or ICRQ (RetryBackoff). Cleared on success.
  void Failed(const std::string& key);

  std::unique_ptr<DatagramSockets> owned_net_;  // the UDP sockets, unless given
  DatagramSockets& net_;
  Dispatcher& loop_;
  AgentConfig config_;
  dataplane::Dataplane& dp_;
  bool dp_reads_control_;
  std::unique_ptr<base::Random> random_;
  ChangeHandler on_change_;
  SessionReadyHandler on_ready_;
  const DesiredSnapshot* desired_ = nullptr;

  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;  // by local address
  std::map<uint32_t, ObservedTunnel> tunnels_;
  std::map<std::string, ObservedSession> sessions_;
  std::map<uint32_t, std::string> session_pw_;  // local session id -> pseudowire
  // Accepted incoming requests awaiting SessionUp: "ccid/remote end id" -> pseudowire.
  std::map<std::string, std::string> accepted_;
  std::map<uint32_t, Socket> sockets_;  // by tunnel id
  std::map<std::string, std::string> last_error_;
  ControlPlaneStats extra_;
  // Work handed to the loop holds this weakly: it does nothing once this object is gone.
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);
  RetryBackoff backoff_;  // uses *random_: declared after it
  // Desired dynamic pseudowires by "peer|remote end id": what an incoming ICRQ may match.
  // The names point into *desired_'s keys (rebuilt by every SetDesired).
  std::unordered_map<std::string, std::vector<const std::string*>> incoming_;
  // First SCCRQ seen from each unexpected peer (pruned when kMaxUnexpectedPeers is reached).
  static constexpr base::Duration kUnexpectedGrace = std::chrono::seconds(3);
  static constexpr size_t kMaxUnexpectedPeers = 1024;
  std::map<std::string, base::Instant> unexpected_sccrq_;
  // Tunnel key string of the SCCRQs we sent, until established.
  std::map<uint32_t, std::string> opening_;
  // Shutdown: no SCCRQ is answered; the connections closed whose StopCCN is not yet
  // acknowledged (endpoint's local address, CCID), and what to call when none is left.
  bool stopping_ = false;
  // Closed control connections the engine may still hold: CCID -> (endpoint, peer).
  static constexpr size_t kMaxClosedHeld = 4096;
  std::map<uint32_t, std::pair<std::string, l2tp::PeerAddress>> closed_;
  std::set<std::pair<std::string, uint32_t>> draining_;
  std::function<void()> on_drained_;
};

}  // namespace pwire::agent
