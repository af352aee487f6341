// What every pwctl command shares: the global options, the output streams, a lazily made
// stub for PwireService, output in the chosen format (-o), and the exit code to return.
// Internal to cli/: each commands_*.cc registers its subcommands with a Context.
#ifndef PWIRE_CLI_COMMAND_CONTEXT_H_
#define PWIRE_CLI_COMMAND_CONTEXT_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client.h"
#include "pwire/v1/pwire_service.grpc.pb.h"
#include "yaml_mapping.h"

namespace pwire::cli {

enum class OutputFormat { kTable, kWide, kJson, kYaml };

class Context {
 public:
  Context(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  ServerOptions server;
  std::string output = "table";
  int exit_code = kExitOk;

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  OutputFormat format() const;
  bool structured() const {
    return format() == OutputFormat::kJson || format() == OutputFormat::kYaml;
  }

  // The stub, made on first use; nullptr (with the error printed, exit code set) on failure.
  v1::PwireService::Stub* Stub();
  // A client context with the --timeout deadline (no deadline when `streaming`).
  std::unique_ptr<grpc::ClientContext> Call(bool streaming = false) const;
  std::string Target() const { return ResolveTarget(server); }
  int64_t NowSeconds() const;

  // Report a failed call or bad input: prints to err() and sets exit_code.
  void Failed(const grpc::Status& status, const std::string& what);
  void BadInput(const absl::Status& status);
  void Usage(const std::string& message);

  // Prints `message` as JSON or YAML (structured formats only).
  void PrintMessage(const google::protobuf::Message& message);
  void PrintJson(const Json& json);

 private:
  std::ostream& out_;
  std::ostream& err_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PwireService::Stub> stub_;
};

// "k=v" strings into a map; false (with `bad` set) on an item without '='.
bool ParseLabels(const std::vector<std::string>& items, std::map<std::string, std::string>* out,
                 std::string* bad);

// --label KEY=VALUE filter flags into a request's label map; on a malformed item reports a
// usage error through `ctx` and returns false.
bool LabelFilter(Context& ctx, const std::vector<std::string>& items,
                 google::protobuf::Map<std::string, std::string>* out);

// Calls a paginated List method of the stub until the last page and merges every page into
// *all (repeated fields appended, total_size of the last page). On a failed call reports it
// through `ctx` (saying `what` failed) and returns false.
template <typename Request, typename Response>
bool ListAllPages(Context& ctx, Request request, const std::string& what,
                  grpc::Status (v1::PwireService::Stub::*method)(grpc::ClientContext*,
                                                                 const Request&, Response*),
                  Response* all) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return false;
  request.set_page_size(1000);
  do {
    Response page;
    grpc::Status status = (stub->*method)(ctx.Call().get(), request, &page);
    if (!status.ok()) {
      ctx.Failed(status, what);
      return false;
    }
    request.set_page_token(page.next_page_token());
    all->MergeFrom(page);
  } while (!request.page_token().empty());
  all->clear_next_page_token();
  return true;
}

// Builds a YAML mapping from dotted paths and values ("spec.description" -> "x"); values
// are parsed as YAML ("{a: b}" is a map, "[1, 2]" a list). Errors name the --set item.
absl::StatusOr<YAML::Node> TreeFromAssignments(const std::vector<std::string>& assignments);
// Moves the fields named by the keys of `tree` (a YAML map at the level of `patch`) from
// `patch` into `current`, and adds their paths (`prefix` + name) to `mask`.
void MoveFields(const YAML::Node& tree, google::protobuf::Message* patch,
                google::protobuf::Message* current, const std::string& prefix,
                std::vector<std::string>* mask);
// Sets `node` at a dotted path under `root`, creating maps on the way.
void SetPath(const YAML::Node& root, const std::string& dotted, const YAML::Node& node);

void AddPseudowireCommands(CLI::App& app, Context& ctx);
void AddClassCommands(CLI::App& app, Context& ctx);
void AddAgentCommands(CLI::App& app, Context& ctx);
void AddApplyCommands(CLI::App& app, Context& ctx);   // apply, diff
void AddStatusCommands(CLI::App& app, Context& ctx);  // status, watch

}  // namespace pwire::cli

#endif  // PWIRE_CLI_COMMAND_CONTEXT_H_
