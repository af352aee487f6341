// Agent: applier, status and metrics. See agent.h.
#include "agent/core/agent.h"

#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace pwire::agent {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kReconcilePeriod{2000};
constexpr milliseconds kMinReconcileGap{20};
// Longest a reconcile applies actions before it yields to the loop (and continues at once
// after the loop has read its sockets and run its timers). Programming a session can take
// milliseconds (a TAP interface, a bridge port); a thousand in one go would silence the
// control connections for seconds, longer than a peer's retransmission timeouts.
constexpr milliseconds kApplySlice{20};
constexpr milliseconds kReportDelay{100};  // status changes coalesce, then go within 1 s
constexpr char kVersion[] = "0.1.0";
// StopCCN result when the agent stops (RFC 3931 §5.4.2): requester is being shut down.
constexpr uint16_t kStopResult = 6;

v1::PseudowireSpec::Type ToProtoType(dataplane::PwType t) {
  switch (t) {
    case dataplane::PwType::kEthernet:
      return v1::PseudowireSpec::ETHERNET;
    case dataplane::PwType::kEthernetVlan:
      return v1::PseudowireSpec::ETHERNET_VLAN;
    case dataplane::PwType::kFrameRelayDlci:
      return v1::PseudowireSpec::FRAME_RELAY_DLCI;
    case dataplane::PwType::kAtmAal5SduVcc:
      return v1::PseudowireSpec::ATM_AAL5_SDU;
    case dataplane::PwType::kAtmCellVcc:
      return v1::PseudowireSpec::ATM_CELL_VCC;
    case dataplane::PwType::kAtmCellVpc:
      return v1::PseudowireSpec::ATM_CELL_VPC;
    case dataplane::PwType::kAtmCellPort:
      return v1::PseudowireSpec::ATM_CELL_PORT;
    case dataplane::PwType::kHdlc:
      return v1::PseudowireSpec::HDLC;
    case dataplane::PwType::kPpp:
      return v1::PseudowireSpec::PPP;
  }
  return v1::PseudowireSpec::TYPE_UNSPECIFIED;
}

v1::DataPlane ToProtoDataPlane(const std::string& name) {
  if (name == "kernel") return v1::DATA_PLANE_KERNEL;
  if (name == "userspace") return v1::DATA_PLANE_USERSPACE;
  if (name == "fake") return v1::DATA_PLANE_FAKE;
  return v1::DATA_PLANE_UNSPECIFIED;
}

void ToProtoCounters(const dataplane::Stats& s, v1::Counters* c) {
  c->set_tx_packets(s.tx_packets);
  c->set_tx_bytes(s.tx_bytes);
  c->set_tx_errors(s.tx_errors);
  c->set_rx_packets(s.rx_packets);
  c->set_rx_bytes(s.rx_bytes);
  c->set_rx_errors(s.rx_errors);
  c->set_rx_cookie_discards(s.rx_cookie_discards);
  c->set_rx_seq_discards(s.rx_seq_discards);
  c->set_rx_oos_packets(s.rx_oos_packets);
  c->set_rx_invalid(s.rx_malformed);
}

v1::PseudowireClass::L2Sublayer ToProtoSublayer(dataplane::Sublayer s) {
  return s == dataplane::Sublayer::kNone ? v1::PseudowireClass::NO_SUBLAYER
                                         : v1::PseudowireClass::DEFAULT_SUBLAYER;
}

// RFC 3931 §5.4.4, per direction: tx what we send (the peer asked), rx what we receive.
void SetNegotiated(dataplane::Sublayer tx, dataplane::Sublayer rx, bool send_seq, bool recv_seq,
                   v1::EndpointStatus& st) {
  st.set_tx_l2_sublayer(ToProtoSublayer(tx));
  st.set_rx_l2_sublayer(ToProtoSublayer(rx));
  st.set_tx_sequencing(send_seq);
  st.set_rx_sequencing(recv_seq);
}

// The pseudowire an action is for, or nullptr.
const std::string* PwOf(const Action& a) {
  if (auto* x = std::get_if<action::OpenTunnel>(&a)) return &x->for_pw;
  if (auto* x = std::get_if<action::OpenSession>(&a)) return &x->pw;
  if (auto* x = std::get_if<action::CloseSession>(&a)) return &x->pw;
  if (auto* x = std::get_if<action::ProgramSession>(&a)) return &x->pw;
  return nullptr;
}

