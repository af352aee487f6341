// Registry: pseudowire classes.
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
using pwire::v1::PseudowireClass;
using pwire::v1::ResourceChange;
using pwire::v1::WatchEvent;

namespace {

constexpr char kRedacted[] = "******";
const std::set<std::string> kOutputOnly = {"name", "etag", "generation", "create_time",
                                           "update_time"};

PseudowireClass Redacted(PseudowireClass c) {
  if (!c.control_secret().empty()) c.set_control_secret(kRedacted);
  return c;
}

// The settable part of a class, for comparison.
PseudowireClass Settable(PseudowireClass c) {
  c.clear_name();
  c.clear_etag();
  c.clear_generation();
  c.clear_create_time();
  c.clear_update_time();
  return c;
}

}  // namespace

absl::StatusOr<PseudowireClass> Registry::GetClass(const std::string& name) const {
  auto id = ParseId(name, kClasses, "name");
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&mu_);
  const PseudowireClass* c = FindClass(*id);
  if (c == nullptr) return absl::NotFoundError(absl::StrCat("classes/", *id, " does not exist"));
  return Redacted(*c);
}

absl::StatusOr<pwire::v1::ListPseudowireClassesResponse> Registry::ListClasses(
    const pwire::v1::ListPseudowireClassesRequest& req) const {
  auto page = Pager::Begin(req.page_size(), req.page_token());
  if (!page.ok()) return page.status();
  pwire::v1::ListPseudowireClassesResponse resp;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, c] : classes_) {
    if (!MatchesLabels(req.labels(), c.labels())) continue;
    if (page->Take(id)) *resp.add_classes() = Redacted(c);
  }
  resp.set_total_size(page->total_size());
  resp.set_next_page_token(page->next_page_token());
  return resp;
}

absl::StatusOr<ResourceChange> Registry::UpsertClassLocked(
    Txn& txn, PseudowireClass in, bool must_create, bool must_exist,
    const google::protobuf::FieldMask* mask) {
  auto id = ParseId(in.name(), kClasses, "name");
  if (!id.ok()) return id.status();
  std::string name = MakeName(kClasses, *id);
  const PseudowireClass* old = FindClass(*id);
  if (must_create && old != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(name, " already exists; update it"));
  }
  if (must_exist && old == nullptr) {
    return absl::NotFoundError(absl::StrCat(name, " does not exist; create it first"));
  }
  if (old != nullptr && !in.etag().empty() && in.etag() != old->etag()) {
    return absl::AbortedError(absl::StrCat("etag: ", name, " changed since etag ", in.etag(),
                                           " (now ", old->etag(), "); get it again and retry"));
  }
  PseudowireClass next = old != nullptr ? *old : PseudowireClass();
  bool partial = mask != nullptr && !mask->paths().empty() &&
                 !(mask->paths_size() == 1 && mask->paths(0) == "*");
  if (partial) {
    for (const std::string& p : mask->paths()) {
      if (kOutputOnly.contains(p) || !FieldMaskUtil::IsValidPath<PseudowireClass>(p)) {
        return InvalidField("update_mask",
                            absl::StrCat("path '", p, "' is not a settable field of a class"));
      }
    }
    FieldMaskUtil::MergeOptions opts;
    opts.set_replace_message_fields(true);
    opts.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(in, *mask, opts, &next);
  } else {
    PseudowireClass keep = next;
    next = Settable(in);
    next.set_etag(keep.etag());
    next.set_generation(keep.generation());
    *next.mutable_create_time() = keep.create_time();
  }
  next.set_name(name);
  if (next.control_secret() == kRedacted) {
    next.set_control_secret(old != nullptr ? old->control_secret() : "");
  }
  if (auto s = ValidateClass(next); !s.ok()) return s;
  ResourceChange change;
  change.set_name(name);
  if (old != nullptr && MessageDifferencer::Equals(Settable(*old), Settable(next))) {
    change.set_action(ResourceChange::UNCHANGED);
    change.set_generation(old->generation());
    return change;
  }
  auto now = TimeUtil::GetCurrentTime();
  if (old == nullptr) {
    *next.mutable_create_time() = now;
    change.set_action(ResourceChange::CREATED);
  } else {
    change.set_action(ResourceChange::UPDATED);
    PseudowireClass a = Settable(*old), b = Settable(next);
    const auto* d = a.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      std::vector<const google::protobuf::FieldDescriptor*> only = {d->field(i)};
      MessageDifferencer diff;
      if (!diff.CompareWithFields(a, b, only, only)) change.add_changed_fields(d->field(i)->name());
    }
  }
  next.set_generation(next.generation() + 1);
  *next.mutable_update_time() = now;
  next.set_etag(NewEtag(next.generation()));
  change.set_generation(next.generation());
  bool cookie_changed = old != nullptr && old->cookie_length() != next.cookie_length();
  PutClassLocked(txn, std::move(next), old ? WatchEvent::MODIFIED : WatchEvent::ADDED);
  if (cookie_changed) {
    if (auto s = ReallocateClassUsersLocked(txn, *id); !s.ok()) return s;
  }
  return change;
}

