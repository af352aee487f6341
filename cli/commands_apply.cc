// `pwctl apply`, `pwctl diff`, `pwctl status` and `pwctl watch` (see commands.h).
#include <map>

#include "absl/strings/str_cat.h"
#include "apply_file.h"
#include "command_context.h"
#include "render.h"

namespace pwire::cli {
namespace {

struct ApplyFlags {
  std::string file;
  bool dry_run = false;
  bool local = false;
};

struct WatchFlags {
  std::vector<std::string> kinds, label_filter;
  bool include_status = false, until_sync = false;
  int max_events = 0;
};

// Sends the file with validate_only = `dry_run`; nullopt after reporting an error.
std::optional<v1::ApplyResponse> SendApply(Context& ctx, const std::string& file, bool dry_run) {
  absl::StatusOr<v1::ApplyRequest> request = LoadApplyFile(file);
  if (!request.ok()) {
    ctx.BadInput(request.status());
    return std::nullopt;
  }
  request->set_validate_only(dry_run);
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return std::nullopt;
  v1::ApplyResponse response;
  grpc::Status status = stub->Apply(ctx.Call().get(), *request, &response);
  if (!status.ok()) {
    ctx.Failed(status, absl::StrCat(dry_run ? "check " : "apply ", file));
    return std::nullopt;
  }
  return response;
}

void RunApply(Context& ctx, const ApplyFlags& f) {
  if (f.local) {
    // The file as the API sees it, without a server: checks syntax, fields and values.
    absl::StatusOr<v1::ApplyRequest> request = LoadApplyFile(f.file);
    if (!request.ok()) return ctx.BadInput(request.status());
    if (ctx.structured()) return ctx.PrintMessage(*request);
    ctx.out() << f.file << ": " << request->classes_size() << " classes, "
              << request->pseudowires_size() << " pseudowires, every field valid locally\n";
    return;
  }
  std::optional<v1::ApplyResponse> response = SendApply(ctx, f.file, f.dry_run);
  if (!response) return;
  if (ctx.structured()) return ctx.PrintMessage(*response);
  ctx.out() << ApplyResult(*response);
}

void RunDiff(Context& ctx, const ApplyFlags& f) {
  std::optional<v1::ApplyResponse> response = SendApply(ctx, f.file, true);
  if (!response) {
    // diff promises exit codes above 1 for every error.
    if (ctx.exit_code < kExitUsage) ctx.exit_code = kExitInternal;
    return;
  }
  if (ctx.structured()) {
    ctx.PrintMessage(*response);
  } else {
    ctx.out() << DiffResult(*response);
  }
  ctx.exit_code = HasChanges(*response) ? kExitChanges : kExitOk;
}

bool ListProblems(Context& ctx, v1::PwireService::Stub* stub, std::vector<v1::Pseudowire>* out) {
  for (auto state :
       {v1::PseudowireStatus::DOWN, v1::PseudowireStatus::DEGRADED, v1::PseudowireStatus::STALE}) {
    v1::ListPseudowiresRequest request;
    request.set_state(state);
    request.set_page_size(20);  // one screen: the first few of each kind
    v1::ListPseudowiresResponse response;
    grpc::Status status = stub->ListPseudowires(ctx.Call().get(), request, &response);
    if (!status.ok()) {
      ctx.Failed(status, "list pseudowires");
      return false;
    }
    out->insert(out->end(), response.pseudowires().begin(), response.pseudowires().end());
  }
  return true;
}

void RunStatus(Context& ctx) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::ServerStatus server;
  grpc::Status status =
      stub->GetServerStatus(ctx.Call().get(), v1::GetServerStatusRequest(), &server);
  if (!status.ok()) return ctx.Failed(status, "get server status");
  v1::ListAgentsRequest agents_request;
  agents_request.set_page_size(1000);
  v1::ListAgentsResponse agents;
  status = stub->ListAgents(ctx.Call().get(), agents_request, &agents);
  if (!status.ok()) return ctx.Failed(status, "list agents");
  std::vector<v1::Pseudowire> problems;
  if (!ListProblems(ctx, stub, &problems)) return;
  std::vector<v1::Agent> agent_list(agents.agents().begin(), agents.agents().end());
  if (ctx.structured()) {
    Json json = Json::object();
    json["server"] = MessageToJson(server);
    json["agents"] = Json::array();
    for (const v1::Agent& a : agent_list) json["agents"].push_back(MessageToJson(a));
    json["problems"] = Json::array();
    for (const v1::Pseudowire& pw : problems) json["problems"].push_back(MessageToJson(pw));
    return ctx.PrintJson(json);
  }
  ctx.out() << StatusScreen(ctx.Target(), server, agent_list, problems, ctx.NowSeconds());
}

void RunWatch(Context& ctx, const WatchFlags& f) {
  v1::WatchRequest request;
  for (const std::string& kind : f.kinds) {
    if (kind == "pw" || kind == "pseudowire") {
      request.add_kinds(v1::PSEUDOWIRE);
    } else if (kind == "class") {
      request.add_kinds(v1::PSEUDOWIRE_CLASS);
    } else if (kind == "agent") {
      request.add_kinds(v1::AGENT);
    } else {
      return ctx.Usage(absl::StrCat("--kind \"", kind, "\": expected pw, class or agent"));
    }
  }
  if (!LabelFilter(ctx, f.label_filter, request.mutable_labels())) return;
  request.set_include_status(f.include_status);
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  std::unique_ptr<grpc::ClientContext> call = ctx.Call(/*streaming=*/true);
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader = stub->Watch(call.get(), request);
  v1::WatchEvent event;
  int seen = 0;
  PrintOptions compact;
  while (reader->Read(&event)) {
    if (ctx.format() == OutputFormat::kJson) {
      ctx.out() << MessageToJson(event, compact).dump() << "\n";  // JSON lines
    } else if (ctx.format() == OutputFormat::kYaml) {
      ctx.out() << "---\n" << JsonToYaml(MessageToJson(event));
    } else {
      ctx.out() << WatchLine(event);
    }
    ctx.out().flush();
    ++seen;
    bool done = (f.until_sync && event.type() == v1::WatchEvent::SYNC) ||
                (f.max_events > 0 && seen >= f.max_events);
    if (done) {
      call->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    ctx.Failed(status, "watch");
  }
}

}  // namespace

void AddApplyCommands(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ApplyFlags>();
  CLI::App* apply = app.add_subcommand(
      "apply", "Create or update the classes and pseudowires of a YAML file (never deletes)");
  apply->add_option("-f,--file", f->file, "YAML file with classes: and pseudowires: (- stdin)")
      ->required();
  apply->add_flag("--dry-run", f->dry_run, "show what would change, change nothing");
  apply->add_flag("--local", f->local,
                  "only check the file locally and print it as the API request (-o json|yaml)");
  apply->callback([&ctx, f] { RunApply(ctx, *f); });

  CLI::App* diff = app.add_subcommand(
      "diff", "Compare a YAML file with the server: exit 0 no change, 1 changes, >1 error");
  diff->add_option("-f,--file", f->file, "YAML file with classes: and pseudowires: (- stdin)")
      ->required();
  diff->callback([&ctx, f] { RunDiff(ctx, *f); });
}

void AddStatusCommands(CLI::App& app, Context& ctx) {
  CLI::App* status = app.add_subcommand(
      "status", "One screen of health: server, agents, pseudowires by state, problems");
  status->callback([&ctx] { RunStatus(ctx); });

  auto f = std::make_shared<WatchFlags>();
  CLI::App* watch =
      app.add_subcommand("watch", "Stream changes: a snapshot, a sync marker, then every change");
  watch->add_option("--kind", f->kinds, "pw, class or agent (repeatable; default all)");
  watch->add_option("--label,-l", f->label_filter, "only with label KEY=VALUE (repeatable)");
  watch->add_flag("--status", f->include_status, "also report status changes from agents");
  watch->add_flag("--until-sync", f->until_sync, "stop after the initial snapshot");
  watch->add_option("--max-events", f->max_events, "stop after this many events");
  watch->callback([&ctx, f] { RunWatch(ctx, *f); });
}

}  // namespace pwire::cli