bool IsDataplaneAction(const Action& a) {
  return std::holds_alternative<action::ProgramSession>(a) ||
         std::holds_alternative<action::ProgramTunnel>(a) ||
         std::holds_alternative<action::RemoveSession>(a) ||
         std::holds_alternative<action::RemoveTunnel>(a);
}

}  // namespace

absl::StatusOr<DesiredPseudowire> FromLocal(const LocalPseudowire& l,
                                            const std::string& default_local) {
  v1::PseudowireAssignment a;
  a.set_name(absl::StrCat("local/", l.name));
  a.set_type(v1::PseudowireSpec::ETHERNET);
  a.set_mode(v1::PseudowireSpec::STATIC);
  a.set_local_address(l.local_address.empty() ? default_local : l.local_address);
  a.mutable_peer()->set_address(l.peer_address);
  a.mutable_peer()->set_external(true);
  if (l.udp_port == 0) {
    a.mutable_params()->set_encapsulation(v1::PseudowireClass::IP);
  } else {
    a.mutable_params()->set_udp_port(l.udp_port);
    a.mutable_peer()->set_udp_port(l.udp_port);
  }
  a.mutable_params()->set_l2_sublayer(l.default_sublayer ? v1::PseudowireClass::DEFAULT_SUBLAYER
                                                         : v1::PseudowireClass::NO_SUBLAYER);
  a.set_local_session_id(l.local_session_id);
  a.set_remote_session_id(l.remote_session_id);
  a.set_local_cookie(absl::HexStringToBytes(l.local_cookie_hex));
  a.set_remote_cookie(absl::HexStringToBytes(l.remote_cookie_hex));
  if (!l.interface.empty()) a.mutable_circuit()->set_interface(l.interface);
  a.mutable_circuit()->set_pw_interface_name(l.session_ifname);
  return FromAssignment(a);
}

absl::StatusOr<DesiredPseudowire> FromExternal(const ExternalPeer& e,
                                               const std::string& default_local) {
  v1::PseudowireAssignment a;
  a.set_name(absl::StrCat("local/", e.name));
  a.set_generation(1);
  a.set_type(v1::PseudowireSpec::ETHERNET);
  a.set_mode(v1::PseudowireSpec::DYNAMIC);
  a.set_local_address(e.local_address.empty() ? default_local : e.local_address);
  auto* peer = a.mutable_peer();
  peer->set_address(e.peer_address);
  peer->set_udp_port(e.udp_port);
  peer->set_hostname(e.hostname);
  peer->set_router_id(e.router_id);
  peer->set_external(true);
  auto* p = a.mutable_params();
  p->set_name("local/external");  // one control connection per peer for all entries
  p->set_udp_port(e.udp_port);
  p->set_cookie_length(static_cast<uint32_t>(e.cookie_length));
  p->set_l2_sublayer(e.default_sublayer ? v1::PseudowireClass::DEFAULT_SUBLAYER
                                        : v1::PseudowireClass::NO_SUBLAYER);
  p->set_data_sequencing(e.data_sequencing);
  p->mutable_hello_interval()->set_seconds(e.hello_interval_s);
  if (!e.secret.empty()) {
    p->set_control_auth(e.digest == "sha1" ? v1::PseudowireClass::HMAC_SHA1
                                           : v1::PseudowireClass::HMAC_MD5);
    a.set_shared_secret(e.secret);
  }
  a.set_role(e.initiator ? v1::INITIATOR : v1::RESPONDER);
  a.set_remote_end_id(e.remote_end_id);
  if (!e.interface.empty()) a.mutable_circuit()->set_interface(e.interface);
  a.mutable_circuit()->set_pw_interface_name(e.session_ifname);
  return FromAssignment(a);
}

Agent::Agent(Dispatcher& loop, AgentConfig config, dataplane::Dataplane& dataplane,
             ControlPlane& control)
    : loop_(loop), config_(std::move(config)), dp_(dataplane), cp_(control) {}

Agent::~Agent() {
  alive_.reset();  // What is still posted or scheduled for this Agent does nothing now.
  if (periodic_) loop_.Cancel(periodic_);
  if (retry_timer_) loop_.Cancel(retry_timer_);
  if (counters_timer_) loop_.Cancel(counters_timer_);
  if (stop_timer_) loop_.Cancel(stop_timer_);
}

