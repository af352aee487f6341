// Engine internals: one control connection (RFC 3931 §7.2) with its reliable delivery
// (§4.2), authentication (§4.3, §5.4.1), HELLO keepalive and the sessions (§7.3, §7.4) it
// carries. Only engine.cc, control_connection.cc and session.cc include this header; the
// agent uses engine.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/l2tp/digest.h"
#include "agent/l2tp/engine.h"
#include "agent/l2tp/fsm.h"
#include "agent/l2tp/message.h"
#include "agent/l2tp/reliable.h"

namespace pwire::l2tp {

// A Result Code AVP value (§5.4.2) for StopCCN and CDN.
inline ResultCode Result(uint16_t result, std::optional<uint16_t> error = std::nullopt,
                         std::string message = {}) {
  return ResultCode{.result = result, .error = error, .message = std::move(message)};
}

// One session; kept small (the benchmark measures its footprint).
struct Session {
  uint32_t local_id = 0;
  uint32_t remote_id = 0;
  uint32_t ccid = 0;
  uint32_t replaces = 0;
  uint8_t version = 3;
  uint64_t tie_breaker = 0;
  uint16_t pw_type = 0;
  CallRole role = CallRole::kIcrqSender;
  CallState state = CallState::kIdle;
  Sublayer sublayer = Sublayer::kNone;       // what we receive (our AVP)
  Sublayer peer_sublayer = Sublayer::kNone;  // what we send (the peer's AVP)
  bool want_peer_seq = false;   // we require the peer to sequence (Data Sequencing AVP sent)
  bool peer_wants_seq = false;  // the peer requires us to sequence
  bool circuit_active = true;   // ours
  bool peer_circuit_active = true;
  uint8_t local_cookie_len = 0;
  uint8_t remote_cookie_len = 0;
  std::array<uint8_t, 8> local_cookie{};
  std::array<uint8_t, 8> remote_cookie{};
  std::string remote_end_id;
};

class ControlConnection final : public Reliable::Sink {
 public:
  // `params` overrides the engine's defaults (auth, timers); its version is not used.
  ControlConnection(Engine& engine, uint32_t local_id, const PeerAddress& peer,
                    const ControlConnectionParams& params, uint8_t version);

  uint32_t local_id() const { return local_id_; }
  uint8_t version() const { return version_; }
  uint32_t remote_id() const { return remote_id_; }
  const PeerAddress& peer() const { return peer_; }
  CcState state() const { return state_; }
  bool closing() const { return closing_; }
  bool finished() const { return finished_; }
  bool sent_sccrq() const { return initiator_ && state_ == CcState::kWaitCtlReply; }
  std::optional<uint64_t> tie_breaker() const { return tie_breaker_; }

  // §7.2 local open request: send the SCCRQ.
  void Open(Instant now);
  // §7.2 administrative close: StopCCN with `result`, then hold state (§4.2, §7.5).
  void Close(Instant now, ResultCode result, std::string reason);
  // Whether a new SCCRQ carries a valid Message Digest under this connection's keys (no
  // nonces yet, §5.4.1); true without authentication. The engine asks before acting on it.
  bool AuthenticSccrq(const ControlHeaderView& view) const;
  // Answer a new SCCRQ already found authentic (this connection was created for it, or
  // took over after losing the tie). `view` is the SCCRQ as received.
  void AcceptSccrq(Instant now, const ControlHeaderView& view);
  // A control packet addressed to this connection (header already parsed).
  void OnPacket(Instant now, const PeerAddress& from, const ControlHeaderView& view);
  void HandleTimeout(Instant now);
  std::optional<Instant> NextDeadline() const;

  // Sessions use these.
  // Queues a message for reliable delivery; `session` is the L2TPv2 header Session ID.
  void Queue(Instant now, const Message& message, uint16_t session = 0);
  void SendCdnTo(Instant now, uint32_t peer_session, uint32_t local_session,
                 const ResultCode& result);
  bool PeerCarries(uint16_t pw_type) const;
  // A message builder with the Message Digest placeholders authentication needs.
  Message::Builder Start(MessageType type) const;
  // Refuses an SCCRQ (the peer's losing one in a tie, §5.4.3): StopCCN, no events.
  void RejectSccrq(Instant now, const ControlHeaderView& view, const ResultCode& result);
  // Lost the tie: discard without StopCCN; sessions move to `winner` (§7.2).
  void DiscardLosing(uint32_t winner);
  Engine& engine() { return engine_; }
  uint64_t retransmissions() const { return reliable_.stats().retransmits; }

