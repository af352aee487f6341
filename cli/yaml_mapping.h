// YAML <-> protobuf messages for pwctl, through the protobuf JSON mapping.
// YamlToJson walks a YAML node against a message descriptor, so every error names the
// file, line, column and field path ("a.yaml:12:9: pseudowires[1].spec.type: ...");
// the JSON it builds is then parsed by JsonStringToMessage. The reverse direction prints
// a message as JSON and re-emits that JSON as YAML, keeping the field order.
#ifndef PWIRE_CLI_YAML_MAPPING_H_
#define PWIRE_CLI_YAML_MAPPING_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pwire::cli {

using Json = nlohmann::ordered_json;

// Converts `node` into the protobuf JSON form of `descriptor`. `source` names the file
// in errors; `path` is the field path of `node` itself (empty at a document's root).
// Enum values may be written as the full name (PW_TYPE_ETHERNET), as the part after the
// enum's common prefix in any case (ethernet), or as a number.
absl::StatusOr<Json> YamlToJson(const YAML::Node& node,
                                const google::protobuf::Descriptor* descriptor,
                                absl::string_view source, absl::string_view path = "");

// YamlToJson followed by JsonStringToMessage into `message` (cleared first).
absl::Status YamlToMessage(const YAML::Node& node, absl::string_view source, absl::string_view path,
                           google::protobuf::Message* message);

// Options for printing messages; the defaults are pwctl's stable script output.
struct PrintOptions {
  bool proto_field_names = true;        // snake_case as in the .proto files
  bool always_print_primitives = true;  // zero values printed, so scripts see every field
};

// Protobuf JSON mapping of `message`, as ordered JSON.
Json MessageToJson(const google::protobuf::Message& message, const PrintOptions& options = {});

// Pretty JSON text (2-space indent, trailing newline).
std::string JsonToText(const Json& json);

// Block-style YAML text of a JSON value (trailing newline).
std::string JsonToYaml(const Json& json);

// The prefix shared by every value name of an enum, up to and including its last '_'
// ("DATA_PLANE_" for DATA_PLANE_UNSPECIFIED, DATA_PLANE_KERNEL, ...); "" if none.
std::string EnumValuePrefix(const google::protobuf::EnumDescriptor* type);

// Location of a YAML node as "source:line:column" (1-based), or `source` alone if unknown.
std::string NodeLocation(const YAML::Node& node, absl::string_view source);

}  // namespace pwire::cli

#endif  // PWIRE_CLI_YAML_MAPPING_H_
