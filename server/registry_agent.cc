// Registry: agents, the status they report, and the desired state each one gets.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "server/names.h"
#include "server/paging.h"
#include "server/registry.h"
#include "spdlog/spdlog.h"

namespace pwire::server {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using pwire::v1::Agent;
using pwire::v1::EndpointStatus;
using pwire::v1::PseudowireAssignment;
using pwire::v1::PseudowireClass;
using pwire::v1::WatchEvent;

namespace {

// Interface name for a pseudowire without one: "pw-{id}", or a stable hash when too long.
std::string DefaultPwInterface(const std::string& id) {
  if (id.size() <= 12) return "pw-" + id;
  uint32_t h = 2166136261u;  // FNV-1a: stable across builds and runs
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  return absl::StrFormat("pw-%s%06x", id.substr(0, 6), h & 0xffffff);
}

bool IsV6(const std::string& a) { return IsIpv6Address(a); }

// FAILED_PRECONDITION for deleting an agent that pseudowires still use, naming a few.
absl::Status StillReferenced(const std::string& agent_id, const std::set<std::string>& pws) {
  constexpr size_t kNamed = 5;
  std::string names;
  size_t n = 0;
  for (const std::string& pw : pws) {
    if (n++ == kNamed) break;
    absl::StrAppend(&names, n > 1 ? ", " : "", "pseudowires/", pw);
  }
  if (pws.size() > kNamed) absl::StrAppend(&names, " and ", pws.size() - kNamed, " more");
  return absl::FailedPreconditionError(
      absl::StrCat("agents/", agent_id, " is still used by ", pws.size(), " pseudowire",
                   pws.size() == 1 ? "" : "s", " (", names,
                   "); delete or move them first, or delete the agent with force"));
}

// The status without what changes all the time, to tell real changes from counter updates.
EndpointStatus Essential(EndpointStatus s) {
  s.clear_counters();
  s.clear_report_time();
  return s;
}

}  // namespace

Agent Registry::AgentViewLocked(const Agent& a) const {
  Agent v = a;
  std::string id = IdOf(a.name());
  auto rt = runtime_.find(id);
  if (rt != runtime_.end()) {
    const AgentRuntime& r = rt->second;
    v.set_connection_state(r.state);
    *v.mutable_last_seen_time() = r.last_seen;
    *v.mutable_connect_time() = r.connect_time;
    v.set_peer(r.peer);
    v.set_desired_version(r.desired_version);
    v.set_acked_version(r.acked_version);
    v.set_last_nack(r.last_nack);
    v.set_stale(r.stale);
    for (const auto& cc : r.control_connections) *v.add_control_connections() = cc;
  } else {
    v.set_connection_state(Agent::NEVER_CONNECTED);
  }
  auto pws = agent_pws_.find(id);
  v.set_pseudowire_count(pws == agent_pws_.end() ? 0 : static_cast<int32_t>(pws->second.size()));
  return v;
}

WatchEvent Registry::AgentEventLocked(const std::string& id) const {
  WatchEvent ev;
  ev.set_type(WatchEvent::MODIFIED);
  ev.set_kind(pwire::v1::AGENT);
  ev.set_revision(revision_);
  *ev.mutable_time() = TimeUtil::GetCurrentTime();
  auto it = agents_.find(id);
  ev.set_name(MakeName(kAgents, id));
  if (it != agents_.end()) *ev.mutable_agent() = AgentViewLocked(it->second);
  return ev;
}

void Registry::PublishStatusLocked(const std::set<std::string>& pw_ids,
                                   std::vector<WatchEvent>& out) const {
  for (const std::string& id : pw_ids) {
    auto it = pseudowires_.find(id);
    if (it == pseudowires_.end()) continue;
    WatchEvent& ev = out.emplace_back();
    ev.set_type(WatchEvent::MODIFIED);
    ev.set_status_only(true);
    ev.set_kind(pwire::v1::PSEUDOWIRE);
    ev.set_name(it->second.name());
    ev.set_revision(revision_);
    *ev.mutable_time() = TimeUtil::GetCurrentTime();
    *ev.mutable_pseudowire() = ViewLocked(it->second);
  }
}

absl::StatusOr<Agent> Registry::GetAgent(const std::string& name) const {
  auto id = ParseId(name, kAgents, "name");
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&mu_);
  const Agent* a = FindAgent(*id);
  if (a == nullptr) return absl::NotFoundError(absl::StrCat("agents/", *id, " is not known"));
  return AgentViewLocked(*a);
}