absl::Status Registry::ReallocateClassUsersLocked(Txn& txn, const std::string& class_id) {
  auto users = class_users_.find(class_id);
  if (users == class_users_.end()) return absl::OkStatus();
  std::vector<std::string> ids(users->second.begin(), users->second.end());
  uint32_t cookie_length = FindClass(class_id)->cookie_length();
  for (const std::string& id : ids) {
    pwire::v1::Pseudowire pw = pseudowires_.at(id);
    if (pw.spec().mode() != pwire::v1::PseudowireSpec::STATIC) continue;
    if (auto s = ValidatePseudowireSpec(pw.spec(), *this); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("cookie_length: pseudowires/", id,
                                                        " uses this class and would become "
                                                        "invalid: ",
                                                        s.message()));
    }
    auto alloc = Allocate(pw, cookie_length, &pw.allocation(), static_index_, secret_);
    if (!alloc.ok()) return alloc.status();
    *pw.mutable_allocation() = *alloc;
    pw.set_generation(pw.generation() + 1);
    pw.set_etag(NewEtag(pw.generation()));
    PutPseudowireLocked(txn, std::move(pw), WatchEvent::MODIFIED);
  }
  return absl::OkStatus();
}

void Registry::CreateClass(const pwire::v1::CreatePseudowireClassRequest& req,
                           Reply<PseudowireClass> reply) {
  PseudowireClass in = req.pseudowire_class();
  if (!req.class_id().empty()) {
    if (!in.name().empty() && in.name().substr(in.name().find('/') + 1) != req.class_id()) {
      return reply(InvalidField("class_id", "differs from pseudowire_class.name; give one"));
    }
    in.set_name(MakeName(kClasses, req.class_id()));
  } else if (in.name().empty()) {
    return reply(InvalidField("class_id", "required: the id of the new class"));
  }
  in.clear_etag();
  absl::MutexLock lock(&mu_);
  Txn txn;
  BeginLocked(txn);
  auto change = UpsertClassLocked(txn, std::move(in), true, false, nullptr);
  if (!change.ok()) {
    RollbackLocked(txn);
    return reply(change.status());
  }
  PseudowireClass view = Redacted(*FindClass(change->name().substr(kClasses.size() + 1)));
  if (req.validate_only()) {
    RollbackLocked(txn);
    return reply(view);
  }
  SubmitLocked(std::move(txn), [reply, view] { reply(view); });
}

void Registry::UpdateClass(const pwire::v1::UpdatePseudowireClassRequest& req,
                           Reply<PseudowireClass> reply) {
  absl::MutexLock lock(&mu_);
  Txn txn;
  BeginLocked(txn);
  auto change = UpsertClassLocked(txn, req.pseudowire_class(), false, true, &req.update_mask());
  if (!change.ok()) {
    RollbackLocked(txn);
    return reply(change.status());
  }
  PseudowireClass view = Redacted(*FindClass(change->name().substr(kClasses.size() + 1)));
  if (req.validate_only() || change->action() == ResourceChange::UNCHANGED) {
    RollbackLocked(txn);
    return reply(view);
  }
  SubmitLocked(std::move(txn), [reply, view] { reply(view); });
}

void Registry::DeleteClass(const pwire::v1::DeletePseudowireClassRequest& req, Reply<bool> reply) {
  auto id = ParseId(req.name(), kClasses, "name");
  if (!id.ok()) return reply(id.status());
  absl::MutexLock lock(&mu_);
  const PseudowireClass* c = FindClass(*id);
  if (c == nullptr) {
    if (req.allow_missing()) return reply(false);
    return reply(absl::NotFoundError(absl::StrCat("classes/", *id, " does not exist")));
  }
  if (!req.etag().empty() && req.etag() != c->etag()) {
    return reply(absl::AbortedError(absl::StrCat("etag: classes/", *id, " changed since etag ",
                                                 req.etag(), " (now ", c->etag(), ")")));
  }
  auto users = class_users_.find(*id);
  if (users != class_users_.end() && !users->second.empty()) {
    return reply(absl::FailedPreconditionError(absl::StrCat(
        "classes/", *id, " is used by ", users->second.size(), " pseudowire(s), e.g. pseudowires/",
        *users->second.begin(), "; move or delete them first")));
  }
  if (req.validate_only()) return reply(true);
  Txn txn;
  BeginLocked(txn);
  EraseClassLocked(txn, *id);
  SubmitLocked(std::move(txn), [reply] { reply(true); });
}

}  // namespace pwire::server