absl::StatusOr<std::map<std::string, DesiredPseudowire>> LocalPseudowires(
    const AgentConfig& config) {
  std::map<std::string, DesiredPseudowire> local;
  const std::string default_local = config.underlay.empty() ? "" : config.underlay.front();
  for (const auto& l : config.local_pseudowires) {
    auto pw = FromLocal(l, default_local);
    if (!pw.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("local_pseudowires '", l.name, "': ", pw.status().message()));
    }
    local[pw->name] = std::move(*pw);
  }
  for (const auto& e : config.external_peers) {
    auto pw = FromExternal(e, default_local);
    if (!pw.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("external_peers '", e.name, "': ", pw.status().message()));
    }
    if (local.contains(pw->name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("external_peers '", e.name, "': the name is taken by a local pseudowire"));
    }
    local[pw->name] = std::move(*pw);
  }
  return local;
}

absl::Status Agent::Start() {
  auto local = LocalPseudowires(config_);
  if (!local.ok()) return local.status();
  local_ = std::move(*local);
  // With no server, the configuration file is the whole desired state: what it does not
  // hold (a dynamic session the peer closed) is removed.
  if (config_.server == "none") have_server_state_ = true;
  cp_.SetChangeHandler(Guarded([this] { RequestReconcile(); }));
  cp_.SetSessionReadyHandler([this](const std::string& pw) { ProgramEarly(pw); });
  // Called on a data plane thread, maybe after this Agent is gone: it touches nothing of the
  // Agent's but the loop (which outlives it) and the token.
  dp_.SetEventHandler(
      [loop = &loop_, alive = std::weak_ptr<const void>(alive_), this](const dataplane::Event& ev) {
        loop->Post(Dispatcher::IfAlive(alive, [this, detail = ev.detail] {
          spdlog::info("dataplane event: {}", detail);
          RequestReconcile();
        }));
      });
  RebuildDesired({});
  auto applied = Reconcile();
  spdlog::info("start: adopted data plane state, {} actions applied", applied.size());
  periodic_ = loop_.ScheduleAt(loop_.Now() + kReconcilePeriod, Guarded([this] {
                                 periodic_ = 0;
                                 RequestReconcile();
                               }));
  return absl::OkStatus();
}

absl::Status Agent::Reload(const AgentConfig& config) {
  auto local = LocalPseudowires(config);
  if (!local.ok()) return local.status();
  if (config.agent_id != config_.agent_id || config.underlay != config_.underlay ||
      config.l2tp_port != config_.l2tp_port || config.router_id != config_.router_id ||
      config.server != config_.server || config.dataplane != config_.dataplane) {
    spdlog::warn(
        "reload: agent_id, server, underlay, l2tp_port, router_id and dataplane "
        "changes need a restart: only the pseudowires are reloaded");
  }
  size_t added = 0, removed = 0;
  for (const auto& [name, pw] : *local) added += !local_.contains(name);
  for (const auto& [name, pw] : local_) removed += !local->contains(name);
  // The server's part of the desired state stays; the file's part is replaced. The reconciler
  // applies the difference: a removed dynamic entry's session gets a CDN and its control
  // connection, once it carries nothing desired, a StopCCN (RFC 3931 §7.2); what is unchanged
  // is left alone.
  DesiredSnapshot from_server = std::move(desired_);
  for (const auto& [name, pw] : local_) from_server.pseudowires.erase(name);
  local_ = std::move(*local);
  config_.local_pseudowires = config.local_pseudowires;
  config_.external_peers = config.external_peers;
  spdlog::info("reload: {} local pseudowires ({} added, {} removed)", local_.size(), added,
               removed);
  RebuildDesired(std::move(from_server));
  Reconcile();
  return absl::OkStatus();
}

void Agent::Stop(base::Duration timeout, std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  for (auto* t : {&periodic_, &retry_timer_, &counters_timer_}) {
    if (*t) loop_.Cancel(*t);
    *t = 0;
  }
  auto once = std::make_shared<std::function<void()>>(std::move(done));
  auto finish = [once] {
    if (*once) std::exchange(*once, nullptr)();
  };
  if (!config_.stop_teardown) {
    spdlog::info("stopping: control connections left to the peers (stop_teardown: false)");
    loop_.Post(Guarded(finish));
    return;
  }
  stop_timer_ = loop_.ScheduleAt(loop_.Now() + timeout, Guarded([this, finish] {
                                   stop_timer_ = 0;
                                   spdlog::warn("stopping: not every StopCCN acknowledged");
                                   finish();
                                 }));
  cp_.Shutdown(kStopResult, Guarded([this, finish] {
                 if (stop_timer_) loop_.Cancel(stop_timer_);
                 stop_timer_ = 0;
                 finish();
               }));
}

