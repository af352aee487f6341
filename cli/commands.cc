// The root of pwctl's command tree, the shared Context, and shell completion (commands.h).
#include "commands.h"

#include <chrono>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "command_context.h"

namespace pwire::cli {
namespace {

constexpr char kFooter[] =
    R"(Server address: --server or PWIRE_SERVER: a unix socket path, unix:PATH or
unix:///PATH (default unix:///run/pwire/pwire.sock, pwire-server's default --listen), or
host:port over TCP with --tls-ca, --tls-cert and --tls-key for mutual TLS.

Output (-o): table (default), wide (more columns and counters), json, yaml. json and yaml
are the protobuf JSON mapping of the pwire.v1 API messages with proto field names, enum
names as strings and every field printed, zero values included: `pw get` prints a
Pseudowire, `pw list` a ListPseudowiresResponse (all pages), `apply`/`diff` an
ApplyResponse, `status` {"server": ServerStatus, "agents": [...], "problems": [...]},
`watch -o json` one WatchEvent per line.

gRPC's own log lines are off; set GRPC_VERBOSITY=ERROR (or INFO, DEBUG) to see them.

Exit codes:
  0  success (diff: no changes)
  1  diff: the file differs from what the server has
  2  bad command line
  3  bad file or value, refused before anything was sent
  4  the server refused the request (validation, not found, conflict, etag mismatch)
  5  the server could not be reached or did not answer in time
  6  any other error)";

// --- shell completion ---

void CollectCompletion(const CLI::App* app, const std::string& path,
                       std::map<std::string, std::string>* subs,
                       std::map<std::string, std::string>* flags) {
  std::vector<std::string> sub_names, flag_names;
  for (const CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_group().empty()) continue;  // hidden
    sub_names.push_back(sub->get_name());
    CollectCompletion(sub,
                      path.empty() ? sub->get_name() : absl::StrCat(path, " ", sub->get_name()),
                      subs, flags);
  }
  for (const CLI::Option* opt : app->get_options()) {
    for (const std::string& l : opt->get_lnames()) flag_names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) flag_names.push_back("-" + s);
  }
  (*subs)[path] = absl::StrJoin(sub_names, " ");
  (*flags)[path] = absl::StrJoin(flag_names, " ");
}

std::string BashCompletion(const CLI::App& app) {
  std::map<std::string, std::string> subs, flags;
  CollectCompletion(&app, "", &subs, &flags);
  std::string out = "# bash completion for pwctl: source <(pwctl completion bash)\n";
  absl::StrAppend(&out, "declare -gA _pwctl_subs=(\n");
  for (const auto& [path, words] : subs)
    absl::StrAppend(&out, "  [\"", path, "\"]=\"", words, "\"\n");
  absl::StrAppend(&out, ")\ndeclare -gA _pwctl_flags=(\n");
  for (const auto& [path, words] : flags) {
    absl::StrAppend(&out, "  [\"", path, "\"]=\"", words, "\"\n");
  }
  absl::StrAppend(&out, R"()
_pwctl() {
  local cur prev path="" w i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    -o|--output) COMPREPLY=($(compgen -W "table wide json yaml" -- "$cur")); return ;;
    -f|--file|--tls-ca|--tls-cert|--tls-key) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  for ((i=1; i<COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ " ${_pwctl_subs[$path]} " == *" $w "* ]]; then
      path="${path:+$path }$w"
    fi
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${_pwctl_flags[$path]} ${_pwctl_flags[""]}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "${_pwctl_subs[$path]}" -- "$cur"))
  fi
}
complete -F _pwctl pwctl
)");
  return out;
}

void AddCompletionCommand(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("completion", "Print a shell completion script (bash, zsh)");
  auto shell = std::make_shared<std::string>();  // lives as long as the callback
  cmd->add_option("shell", *shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&app, &ctx, shell] {
    if (*shell == "zsh") {
      ctx.out() << "# zsh completion for pwctl: source <(pwctl completion zsh)\n"
                   "autoload -U +X bashcompinit && bashcompinit\n";
    }
    ctx.out() << BashCompletion(app);
  });
}

}  // namespace

// --- Context ---

OutputFormat Context::format() const {
  if (output == "wide") return OutputFormat::kWide;
  if (output == "json") return OutputFormat::kJson;
  if (output == "yaml") return OutputFormat::kYaml;
  return OutputFormat::kTable;
}

v1::PwireService::Stub* Context::Stub() {
  if (stub_ != nullptr) return stub_.get();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(server);
  if (!channel.ok()) {
    err_ << "pwctl: " << channel.status().message() << "\n";
    exit_code = kExitUsage;
    return nullptr;
  }
  channel_ = *channel;
  stub_ = v1::PwireService::NewStub(channel_);
  return stub_.get();
}

