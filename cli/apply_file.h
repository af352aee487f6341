// pwctl's apply files: YAML with one or more documents, each listing `classes:` and
// `pseudowires:` exactly as the fields of pwire.v1.ApplyRequest (protobuf JSON mapping; proto
// or lowerCamel field names). Names and references may be bare ids ("gold") and are expanded
// ("classes/gold"). Every error names the file, line, column and field path.
#ifndef PWIRE_CLI_APPLY_FILE_H_
#define PWIRE_CLI_APPLY_FILE_H_

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/statusor.h"
#include "pwire/v1/pwire_service.pb.h"

namespace pwire::cli {

// Parses apply-file text; `source` names it in errors.
absl::StatusOr<v1::ApplyRequest> ParseApplyText(const std::string& text, const std::string& source);

// Reads and parses an apply file ("-" reads standard input).
absl::StatusOr<v1::ApplyRequest> LoadApplyFile(const std::string& path);

// Reads one YAML (or JSON) document into `message`, e.g. a Pseudowire for `pw create -f`.
absl::Status LoadMessageFile(const std::string& path, google::protobuf::Message* message);

// Parses one YAML document text into `message`.
absl::Status ParseMessageText(const std::string& text, const std::string& source,
                              google::protobuf::Message* message);

// "x" -> "prefix/x"; "prefix/x" and "" stay as they are.
std::string FullName(const std::string& prefix, const std::string& name);

// Expands bare ids in names and references (pseudowire name, class, endpoint agents).
void NormalizeNames(v1::Pseudowire* pw);
void NormalizeNames(v1::PseudowireClass* c);

// Reads a whole file ("-": standard input).
absl::StatusOr<std::string> ReadFileText(const std::string& path);

}  // namespace pwire::cli

#endif  // PWIRE_CLI_APPLY_FILE_H_
