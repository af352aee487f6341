#include "server/registry.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "server/names.h"
#include "spdlog/spdlog.h"

namespace pwire::server {

using google::protobuf::util::TimeUtil;
using pwire::v1::Agent;
using pwire::v1::Pseudowire;
using pwire::v1::PseudowireClass;
using pwire::v1::WatchEvent;

namespace {

constexpr char kMetaEpoch[] = "epoch";
constexpr char kMetaSecret[] = "secret";
constexpr char kMetaRevision[] = "revision";

std::string IdFromName(const std::string& name) { return name.substr(name.find('/') + 1); }

}  // namespace

Registry::Registry(Store* store) : store_(store), start_time_(TimeUtil::GetCurrentTime()) {}

Registry::~Registry() = default;

absl::Status Registry::Load() {
  auto records = store_->LoadAll();
  if (!records.ok()) return records.status();
  absl::MutexLock lock(&mu_);
  for (const Record& r : *records) {
    bool ok = true;
    switch (r.kind) {
      case RecordKind::kClass:
        ok = classes_[r.key].ParseFromString(r.value);
        break;
      case RecordKind::kPseudowire:
        ok = pseudowires_[r.key].ParseFromString(r.value);
        break;
      case RecordKind::kAgent:
        ok = agents_[r.key].ParseFromString(r.value);
        break;
      case RecordKind::kMeta:
        if (r.key == kMetaEpoch) ok = absl::SimpleAtoi(r.value, &epoch_);
        if (r.key == kMetaRevision) ok = absl::SimpleAtoi(r.value, &revision_);
        if (r.key == kMetaSecret) secret_ = r.value;
        break;
    }
    if (!ok) {
      return absl::DataLossError(
          absl::StrCat("store: record ", static_cast<int>(r.kind), "/", r.key, " does not parse"));
    }
  }
  for (const auto& [id, pw] : pseudowires_) IndexPseudowireLocked(pw, true);
  for (const auto& [id, a] : agents_) runtime_[id].state = Agent::DISCONNECTED;
  ++epoch_;
  std::vector<Mutation> meta = {{RecordKind::kMeta, kMetaEpoch, std::to_string(epoch_)}};
  if (secret_.empty()) {
    unsigned char buf[32];
    if (RAND_bytes(buf, sizeof(buf)) != 1) return absl::InternalError("no randomness");
    secret_.assign(reinterpret_cast<const char*>(buf), sizeof(buf));
    meta.push_back({RecordKind::kMeta, kMetaSecret, secret_});
  }
  spdlog::info("registry: loaded {} classes, {} pseudowires, {} agents from {} (epoch {})",
               classes_.size(), pseudowires_.size(), agents_.size(), store_->Describe(), epoch_);
  return store_->CommitSync(std::move(meta));
}

void Registry::AddListener(RegistryListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.push_back(listener);
}

void Registry::RemoveListener(RegistryListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  std::erase(listeners_, listener);
}

void Registry::Publish(const std::vector<WatchEvent>& events, const std::set<std::string>& agents) {
  absl::MutexLock lock(&listeners_mu_);
  for (RegistryListener* l : listeners_) {
    if (!events.empty()) l->OnEvents(events);
    if (!agents.empty()) l->OnAgentsAffected(agents);
  }
}

int64_t Registry::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

uint64_t Registry::NextDesiredVersion() {
  absl::MutexLock lock(&mu_);
  return (epoch_ << 32) + ++version_counter_;
}

const PseudowireClass* Registry::FindClass(absl::string_view id) const {
  auto it = classes_.find(std::string(id));
  return it == classes_.end() ? nullptr : &it->second;
}

const Agent* Registry::FindAgent(absl::string_view id) const {
  auto it = agents_.find(std::string(id));
  return it == agents_.end() ? nullptr : &it->second;
}

std::string Registry::NewEtag(int64_t generation) const {
  return absl::StrFormat("%d-%x", generation, revision_);
}

// --- Transactions ---------------------------------------------------------------------------

void Registry::BeginLocked(Txn& txn) {
  txn.revision_before = revision_;
  ++revision_;
}

void Registry::RollbackLocked(Txn& txn) {
  for (auto it = txn.undo.rbegin(); it != txn.undo.rend(); ++it) {
    switch (it->kind) {
      case RecordKind::kPseudowire: {
        auto cur = pseudowires_.find(it->id);
        if (cur != pseudowires_.end()) {
          IndexPseudowireLocked(cur->second, false);
          pseudowires_.erase(cur);
        }
        if (it->old) {
          Pseudowire& pw = pseudowires_[it->id];
          pw.ParseFromString(*it->old);
          IndexPseudowireLocked(pw, true);
        }
        break;
      }
      case RecordKind::kClass:
        classes_.erase(it->id);
        if (it->old) classes_[it->id].ParseFromString(*it->old);
        break;
      case RecordKind::kAgent:
        agents_.erase(it->id);
        if (it->old) agents_[it->id].ParseFromString(*it->old);
        break;
      case RecordKind::kMeta:
        break;
    }
  }
  revision_ = txn.revision_before;
  txn = Txn{};
}

void Registry::SubmitLocked(Txn txn, const std::function<void()>& then) {
  txn.mutations.push_back({RecordKind::kMeta, kMetaRevision, std::to_string(revision_)});
  auto events = std::make_shared<std::vector<WatchEvent>>(std::move(txn.events));
  auto agents = std::make_shared<std::set<std::string>>(std::move(txn.agents));
  store_->Commit(std::move(txn.mutations), [this, events, agents, then](const absl::Status& s) {
    if (!s.ok()) {
      // Memory already holds what the disk refused: continuing would serve state that a
      // restart loses. Crash loudly; the restart reloads what is durable.
      spdlog::critical("store write failed, exiting: {}", std::string(s.message()));
      std::abort();
    }
    // Publish before answering: once the caller has its answer it may destroy the registry
    // (a test's teardown, a shutdown), so nothing may touch `this` after then().
    Publish(*events, *agents);
    if (then) then();
  });
}

namespace {

WatchEvent MakeEvent(WatchEvent::Type type, int64_t revision) {
  WatchEvent ev;
  ev.set_type(type);
  ev.set_revision(revision);
  *ev.mutable_time() = TimeUtil::GetCurrentTime();
  return ev;
}

}  // namespace

void Registry::PutPseudowireLocked(Txn& txn, Pseudowire pw, WatchEvent::Type type) {
  std::string id = IdFromName(pw.name());
  auto it = pseudowires_.find(id);
  Undo undo{RecordKind::kPseudowire, id, std::nullopt};
  if (it != pseudowires_.end()) {
    undo.old = it->second.SerializeAsString();
    AffectedByPseudowireLocked(it->second, txn.agents);
    IndexPseudowireLocked(it->second, false);
  }
  txn.undo.push_back(std::move(undo));
  pw.clear_status();
  txn.mutations.push_back({RecordKind::kPseudowire, id, pw.SerializeAsString()});
  Pseudowire& stored = pseudowires_[id];
  stored = std::move(pw);
  IndexPseudowireLocked(stored, true);
  AffectedByPseudowireLocked(stored, txn.agents);
  WatchEvent ev = MakeEvent(type, revision_);
  ev.set_kind(pwire::v1::PSEUDOWIRE);
  ev.set_name(stored.name());
  *ev.mutable_pseudowire() = ViewLocked(stored);
  txn.events.push_back(std::move(ev));
}

void Registry::ErasePseudowireLocked(Txn& txn, const std::string& id) {
  auto it = pseudowires_.find(id);
  if (it == pseudowires_.end()) return;
  WatchEvent ev = MakeEvent(WatchEvent::DELETED, revision_);
  ev.set_kind(pwire::v1::PSEUDOWIRE);
  ev.set_name(it->second.name());
  *ev.mutable_pseudowire() = ViewLocked(it->second);
  txn.events.push_back(std::move(ev));
  txn.undo.push_back({RecordKind::kPseudowire, id, it->second.SerializeAsString()});
  txn.mutations.push_back({RecordKind::kPseudowire, id, std::nullopt});
  AffectedByPseudowireLocked(it->second, txn.agents);
  IndexPseudowireLocked(it->second, false);
  pseudowires_.erase(it);
  status_.erase(id);
}

void Registry::PutClassLocked(Txn& txn, PseudowireClass c, WatchEvent::Type type) {
  std::string id = IdFromName(c.name());
  auto it = classes_.find(id);
  Undo undo{RecordKind::kClass, id, std::nullopt};
  if (it != classes_.end()) undo.old = it->second.SerializeAsString();
  txn.undo.push_back(std::move(undo));
  txn.mutations.push_back({RecordKind::kClass, id, c.SerializeAsString()});
  auto users = class_users_.find(id);
  if (users != class_users_.end()) {
    for (const std::string& pw : users->second) {
      AffectedByPseudowireLocked(pseudowires_.at(pw), txn.agents);
    }
  }
  WatchEvent ev = MakeEvent(type, revision_);
  ev.set_kind(pwire::v1::PSEUDOWIRE_CLASS);
  ev.set_name(c.name());
  *ev.mutable_pseudowire_class() = c;
  if (!c.control_secret().empty()) ev.mutable_pseudowire_class()->set_control_secret("******");
  txn.events.push_back(std::move(ev));
  classes_[id] = std::move(c);
}

void Registry::EraseClassLocked(Txn& txn, const std::string& id) {
  auto it = classes_.find(id);
  if (it == classes_.end()) return;
  WatchEvent ev = MakeEvent(WatchEvent::DELETED, revision_);
  ev.set_kind(pwire::v1::PSEUDOWIRE_CLASS);
  ev.set_name(it->second.name());
  *ev.mutable_pseudowire_class() = it->second;
  ev.mutable_pseudowire_class()->clear_control_secret();
  txn.events.push_back(std::move(ev));
  txn.undo.push_back({RecordKind::kClass, id, it->second.SerializeAsString()});
  txn.mutations.push_back({RecordKind::kClass, id, std::nullopt});
  classes_.erase(it);
}

void Registry::PutAgentLocked(Txn& txn, Agent a, WatchEvent::Type type) {
  std::string id = IdFromName(a.name());
  auto it = agents_.find(id);
  Undo undo{RecordKind::kAgent, id, std::nullopt};
  if (it != agents_.end()) undo.old = it->second.SerializeAsString();
  txn.undo.push_back(std::move(undo));
  txn.mutations.push_back({RecordKind::kAgent, id, a.SerializeAsString()});
  agents_[id] = std::move(a);
  WatchEvent ev = AgentEventLocked(id);
  ev.set_type(type);
  txn.events.push_back(std::move(ev));
}

void Registry::EraseAgentLocked(Txn& txn, const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  WatchEvent ev = AgentEventLocked(id);
  ev.set_type(WatchEvent::DELETED);
  txn.events.push_back(std::move(ev));
  txn.undo.push_back({RecordKind::kAgent, id, it->second.SerializeAsString()});
  txn.mutations.push_back({RecordKind::kAgent, id, std::nullopt});
  agents_.erase(it);
  runtime_.erase(id);
}

// --- Indexes --------------------------------------------------------------------------------

namespace {

// Which part of an interface a circuit takes: "*" for the whole port.
std::string CircuitPart(const pwire::v1::PseudowireSpec& spec,
                        const pwire::v1::AttachmentCircuit& c) {
  using pwire::v1::PseudowireSpec;
  switch (spec.type()) {
    case PseudowireSpec::ETHERNET_VLAN:
      return absl::StrCat("vlan ", c.vlan_id());
    case PseudowireSpec::FRAME_RELAY_DLCI:
      return absl::StrCat("dlci ", c.dlci());
    case PseudowireSpec::ATM_CELL_VPC:
      return absl::StrCat("vpi ", c.vpi());
    case PseudowireSpec::ATM_AAL5_SDU:
    case PseudowireSpec::ATM_CELL_VCC:
      return absl::StrCat("vpi ", c.vpi(), " vci ", c.vci());
    default:
      return "*";
  }
}

}  // namespace

void Registry::IndexPseudowireLocked(const Pseudowire& pw, bool add) {
  std::string id = IdFromName(pw.name());
  if (add) {
    static_index_.Add(pw);
  } else {
    static_index_.Remove(pw);
  }
  const auto& spec = pw.spec();
  if (!spec.pseudowire_class().empty()) {
    std::string cid = IdFromName(spec.pseudowire_class());
    if (add) {
      class_users_[cid].insert(id);
    } else if (class_users_[cid].erase(id) && class_users_[cid].empty()) {
      class_users_.erase(cid);
    }
  }
  for (const auto& e : spec.endpoints()) {
    if (!e.has_agent()) continue;
    std::string agent = IdFromName(e.agent().agent());
    const auto& c = e.agent().circuit();
    std::string iface_key = absl::StrCat(agent, "|", c.interface());
    std::string pwif_key = absl::StrCat(agent, "|", c.pw_interface_name());
    if (add) {
      agent_pws_[agent].insert(id);
      if (!c.interface().empty()) circuits_[iface_key][CircuitPart(spec, c)] = id;
      if (!c.pw_interface_name().empty()) pw_interfaces_[pwif_key] = id;
    } else {
      if (agent_pws_[agent].erase(id) && agent_pws_[agent].empty()) agent_pws_.erase(agent);
      if (!c.interface().empty()) {
        circuits_[iface_key].erase(CircuitPart(spec, c));
        if (circuits_[iface_key].empty()) circuits_.erase(iface_key);
      }
      if (!c.pw_interface_name().empty()) pw_interfaces_.erase(pwif_key);
    }
  }
}

absl::Status Registry::CheckConflictsLocked(const Pseudowire& pw) const {
  std::string id = IdFromName(pw.name());
  const auto& spec = pw.spec();
  for (int i = 0; i < spec.endpoints_size(); ++i) {
    const auto& e = spec.endpoints(i);
    if (!e.has_agent()) continue;
    std::string agent = IdFromName(e.agent().agent());
    const auto& c = e.agent().circuit();
    std::string path = absl::StrCat("spec.endpoints[", i, "].agent.circuit");
    if (!c.interface().empty()) {
      auto it = circuits_.find(absl::StrCat(agent, "|", c.interface()));
      std::string part = CircuitPart(spec, c);
      if (it != circuits_.end()) {
        for (const auto& [other_part, other] : it->second) {
          bool overlap = other_part == part || other_part == "*" || part == "*" ||
                         other_part.rfind(part + " ", 0) == 0 ||
                         part.rfind(other_part + " ", 0) == 0;
          if (overlap && other != id) {
            return FailedField(
                path + ".interface",
                absl::StrCat("interface ", c.interface(), " (", other_part, ") on agent ", agent,
                             " is already the attachment "
                             "circuit of pseudowires/",
                             other,
                             "; one circuit carries one pseudowire: pick "
                             "another interface, VLAN or circuit ID"));
          }
        }
      }
    }
    if (!c.pw_interface_name().empty()) {
      auto it = pw_interfaces_.find(absl::StrCat(agent, "|", c.pw_interface_name()));
      if (it != pw_interfaces_.end() && it->second != id) {
        return FailedField(path + ".pw_interface_name",
                           absl::StrCat("'", c.pw_interface_name(), "' is already used on agent ",
                                        agent, " by pseudowires/", it->second));
      }
    }
  }
  return absl::OkStatus();
}

void Registry::AffectedByPseudowireLocked(const Pseudowire& pw, std::set<std::string>& out) const {
  for (const auto& e : pw.spec().endpoints()) {
    if (e.has_agent()) out.insert(IdFromName(e.agent().agent()));
  }
}

// --- Watch snapshot and status --------------------------------------------------------------

std::vector<WatchEvent> Registry::Snapshot(const pwire::v1::WatchRequest& req,
                                           int64_t* revision) const {
  auto wants = [&req](pwire::v1::ResourceKind k) {
    if (req.kinds().empty()) return true;
    for (int x : req.kinds()) {
      if (x == k) return true;
    }
    return false;
  };
  auto labeled = [&req](const google::protobuf::Map<std::string, std::string>& have) {
    for (const auto& [k, v] : req.labels()) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) return false;
    }
    return true;
  };
  absl::MutexLock lock(&mu_);
  *revision = revision_;
  std::vector<WatchEvent> out;
  auto add = [&](pwire::v1::ResourceKind kind, const std::string& name) {
    WatchEvent& ev = out.emplace_back(MakeEvent(WatchEvent::ADDED, revision_));
    ev.set_kind(kind);
    ev.set_name(name);
    return &ev;
  };
  if (wants(pwire::v1::PSEUDOWIRE_CLASS)) {
    for (const auto& [id, c] : classes_) {
      if (!labeled(c.labels())) continue;
      auto* pc = add(pwire::v1::PSEUDOWIRE_CLASS, c.name())->mutable_pseudowire_class();
      *pc = c;
      if (!pc->control_secret().empty()) pc->set_control_secret("******");
    }
  }
  if (wants(pwire::v1::PSEUDOWIRE)) {
    for (const auto& [id, pw] : pseudowires_) {
      if (!labeled(pw.spec().labels())) continue;
      *add(pwire::v1::PSEUDOWIRE, pw.name())->mutable_pseudowire() = ViewLocked(pw);
    }
  }
  if (wants(pwire::v1::AGENT)) {
    for (const auto& [id, a] : agents_) {
      if (!labeled(a.labels())) continue;
      *add(pwire::v1::AGENT, a.name())->mutable_agent() = AgentViewLocked(a);
    }
  }
  return out;
}

pwire::v1::ServerStatus Registry::GetServerStatus() const {
  pwire::v1::ServerStatus st;
  st.set_store(store_->Describe());
  *st.mutable_start_time() = start_time_;
  absl::MutexLock lock(&mu_);
  st.set_pseudowire_count(static_cast<int32_t>(pseudowires_.size()));
  st.set_class_count(static_cast<int32_t>(classes_.size()));
  st.set_agent_count(static_cast<int32_t>(agents_.size()));
  int connected = 0;
  for (const auto& [id, rt] : runtime_) connected += rt.state == Agent::CONNECTED ? 1 : 0;
  st.set_agents_connected(connected);
  for (const auto& [id, pw] : pseudowires_) {
    (*st.mutable_pseudowires_by_state())[pwire::v1::PseudowireStatus::State_Name(
        StateLocked(pw))]++;
  }
  st.set_revision(revision_);
  return st;
}

}  // namespace pwire::server