std::unique_ptr<grpc::ClientContext> Context::Call(bool streaming) const {
  auto call = std::make_unique<grpc::ClientContext>();
  if (!streaming) {
    call->set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(server.timeout_seconds * 1000)));
  }
  return call;
}

int64_t Context::NowSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Context::Failed(const grpc::Status& status, const std::string& what) {
  err_ << DescribeError(status, what, Target());
  exit_code = ExitCodeFor(status);
}

void Context::BadInput(const absl::Status& status) {
  err_ << "pwctl: " << status.message() << "\n";
  exit_code = kExitBadInput;
}

void Context::Usage(const std::string& message) {
  err_ << "pwctl: " << message << "\n";
  exit_code = kExitUsage;
}

void Context::PrintMessage(const google::protobuf::Message& message) {
  PrintJson(MessageToJson(message));
}

void Context::PrintJson(const Json& json) {
  out_ << (format() == OutputFormat::kYaml ? JsonToYaml(json) : JsonToText(json));
}

// --- shared helpers ---

void MoveFields(const YAML::Node& tree, google::protobuf::Message* patch,
                google::protobuf::Message* current, const std::string& prefix,
                std::vector<std::string>* mask) {
  if (!tree || !tree.IsMap()) return;
  const google::protobuf::Descriptor* d = current->GetDescriptor();
  for (const auto& kv : tree) {
    const std::string& key = kv.first.Scalar();
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) f = d->FindFieldByCamelcaseName(key);
    if (f == nullptr) continue;  // YamlToMessage already refused unknown names
    current->GetReflection()->SwapFields(patch, current, {f});
    mask->push_back(prefix + f->name());
  }
}

bool ParseLabels(const std::vector<std::string>& items, std::map<std::string, std::string>* out,
                 std::string* bad) {
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      *bad = item;
      return false;
    }
    (*out)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return true;
}

bool LabelFilter(Context& ctx, const std::vector<std::string>& items,
                 google::protobuf::Map<std::string, std::string>* out) {
  std::map<std::string, std::string> labels;
  std::string bad;
  if (!ParseLabels(items, &labels, &bad)) {
    ctx.Usage(absl::StrCat("--label \"", bad, "\": expected KEY=VALUE"));
    return false;
  }
  out->insert(labels.begin(), labels.end());
  return true;
}

void SetPath(const YAML::Node& root, const std::string& dotted, const YAML::Node& node) {
  std::vector<std::string> parts = absl::StrSplit(dotted, '.');
  YAML::Node cur = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur[parts[i]] || !cur[parts[i]].IsMap()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    cur.reset(cur[parts[i]]);
  }
  cur[parts.back()] = node;
}

absl::StatusOr<YAML::Node> TreeFromAssignments(const std::vector<std::string>& assignments) {
  YAML::Node root(YAML::NodeType::Map);
  for (const std::string& a : assignments) {
    size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set \"", a, "\": expected PATH=VALUE, e.g. spec.description=lab"));
    }
    YAML::Node value;
    try {
      value = YAML::Load(a.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("--set \"", a, "\": ", e.msg));
    }
    SetPath(root, a.substr(0, eq), value);
  }
  return root;
}

int RunPwctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Context ctx(out, err);
  CLI::App app("pwctl: manage pwire pseudowires, classes and agents through pwire-server", "pwctl");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--server", ctx.server.server,
                 "pwire-server address: socket path, unix:PATH or host:port")
      ->envname("PWIRE_SERVER");
  app.add_option("--tls-ca", ctx.server.tls_ca, "CA certificate (PEM) to verify the server");
  app.add_option("--tls-cert", ctx.server.tls_cert, "client certificate (PEM) for mutual TLS");
  app.add_option("--tls-key", ctx.server.tls_key, "client private key (PEM) for mutual TLS");
  app.add_option("--tls-server-name", ctx.server.tls_server_name,
                 "name expected in the server certificate (default: from --server)");
  app.add_option("--timeout", ctx.server.timeout_seconds, "seconds to wait for each call")
      ->check(CLI::PositiveNumber);
  app.add_option("-o,--output", ctx.output, "table, wide, json or yaml")
      ->check(CLI::IsMember({"table", "wide", "json", "yaml"}));

  AddPseudowireCommands(app, ctx);
  AddClassCommands(app, ctx);
  AddAgentCommands(app, ctx);
  AddApplyCommands(app, ctx);
  AddStatusCommands(app, ctx);
  AddCompletionCommand(app, ctx);
  app.footer(kFooter);  // after the subcommands, which would otherwise repeat it

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    app.exit(e, out, err);
    return kExitUsage;
  }
  return ctx.exit_code;
}

}  // namespace pwire::cli
