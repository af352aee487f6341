#include "server/watch_hub.h"

#include <deque>

#include "spdlog/spdlog.h"

namespace pwire::server {

using pwire::v1::WatchEvent;

namespace {

// A watcher this far behind is cut off (it re-watches and gets a fresh snapshot).
constexpr size_t kMaxQueued = 100000;

const google::protobuf::Map<std::string, std::string>* LabelsOf(const WatchEvent& ev) {
  switch (ev.resource_case()) {
    case WatchEvent::kPseudowire:
      return &ev.pseudowire().spec().labels();
    case WatchEvent::kPseudowireClass:
      return &ev.pseudowire_class().labels();
    case WatchEvent::kAgent:
      return &ev.agent().labels();
    default:
      return nullptr;
  }
}

}  // namespace

class WatchStream final : public grpc::ServerWriteReactor<WatchEvent> {
 public:
  WatchStream(WatchHub* hub, const pwire::v1::WatchRequest& req) : hub_(hub), req_(req) {}

  // Installs the snapshot; events that arrived before it and are in it are dropped.
  void Begin(std::vector<WatchEvent> snapshot, int64_t revision) {
    absl::MutexLock lock(&mu_);
    for (auto& ev : snapshot) {
      if (Wants(ev)) queue_.push_back(std::move(ev));
    }
    WatchEvent sync;
    sync.set_type(WatchEvent::SYNC);
    sync.set_revision(revision);
    queue_.push_back(std::move(sync));
    for (auto& ev : early_) {
      if (ev.revision() > revision || ev.status_only()) queue_.push_back(std::move(ev));
    }
    early_.clear();
    ready_ = true;
    MaybeWriteLocked();
  }

  void Push(const std::vector<WatchEvent>& events) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    for (const auto& ev : events) {
      if (!Wants(ev)) continue;
      if (!ready_) {
        early_.push_back(ev);
      } else {
        queue_.push_back(ev);
      }
    }
    if (queue_.size() + early_.size() > kMaxQueued) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "watcher fell too far behind; watch again"));
      return;
    }
    MaybeWriteLocked();
  }

  // Ends the stream with `status` unless it has ended already.
  void Close(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      if (!finished_) {
        finished_ = true;
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      }
      return;
    }
    queue_.pop_front();
    MaybeWriteLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status::CANCELLED);
    }
  }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  bool Wants(const WatchEvent& ev) const {
    if (ev.status_only() && !req_.include_status()) return false;
    if (!req_.kinds().empty() && ev.type() != WatchEvent::SYNC) {
      bool kind = false;
      for (int k : req_.kinds()) kind = kind || k == ev.kind();
      if (!kind) return false;
    }
    const auto* labels = LabelsOf(ev);
    for (const auto& [k, v] : req_.labels()) {
      if (labels == nullptr) return false;
      auto it = labels->find(k);
      if (it == labels->end() || it->second != v) return false;
    }
    return true;
  }

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  WatchHub* const hub_;
  const pwire::v1::WatchRequest req_;
  absl::Mutex mu_;
  std::deque<WatchEvent> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<WatchEvent> early_ ABSL_GUARDED_BY(mu_);
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

WatchHub::WatchHub(Registry* registry) : registry_(registry) { registry_->AddListener(this); }

WatchHub::~WatchHub() { registry_->RemoveListener(this); }

grpc::ServerWriteReactor<WatchEvent>* WatchHub::Start(grpc::CallbackServerContext* ctx,
                                                      const pwire::v1::WatchRequest& req) {
  auto* s = new WatchStream(this, req);
  std::optional<grpc::Status> closed;
  {
    absl::MutexLock lock(&mu_);
    streams_.insert(s);
    closed = closed_;
  }
  if (closed) {
    s->Close(*closed);
    return s;
  }
  int64_t revision = 0;
  std::vector<WatchEvent> snapshot = registry_->Snapshot(req, &revision);
  s->Begin(std::move(snapshot), revision);
  return s;
}

int WatchHub::CloseAll(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  closed_ = status;
  for (WatchStream* s : streams_) s->Close(status);
  return static_cast<int>(streams_.size());
}

int WatchHub::watchers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void WatchHub::Remove(WatchStream* s) {
  absl::MutexLock lock(&mu_);
  streams_.erase(s);
}

void WatchHub::OnEvents(const std::vector<WatchEvent>& events) {
  absl::MutexLock lock(&mu_);
  for (WatchStream* s : streams_) s->Push(events);
}

}  // namespace pwire::server
