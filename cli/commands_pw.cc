// `pwctl pw create|get|list|update|delete` (see commands.h).
// Create and update build a YAML tree from the flags and map it through the same descriptor
// walk as apply files, so a bad flag value is reported with its field path.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "apply_file.h"
#include "command_context.h"
#include "render.h"

namespace pwire::cli {
namespace {

struct PwFlags {
  std::string name, file, type, a, b, pw_class, mode, description, disabled, etag;
  std::vector<std::string> labels, sets, names;
  bool dry_run = false, ignore_missing = false;
  // list filters
  std::vector<std::string> label_filter;
  std::string agent, state;
};

// --a/--b keys and where they go in an Endpoint.
const std::map<std::string, std::string>& EndpointKeys() {
  static const auto* keys =
      new std::map<std::string, std::string>{{"agent", "agent.agent"},
                                             {"interface", "agent.circuit.interface"},
                                             {"bridge", "agent.circuit.bridge"},
                                             {"vlan", "agent.circuit.vlan_id"},
                                             {"dlci", "agent.circuit.dlci"},
                                             {"vpi", "agent.circuit.vpi"},
                                             {"vci", "agent.circuit.vci"},
                                             {"ifname", "agent.circuit.pw_interface_name"},
                                             {"mtu", "agent.circuit.mtu"},
                                             {"local-address", "agent.local_address"},
                                             {"pre-provision", "agent.pre_provision"},
                                             {"peer", "external.address"},
                                             {"hostname", "external.hostname"},
                                             {"router-id", "external.router_id"},
                                             {"remote-end-id", "external.remote_end_id"},
                                             {"vc-id", "external.vc_id"},
                                             {"secret", "external.shared_secret"}};
  return *keys;
}

constexpr char kEndpointHelp[] =
    "endpoint: AGENT:INTERFACE, or KEY=VALUE,... with keys agent, interface, bridge, vlan, "
    "dlci, vpi, vci, ifname, mtu, local-address, pre-provision (agent end) or peer, "
    "hostname, router-id, remote-end-id, vc-id, secret (external L2TPv3 peer)";

absl::StatusOr<YAML::Node> EndpointNode(const std::string& spec, const std::string& flag) {
  YAML::Node node(YAML::NodeType::Map);
  if (spec.find('=') == std::string::npos) {
    size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " \"", spec, "\": expected AGENT:INTERFACE or KEY=VALUE,..."));
    }
    SetPath(node, "agent.agent", YAML::Node(spec.substr(0, colon)));
    SetPath(node, "agent.circuit.interface", YAML::Node(spec.substr(colon + 1)));
    return node;
  }
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    auto it = EndpointKeys().find(key);
    if (eq == absl::string_view::npos || it == EndpointKeys().end()) {
      std::vector<std::string> known;
      for (const auto& [k, path] : EndpointKeys()) known.push_back(k);
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " \"", item,
                       "\": expected KEY=VALUE with KEY one of: ", absl::StrJoin(known, ", ")));
    }
    SetPath(node, it->second, YAML::Node(std::string(item.substr(eq + 1))));
  }
  return node;
}

// The Pseudowire tree given by --set and the spec flags (not labels: see ApplyLabels).
absl::StatusOr<YAML::Node> FlagTree(const PwFlags& f) {
  absl::StatusOr<YAML::Node> tree = TreeFromAssignments(f.sets);
  if (!tree.ok()) return tree;
  auto set = [&](const char* path, const std::string& value) {
    if (!value.empty()) SetPath(*tree, path, YAML::Node(value));
  };
  set("spec.type", f.type);
  set("spec.pseudowire_class", f.pw_class);
  set("spec.mode", f.mode);
  set("spec.description", f.description);
  set("spec.disabled", f.disabled);
  if (!f.a.empty() || !f.b.empty()) {
    YAML::Node endpoints(YAML::NodeType::Sequence);
    for (const auto& [spec, flag] : {std::pair{f.a, "--a"}, std::pair{f.b, "--b"}}) {
      if (spec.empty()) {
        endpoints.push_back(YAML::Node(YAML::NodeType::Map));  // filled from the current one
        continue;
      }
      absl::StatusOr<YAML::Node> e = EndpointNode(spec, flag);
      if (!e.ok()) return e.status();
      endpoints.push_back(*e);
    }
    SetPath(*tree, "spec.endpoints", endpoints);
  }
  return tree;
}

// --label k=v adds or replaces, --label k- removes.
absl::Status ApplyLabels(const std::vector<std::string>& items,
                         google::protobuf::Map<std::string, std::string>* labels) {
  for (const std::string& item : items) {
    if (item.size() > 1 && item.back() == '-' && item.find('=') == std::string::npos) {
      labels->erase(item.substr(0, item.size() - 1));
      continue;
    }
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label \"", item, "\": expected KEY=VALUE (or KEY- to remove)"));
    }
    (*labels)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return absl::OkStatus();
}

