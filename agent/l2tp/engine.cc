// The engine facade: demultiplexes control packets to control connections, handles new
// SCCRQs and the control connection tie-breaker (RFC 3931 §5.4.3), runs commands and
// timers. See engine.h.
#include "agent/l2tp/engine.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "agent/l2tp/control_connection.h"

namespace pwire::l2tp {

PeerAddress PeerAddress::V4(uint32_t addr, uint16_t port) {
  PeerAddress p;
  p.ip[0] = static_cast<uint8_t>(addr >> 24);
  p.ip[1] = static_cast<uint8_t>(addr >> 16);
  p.ip[2] = static_cast<uint8_t>(addr >> 8);
  p.ip[3] = static_cast<uint8_t>(addr);
  p.port = port;
  return p;
}

std::string PeerAddress::ToString() const {
  if (!v6) {
    return absl::StrCat(ip[0], ".", ip[1], ".", ip[2], ".", ip[3], ":", port);
  }
  std::string s = "[";
  for (size_t i = 0; i < 16; i += 2) {
    char part[8];
    std::snprintf(part, sizeof(part), "%x", ip[i] << 8 | ip[i + 1]);
    absl::StrAppend(&s, i == 0 ? "" : ":", part);
  }
  return absl::StrCat(s, "]:", port);
}

Engine::Engine(EngineConfig config, base::Random& random, SessionPolicy* policy)
    : config_(std::move(config)), random_(random), policy_(policy) {}

Engine::~Engine() = default;

namespace {

// A random nonzero ID not yet in `taken` (§5.4.3, §5.4.4); L2TPv2 IDs are 16-bit.
template <class Map>
uint32_t NewId(base::Random& random, const Map& taken, uint8_t version) {
  for (;;) {
    const uint32_t id = version == 2 ? random.Next32() & 0xffff : random.Next32();
    if (id != 0 && !taken.contains(id)) {
      return id;
    }
  }
}

}  // namespace

uint32_t Engine::NewConnectionId(uint8_t version) { return NewId(random_, ccs_, version); }

uint32_t Engine::NewSessionId(uint8_t version) { return NewId(random_, sessions_, version); }

ControlConnection* Engine::FindCc(uint32_t ccid) {
  auto it = ccs_.find(ccid);
  return it == ccs_.end() ? nullptr : it->second.get();
}

void Engine::RemoveCc(uint32_t ccid) {
  auto it = ccs_.find(ccid);
  if (it == ccs_.end()) {
    return;
  }
  stats_.retransmissions += it->second->retransmissions();
  ccs_.erase(it);
}

uint64_t Engine::retransmissions() const {
  uint64_t n = stats_.retransmissions;
  for (const auto& [id, cc] : ccs_) {
    n += cc->retransmissions();
  }
  return n;
}

absl::Status Engine::Receive(Instant now, const PeerAddress& peer, std::span<const uint8_t> bytes) {
  const PacketKind kind =
      config_.transport == Transport::kIp ? ClassifyIp(bytes) : ClassifyUdp(bytes);
  if (kind != PacketKind::kV3Control && kind != PacketKind::kV2Control) {
    if (kind == PacketKind::kInvalid) {
      ++stats_.malformed;
    }
    return absl::InvalidArgumentError("not an L2TP control packet");
  }
  absl::StatusOr<ControlHeaderView> view = ParseControlHeader(bytes, config_.transport);
  if (!view.ok()) {
    ++stats_.malformed;  // §7.1: a malformed header is discarded
    return view.status();
  }
  if (view->header.connection_id == 0) {
    ReceiveNewSccrq(now, peer, *view);
    return absl::OkStatus();
  }
  ControlConnection* cc = FindCc(view->header.connection_id);
  if (cc == nullptr) {
    ++stats_.unknown_connection;
    return absl::NotFoundError(absl::StrCat("no control connection ", view->header.connection_id));
  }
  if (cc->version() != view->header.version) {
    ++stats_.unknown_connection;
    return absl::NotFoundError("control connection of the other L2TP version");
  }
  cc->OnPacket(now, peer, *view);
  if (cc->finished()) {
    RemoveCc(cc->local_id());
  }
  return absl::OkStatus();
}

void Engine::ReceiveNewSccrq(Instant now, const PeerAddress& peer, const ControlHeaderView& view) {
  DecodeOptions options;
  if (!config_.auth.secrets.empty()) {
    options.secret = config_.auth.secrets.front();
  }
  absl::StatusOr<ControlPacket> packet = DecodeControl(view, options);
  if (!packet.ok() || packet->message.type() != MessageType::kSccrq) {
    ++stats_.malformed;  // only an SCCRQ may be addressed to connection 0
    return;
  }
  const uint8_t version = view.header.version;
  const uint32_t peer_ccid =
      version == 2 ? packet->message.Get<avp::AssignedTunnelId>().value_or(0)
                   : packet->message.Get<avp::AssignedControlConnectionId>().value_or(0);
  ControlConnection* mine = nullptr;
  for (auto& [id, cc] : ccs_) {
    if (!cc->peer().SameHost(peer) || cc->version() != version) {
      continue;
    }
    // A retransmitted SCCRQ: its connection acknowledges it as a duplicate (§4.2), also
    // while it holds state after refusing it.
    if (peer_ccid != 0 && cc->remote_id() == peer_ccid && cc->peer() == peer) {
      cc->OnPacket(now, peer, view);
      return;
    }
    if (cc->sent_sccrq() && !cc->closing()) {
      mine = cc.get();
    }
  }
  // The owner may answer this peer with its own secret and timers (a class's).
  ControlConnectionParams params;
  ControlConnectionDecision decision;
  if (policy_ != nullptr) {
    const std::string host = packet->message.Get<avp::HostName>().value_or("");
    decision = policy_->OnIncomingControlConnection(peer, host);
    if (decision.params) {
      params = *std::move(decision.params);
    }
  }
  if (!decision.accept) {
    // Refused before anything in it is used; the connection only holds state to
    // acknowledge the StopCCN's delivery (§5.7), its retransmitted SCCRQ included.
    const uint32_t id = NewConnectionId(version);
    auto cc = std::make_unique<ControlConnection>(*this, id, peer, params, version);
    cc->RejectSccrq(now, view, Result(decision.result, std::nullopt, "not authorized"));
    ccs_.emplace(id, std::move(cc));
    return;
  }
  // §5.4.1: the SCCRQ's digest is checked before anything in it is acted on, the tie
  // breaker included (a forged SCCRQ must not make us drop our own connection).
  const uint32_t id = NewConnectionId(version);
  auto cc = std::make_unique<ControlConnection>(*this, id, peer, params, version);
  if (!cc->AuthenticSccrq(view)) {
    ++stats_.auth_failures;
    return;
  }
  std::optional<uint64_t> theirs = packet->message.Get<avp::TieBreaker>();
  if (mine != nullptr && (theirs || mine->tie_breaker())) {
    ++stats_.tie_breaks;
    // §5.4.3: the lower value wins; a side without the AVP loses to one with it. (Equal
    // values, probability 2^-64, are treated as a loss.)
    const bool we_win = !theirs || (mine->tie_breaker() && *mine->tie_breaker() < *theirs);
    if (we_win) {
      cc->RejectSccrq(now, view, Result(3, std::nullopt, "lost control connection tie"));
      ccs_.emplace(id, std::move(cc));
      return;
    }
    mine->DiscardLosing(id);
    RemoveCc(mine->local_id());
  }
  ControlConnection* c = cc.get();
  ccs_.emplace(id, std::move(cc));
  c->AcceptSccrq(now, view);
  if (c->finished()) {
    RemoveCc(id);
  }
}

void Engine::HandleTimeout(Instant now) {
  std::vector<uint32_t> done;
  for (auto& [id, cc] : ccs_) {
    cc->HandleTimeout(now);
    if (cc->finished()) {
      done.push_back(id);
    }
  }
  for (uint32_t id : done) {
    RemoveCc(id);
  }
}

std::optional<Instant> Engine::NextDeadline() const {
  std::optional<Instant> next;
  for (const auto& [id, cc] : ccs_) {
    std::optional<Instant> d = cc->NextDeadline();
    if (d && (!next || *d < *next)) {
      next = d;
    }
  }
  return next;
}

absl::StatusOr<uint32_t> Engine::OpenControlConnection(Instant now, const PeerAddress& peer,
                                                       const ControlConnectionParams& params) {
  if (params.version != 2 && params.version != 3) {
    return absl::InvalidArgumentError("L2TP version must be 2 or 3");
  }
  if (params.version == 2 && config_.transport != Transport::kUdp) {
    return absl::InvalidArgumentError("L2TPv2 runs over UDP only");
  }
  const uint32_t id = NewConnectionId(params.version);
  auto cc = std::make_unique<ControlConnection>(*this, id, peer, params, params.version);
  ControlConnection* c = cc.get();
  ccs_.emplace(id, std::move(cc));
  c->Open(now);
  return id;
}

absl::StatusOr<uint32_t> Engine::OpenSession(Instant now, uint32_t ccid,
                                             const SessionParams& params) {
  ControlConnection* cc = FindCc(ccid);
  if (cc == nullptr || cc->closing()) {
    return absl::NotFoundError("no such control connection");
  }
  return SessionOps::Open(now, *cc, params);
}

absl::Status Engine::CloseSession(Instant now, uint32_t session_id, uint16_t result) {
  return SessionOps::Close(now, *this, session_id, Result(result));
}

absl::Status Engine::CloseControlConnection(Instant now, uint32_t ccid, uint16_t result) {
  ControlConnection* cc = FindCc(ccid);
  if (cc == nullptr) {
    return absl::NotFoundError("no such control connection");
  }
  cc->Close(now, Result(result), "requested");
  if (cc->finished()) {
    RemoveCc(ccid);
  }
  return absl::OkStatus();
}

absl::Status Engine::SetCircuitStatus(Instant now, uint32_t session_id, bool active) {
  return SessionOps::SetCircuit(now, *this, session_id, active);
}

std::optional<CcState> Engine::ControlConnectionState(uint32_t ccid) const {
  auto it = ccs_.find(ccid);
  if (it == ccs_.end()) {
    return std::nullopt;
  }
  return it->second->state();
}

std::optional<CallState> Engine::SessionState(uint32_t session_id) const {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return std::nullopt;
  }
  return it->second->state;
}

}  // namespace pwire::l2tp