void Agent::RebuildDesired(DesiredSnapshot from_server) {
  desired_ = std::move(from_server);  // One copy of the desired state, not two.
  for (const auto& [name, pw] : local_) desired_.pseudowires[name] = pw;
  if (dp_.GetCapabilities().managed_tunnels) {
    // Static tunnels ride a socket the agent opens too: every L2TP socket then shares the
    // local port with the control plane's listener.
    for (auto& [name, pw] : desired_.pseudowires) {
      if (pw.is_static) pw.tunnel_config.mode = dataplane::TunnelMode::kManaged;
    }
  }
  cp_.SetDesired(&desired_);
}

v1::Hello Agent::MakeHello() const {
  v1::Hello h;
  h.set_agent_id(config_.agent_id);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  h.set_hostname(host);
  for (const auto& u : config_.underlay) h.add_underlay_addresses(u);
  h.set_software_version(kVersion);
  h.set_router_id(LocalRouterId(config_));
  h.set_applied_version(applied_version_);
  auto caps = dp_.GetCapabilities();
  auto* c = h.mutable_capabilities();
  c->add_data_planes(ToProtoDataPlane(caps.name));
  for (auto t : caps.pw_types) c->add_pseudowire_types(ToProtoType(t));
  c->set_kernel_l2tp(caps.name == "kernel");
  c->set_ipv6(caps.ipv6);
  if (caps.encap_udp) c->add_encapsulations(v1::PseudowireClass::UDP);
  if (caps.encap_ip) c->add_encapsulations(v1::PseudowireClass::IP);
  return h;
}

bool Agent::Send(v1::AgentMessage msg) { return sender_ && sender_(std::move(msg)); }

void Agent::OnWelcome(const v1::Welcome& welcome) {
  connected_ = true;
  if (welcome.has_report_interval()) {
    auto ms =
        welcome.report_interval().seconds() * 1000 + welcome.report_interval().nanos() / 1000000;
    if (ms >= 100) report_interval_ = milliseconds(ms);
  }
  spdlog::info("server: connected as {}", welcome.agent());
  v1::AgentMessage m;
  *m.mutable_status() = BuildStatusReport(/*full=*/true);
  Send(std::move(m));
  ScheduleCounters();
}

void Agent::OnDisconnected() {
  connected_ = false;
  reported_.clear();  // The next connection gets a full report.
}

void Agent::OnDesiredState(const v1::DesiredState& state) {
  std::vector<ConversionError> errors;
  DesiredSnapshot snap = FromProto(state, errors);
  spdlog::info("desired state version={} pseudowires={} errors={}", state.version(),
               snap.pseudowires.size(), errors.size());
  have_server_state_ = true;
  RebuildDesired(std::move(snap));
  applied_version_ = state.version();
  v1::AgentMessage m;
  if (errors.empty()) {
    m.mutable_ack()->set_version(state.version());
  } else {
    ++desired_nacks_;
    auto* n = m.mutable_nack();
    n->set_version(state.version());
    n->set_error_detail(absl::StrCat(errors.size(), " pseudowire(s) refused; the rest applied"));
    for (const auto& e : errors) {
      auto* pe = n->add_errors();
      pe->set_name(e.name);
      pe->set_message(e.message);
      spdlog::warn("desired state: {}: {}", e.name, e.message);
    }
  }
  Send(std::move(m));
  Reconcile();
}

void Agent::RequestReconcile() {
  if (reconcile_pending_) return;
  reconcile_pending_ = true;
  // Under a burst of events (thousands of sessions coming up), one reconcile covers many:
  // each is O(pseudowires), so they are spaced by at least kMinReconcileGap and 8 times the
  // last one's duration (the protocol keeps most of the loop's time: with a slow data plane,
  // spacing them by their planning time alone slowed sessions coming up).
  const base::Instant at =
      last_reconcile_ + std::max<base::Duration>(kMinReconcileGap, 8 * last_reconcile_took_);
  if (loop_.Now() >= at) {
    loop_.Post(Guarded([this] {
      reconcile_pending_ = false;
      Reconcile();
    }));
  } else {
    loop_.ScheduleAt(at, Guarded([this] {
                       reconcile_pending_ = false;
                       Reconcile();
                     }));
  }
}

