// The L2TP protocol engine: one Engine per local endpoint (address), running the RFC 3931
// control connections (§7.2) and sessions (§7.3, §7.4) over reliable delivery (§4.2).
// Sans-I/O: it never reads a clock, touches a socket or sleeps.
//
// How to drive it (the agent's event loop does exactly this):
//
//   Engine engine(config, random, &policy);       // policy answers incoming sessions
//   // 1. A control datagram arrived on the endpoint's socket:
//   engine.Receive(now, peer, bytes);             // status: why it was dropped, if it was
//   // 2. The one timer armed from NextDeadline() fired:
//   engine.HandleTimeout(now);
//   // 3. A command from the owner:
//   auto ccid = engine.OpenControlConnection(now, peer, {});
//   auto sid  = engine.OpenSession(now, *ccid, {.pw_type = 5, .remote_end_id = "pw1"});
//   // After every call, drain the outputs and re-arm the timer:
//   for (Datagram& d : engine.TakePackets()) socket.SendTo(d.peer, d.bytes);
//   for (Event& e : engine.TakeEvents()) std::visit(handler, e);   // SessionUp etc.
//   (Handle the events before sending the packets: a SessionNegotiated or SessionUp precedes
//   the ICRP/ICCN after which the peer may send data, §7.3.)
//   timer.Arm(engine.NextDeadline());             // nullopt: nothing scheduled
//
// Datagrams carry whole L2TP control packets: over UDP starting at the L2TP header, over IP
// (protocol 115) starting at the 4 zero bytes. Data packets are not the engine's business:
// Receive() rejects them so the caller can hand them to the data plane. The responder may
// answer from another port; the engine then talks to the address the SCCRP came from.
//
// Things the owner should know:
// - OpenSession may be called before the connection is up: the call waits in
//   wait-control-conn and sends its ICRQ/OCRQ once the connection is established.
// - Incoming ICRQ/OCRQ go to SessionPolicy::OnIncomingSession synchronously, inside
//   Receive(); the answer carries our side's cookie length, sublayer and sequencing.
// - A lost control connection tie (§5.4.3) reports ControlConnectionDown with replaced_by
//   set: the waiting sessions carry on over that connection. A lost session tie (§5.4.4)
//   reports SessionDown (result 13) and later a SessionUp whose replaces_session names it.
// - After StopCCN (sent or received) the engine keeps the connection for the reliable
//   delivery hold time (§4.2) without further events; sessions are reported down at once.
// - {.version = 2} opens an L2TPv2 tunnel (RFC 2661) for PPP calls; IDs are then 16-bit.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/l2tp/avp.h"
#include "agent/l2tp/fsm.h"
#include "agent/l2tp/header.h"
#include "agent/l2tp/reliable.h"
#include "pwire/base/random.h"
#include "pwire/base/time.h"

