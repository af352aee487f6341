// `pwctl class create|get|list|update|delete` and `pwctl agent list|get|forget`.
// Class flags are made from the PseudowireClass descriptor (--udp-port, --cookie-length, ...),
// so every settable field has a flag and the flags never drift from the API.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "apply_file.h"
#include "command_context.h"
#include "render.h"

namespace pwire::cli {
namespace {

namespace pb = google::protobuf;

struct ClassFlags {
  std::string name, file, etag;
  std::map<std::string, std::string> fields;  // proto field name -> flag value
  std::vector<std::string> labels, sets, names, label_filter;
  bool dry_run = false, ignore_missing = false;
};

struct AgentFlags {
  std::string name, state;
  std::vector<std::string> label_filter;
  bool ignore_missing = false;
  bool force = false;
};

bool IsOutputOnly(const std::string& field) {
  static const std::set<std::string> kOutputOnly = {"name",        "etag",        "generation",
                                                    "create_time", "update_time", "labels"};
  return kOutputOnly.count(field) > 0;
}

std::string FlagHelp(const pb::FieldDescriptor* f) {
  if (f->enum_type() != nullptr) {
    std::string values;
    for (int i = 0; i < f->enum_type()->value_count(); ++i) {
      std::string word = EnumWord(f->enum_type(), f->enum_type()->value(i)->number());
      if (word == "-") continue;
      absl::StrAppend(&values, values.empty() ? "" : ", ", word);
    }
    return values;
  }
  if (f->message_type() != nullptr) return "duration, e.g. 30s";
  if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_BOOL) return "true or false";
  if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) return "text";
  return "number";
}

void AddClassFieldFlags(CLI::App* cmd, ClassFlags& f) {
  const pb::Descriptor* d = v1::PseudowireClass::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* field = d->field(i);
    if (IsOutputOnly(field->name())) continue;
    std::string flag = field->name();
    std::replace(flag.begin(), flag.end(), '_', '-');
    cmd->add_option("--" + flag, f.fields[field->name()], FlagHelp(field));
  }
  cmd->add_option("-f,--file", f.file, "YAML file holding the PseudowireClass (- for stdin)");
  cmd->add_option("--label", f.labels, "KEY=VALUE (repeatable)");
  cmd->add_option("--set", f.sets, "FIELD=VALUE for any field");
  cmd->add_flag("--dry-run", f.dry_run, "validate on the server, change nothing");
}

absl::StatusOr<YAML::Node> ClassTree(const ClassFlags& f) {
  absl::StatusOr<YAML::Node> tree = TreeFromAssignments(f.sets);
  if (!tree.ok()) return tree;
  for (const auto& [field, value] : f.fields) {
    if (!value.empty()) (*tree)[field] = value;
  }
  return tree;
}

absl::Status AddLabels(const std::vector<std::string>& items, v1::PseudowireClass* c) {
  std::map<std::string, std::string> labels;
  std::string bad;
  if (!ParseLabels(items, &labels, &bad)) {
    return absl::InvalidArgumentError(absl::StrCat("--label \"", bad, "\": expected KEY=VALUE"));
  }
  for (const auto& [k, v] : labels) (*c->mutable_labels())[k] = v;
  return absl::OkStatus();
}

void PrintClass(Context& ctx, const v1::PseudowireClass& c, const std::string& verb) {
  if (ctx.structured()) return ctx.PrintMessage(c);
  ctx.out() << "class " << ShortName(c.name()) << " " << verb << " (generation " << c.generation()
            << ")\n";
}

void RunClassCreate(Context& ctx, const ClassFlags& f) {
  v1::PseudowireClass c;
  absl::Status s;
  if (!f.file.empty()) {
    s = LoadMessageFile(f.file, &c);
  } else {
    absl::StatusOr<YAML::Node> tree = ClassTree(f);
    s = tree.ok() ? YamlToMessage(*tree, "command line", "", &c) : tree.status();
  }
  if (s.ok()) s = AddLabels(f.labels, &c);
  if (!s.ok()) return ctx.BadInput(s);
  if (!f.name.empty()) c.set_name(f.name);
  if (c.name().empty()) return ctx.Usage("class create: give the class a NAME");
  NormalizeNames(&c);
  v1::CreatePseudowireClassRequest request;
  request.set_class_id(ShortName(c.name()));
  *request.mutable_pseudowire_class() = c;
  request.set_validate_only(f.dry_run);
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::PseudowireClass created;
  grpc::Status status = stub->CreatePseudowireClass(ctx.Call().get(), request, &created);
  if (!status.ok()) return ctx.Failed(status, "create class " + ShortName(c.name()));
  PrintClass(ctx, created, f.dry_run ? "is valid (dry run, nothing created)" : "created");
}