absl::StatusOr<pwire::v1::ListAgentsResponse> Registry::ListAgents(
    const pwire::v1::ListAgentsRequest& req) const {
  auto page = Pager::Begin(req.page_size(), req.page_token());
  if (!page.ok()) return page.status();
  pwire::v1::ListAgentsResponse resp;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, a] : agents_) {
    Agent v = AgentViewLocked(a);
    if (req.connection_state() != Agent::CONNECTION_STATE_UNSPECIFIED &&
        v.connection_state() != req.connection_state()) {
      continue;
    }
    if (!MatchesLabels(req.labels(), a.labels())) continue;
    if (page->Take(id)) *resp.add_agents() = std::move(v);
  }
  resp.set_total_size(page->total_size());
  resp.set_next_page_token(page->next_page_token());
  return resp;
}

void Registry::DeleteAgent(const pwire::v1::DeleteAgentRequest& req, Reply<bool> reply) {
  auto id = ParseId(req.name(), kAgents, "name");
  if (!id.ok()) return reply(id.status());
  absl::MutexLock lock(&mu_);
  if (FindAgent(*id) == nullptr) {
    if (req.allow_missing()) return reply(false);
    return reply(absl::NotFoundError(absl::StrCat("agents/", *id, " is not known")));
  }
  auto rt = runtime_.find(*id);
  if (rt != runtime_.end() && rt->second.state == Agent::CONNECTED) {
    return reply(absl::FailedPreconditionError(
        absl::StrCat("agents/", *id, " is connected; stop pwire-agent on that host first")));
  }
  auto pws = agent_pws_.find(*id);
  if (pws != agent_pws_.end() && !pws->second.empty() && !req.force()) {
    return reply(StillReferenced(*id, pws->second));
  }
  Txn txn;
  BeginLocked(txn);
  if (pws != agent_pws_.end()) {
    for (const std::string& pw : pws->second) {
      AffectedByPseudowireLocked(pseudowires_.at(pw), txn.agents);
    }
  }
  EraseAgentLocked(txn, *id);
  SubmitLocked(std::move(txn), [reply] { reply(true); });
}

void Registry::AgentConnected(const pwire::v1::Hello& hello, const std::string& peer,
                              Reply<Agent> reply) {
  if (!IsValidAgentId(hello.agent_id())) {
    return reply(InvalidField("hello.agent_id", absl::StrCat("'", hello.agent_id(),
                                                             "' is not a valid agent id: "
                                                             "1-63 characters of [a-z0-9.-]")));
  }
  for (int i = 0; i < hello.underlay_addresses_size(); ++i) {
    if (!IsIpAddress(hello.underlay_addresses(i))) {
      return reply(
          InvalidField(absl::StrCat("hello.underlay_addresses[", i, "]"),
                       absl::StrCat("'", hello.underlay_addresses(i), "' is not an IP address")));
    }
  }
  if (auto s = ValidateLabels(hello.labels(), "hello.labels"); !s.ok()) return reply(s);
  // A copy: `reply` may start the stream's next read, which reuses the message holding hello.
  const std::string id = hello.agent_id();
  Agent next;
  next.set_name(MakeName(kAgents, id));
  next.set_hostname(hello.hostname());
  *next.mutable_underlay_addresses() = hello.underlay_addresses();
  *next.mutable_labels() = hello.labels();
  *next.mutable_capabilities() = hello.capabilities();
  next.set_software_version(hello.software_version());
  next.set_router_id(hello.router_id());
  auto now = TimeUtil::GetCurrentTime();
  std::vector<WatchEvent> events;
  Agent view;
  {
    absl::MutexLock lock(&mu_);
    AgentRuntime& rt = runtime_[id];
    rt.state = Agent::CONNECTED;
    rt.connect_time = now;
    rt.last_seen = now;
    rt.peer = peer;
    rt.stale = false;
    rt.last_nack.clear();
    const Agent* old = FindAgent(id);
    *next.mutable_create_time() = old != nullptr ? old->create_time() : now;
    if (old == nullptr || !MessageDifferencer::Equals(*old, next)) {
      Txn txn;
      BeginLocked(txn);
      txn.agents.insert(id);
      auto pws = agent_pws_.find(id);
      if (pws != agent_pws_.end()) {
        for (const std::string& pw : pws->second) {
          AffectedByPseudowireLocked(pseudowires_.at(pw), txn.agents);
        }
      }
      PutAgentLocked(txn, next, old != nullptr ? WatchEvent::MODIFIED : WatchEvent::ADDED);
      view = AgentViewLocked(next);
      SubmitLocked(std::move(txn), [reply, view] { reply(view); });
      return;
    }
    view = AgentViewLocked(*old);
    events.push_back(AgentEventLocked(id));
  }
  // Nothing durable changed: only the connection state, which lives in memory.
  reply(view);
  Publish(events, {id});
}