void Agent::ContinueReconcile() {
  if (continue_pending_) return;
  continue_pending_ = true;
  // Posted work runs in the loop's next round, after what is ready then (sockets, timers).
  loop_.Post(Guarded([this] {
    continue_pending_ = false;
    Reconcile();
  }));
}

std::vector<AppliedAction> Agent::Reconcile() {
  if (stopping_) return {};  // Stop() closed everything: nothing is opened again.
  last_reconcile_ = loop_.Now();
  bool yielded = false;
  bool dp_changed = true;  // `listed` is older than the data plane
  bool have_listed = false;
  dataplane::Snapshot listed;
  std::optional<base::Instant> slice_end;
  std::vector<AppliedAction> applied;
  for (int round = 0; round < 4 && !yielded; ++round) {
    const base::Instant round_start = loop_.Now();
    auto snap = dp_.List();
    if (!snap.ok()) {
      spdlog::error("dataplane list: {}", snap.status().ToString());
      break;
    }
    listed = std::move(*snap);
    have_listed = true;
    dp_changed = false;
    auto plan = Plan(desired_, ObservedView{cp_.tunnels(), cp_.sessions(), listed});
    if (!have_server_state_) {
      // Until the server's first desired state arrives, what exists is adopted as it is:
      // nothing is removed (a restarted agent keeps forwarding).
      std::erase_if(plan, [](const Action& a) {
        return std::holds_alternative<action::RemoveSession>(a) ||
               std::holds_alternative<action::RemoveTunnel>(a) ||
               std::holds_alternative<action::CloseSession>(a) ||
               std::holds_alternative<action::CloseTunnel>(a);
      });
    }
    HoldBackRetries(plan);
    if (plan.empty()) break;
    if (!slice_end) {
      // Applying gets at least 4 times what planning took (a plan is O(pseudowires)), so
      // that planning again in each slice costs at most a fifth of the time.
      const base::Instant planned = loop_.Now();
      slice_end = planned + std::max<base::Duration>(kApplySlice, 4 * (planned - round_start));
    }
    const bool only_dataplane = std::all_of(plan.begin(), plan.end(), IsDataplaneAction);
    bool progress = false;
    bool failed = false;
    for (auto& a : plan) {
      if (!applied.empty() && loop_.Now() >= *slice_end) {
        yielded = true;  // The rest is planned again in the next slice (level-triggered).
        break;
      }
      absl::Status s = Apply(a);
      dp_changed = dp_changed || IsDataplaneAction(a);
      const std::string* pw = PwOf(a);
      if (s.ok()) {
        ++actions_ok_;
        progress = true;
        if (pw != nullptr && !last_error_.empty()) last_error_.erase(*pw);
        if (spdlog::should_log(spdlog::level::debug)) {
          spdlog::debug("applied: {}", ActionToString(a));
        }
      } else {
        ++actions_failed_;
        failed = true;
        if (pw != nullptr) last_error_[*pw] = std::string(s.message());
        spdlog::warn("apply failed: {}: {}", ActionToString(a), s.ToString());
      }
      applied.push_back({std::move(a), std::move(s)});
    }
    // A plan applied without a failure is complete (it orders removals before programming,
    // and programs again what a removed tunnel took with it): the next reconcile verifies.
    // Dynamic actions complete through engine events; only data plane work loops here, to
    // try again at once what failed while the rest progressed.
    if (!failed || !progress || !only_dataplane) break;
  }
  if (dp_changed) {
    if (auto snap = dp_.List(); snap.ok()) {
      listed = std::move(*snap);
      have_listed = true;
    }
  }
  if (have_listed) KeepProgrammed(listed);
  last_reconcile_took_ = loop_.Now() - last_reconcile_;
  if (yielded) {
    ++reconcile_slices_yielded_;
    ContinueReconcile();
  }
  ReportChanges();
  if (!periodic_) {
    periodic_ = loop_.ScheduleAt(loop_.Now() + kReconcilePeriod, Guarded([this] {
                                   periodic_ = 0;
                                   RequestReconcile();
                                 }));
  }
  return applied;
}

