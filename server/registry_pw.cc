// Registry: pseudowires (standard methods and Apply).
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "server/names.h"
#include "server/paging.h"
#include "server/registry.h"

namespace pwire::server {

using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using pwire::v1::Pseudowire;
using pwire::v1::PseudowireStatus;
using pwire::v1::ResourceChange;
using pwire::v1::WatchEvent;

namespace {

constexpr char kRedacted[] = "******";

// Top-level fields of `a` and `b` (same type) that differ, as "prefix<field>".
std::vector<std::string> ChangedFields(const google::protobuf::Message& a,
                                       const google::protobuf::Message& b,
                                       const std::string& prefix) {
  std::vector<std::string> out;
  const auto* d = a.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    MessageDifferencer diff;
    std::vector<const google::protobuf::FieldDescriptor*> only = {d->field(i)};
    if (!diff.CompareWithFields(a, b, only, only)) out.push_back(prefix + d->field(i)->name());
  }
  return out;
}

absl::Status CheckMask(const google::protobuf::FieldMask& mask) {
  for (const std::string& p : mask.paths()) {
    if (p == "*" || p == "spec" || p.rfind("spec.", 0) == 0) continue;
    return absl::InvalidArgumentError(absl::StrCat("update_mask: path '", p,
                                                   "' is not settable; use paths under spec, e.g. "
                                                   "spec.description"));
  }
  if (!FieldMaskUtil::IsValidFieldMask<Pseudowire>(mask)) {
    for (const std::string& p : mask.paths()) {
      if (p == "*") continue;
      if (!FieldMaskUtil::IsValidPath<Pseudowire>(p)) {
        return absl::InvalidArgumentError(
            absl::StrCat("update_mask: path '", p, "' names no field of Pseudowire"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

Pseudowire Registry::ViewLocked(const Pseudowire& pw) const {
  Pseudowire v = pw;
  for (auto& e : *v.mutable_spec()->mutable_endpoints()) {
    if (e.has_external() && !e.external().shared_secret().empty()) {
      e.mutable_external()->set_shared_secret(kRedacted);
    }
  }
  PseudowireStatus* st = v.mutable_status();
  auto it = status_.find(IdOf(pw.name()));
  for (int i = 0; i < pw.spec().endpoints_size(); ++i) {
    auto* es = st->add_endpoints();
    if (it != status_.end() && i < 2 && it->second[i]) *es = *it->second[i];
    if (pw.spec().endpoints(i).has_agent()) es->set_agent(pw.spec().endpoints(i).agent().agent());
  }
  st->set_state(StateLocked(pw));
  return v;
}

PseudowireStatus::State Registry::StateLocked(const Pseudowire& pw) const {
  if (pw.spec().disabled()) return PseudowireStatus::DISABLED;
  auto it = status_.find(IdOf(pw.name()));
  bool all_up = true, any_failed = false, any_fault = false;
  for (int i = 0; i < pw.spec().endpoints_size() && i < 2; ++i) {
    if (!pw.spec().endpoints(i).has_agent()) continue;
    if (it == status_.end() || !it->second[i]) return PseudowireStatus::PENDING;
    const auto& es = *it->second[i];
    if (es.stale()) return PseudowireStatus::STALE;
    if (es.observed_generation() < pw.generation()) return PseudowireStatus::PENDING;
    bool up = es.session_state() == pwire::v1::SESSION_ESTABLISHED ||
              es.session_state() == pwire::v1::SESSION_STATIC;
    all_up = all_up && up;
    any_failed = any_failed || es.session_state() == pwire::v1::SESSION_FAILED;
    any_fault = any_fault || (es.has_local_circuit() && !es.local_circuit().active()) ||
                (es.has_remote_circuit() && !es.remote_circuit().active());
  }
  if (all_up) return any_fault ? PseudowireStatus::DEGRADED : PseudowireStatus::UP;
  return PseudowireStatus::DOWN;
}

absl::StatusOr<Pseudowire> Registry::GetPseudowire(const std::string& name) const {
  auto id = ParseId(name, kPseudowires, "name");
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&mu_);
  auto it = pseudowires_.find(*id);
  if (it == pseudowires_.end()) {
    return absl::NotFoundError(absl::StrCat("pseudowires/", *id, " does not exist"));
  }
  return ViewLocked(it->second);
}

absl::StatusOr<pwire::v1::ListPseudowiresResponse> Registry::ListPseudowires(
    const pwire::v1::ListPseudowiresRequest& req) const {
  auto page = Pager::Begin(req.page_size(), req.page_token());
  if (!page.ok()) return page.status();
  std::string agent;
  if (!req.agent().empty()) {
    auto id = ParseId(req.agent(), kAgents, "agent");
    if (!id.ok()) return id.status();
    agent = *id;
  }
  pwire::v1::ListPseudowiresResponse resp;
  absl::MutexLock lock(&mu_);
  const std::set<std::string>* on_agent = nullptr;
  static const std::set<std::string> kNone;
  if (!agent.empty()) {
    auto it = agent_pws_.find(agent);
    on_agent = it == agent_pws_.end() ? &kNone : &it->second;
  }
  for (const auto& [id, pw] : pseudowires_) {
    if (on_agent != nullptr && !on_agent->contains(id)) continue;
    if (!MatchesLabels(req.labels(), pw.spec().labels())) continue;
    if (req.state() != PseudowireStatus::STATE_UNSPECIFIED && StateLocked(pw) != req.state()) {
      continue;
    }
    if (page->Take(id)) *resp.add_pseudowires() = ViewLocked(pw);
  }
  resp.set_total_size(page->total_size());
  resp.set_next_page_token(page->next_page_token());
  return resp;
}

absl::StatusOr<ResourceChange> Registry::UpsertPseudowireLocked(
    Txn& txn, Pseudowire in, bool must_create, bool must_exist,
    const google::protobuf::FieldMask* mask) {
  auto id = ParseId(in.name(), kPseudowires, "pseudowire.name");
  if (!id.ok()) return id.status();
  std::string name = MakeName(kPseudowires, *id);
  auto it = pseudowires_.find(*id);
  const Pseudowire* old = it == pseudowires_.end() ? nullptr : &it->second;
  if (must_create && old != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat(name, " already exists; update it, or apply to upsert"));
  }
  if (must_exist && old == nullptr) {
    return absl::NotFoundError(absl::StrCat(name, " does not exist; create it first"));
  }
  if (old != nullptr && !in.etag().empty() && in.etag() != old->etag()) {
    return absl::AbortedError(absl::StrCat("pseudowire.etag: ", name, " changed since etag ",
                                           in.etag(), " (now ", old->etag(),
                                           "); get it again and retry"));
  }
  Pseudowire next = old != nullptr ? *old : Pseudowire();
  next.set_name(name);
  bool partial = mask != nullptr && !mask->paths().empty() &&
                 !(mask->paths_size() == 1 && (mask->paths(0) == "*" || mask->paths(0) == "spec"));
  if (partial) {
    if (auto s = CheckMask(*mask); !s.ok()) return s;
    FieldMaskUtil::MergeOptions opts;
    opts.set_replace_message_fields(true);
    opts.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(in, *mask, opts, &next);
  } else {
    *next.mutable_spec() = in.spec();
  }
  // Secrets come back redacted from Get/List: "******" keeps the stored one.
  for (int i = 0; i < next.spec().endpoints_size(); ++i) {
    auto* e = next.mutable_spec()->mutable_endpoints(i);
    if (!e->has_external() || e->external().shared_secret() != kRedacted) continue;
    bool kept = old != nullptr && i < old->spec().endpoints_size() &&
                old->spec().endpoints(i).has_external();
    e->mutable_external()->set_shared_secret(
        kept ? old->spec().endpoints(i).external().shared_secret() : "");
  }
  if (auto s = NormalizePseudowireSpec(*next.mutable_spec()); !s.ok()) return s;
  if (auto s = ValidatePseudowireSpec(next.spec(), *this); !s.ok()) return s;
  ResourceChange change;
  change.set_name(name);
  if (old != nullptr && MessageDifferencer::Equals(old->spec(), next.spec())) {
    change.set_action(ResourceChange::UNCHANGED);
    change.set_generation(old->generation());
    return change;
  }
  if (auto s = CheckConflictsLocked(next); !s.ok()) return s;
  uint32_t cookie_length = 0;
  if (!next.spec().pseudowire_class().empty()) {
    cookie_length = FindClass(IdOf(next.spec().pseudowire_class()))->cookie_length();
  }
  auto alloc =
      Allocate(next, cookie_length, old ? &old->allocation() : nullptr, static_index_, secret_);
  if (!alloc.ok()) return alloc.status();
  *next.mutable_allocation() = *alloc;
  auto now = TimeUtil::GetCurrentTime();
  if (old == nullptr) {
    *next.mutable_create_time() = now;
    change.set_action(ResourceChange::CREATED);
  } else {
    change.set_action(ResourceChange::UPDATED);
    for (auto& f : ChangedFields(old->spec(), next.spec(), "spec.")) change.add_changed_fields(f);
  }
  next.set_generation(next.generation() + 1);
  *next.mutable_update_time() = now;
  next.set_etag(NewEtag(next.generation()));
  change.set_generation(next.generation());
  PutPseudowireLocked(txn, std::move(next), old ? WatchEvent::MODIFIED : WatchEvent::ADDED);
  return change;
}

void Registry::CreatePseudowire(const pwire::v1::CreatePseudowireRequest& req,
                                Reply<Pseudowire> reply) {
  Pseudowire in = req.pseudowire();
  if (!req.pseudowire_id().empty()) {
    if (!in.name().empty() && IdOf(in.name()) != req.pseudowire_id()) {
      return reply(InvalidField("pseudowire_id", "differs from pseudowire.name; give one"));
    }
    in.set_name(MakeName(kPseudowires, req.pseudowire_id()));
  } else if (in.name().empty()) {
    return reply(InvalidField("pseudowire_id", "required: the id of the new pseudowire"));
  }
  in.clear_etag();
  absl::MutexLock lock(&mu_);
  Txn txn;
  BeginLocked(txn);
  auto change = UpsertPseudowireLocked(txn, std::move(in), true, false, nullptr);
  if (!change.ok()) {
    RollbackLocked(txn);
    return reply(change.status());
  }
  Pseudowire view = ViewLocked(pseudowires_.at(IdOf(change->name())));
  if (req.validate_only()) {
    RollbackLocked(txn);
    return reply(view);
  }
  SubmitLocked(std::move(txn), [reply, view] { reply(view); });
}

void Registry::UpdatePseudowire(const pwire::v1::UpdatePseudowireRequest& req,
                                Reply<Pseudowire> reply) {
  absl::MutexLock lock(&mu_);
  Txn txn;
  BeginLocked(txn);
  auto change = UpsertPseudowireLocked(txn, req.pseudowire(), false, true, &req.update_mask());
  if (!change.ok()) {
    RollbackLocked(txn);
    return reply(change.status());
  }
  Pseudowire view = ViewLocked(pseudowires_.at(IdOf(change->name())));
  if (req.validate_only() || change->action() == ResourceChange::UNCHANGED) {
    RollbackLocked(txn);
    return reply(view);
  }
  SubmitLocked(std::move(txn), [reply, view] { reply(view); });
}

void Registry::DeletePseudowire(const pwire::v1::DeletePseudowireRequest& req, Reply<bool> reply) {
  auto id = ParseId(req.name(), kPseudowires, "name");
  if (!id.ok()) return reply(id.status());
  absl::MutexLock lock(&mu_);
  auto it = pseudowires_.find(*id);
  if (it == pseudowires_.end()) {
    if (req.allow_missing()) return reply(false);
    return reply(absl::NotFoundError(absl::StrCat("pseudowires/", *id, " does not exist")));
  }
  if (!req.etag().empty() && req.etag() != it->second.etag()) {
    return reply(absl::AbortedError(absl::StrCat("etag: pseudowires/", *id, " changed since etag ",
                                                 req.etag(), " (now ", it->second.etag(),
                                                 "); get it again")));
  }
  if (req.validate_only()) return reply(true);
  Txn txn;
  BeginLocked(txn);
  ErasePseudowireLocked(txn, *id);
  SubmitLocked(std::move(txn), [reply] { reply(true); });
}

void Registry::Apply(const pwire::v1::ApplyRequest& req, Reply<pwire::v1::ApplyResponse> reply) {
  pwire::v1::ApplyResponse resp;
  resp.set_validate_only(req.validate_only());
  absl::MutexLock lock(&mu_);
  Txn txn;
  BeginLocked(txn);
  auto fail = [&](int i, const char* what, const absl::Status& s) {
    RollbackLocked(txn);
    reply(absl::Status(s.code(), absl::StrCat(what, "[", i, "].", s.message())));
  };
  for (int i = 0; i < req.classes_size(); ++i) {
    auto change = UpsertClassLocked(txn, req.classes(i), false, false, nullptr);
    if (!change.ok()) return fail(i, "classes", change.status());
    *resp.add_changes() = *change;
  }
  std::set<std::string> seen;
  for (int i = 0; i < req.pseudowires_size(); ++i) {
    auto change = UpsertPseudowireLocked(txn, req.pseudowires(i), false, false, nullptr);
    if (!change.ok()) return fail(i, "pseudowires", change.status());
    if (!seen.insert(change->name()).second) {
      return fail(i, "pseudowires",
                  InvalidField("name", absl::StrCat(change->name(), " appears twice")));
    }
    *resp.add_changes() = *change;
  }
  bool changed = false;
  for (const auto& c : resp.changes()) changed = changed || c.action() != ResourceChange::UNCHANGED;
  if (req.validate_only() || !changed) {
    RollbackLocked(txn);
    return reply(resp);
  }
  SubmitLocked(std::move(txn), [reply, resp] { reply(resp); });
}

}  // namespace pwire::server