void AddSpecFlags(CLI::App* cmd, PwFlags& f) {
  cmd->add_option("-f,--file", f.file, "YAML file holding the Pseudowire (- for stdin)");
  cmd->add_option("--type", f.type,
                  "ethernet, ethernet-vlan, frame-relay-dlci, atm-aal5-sdu, atm-cell-vcc, "
                  "atm-cell-vpc, atm-cell-port, hdlc, ppp");
  cmd->add_option("--a", f.a, absl::StrCat("A ", kEndpointHelp));
  cmd->add_option("--b", f.b, "B endpoint, as --a");
  cmd->add_option("--class", f.pw_class, "pseudowire class name");
  cmd->add_option("--mode", f.mode, "dynamic (RFC 3931 signalling) or static");
  cmd->add_option("--description", f.description, "free text");
  cmd->add_option("--disabled", f.disabled, "true: torn down but kept; false: enabled");
  cmd->add_option("--label", f.labels, "KEY=VALUE (repeatable); on update KEY- removes");
  cmd->add_option("--set", f.sets,
                  "PATH=VALUE for any field, e.g. spec.static_params.endpoints=[...]");
  cmd->add_flag("--dry-run", f.dry_run, "validate on the server, change nothing");
}

void PrintPseudowire(Context& ctx, const v1::Pseudowire& pw, const std::string& verb) {
  if (ctx.structured()) {
    ctx.PrintMessage(pw);
  } else {
    ctx.out() << "pseudowire " << ShortName(pw.name()) << " " << verb << " (generation "
              << pw.generation() << ")\n";
  }
}

void RunCreate(Context& ctx, const PwFlags& f) {
  v1::Pseudowire pw;
  if (!f.file.empty()) {
    absl::Status s = LoadMessageFile(f.file, &pw);
    if (!s.ok()) return ctx.BadInput(s);
  } else {
    absl::StatusOr<YAML::Node> tree = FlagTree(f);
    if (!tree.ok()) return ctx.BadInput(tree.status());
    absl::Status s = YamlToMessage(*tree, "command line", "", &pw);
    if (!s.ok()) return ctx.BadInput(s);
  }
  absl::Status s = ApplyLabels(f.labels, pw.mutable_spec()->mutable_labels());
  if (!s.ok()) return ctx.BadInput(s);
  if (!f.name.empty()) pw.set_name(f.name);
  if (pw.name().empty()) return ctx.Usage("pw create: give the pseudowire a NAME");
  NormalizeNames(&pw);
  v1::CreatePseudowireRequest request;
  request.set_pseudowire_id(ShortName(pw.name()));
  *request.mutable_pseudowire() = pw;
  request.set_validate_only(f.dry_run);
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::Pseudowire created;
  grpc::Status status = stub->CreatePseudowire(ctx.Call().get(), request, &created);
  if (!status.ok()) return ctx.Failed(status, "create pseudowire " + ShortName(pw.name()));
  PrintPseudowire(ctx, created, f.dry_run ? "is valid (dry run, nothing created)" : "created");
}

void RunUpdate(Context& ctx, const PwFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::GetPseudowireRequest get;
  get.set_name(FullName("pseudowires", f.name));
  v1::Pseudowire current;
  grpc::Status status = stub->GetPseudowire(ctx.Call().get(), get, &current);
  if (!status.ok()) return ctx.Failed(status, "get pseudowire " + f.name);

  std::vector<std::string> mask;
  v1::Pseudowire patch;
  YAML::Node tree;
  if (!f.file.empty()) {
    absl::Status s = LoadMessageFile(f.file, &patch);
    if (!s.ok()) return ctx.BadInput(s);
    NormalizeNames(&patch);
    current.mutable_spec()->Swap(patch.mutable_spec());
    mask.push_back("spec");
  } else {
    absl::StatusOr<YAML::Node> t = FlagTree(f);
    if (!t.ok()) return ctx.BadInput(t.status());
    tree = *t;
    absl::Status s = YamlToMessage(tree, "command line", "", &patch);
    if (!s.ok()) return ctx.BadInput(s);
    NormalizeNames(&patch);
    // Keep the end the flags did not name (an empty placeholder stands for it).
    v1::PseudowireSpec* ps = patch.mutable_spec();
    for (int i = 0; i < ps->endpoints_size() && i < current.spec().endpoints_size(); ++i) {
      if (ps->endpoints(i).kind_case() == v1::Endpoint::KIND_NOT_SET) {
        *ps->mutable_endpoints(i) = current.spec().endpoints(i);
      }
    }
    MoveFields(tree["spec"], patch.mutable_spec(), current.mutable_spec(), "spec.", &mask);
  }
  if (!f.labels.empty()) {
    absl::Status s = ApplyLabels(f.labels, current.mutable_spec()->mutable_labels());
    if (!s.ok()) return ctx.BadInput(s);
    mask.push_back("spec.labels");
  }
  if (mask.empty()) {
    return ctx.Usage(
        "pw update: nothing to change; give flags such as "
        "--description, --a, --label or --set");
  }
  v1::UpdatePseudowireRequest request;
  if (!f.etag.empty()) current.set_etag(f.etag);
  *request.mutable_pseudowire() = current;
  for (const std::string& path : mask) request.mutable_update_mask()->add_paths(path);
  request.set_validate_only(f.dry_run);
  v1::Pseudowire updated;
  status = stub->UpdatePseudowire(ctx.Call().get(), request, &updated);
  if (!status.ok()) return ctx.Failed(status, "update pseudowire " + f.name);
  PrintPseudowire(ctx, updated,
                  f.dry_run ? "update is valid (dry run, nothing changed)" : "updated");
}