  // Reliable::Sink
  void SendMessage(std::vector<uint8_t>& message, uint16_t ns, uint16_t nr) override;
  void SendAck(uint16_t ns, uint16_t nr) override;

 private:
  bool Authentic(const ControlHeaderView& view, const Message& message);
  void Deliver(Instant now, const PeerAddress& from, const ControlPacket& packet);
  void OnSccrp(Instant now, const PeerAddress& from, const Message& m);
  void OnStopccn(Instant now, const Message& m);
  void Step(Instant now, CcEvent event, const ResultCode& stop_result);
  void Established(Instant now);
  void CleanUp(Instant now, ResultCode result, const std::string& reason, bool send_stop);
  bool LearnPeer(const Message& m, ResultCode& why);
  Bytes Encode(const Message& m, uint16_t ns, uint16_t nr, uint16_t session = 0) const;
  void SendScccn(Instant now);
  void AddIdentity(Message::Builder& b) const;  // Host Name, IDs, capabilities, window
  bool CheckChallengeResponse(const Message& m, uint8_t type, ResultCode& why) const;
  void Sign(Bytes& packet) const;
  bool Verify(std::span<const uint8_t> message, std::span<const uint8_t> peer_nonce) const;
  void ScheduleHello(Instant now);
  uint16_t ReceiveWindow() const;
  DecodeOptions DecodeOpts() const;

  Engine& engine_;
  uint32_t local_id_;
  uint8_t version_;
  uint32_t remote_id_ = 0;
  PeerAddress peer_;
  AuthConfig auth_;
  std::vector<DigestKey> keys_;  // derived once from auth_.secrets (§5.4.1)
  ReliableConfig reliable_config_;
  Duration hello_interval_;
  CcState state_ = CcState::kIdle;
  bool initiator_ = false;
  bool closing_ = false;   // StopCCN sent or received: holding state (§4.2, §7.5)
  bool finished_ = false;  // may be erased
  bool sent_stop_ = false;
  bool quiet_ = false;  // never announced to the owner: no Down event
  Reliable reliable_;
  std::optional<uint64_t> tie_breaker_;
  Bytes local_nonce_;
  Bytes peer_nonce_;
  Bytes my_challenge_;    // L2TPv2: the Challenge we sent (RFC 2661 §5.1.1)
  Bytes peer_challenge_;  // L2TPv2: the Challenge we must answer
  std::vector<uint16_t> peer_pw_caps_;
  std::string peer_host_name_;
  uint32_t peer_router_id_ = 0;
  Instant hello_at_{};
  Instant hold_until_{};
};

// The call state machines (§7.3, §7.4) for the sessions of one control connection. A
// friend of Engine, implemented in session.cc.
class SessionOps {
 public:
  static absl::StatusOr<uint32_t> Open(Instant now, ControlConnection& cc,
                                       const SessionParams& params);
  // The control connection is up: waiting sessions send their ICRQ/OCRQ.
  static void ControlConnectionOpen(Instant now, ControlConnection& cc);
  // A session-scoped message (ICRQ..CDN, SLI, WEN) delivered in order and authenticated.
  static void OnMessage(Instant now, ControlConnection& cc, const Message& m,
                        uint16_t header_session);
  // A session message we could not read (unknown mandatory AVP): CDN with `result`.
  static void Reject(Instant now, ControlConnection& cc, const Message& m, uint16_t header_session,
                     const ResultCode& result);
  static absl::Status Close(Instant now, Engine& engine, uint32_t session_id,
                            const ResultCode& result);
  static absl::Status SetCircuit(Instant now, Engine& engine, uint32_t session_id, bool active);
  // The control connection went away: every session of it is down, without messages.
  static void DropAll(ControlConnection& cc, const ResultCode& result, const std::string& reason);
};

}  // namespace pwire::l2tp