namespace pwire::l2tp {

// A peer's transport address: IPv4 (first 4 bytes of ip) or IPv6, and UDP port (0 over IP).
struct PeerAddress {
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
  bool v6 = false;
  static PeerAddress V4(uint32_t addr, uint16_t port);
  std::string ToString() const;
  bool SameHost(const PeerAddress& o) const { return v6 == o.v6 && ip == o.ip; }
  friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
};

// Control Message Authentication (§4.3, §5.4.1) settings for one control connection.
struct AuthConfig {
  // Empty: authentication off (no Nonce AVP sent; a peer's nonce is then refused).
  // Two secrets during a rollover: we sign with both, accept either (§5.4.1).
  std::vector<Bytes> secrets;
  DigestType digest = DigestType::kHmacMd5;
};

struct EngineConfig {
  std::string host_name = "pwire";
  uint32_t router_id = 0;
  // PW types this host can really carry (PW Capabilities List AVP, §5.4.3).
  std::vector<uint16_t> pw_capabilities = {0x0005, 0x0004};
  Transport transport = Transport::kUdp;
  ReliableConfig reliable;
  int sccrq_max_retries = 5;  // §4.2 allows a different limit for the SCCRQ
  // HELLO after this long without a message from the peer (§4.2, §6.5), jittered by up to
  // hello_jitter of it so that connections do not all fire together. Zero: no HELLO.
  Duration hello_interval = std::chrono::seconds(60);
  double hello_jitter = 0.2;
  AuthConfig auth;
  bool send_tie_breaker = true;  // Control Connection Tie Breaker AVP in SCCRQ
};

struct ControlConnectionParams {
  std::optional<AuthConfig> auth;  // overrides EngineConfig::auth for this peer
  // 3: L2TPv3 (RFC 3931). 2: L2TPv2 (RFC 2661) for PPP: a tunnel whose sessions are PPP
  // calls (ICRQ as LAC, OCRQ as LNS); the first secret of `auth` is the tunnel secret for
  // Challenge/Response tunnel authentication (RFC 2661 §5.1.1).
  uint8_t version = 3;
  // Override EngineConfig::reliable and hello_interval for this connection (a class's
  // timers, §4.2 and §6.5).
  std::optional<ReliableConfig> reliable;
  std::optional<Duration> hello_interval;
};

enum class Sublayer : uint8_t { kNone = 0, kDefault = 1 };  // L2-Specific Sublayer AVP 69

struct SessionParams {
  uint16_t pw_type = 0x0005;  // L2TPv2: always PPP (0x0007), this is ignored
  // Binds the session to its pseudowire (§5.4.4). L2TPv2: sent as Calling Number (ICRQ)
  // or Called Number (OCRQ).
  std::string remote_end_id;
  uint8_t cookie_length = 0;  // 0, 4 or 8: we assign a random cookie (§5.4.4)
  Sublayer sublayer = Sublayer::kDefault;
  bool require_sequencing = false;  // Data Sequencing AVP 70 value 2: peer must sequence
  bool outgoing_call = false;       // OCRQ (§7.4) instead of ICRQ (§7.3)
  bool circuit_active = true;       // Circuit Status AVP 71 A bit
};

// Negotiated parameters of an established session.
struct SessionInfo {
  uint8_t version = 3;  // 2: an L2TPv2 PPP session (16-bit IDs, no cookie or sublayer)
  uint32_t ccid = 0;    // local control connection ID
  uint32_t local_session_id = 0;
  uint32_t remote_session_id = 0;
  uint16_t pw_type = 0;
  Bytes local_cookie;                        // what the peer puts in data packets to us
  Bytes remote_cookie;                       // what we put in data packets to the peer
  Sublayer send_sublayer = Sublayer::kNone;  // the peer asked for it in our data (§5.4.4)
  Sublayer recv_sublayer = Sublayer::kNone;  // we asked for it in the peer's data
  bool send_sequenced = false;               // the peer asked us to sequence our data
  bool recv_sequenced = false;               // we asked the peer to sequence
  std::string remote_end_id;
  bool circuit_active = true;     // the peer's circuit status
  uint32_t replaces_session = 0;  // session tie lost: this session replaces that one
};

struct ControlConnectionUp {
  uint8_t version = 3;
  uint32_t ccid = 0;
  uint32_t peer_ccid = 0;
  PeerAddress peer;
  std::string peer_host_name;
  uint32_t peer_router_id = 0;
};
struct ControlConnectionDown {
  uint32_t ccid = 0;
  PeerAddress peer;
  ResultCode result;  // what was sent or received in the StopCCN
  std::string reason;
  // Lost a control connection tie (§5.4.3): the sessions carry on over this connection.
  uint32_t replaced_by = 0;
};
struct SessionUp {
  SessionInfo info;
};
// Both sides' data plane parameters are known and the peer may send data once it has our
// next message: reported, before that message is among TakePackets(), when we answer an
// ICRQ or OCRQ (ICRP/OCRP, §7.3.2, §7.4.2) and when an acceptable OCRP arrives (§7.4.1). The
// owner programs its data plane before it sends the reply, so that the peer's first frames
// are not dropped (the ICRQ sender's SessionUp comes with its ICCN in the same way).
struct SessionNegotiated {
  SessionInfo info;
};
struct SessionDown {
  uint32_t ccid = 0;
  uint32_t local_session_id = 0;
  ResultCode result;
  std::string reason;
};
struct CircuitStatusChanged {  // SLI received (§6.14)
  uint32_t local_session_id = 0;
  bool active = true;  // the A bit
  // The whole Circuit Status value: the RFC 5641 fault and standby bits say why the
  // pseudowire is not active (circuit_status:: in avp_table.h).
  uint16_t bits = 0;
};
using Event = std::variant<ControlConnectionUp, ControlConnectionDown, SessionUp, SessionDown,
                           CircuitStatusChanged, SessionNegotiated>;

struct Datagram {
  PeerAddress peer;
  Bytes bytes;
};

// What the peer asks for in an ICRQ or OCRQ.
struct IncomingSession {
  uint8_t version = 3;
  uint32_t ccid = 0;
  PeerAddress peer;
  uint16_t pw_type = 0;
  std::string remote_end_id;
  bool outgoing_call = false;
};
// The owner's answer: accept with our side's parameters, or refuse with a CDN result code.
struct SessionDecision {
  bool accept = false;
  SessionParams params;  // cookie, sublayer, sequencing of our side (pw_type ignored)
  uint16_t result = 5;   // CDN result when refused (§5.4.2), e.g. 4 or 5
};
// The owner's answer to a new SCCRQ.
struct ControlConnectionDecision {
  bool accept = true;
  std::optional<ControlConnectionParams> params;  // nullopt: the engine's defaults
  uint16_t result = 4;  // StopCCN result when refused (§5.4.2): 4, not authorized
};
class SessionPolicy {
 public:
  virtual ~SessionPolicy() = default;
  virtual SessionDecision OnIncomingSession(const IncomingSession& request) = 0;
  // A new SCCRQ from `peer` (its Host Name AVP, "" if absent): accept it with the
  // parameters (secret, timers) to answer with, or refuse it with a StopCCN.
  virtual ControlConnectionDecision OnIncomingControlConnection(const PeerAddress& /*peer*/,
                                                                const std::string& /*host_name*/) {
    return {};
  }
};

// Counters for untrusted input that was dropped or refused.
struct EngineStats {
  uint64_t malformed = 0;  // header or AVP framing: discarded (§7.1)
  uint64_t unknown_connection = 0;
  uint64_t auth_failures = 0;  // bad or missing Message Digest
  uint64_t bad_nr = 0;
  uint64_t rejected_messages = 0;  // wrong state, missing AVPs, unknown mandatory AVP
  uint64_t tie_breaks = 0;
  uint64_t retransmissions = 0;  // control messages sent again (§4.2), closed connections
};

class ControlConnection;
struct Session;
class SessionOps;

class Engine {
 public:
  // `policy` may be null: incoming sessions are then refused with result 5.
  Engine(EngineConfig config, base::Random& random, SessionPolicy* policy = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Input: a control datagram from `peer`. Not OK: dropped (the status says why).
  absl::Status Receive(Instant now, const PeerAddress& peer, std::span<const uint8_t> bytes);
  void HandleTimeout(Instant now);
  std::optional<Instant> NextDeadline() const;

  // Commands. IDs returned are local (ours): CCID and session ID.
  absl::StatusOr<uint32_t> OpenControlConnection(Instant now, const PeerAddress& peer,
                                                 const ControlConnectionParams& params = {});
  absl::StatusOr<uint32_t> OpenSession(Instant now, uint32_t ccid, const SessionParams& params);
  absl::Status CloseSession(Instant now, uint32_t session_id, uint16_t result = 3);
  absl::Status CloseControlConnection(Instant now, uint32_t ccid, uint16_t result = 1);
  absl::Status SetCircuitStatus(Instant now, uint32_t session_id, bool active);

  // Outputs, drained by the caller after each input.
  std::vector<Datagram> TakePackets() { return std::exchange(packets_, {}); }
  std::vector<Event> TakeEvents() { return std::exchange(events_, {}); }

  // Inspection.
  std::optional<CcState> ControlConnectionState(uint32_t ccid) const;
  std::optional<CallState> SessionState(uint32_t session_id) const;
  size_t control_connection_count() const { return ccs_.size(); }
  size_t session_count() const { return sessions_.size(); }
  const EngineStats& stats() const { return stats_; }
  // Control messages retransmitted (§4.2) over the engine's life, live connections included.
  uint64_t retransmissions() const;
  const EngineConfig& config() const { return config_; }

 private:
  friend class ControlConnection;
  friend class SessionOps;
  friend class SessionTable;
  uint32_t NewConnectionId(uint8_t version);  // L2TPv2 IDs are 16-bit
  uint32_t NewSessionId(uint8_t version);
  ControlConnection* FindCc(uint32_t ccid);
  void ReceiveNewSccrq(Instant now, const PeerAddress& peer, const ControlHeaderView& view);
  void RemoveCc(uint32_t ccid);

  EngineConfig config_;
  base::Random& random_;
  SessionPolicy* policy_;
  std::unordered_map<uint32_t, std::unique_ptr<ControlConnection>> ccs_;
  std::unordered_map<uint32_t, std::unique_ptr<Session>> sessions_;
  uint32_t call_serial_ = 0;
  // Our ICRQs/OCRQs awaiting a reply, by "ccid/remote end id": finds session ties (§5.4.4)
  // without scanning every session.
  std::unordered_map<std::string, uint32_t> pending_requests_;
  std::vector<Datagram> packets_;
  std::vector<Event> events_;
  EngineStats stats_;
};

}  // namespace pwire::l2tp