void RunDelete(Context& ctx, const PwFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  for (const std::string& name : f.names) {
    v1::DeletePseudowireRequest request;
    request.set_name(FullName("pseudowires", name));
    request.set_etag(f.etag);
    request.set_allow_missing(f.ignore_missing);
    request.set_validate_only(f.dry_run);
    google::protobuf::Empty empty;
    grpc::Status status = stub->DeletePseudowire(ctx.Call().get(), request, &empty);
    if (!status.ok()) return ctx.Failed(status, "delete pseudowire " + name);
    if (!ctx.structured()) {
      ctx.out() << "pseudowire " << ShortName(name)
                << (f.dry_run ? " can be deleted (dry run)\n" : " deleted\n");
    }
  }
}

void RunGet(Context& ctx, const PwFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::GetPseudowireRequest request;
  request.set_name(FullName("pseudowires", f.name));
  v1::Pseudowire pw;
  grpc::Status status = stub->GetPseudowire(ctx.Call().get(), request, &pw);
  if (!status.ok()) return ctx.Failed(status, "get pseudowire " + f.name);
  if (ctx.structured()) return ctx.PrintMessage(pw);
  ctx.out() << PseudowireDetail(pw, ctx.NowSeconds());
}

void RunList(Context& ctx, const PwFlags& f) {
  v1::ListPseudowiresRequest request;
  if (!LabelFilter(ctx, f.label_filter, request.mutable_labels())) return;
  request.set_agent(FullName("agents", f.agent));
  if (!f.state.empty()) {
    YAML::Node tree(YAML::NodeType::Map);
    tree["state"] = f.state;
    v1::ListPseudowiresRequest parsed;
    absl::Status s = YamlToMessage(tree, "--state", "", &parsed);
    if (!s.ok()) return ctx.BadInput(s);
    request.set_state(parsed.state());
  }
  v1::ListPseudowiresResponse all;
  if (!ListAllPages(ctx, request, "list pseudowires", &v1::PwireService::Stub::ListPseudowires,
                    &all)) {
    return;
  }
  if (ctx.structured()) return ctx.PrintMessage(all);
  std::vector<v1::Pseudowire> pws(all.pseudowires().begin(), all.pseudowires().end());
  ctx.out() << PseudowireTable(pws, ctx.NowSeconds(), ctx.format() == OutputFormat::kWide);
}

}  // namespace

void AddPseudowireCommands(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<PwFlags>();
  CLI::App* pw = app.add_subcommand("pw", "Pseudowires: create, get, list, update, delete");
  pw->alias("pseudowire");
  pw->require_subcommand(1);

  CLI::App* create = pw->add_subcommand("create", "Create a pseudowire from flags or a file");
  create->add_option("name", f->name, "pseudowire name (or name: in the file)");
  AddSpecFlags(create, *f);
  create->callback([&ctx, f] { RunCreate(ctx, *f); });

  CLI::App* update = pw->add_subcommand("update", "Change fields of a pseudowire");
  update->add_option("name", f->name, "pseudowire name")->required();
  AddSpecFlags(update, *f);
  update->add_option("--etag", f->etag, "refuse the update if the pseudowire changed since");
  update->callback([&ctx, f] { RunUpdate(ctx, *f); });

  CLI::App* get = pw->add_subcommand("get", "Show one pseudowire: spec, status and counters");
  get->add_option("name", f->name, "pseudowire name")->required();
  get->callback([&ctx, f] { RunGet(ctx, *f); });

  CLI::App* list = pw->add_subcommand("list", "List pseudowires");
  list->alias("ls");
  list->add_option("--label,-l", f->label_filter, "only with label KEY=VALUE (repeatable)");
  list->add_option("--agent", f->agent, "only with an endpoint on this agent");
  list->add_option("--state", f->state,
                   "only in this state: pending, up, down, degraded, "
                   "stale, disabled");
  list->callback([&ctx, f] { RunList(ctx, *f); });

  CLI::App* del = pw->add_subcommand("delete", "Delete pseudowires");
  del->alias("rm");
  del->add_option("names", f->names, "pseudowire names")->required();
  del->add_option("--etag", f->etag, "refuse if the pseudowire changed since");
  del->add_flag("--ignore-not-found", f->ignore_missing, "succeed if it does not exist");
  del->add_flag("--dry-run", f->dry_run, "validate, change nothing");
  del->callback([&ctx, f] { RunDelete(ctx, *f); });
}

}  // namespace pwire::cli