void Agent::KeepProgrammed(const dataplane::Snapshot& snap) {
  std::vector<Programmed> now;  // exactly sized (clear() would keep a larger capacity)
  now.reserve(snap.sessions.size());
  for (const auto& c : snap.sessions) {
    now.push_back({c.tunnel_id, c.local_session_id, c.peer_session_id,
                   static_cast<uint8_t>(c.cookie.size()),
                   static_cast<uint8_t>(c.peer_cookie.size()), c.ifname});
  }
  std::sort(now.begin(), now.end(), [](const Programmed& x, const Programmed& y) {
    return std::tie(x.tunnel_id, x.local_session_id) < std::tie(y.tunnel_id, y.local_session_id);
  });
  programmed_ = std::move(now);
  dp_tunnels_.clear();
  for (const auto& t : snap.tunnels) dp_tunnels_.insert(t.local_tunnel_id);
  static_tunnels_ = static_cast<int>(std::count_if(
      snap.tunnels.begin(), snap.tunnels.end(),
      [](const dataplane::TunnelConfig& t) { return t.mode == dataplane::TunnelMode::kStatic; }));
}

const Agent::Programmed* Agent::FindProgrammed(uint32_t tunnel, uint32_t session) const {
  auto it = std::lower_bound(programmed_.begin(), programmed_.end(), std::pair{tunnel, session},
                             [](const Programmed& p, const std::pair<uint32_t, uint32_t>& k) {
                               return std::pair{p.tunnel_id, p.local_session_id} < k;
                             });
  if (it == programmed_.end() || it->tunnel_id != tunnel || it->local_session_id != session) {
    return nullptr;
  }
  return &*it;
}

void Agent::HoldBackRetries(std::vector<Action>& plan) {
  const base::Instant now = loop_.Now();
  std::optional<base::Instant> next;
  std::erase_if(plan, [&](const Action& a) {
    std::optional<base::Instant> at;
    if (auto* x = std::get_if<action::OpenTunnel>(&a)) at = cp_.RetryAt(x->key.ToString());
    if (auto* x = std::get_if<action::OpenSession>(&a)) at = cp_.RetryAt(x->pw);
    if (!at || *at <= now) return false;
    if (!next || *at < *next) next = at;
    return true;
  });
  if (!next) return;
  if (retry_timer_) loop_.Cancel(retry_timer_);
  retry_timer_ = loop_.ScheduleAt(*next, Guarded([this] {
    retry_timer_ = 0;
    RequestReconcile();
  }));
}

absl::Status Agent::Apply(const Action& a) {
  if (auto* x = std::get_if<action::OpenTunnel>(&a)) {
    auto it = desired_.pseudowires.find(x->for_pw);
    if (it == desired_.pseudowires.end()) return absl::InternalError("pseudowire vanished");
    return cp_.OpenTunnel(x->key, it->second);
  }
  if (auto* x = std::get_if<action::CloseTunnel>(&a)) return cp_.CloseTunnel(x->tunnel_id);
  if (auto* x = std::get_if<action::OpenSession>(&a)) {
    auto it = desired_.pseudowires.find(x->pw);
    if (it == desired_.pseudowires.end()) return absl::InternalError("pseudowire vanished");
    return cp_.OpenSession(x->tunnel_id, it->second);
  }
  if (auto* x = std::get_if<action::CloseSession>(&a)) return cp_.CloseSession(x->pw);
  if (auto* x = std::get_if<action::ProgramTunnel>(&a)) {
    dataplane::TunnelConfig c = x->config;
    if (c.mode == dataplane::TunnelMode::kManaged) {
      auto fd = cp_.TunnelSocket(c);
      if (!fd.ok()) return fd.status();
      c.fd = *fd;
    }
    absl::Status s = dp_.CreateTunnel(c);
    if (!s.ok() && c.mode == dataplane::TunnelMode::kManaged) {
      cp_.ReleaseTunnelSocket(c.local_tunnel_id);
    }
    if (s.ok()) dp_tunnels_.insert(c.local_tunnel_id);
    return s;
  }
  if (auto* x = std::get_if<action::RemoveTunnel>(&a)) {
    absl::Status s = dp_.DeleteTunnel(x->tunnel_id);
    if (s.ok()) {
      cp_.ReleaseTunnelSocket(x->tunnel_id);
      dp_tunnels_.erase(x->tunnel_id);
    }
    return s;
  }
  if (auto* x = std::get_if<action::ProgramSession>(&a)) return dp_.CreateSession(x->config);
  if (auto* x = std::get_if<action::RemoveSession>(&a)) {
    return dp_.DeleteSession(x->tunnel_id, x->session_id);
  }
  return absl::InternalError("unknown action");
}