void Registry::AgentDisconnected(const std::string& agent_id) {
  std::vector<WatchEvent> events;
  {
    absl::MutexLock lock(&mu_);
    auto rt = runtime_.find(agent_id);
    if (rt == runtime_.end()) return;
    rt->second.state = Agent::DISCONNECTED;
    rt->second.stale = true;
    std::set<std::string> changed;
    auto pws = agent_pws_.find(agent_id);
    if (pws != agent_pws_.end()) {
      for (const std::string& pw : pws->second) {
        for (auto& es : status_[pw]) {
          if (es && es->agent() == MakeName(kAgents, agent_id) && !es->stale()) {
            es->set_stale(true);
            changed.insert(pw);
          }
        }
      }
    }
    events.push_back(AgentEventLocked(agent_id));
    PublishStatusLocked(changed, events);
  }
  Publish(events, {});
}

void Registry::AgentSent(const std::string& agent_id, uint64_t desired_version,
                         std::string content) {
  absl::MutexLock lock(&mu_);
  AgentRuntime& rt = runtime_[agent_id];
  rt.desired_version = desired_version;
  rt.desired_content = std::move(content);
}

std::optional<std::string> Registry::SentContent(const std::string& agent_id,
                                                 uint64_t version) const {
  absl::MutexLock lock(&mu_);
  auto it = runtime_.find(agent_id);
  if (version == 0 || it == runtime_.end() || it->second.desired_version != version) {
    return std::nullopt;
  }
  return it->second.desired_content;
}

void Registry::AgentAcked(const std::string& agent_id, uint64_t version) {
  absl::MutexLock lock(&mu_);
  AgentRuntime& rt = runtime_[agent_id];
  rt.acked_version = std::max(rt.acked_version, version);
  rt.last_nack.clear();
  rt.last_seen = TimeUtil::GetCurrentTime();
}

void Registry::AgentNacked(const std::string& agent_id, const pwire::v1::Nack& nack) {
  absl::MutexLock lock(&mu_);
  AgentRuntime& rt = runtime_[agent_id];
  rt.last_nack = absl::StrCat("version ", nack.version(), ": ", nack.error_detail());
  for (const auto& e : nack.errors())
    absl::StrAppend(&rt.last_nack, "; ", e.name(), ": ", e.message());
  rt.last_seen = TimeUtil::GetCurrentTime();
}