void RunClassUpdate(Context& ctx, const ClassFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::GetPseudowireClassRequest get;
  get.set_name(FullName("classes", f.name));
  v1::PseudowireClass current;
  grpc::Status status = stub->GetPseudowireClass(ctx.Call().get(), get, &current);
  if (!status.ok()) return ctx.Failed(status, "get class " + f.name);
  std::vector<std::string> mask;
  v1::PseudowireClass patch;
  absl::StatusOr<YAML::Node> tree = ClassTree(f);
  if (!tree.ok()) return ctx.BadInput(tree.status());
  if (!f.file.empty()) {
    absl::Status s = LoadMessageFile(f.file, &patch);
    if (!s.ok()) return ctx.BadInput(s);
    patch.set_name(current.name());
    patch.set_etag(current.etag());
    current.Swap(&patch);
    mask.push_back("*");
  } else {
    absl::Status s = YamlToMessage(*tree, "command line", "", &patch);
    if (!s.ok()) return ctx.BadInput(s);
    MoveFields(*tree, &patch, &current, "", &mask);
  }
  if (!f.labels.empty()) {
    absl::Status s = AddLabels(f.labels, &current);
    if (!s.ok()) return ctx.BadInput(s);
    mask.push_back("labels");
  }
  if (mask.empty()) {
    return ctx.Usage(
        "class update: nothing to change; give flags such as "
        "--cookie-length or --set");
  }
  if (!f.etag.empty()) current.set_etag(f.etag);
  v1::UpdatePseudowireClassRequest request;
  *request.mutable_pseudowire_class() = current;
  for (const std::string& path : mask) request.mutable_update_mask()->add_paths(path);
  request.set_validate_only(f.dry_run);
  v1::PseudowireClass updated;
  status = stub->UpdatePseudowireClass(ctx.Call().get(), request, &updated);
  if (!status.ok()) return ctx.Failed(status, "update class " + f.name);
  PrintClass(ctx, updated, f.dry_run ? "update is valid (dry run, nothing changed)" : "updated");
}

void RunClassGet(Context& ctx, const ClassFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::GetPseudowireClassRequest request;
  request.set_name(FullName("classes", f.name));
  v1::PseudowireClass c;
  grpc::Status status = stub->GetPseudowireClass(ctx.Call().get(), request, &c);
  if (!status.ok()) return ctx.Failed(status, "get class " + f.name);
  if (ctx.structured()) return ctx.PrintMessage(c);
  ctx.out() << ClassDetail(c, ctx.NowSeconds());
}

void RunClassList(Context& ctx, const ClassFlags& f) {
  v1::ListPseudowireClassesRequest request;
  if (!LabelFilter(ctx, f.label_filter, request.mutable_labels())) return;
  v1::ListPseudowireClassesResponse all;
  if (!ListAllPages(ctx, request, "list classes", &v1::PwireService::Stub::ListPseudowireClasses,
                    &all)) {
    return;
  }
  if (ctx.structured()) return ctx.PrintMessage(all);
  std::vector<v1::PseudowireClass> classes(all.classes().begin(), all.classes().end());
  ctx.out() << ClassTable(classes, ctx.NowSeconds(), ctx.format() == OutputFormat::kWide);
}

void RunClassDelete(Context& ctx, const ClassFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  for (const std::string& name : f.names) {
    v1::DeletePseudowireClassRequest request;
    request.set_name(FullName("classes", name));
    request.set_etag(f.etag);
    request.set_allow_missing(f.ignore_missing);
    request.set_validate_only(f.dry_run);
    google::protobuf::Empty empty;
    grpc::Status status = stub->DeletePseudowireClass(ctx.Call().get(), request, &empty);
    if (!status.ok()) return ctx.Failed(status, "delete class " + name);
    if (!ctx.structured()) {
      ctx.out() << "class " << ShortName(name)
                << (f.dry_run ? " can be deleted (dry run)\n" : " deleted\n");
    }
  }
}

void RunAgentList(Context& ctx, const AgentFlags& f) {
  v1::ListAgentsRequest request;
  if (!LabelFilter(ctx, f.label_filter, request.mutable_labels())) return;
  if (!f.state.empty()) {
    YAML::Node tree(YAML::NodeType::Map);
    tree["connection_state"] = f.state;
    v1::ListAgentsRequest parsed;
    absl::Status s = YamlToMessage(tree, "--state", "", &parsed);
    if (!s.ok()) return ctx.BadInput(s);
    request.set_connection_state(parsed.connection_state());
  }
  v1::ListAgentsResponse all;
  if (!ListAllPages(ctx, request, "list agents", &v1::PwireService::Stub::ListAgents, &all)) {
    return;
  }
  if (ctx.structured()) return ctx.PrintMessage(all);
  std::vector<v1::Agent> agents(all.agents().begin(), all.agents().end());
  ctx.out() << AgentTable(agents, ctx.NowSeconds(), ctx.format() == OutputFormat::kWide);
}