void Agent::ProgramEarly(const std::string& name) {
  auto d = desired_.pseudowires.find(name);
  auto s = cp_.sessions().find(name);
  if (d == desired_.pseudowires.end() || s == cp_.sessions().end()) return;
  auto t = cp_.tunnels().find(s->second.tunnel_id);
  if (t == cp_.tunnels().end()) return;
  std::vector<Action> plan =
      PlanEarlySession(d->second, s->second, t->second, dp_tunnels_.contains(t->first));
  if (plan.empty()) return;
  for (const Action& a : plan) {
    if (absl::Status st = Apply(a); !st.ok()) {
      ++actions_failed_;
      last_error_[name] = std::string(st.message());
      spdlog::warn("apply failed: {}: {}", ActionToString(a), st.ToString());
      return;  // The reconcile the change handler asks for tries again.
    }
    ++actions_ok_;
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("applied early: {}", ActionToString(a));
    }
  }
  last_error_.erase(name);
}

v1::EndpointStatus Agent::EndpointStatusFor(const DesiredPseudowire& pw) const {
  v1::EndpointStatus st;
  st.set_agent(absl::StrCat("agents/", config_.agent_id));
  st.set_observed_generation(pw.generation);
  auto caps = dp_.GetCapabilities();
  st.set_data_plane(ToProtoDataPlane(caps.name));
  st.set_l2_sublayer(ToProtoSublayer(pw.session.rx_sublayer));  // what we ask for
  st.set_sequencing(pw.session.recv_seq);
  const Programmed* prog = nullptr;
  if (pw.is_static) {
    SetNegotiated(pw.session.tx_sublayer, pw.session.rx_sublayer, pw.session.send_seq,
                  pw.session.recv_seq, st);
    prog = FindProgrammed(pw.session.tunnel_id, pw.session.local_session_id);
    st.set_session_state(prog ? v1::SESSION_STATIC : v1::SESSION_FAILED);
    st.set_local_control_connection_id(pw.tunnel_config.local_tunnel_id);
    st.set_remote_control_connection_id(pw.tunnel_config.peer_tunnel_id);
  } else {
    auto s = cp_.sessions().find(pw.name);
    if (s == cp_.sessions().end()) {
      st.set_session_state(pw.role == PwRole::kResponder ? v1::SESSION_IDLE
                                                         : v1::SESSION_WAIT_CONTROL_CONNECTION);
    } else {
      auto t = cp_.tunnels().find(s->second.tunnel_id);
      bool tunnel_up = t != cp_.tunnels().end() && t->second.state == LinkState::kEstablished;
      switch (s->second.state) {
        case LinkState::kEstablished:
          st.set_session_state(v1::SESSION_ESTABLISHED);
          break;
        case LinkState::kConnecting:
          st.set_session_state(tunnel_up ? v1::SESSION_WAIT_REPLY
                                         : v1::SESSION_WAIT_CONTROL_CONNECTION);
          break;
        case LinkState::kClosing:
          st.set_session_state(v1::SESSION_IDLE);
          break;
      }
      if (t != cp_.tunnels().end()) {
        st.set_local_control_connection_id(t->second.local_id);
        st.set_remote_control_connection_id(t->second.peer_id);
        st.set_control_connection(absl::StrCat(t->second.local_id, "/", t->second.peer_id));
      }
      prog = FindProgrammed(s->second.tunnel_id, s->second.local_session_id);
      if (s->second.negotiated) {
        const ObservedSession& o = s->second;
        SetNegotiated(o.tx_sublayer, o.rx_sublayer, o.send_seq, o.recv_seq, st);
      }
      st.set_local_session_id(s->second.local_session_id);
      st.set_remote_session_id(s->second.peer_session_id);
      st.set_local_cookie_length(static_cast<uint32_t>(s->second.cookie.size()));
      st.set_remote_cookie_length(static_cast<uint32_t>(s->second.peer_cookie.size()));
      if (s->second.state == LinkState::kEstablished) {
        // The peer's Circuit Status AVP (RFC 3931 §5.4.5): A bit, raw value as carried.
        st.mutable_remote_circuit()->set_active(s->second.peer_circuit_active);
        st.mutable_remote_circuit()->set_raw(s->second.peer_circuit_active ? 1 : 0);
      }
    }
  }
  if (prog) {
    st.set_local_session_id(prog->local_session_id);
    st.set_remote_session_id(prog->peer_session_id);
    st.set_local_cookie_length(static_cast<uint32_t>(prog->cookie_length));
    st.set_remote_cookie_length(static_cast<uint32_t>(prog->peer_cookie_length));
    st.set_interface_name(prog->ifname);
    st.mutable_local_circuit()->set_active(true);
    st.mutable_local_circuit()->set_raw(1);
  }
  auto err = last_error_.find(pw.name);
  if (err != last_error_.end()) {
    st.set_last_error(err->second);
  } else if (!prog && !pw.is_static) {
    st.set_last_error(cp_.LastError(pw.name));
  }
  return st;
}