void Registry::AgentStatus(const std::string& agent_id, const pwire::v1::StatusReport& report) {
  std::vector<WatchEvent> events;
  {
    absl::MutexLock lock(&mu_);
    auto now = TimeUtil::GetCurrentTime();
    AgentRuntime& rt = runtime_[agent_id];
    rt.last_seen = now;
    bool was_stale = rt.stale;
    rt.stale = false;
    if (report.full() || report.control_connections_size() > 0) {
      rt.control_connections.assign(report.control_connections().begin(),
                                    report.control_connections().end());
    }
    const std::string agent_name = MakeName(kAgents, agent_id);
    std::set<std::string> changed, reported;
    auto set_entry = [&](const std::string& pw_id, const EndpointStatus* st) {
      auto pw = pseudowires_.find(pw_id);
      if (pw == pseudowires_.end()) return;
      for (int i = 0; i < pw->second.spec().endpoints_size() && i < 2; ++i) {
        const auto& e = pw->second.spec().endpoints(i);
        if (!e.has_agent() || e.agent().agent() != agent_name) continue;
        auto& slot = status_[pw_id][i];
        std::optional<EndpointStatus> next;
        if (st != nullptr) {
          next = *st;
          next->set_agent(agent_name);
          next->set_stale(false);
          if (!next->has_report_time()) *next->mutable_report_time() = now;
        }
        bool differs = slot.has_value() != next.has_value() ||
                       (slot && !MessageDifferencer::Equals(Essential(*slot), Essential(*next)));
        if (differs) changed.insert(pw_id);
        slot = std::move(next);
      }
    };
    for (const auto& r : report.pseudowires()) {
      auto id = ParseId(r.name(), kPseudowires, "name");
      if (!id.ok()) continue;  // an agent's stale or broken entry: nothing to attach it to
      reported.insert(*id);
      set_entry(*id, &r.status());
    }
    for (const std::string& name : report.removed()) {
      auto id = ParseId(name, kPseudowires, "removed");
      if (id.ok()) set_entry(*id, nullptr);
    }
    if (report.full()) {
      auto pws = agent_pws_.find(agent_id);
      if (pws != agent_pws_.end()) {
        for (const std::string& pw : pws->second) {
          if (!reported.contains(pw)) set_entry(pw, nullptr);
        }
      }
    }
    if (was_stale) events.push_back(AgentEventLocked(agent_id));
    PublishStatusLocked(changed, events);
  }
  Publish(events, {});
}

void Registry::AgentCounters(const std::string& agent_id, const pwire::v1::CountersReport& report) {
  absl::MutexLock lock(&mu_);
  AgentRuntime& rt = runtime_[agent_id];
  rt.last_seen = TimeUtil::GetCurrentTime();
  const std::string agent_name = MakeName(kAgents, agent_id);
  for (const auto& c : report.pseudowires()) {
    auto id = ParseId(c.name(), kPseudowires, "name");
    if (!id.ok()) continue;
    auto st = status_.find(*id);
    if (st == status_.end()) continue;
    for (auto& es : st->second) {
      if (es && es->agent() == agent_name) *es->mutable_counters() = c.counters();
    }
  }
}

void Registry::MarkSilentAgentsStale(google::protobuf::Timestamp deadline) {
  std::vector<WatchEvent> events;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, rt] : runtime_) {
      if (rt.state != Agent::CONNECTED || rt.stale || rt.last_seen >= deadline) continue;
      rt.stale = true;
      spdlog::warn("agent {} silent since {}: its status is now stale", id,
                   TimeUtil::ToString(rt.last_seen));
      std::set<std::string> changed;
      auto pws = agent_pws_.find(id);
      if (pws != agent_pws_.end()) {
        for (const std::string& pw : pws->second) {
          for (auto& es : status_[pw]) {
            if (es && es->agent() == MakeName(kAgents, id)) {
              es->set_stale(true);
              changed.insert(pw);
            }
          }
        }
      }
      events.push_back(AgentEventLocked(id));
      PublishStatusLocked(changed, events);
    }
  }
  Publish(events, {});
}

std::string Registry::PickAddressLocked(const pwire::v1::AgentEndpoint& e, int family) const {
  if (!e.local_address().empty()) return e.local_address();
  const Agent* a = FindAgent(IdOf(e.agent()));
  if (a == nullptr) return "";
  for (const std::string& addr : a->underlay_addresses()) {
    if ((family == 6) == IsV6(addr)) return addr;
  }
  return "";
}