void RunAgentGet(Context& ctx, const AgentFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::GetAgentRequest request;
  request.set_name(FullName("agents", f.name));
  v1::Agent agent;
  grpc::Status status = stub->GetAgent(ctx.Call().get(), request, &agent);
  if (!status.ok()) return ctx.Failed(status, "get agent " + f.name);
  if (ctx.structured()) return ctx.PrintMessage(agent);
  ctx.out() << AgentDetail(agent, ctx.NowSeconds());
}

void RunAgentForget(Context& ctx, const AgentFlags& f) {
  v1::PwireService::Stub* stub = ctx.Stub();
  if (stub == nullptr) return;
  v1::DeleteAgentRequest request;
  request.set_name(FullName("agents", f.name));
  request.set_allow_missing(f.ignore_missing);
  request.set_force(f.force);
  google::protobuf::Empty empty;
  grpc::Status status = stub->DeleteAgent(ctx.Call().get(), request, &empty);
  if (!status.ok()) return ctx.Failed(status, "forget agent " + f.name);
  if (!ctx.structured()) ctx.out() << "agent " << ShortName(f.name) << " forgotten\n";
}

}  // namespace

void AddClassCommands(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ClassFlags>();
  CLI::App* cls = app.add_subcommand("class",
                                     "Pseudowire classes: create, get, list, update, "
                                     "delete");
  cls->require_subcommand(1);
  CLI::App* create = cls->add_subcommand("create", "Create a class from flags or a file");
  create->add_option("name", f->name, "class name (or name: in the file)");
  AddClassFieldFlags(create, *f);
  create->callback([&ctx, f] { RunClassCreate(ctx, *f); });

  CLI::App* update = cls->add_subcommand("update", "Change fields of a class");
  update->add_option("name", f->name, "class name")->required();
  AddClassFieldFlags(update, *f);
  update->add_option("--etag", f->etag, "refuse the update if the class changed since");
  update->callback([&ctx, f] { RunClassUpdate(ctx, *f); });

  CLI::App* get = cls->add_subcommand("get", "Show one class");
  get->add_option("name", f->name, "class name")->required();
  get->callback([&ctx, f] { RunClassGet(ctx, *f); });

  CLI::App* list = cls->add_subcommand("list", "List classes");
  list->alias("ls");
  list->add_option("--label,-l", f->label_filter, "only with label KEY=VALUE (repeatable)");
  list->callback([&ctx, f] { RunClassList(ctx, *f); });

  CLI::App* del = cls->add_subcommand("delete", "Delete classes no pseudowire refers to");
  del->alias("rm");
  del->add_option("names", f->names, "class names")->required();
  del->add_option("--etag", f->etag, "refuse if the class changed since");
  del->add_flag("--ignore-not-found", f->ignore_missing, "succeed if it does not exist");
  del->add_flag("--dry-run", f->dry_run, "validate, change nothing");
  del->callback([&ctx, f] { RunClassDelete(ctx, *f); });
}

void AddAgentCommands(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<AgentFlags>();
  CLI::App* agent = app.add_subcommand("agent", "Agents (hosts running pwire-agent)");
  agent->require_subcommand(1);
  CLI::App* list = agent->add_subcommand("list", "List agents");
  list->alias("ls");
  list->add_option("--label,-l", f->label_filter, "only with label KEY=VALUE (repeatable)");
  list->add_option("--state", f->state, "connected, disconnected or never-connected");
  list->callback([&ctx, f] { RunAgentList(ctx, *f); });
  CLI::App* get = agent->add_subcommand("get", "Show one agent, its capabilities and tunnels");
  get->add_option("name", f->name, "agent name")->required();
  get->callback([&ctx, f] { RunAgentGet(ctx, *f); });
  CLI::App* forget = agent->add_subcommand("forget", "Forget a decommissioned agent");
  forget->add_option("name", f->name, "agent name")->required();
  forget->add_flag("--ignore-not-found", f->ignore_missing, "succeed if it is not known");
  forget->add_flag("--force", f->force, "forget it even though pseudowires still use it");
  forget->callback([&ctx, f] { RunAgentForget(ctx, *f); });
}

}  // namespace pwire::cli