v1::StatusReport Agent::BuildStatusReport(bool full) {
  v1::StatusReport r;
  r.set_full(full);
  std::map<std::string, std::string> now;
  for (const auto& [name, pw] : desired_.pseudowires) {
    if (name.starts_with("local/")) continue;  // Not the server's business.
    v1::EndpointStatus st = EndpointStatusFor(pw);
    std::string key = st.SerializeAsString();
    now[name] = key;
    if (full || reported_[name] != key) {
      auto* e = r.add_pseudowires();
      e->set_name(name);
      *e->mutable_status() = std::move(st);
    }
  }
  if (!full) {
    for (const auto& [name, key] : reported_) {
      if (!now.count(name)) r.add_removed(name);
    }
  }
  for (const auto& [id, t] : cp_.tunnels()) {
    auto* c = r.add_control_connections();
    c->set_local_id(t.local_id);
    c->set_remote_id(t.peer_id);
    c->set_local_address(t.key.local);
    c->set_peer_address(t.key.peer);
    c->set_state(t.state == LinkState::kEstablished ? v1::CC_ESTABLISHED
                 : t.state == LinkState::kClosing   ? v1::CC_CLOSED
                                                    : v1::CC_WAIT_CTL_REPLY);
  }
  reported_ = std::move(now);
  return r;
}

void Agent::ReportChanges() {
  if (!connected_ || report_pending_) return;
  report_pending_ = true;
  loop_.ScheduleAt(loop_.Now() + kReportDelay, Guarded([this] {
                     report_pending_ = false;
                     if (!connected_) return;
                     v1::StatusReport r = BuildStatusReport(/*full=*/false);
                     if (r.pseudowires_size() == 0 && r.removed_size() == 0) return;
                     v1::AgentMessage m;
                     *m.mutable_status() = std::move(r);
                     Send(std::move(m));
                     // Counters follow at once, so a session that just came up shows them without
                     // waiting for the periodic report.
                     v1::AgentMessage c;
                     *c.mutable_counters() = BuildCountersReport();
                     Send(std::move(c));
                   }));
}

std::map<std::pair<uint32_t, uint32_t>, std::string> Agent::SessionNames() const {
  std::map<std::pair<uint32_t, uint32_t>, std::string> names;
  for (const auto& [n, pw] : desired_.pseudowires) {
    if (pw.is_static) {
      names[{pw.session.tunnel_id, pw.session.local_session_id}] = n;
    } else if (auto o = cp_.sessions().find(n); o != cp_.sessions().end()) {
      names[{o->second.tunnel_id, o->second.local_session_id}] = n;
    }
  }
  return names;
}

v1::CountersReport Agent::BuildCountersReport() {
  v1::CountersReport r;
  auto names = SessionNames();
  for (const auto& s : programmed_) {
    auto n = names.find({s.tunnel_id, s.local_session_id});
    if (n == names.end() || n->second.starts_with("local/")) continue;
    auto stats = dp_.SessionStats(s.tunnel_id, s.local_session_id);
    if (!stats.ok()) continue;
    auto* c = r.add_pseudowires();
    c->set_name(n->second);
    ToProtoCounters(*stats, c->mutable_counters());
  }
  return r;
}

void Agent::ScheduleCounters() {
  if (counters_timer_) loop_.Cancel(counters_timer_);
  counters_timer_ = loop_.ScheduleAt(loop_.Now() + report_interval_, Guarded([this] {
                                       counters_timer_ = 0;
                                       if (!connected_) return;
                                       v1::AgentMessage m;
                                       *m.mutable_counters() = BuildCountersReport();
                                       Send(std::move(m));
                                       ScheduleCounters();
                                     }));
}

}  // namespace pwire::agent
