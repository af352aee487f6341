#include "server/agent_hub.h"

#include <atomic>
#include <deque>
#include <optional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/status_util.h"
#include "spdlog/spdlog.h"

namespace pwire::server {

using google::protobuf::util::TimeUtil;
using pwire::v1::AgentMessage;
using pwire::v1::ServerMessage;

// One agent's stream. Reference counted: gRPC holds one reference until OnDone, and every
// asynchronous registry call in flight holds one, so late callbacks never touch freed memory.
class AgentStream final : public grpc::ServerBidiReactor<AgentMessage, ServerMessage> {
 public:
  AgentStream(AgentHub* hub, grpc::CallbackServerContext* ctx) : hub_(hub), ctx_(ctx) {
    StartRead(&in_);
  }

  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Ends the stream (e.g. replaced by a newer one from the same agent).
  void End(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(std::move(status));
  }

  // Sends the agent's desired state if it differs from what was last sent.
  void PushDesired() {
    absl::MutexLock push(&push_mu_);  // one build-and-send at a time keeps versions in order
    pwire::v1::DesiredState ds = hub_->registry_->BuildDesiredState(agent_id_);
    std::string bytes;
    {
      google::protobuf::io::StringOutputStream out(&bytes);
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.SetSerializationDeterministic(true);
      ds.SerializeToCodedStream(&coded);
    }
    if (sent_any_ && bytes == last_sent_) return;
    sent_any_ = true;
    last_sent_ = std::move(bytes);
    ds.set_version(hub_->registry_->NextDesiredVersion());
    hub_->registry_->AgentSent(agent_id_, ds.version(), last_sent_);
    ServerMessage msg;
    *msg.mutable_desired_state() = std::move(ds);
    absl::MutexLock lock(&mu_);
    // Only the newest desired state matters: replace one that is still queued.
    if (!queue_.empty() && queue_.back().has_desired_state() && !(writing_ && queue_.size() == 1)) {
      queue_.back() = std::move(msg);
    } else {
      queue_.push_back(std::move(msg));
    }
    MaybeWriteLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      End(grpc::Status::OK);  // the agent closed its side
      return;
    }
    if (agent_id_.empty() && !hello_pending_) {
      if (!in_.has_hello()) {
        End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "the first message on the stream must be a Hello"));
        return;
      }
      // A copy: once registered, the next read reuses in_ while OnHello may still run.
      const pwire::v1::Hello hello = in_.hello();
      OnHello(hello);
      return;  // the next read starts once the registry has the agent
    }
    switch (in_.message_case()) {
      case AgentMessage::kAck:
        hub_->registry_->AgentAcked(agent_id_, in_.ack().version());
        break;
      case AgentMessage::kNack:
        spdlog::warn("agent {} refused desired state version {}: {}", agent_id_,
                     in_.nack().version(), in_.nack().error_detail());
        hub_->registry_->AgentNacked(agent_id_, in_.nack());
        break;
      case AgentMessage::kStatus:
        hub_->registry_->AgentStatus(agent_id_, in_.status());
        break;
      case AgentMessage::kCounters:
        hub_->registry_->AgentCounters(agent_id_, in_.counters());
        break;
      default:
        End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "unexpected message on the agent stream (a second Hello, or empty)"));
        return;
    }
    ReadNext();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to agent failed"));
      return;
    }
    queue_.pop_front();
    MaybeWriteLocked();
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    std::string id;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      id = agent_id_;
    }
    if (!id.empty() && hub_->Detach(id, this)) {
      hub_->registry_->AgentDisconnected(id);
      spdlog::info("agent {} disconnected", id);
    }
    Unref();
  }

 private:
  void OnHello(const pwire::v1::Hello& hello) {
    if (hub_->options_.require_cert_identity) {
      auto auth = ctx_->auth_context();
      if (auth && auth->IsPeerAuthenticated()) {
        auto cns = auth->FindPropertyValues("x509_common_name");
        bool match = false;
        for (const auto& cn : cns)
          match = match || std::string(cn.data(), cn.size()) == hello.agent_id();
        if (!match) {
          End(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                           absl::StrCat("hello.agent_id '", hello.agent_id(),
                                        "' does not match the client certificate's CN")));
          return;
        }
      }
    }
    hello_pending_ = true;
    applied_version_ = hello.applied_version();
    Ref();
    std::string peer = ctx_->peer();
    hub_->registry_->AgentConnected(
        hello, peer, [this, id = hello.agent_id()](const absl::StatusOr<pwire::v1::Agent>& a) {
          OnRegistered(id, a);
          Unref();
        });
  }

  void OnRegistered(const std::string& id, const absl::StatusOr<pwire::v1::Agent>& agent) {
    {
      absl::MutexLock lock(&mu_);
      if (done_ || finished_) return;
      if (!agent.ok()) {
        FinishLocked(ToGrpc(agent.status()));
        return;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      agent_id_ = id;
    }
    hub_->Attach(id, this);
    {
      absl::MutexLock lock(&mu_);
      if (done_) {  // OnDone ran meanwhile and did not see us attached
        hub_->Detach(id, this);
        return;
      }
    }
    spdlog::info("agent {} connected from {}", id, ctx_->peer());
    ServerMessage welcome;
    auto* w = welcome.mutable_welcome();
    w->set_agent(agent->name());
    w->set_server_version(PWIRE_VERSION);
    *w->mutable_report_interval() =
        TimeUtil::MillisecondsToDuration(hub_->options_.report_interval.count());
    *w->mutable_stale_after() =
        TimeUtil::MillisecondsToDuration(hub_->options_.stale_after.count());
    {
      absl::MutexLock lock(&mu_);
      queue_.push_back(std::move(welcome));
      MaybeWriteLocked();
    }
    SkipIfApplied(id);
    PushDesired();
    ReadNext();
  }

  // A reconnecting agent that already applied the version last sent to it (Hello's
  // applied_version) is not sent the same content again; PushDesired sends only a change.
  void SkipIfApplied(const std::string& id) {
    std::optional<std::string> sent = hub_->registry_->SentContent(id, applied_version_);
    if (!sent) return;
    {
      absl::MutexLock push(&push_mu_);
      sent_any_ = true;
      last_sent_ = std::move(*sent);
    }
    hub_->registry_->AgentAcked(id, applied_version_);
  }

  // Reads the next message unless the stream was ended meanwhile (End from another thread,
  // e.g. a newer stream of the same agent): no operation may follow Finish.
  void ReadNext() {
    absl::MutexLock lock(&mu_);
    if (finished_ || done_) return;
    StartRead(&in_);
  }

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || done_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  AgentHub* const hub_;
  grpc::CallbackServerContext* const ctx_;
  std::atomic<int> refs_{1};
  AgentMessage in_;
  bool hello_pending_ = false;    // read side only
  uint64_t applied_version_ = 0;  // from the Hello; read side only
  std::string agent_id_;          // set once registered; read side and pushes after that
  absl::Mutex push_mu_;
  std::string last_sent_ ABSL_GUARDED_BY(push_mu_);
  bool sent_any_ ABSL_GUARDED_BY(push_mu_) = false;
  absl::Mutex mu_;
  std::deque<ServerMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

AgentHub::AgentHub(Registry* registry, AgentHubOptions options)
    : registry_(registry), options_(options) {
  registry_->AddListener(this);
  ticker_ = std::thread([this] { Tick(); });
}

AgentHub::~AgentHub() {
  {
    std::lock_guard<std::mutex> lock(tick_mu_);
    stopping_ = true;
  }
  tick_cv_.notify_all();
  ticker_.join();
  registry_->RemoveListener(this);
}

grpc::ServerBidiReactor<AgentMessage, ServerMessage>* AgentHub::Start(
    grpc::CallbackServerContext* ctx) {
  return new AgentStream(this, ctx);
}

int AgentHub::connected() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void AgentHub::Attach(const std::string& agent_id, AgentStream* s) {
  AgentStream* old = nullptr;
  std::optional<grpc::Status> closed;
  {
    absl::MutexLock lock(&mu_);
    auto& slot = streams_[agent_id];
    old = slot;
    slot = s;
    if (old != nullptr) old->Ref();
    closed = closed_;
  }
  if (old != nullptr) {
    old->End(
        grpc::Status(grpc::StatusCode::ABORTED, "replaced by a newer stream from the same agent"));
    old->Unref();
  }
  // Attached all the same, so that its OnDone detaches it and records the disconnection.
  if (closed) s->End(*closed);
}

int AgentHub::CloseAll(const grpc::Status& status) {
  std::vector<AgentStream*> open;
  {
    absl::MutexLock lock(&mu_);
    closed_ = status;
    for (auto& [id, s] : streams_) {
      s->Ref();
      open.push_back(s);
    }
  }
  for (AgentStream* s : open) {
    s->End(status);
    s->Unref();
  }
  return static_cast<int>(open.size());
}

bool AgentHub::Detach(const std::string& agent_id, AgentStream* s) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(agent_id);
  if (it == streams_.end() || it->second != s) return false;
  streams_.erase(it);
  return true;
}

void AgentHub::OnAgentsAffected(const std::set<std::string>& agent_ids) {
  std::vector<AgentStream*> targets;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : agent_ids) {
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;
      it->second->Ref();
      targets.push_back(it->second);
    }
  }
  for (AgentStream* s : targets) {
    s->PushDesired();
    s->Unref();
  }
}

void AgentHub::Tick() {
  std::unique_lock<std::mutex> lock(tick_mu_);
  auto period = std::max(std::chrono::milliseconds(50), options_.stale_after / 4);
  while (!tick_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    auto deadline =
        TimeUtil::GetCurrentTime() - TimeUtil::MillisecondsToDuration(options_.stale_after.count());
    registry_->MarkSilentAgentsStale(deadline);
  }
}

}  // namespace pwire::server
