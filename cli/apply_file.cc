// Apply files and single-resource files (see apply_file.h).
#include "apply_file.h"

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "yaml_mapping.h"

namespace pwire::cli {
namespace {

absl::Status ParseError(const YAML::Exception& e, const std::string& source) {
  if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.msg));
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax: ", e.msg));
}

// Loads every document; yaml-cpp reports syntax errors by exception, we by status.
absl::StatusOr<std::vector<YAML::Node>> LoadDocuments(const std::string& text,
                                                      const std::string& source) {
  try {
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return ParseError(e, source);
  }
}

// Checks the name of list item `index` under `key` of `doc` and remembers it, refusing a
// second resource of the same name anywhere in the file.
absl::Status CheckName(const YAML::Node& doc, const char* key, size_t index,
                       const std::string& name, const std::string& source,
                       std::map<std::string, std::string>* seen) {
  YAML::Node item = doc[key][index];
  std::string path = absl::StrCat(key, "[", index, "]");
  if (name.empty() || absl::EndsWith(name, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(NodeLocation(item, source), ": ", path,
                                                   ".name: required: give every resource a name"));
  }
  std::string where = NodeLocation(item["name"], source);
  auto [it, inserted] = seen->emplace(name, where);
  if (!inserted) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", path, ".name: \"", name,
                                                   "\" is already defined at ", it->second));
  }
  return absl::OkStatus();
}

absl::Status MergeDocument(const YAML::Node& doc, const std::string& source,
                           std::map<std::string, std::string>* seen, v1::ApplyRequest* out) {
  if (doc.IsNull()) return absl::OkStatus();  // empty document, e.g. after a trailing ---
  if (doc.IsMap() && doc["validate_only"]) {
    return absl::InvalidArgumentError(
        absl::StrCat(NodeLocation(doc["validate_only"], source),
                     ": validate_only: not allowed in a file; use `pwctl apply --dry-run`"));
  }
  v1::ApplyRequest part;
  absl::Status status = YamlToMessage(doc, source, "", &part);
  if (!status.ok()) return status;
  for (int i = 0; i < part.classes_size(); ++i) {
    NormalizeNames(part.mutable_classes(i));
    status = CheckName(doc, "classes", i, part.classes(i).name(), source, seen);
    if (!status.ok()) return status;
  }
  for (int i = 0; i < part.pseudowires_size(); ++i) {
    NormalizeNames(part.mutable_pseudowires(i));
    status = CheckName(doc, "pseudowires", i, part.pseudowires(i).name(), source, seen);
    if (!status.ok()) return status;
  }
  out->MergeFrom(part);
  return absl::OkStatus();
}

}  // namespace

std::string FullName(const std::string& prefix, const std::string& name) {
  if (name.empty() || absl::StartsWith(name, absl::StrCat(prefix, "/"))) return name;
  return absl::StrCat(prefix, "/", name);
}

void NormalizeNames(v1::Pseudowire* pw) {
  pw->set_name(FullName("pseudowires", pw->name()));
  v1::PseudowireSpec* spec = pw->mutable_spec();
  spec->set_pseudowire_class(FullName("classes", spec->pseudowire_class()));
  for (v1::Endpoint& e : *spec->mutable_endpoints()) {
    if (e.has_agent()) e.mutable_agent()->set_agent(FullName("agents", e.agent().agent()));
  }
}

void NormalizeNames(v1::PseudowireClass* c) { c->set_name(FullName("classes", c->name())); }

absl::StatusOr<std::string> ReadFileText(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the file"));
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<v1::ApplyRequest> ParseApplyText(const std::string& text,
                                                const std::string& source) {
  absl::StatusOr<std::vector<YAML::Node>> docs = LoadDocuments(text, source);
  if (!docs.ok()) return docs.status();
  v1::ApplyRequest request;
  std::map<std::string, std::string> seen;
  for (const YAML::Node& doc : *docs) {
    absl::Status status = MergeDocument(doc, source, &seen, &request);
    if (!status.ok()) return status;
  }
  if (request.classes_size() == 0 && request.pseudowires_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": nothing to apply: expected `classes:` and/or `pseudowires:`"));
  }
  return request;
}

absl::StatusOr<v1::ApplyRequest> LoadApplyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  return ParseApplyText(*text, path == "-" ? "<stdin>" : path);
}

absl::Status ParseMessageText(const std::string& text, const std::string& source,
                              google::protobuf::Message* message) {
  absl::StatusOr<std::vector<YAML::Node>> docs = LoadDocuments(text, source);
  if (!docs.ok()) return docs.status();
  if (docs->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": expected exactly one YAML document, found ", docs->size()));
  }
  return YamlToMessage(docs->front(), source, "", message);
}

absl::Status LoadMessageFile(const std::string& path, google::protobuf::Message* message) {
  absl::StatusOr<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  return ParseMessageText(*text, path == "-" ? "<stdin>" : path, message);
}

}  // namespace pwire::cli