pwire::v1::DesiredState Registry::BuildDesiredState(const std::string& agent_id) const {
  pwire::v1::DesiredState ds;
  absl::MutexLock lock(&mu_);
  auto pws = agent_pws_.find(agent_id);
  if (pws == agent_pws_.end()) return ds;
  const std::string agent_name = MakeName(kAgents, agent_id);
  for (const std::string& pw_id : pws->second) {
    const auto& pw = pseudowires_.at(pw_id);
    const auto& spec = pw.spec();
    PseudowireClass params;
    if (!spec.pseudowire_class().empty()) {
      if (const PseudowireClass* c = FindClass(IdOf(spec.pseudowire_class()))) params = *c;
    }
    params = ResolveClassDefaults(params);
    for (int i = 0; i < 2; ++i) {
      const auto& me = spec.endpoints(i);
      if (!me.has_agent() || me.agent().agent() != agent_name) continue;
      const auto& other = spec.endpoints(1 - i);
      // Address family: the class's, else the one a given address implies, else IPv4 when
      // both hosts have it.
      int family = params.address_family() == PseudowireClass::IPV6 ? 6 : 4;
      if (params.address_family() == PseudowireClass::ADDRESS_FAMILY_UNSPECIFIED) {
        if (other.has_external()) {
          family = IsV6(other.external().address()) ? 6 : 4;
        } else if (!me.agent().local_address().empty()) {
          family = IsV6(me.agent().local_address()) ? 6 : 4;
        } else if (!other.agent().local_address().empty()) {
          family = IsV6(other.agent().local_address()) ? 6 : 4;
        } else {
          bool me4 = !PickAddressLocked(me.agent(), 4).empty();
          bool other4 = !PickAddressLocked(other.agent(), 4).empty();
          bool other6 = !PickAddressLocked(other.agent(), 6).empty();
          bool me6 = !PickAddressLocked(me.agent(), 6).empty();
          family = (me4 && (other4 || !other6)) || !me6 ? 4 : 6;
        }
      }
      PseudowireAssignment* a = ds.add_pseudowires();
      a->set_name(pw.name());
      a->set_generation(pw.generation());
      a->set_endpoint_index(i);
      a->set_type(spec.type());
      a->set_mode(spec.mode());
      *a->mutable_circuit() = me.agent().circuit();
      if (a->circuit().pw_interface_name().empty()) {
        a->mutable_circuit()->set_pw_interface_name(DefaultPwInterface(pw_id));
      }
      if (a->circuit().mtu() == 0 && params.mtu() != 0) a->mutable_circuit()->set_mtu(params.mtu());
      a->set_local_address(PickAddressLocked(me.agent(), family));
      auto* peer = a->mutable_peer();
      peer->set_udp_port(params.udp_port());
      if (other.has_external()) {
        peer->set_address(other.external().address());
        peer->set_hostname(other.external().hostname());
        peer->set_router_id(other.external().router_id());
        peer->set_external(true);
      } else {
        peer->set_address(PickAddressLocked(other.agent(), family));
        peer->set_agent(other.agent().agent());
        if (const Agent* pa = FindAgent(IdOf(other.agent().agent()))) {
          peer->set_hostname(pa->hostname());
          peer->set_router_id(pa->router_id());
        }
      }
      a->set_role(pw.allocation().initiator() == static_cast<uint32_t>(i) ? pwire::v1::INITIATOR
                                                                          : pwire::v1::RESPONDER);
      a->set_remote_end_id(pw.allocation().remote_end_id());
      a->set_shared_secret(other.has_external() && !other.external().shared_secret().empty()
                               ? other.external().shared_secret()
                               : params.control_secret());
      if (pw.allocation().endpoints_size() == 2) {
        const auto& mine = pw.allocation().endpoints(i);
        const auto& theirs = pw.allocation().endpoints(1 - i);
        a->set_local_session_id(mine.session_id());
        a->set_remote_session_id(theirs.session_id());
        a->set_local_cookie(mine.cookie());
        a->set_remote_cookie(theirs.cookie());
        a->set_local_control_connection_id(mine.control_connection_id());
        a->set_remote_control_connection_id(theirs.control_connection_id());
      }
      a->set_disabled(spec.disabled());
      a->set_description(spec.description());
      *a->mutable_params() = params;
    }
  }
  return ds;
}

}  // namespace pwire::server
