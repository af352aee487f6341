// Resource names of API v1: "pseudowires/{id}", "classes/{id}", "agents/{id}".
// Parsing, validation and normalization (a bare id is accepted where a name is expected).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pwire::server {

inline constexpr absl::string_view kPseudowires = "pseudowires";
inline constexpr absl::string_view kClasses = "classes";
inline constexpr absl::string_view kAgents = "agents";

// True for 1-63 characters of [a-z0-9-], starting with a letter, not ending with '-'.
bool IsValidId(absl::string_view id);
// Agents: 1-63 characters of [a-z0-9.-], starting and ending with a letter or digit.
bool IsValidAgentId(absl::string_view id);

// "collection/id" or a bare "id" -> the id. `field` names the request field for the error.
absl::StatusOr<std::string> ParseId(absl::string_view name, absl::string_view collection,
                                    absl::string_view field);

std::string MakeName(absl::string_view collection, absl::string_view id);

// The id of a name already known to be well formed ("collection/id", or a bare id).
inline std::string IdOf(const std::string& name) { return name.substr(name.find('/') + 1); }

// Error helpers that prefix the field path: "spec.endpoints[0].agent: ...".
absl::Status InvalidField(absl::string_view path, absl::string_view message);
absl::Status FailedField(absl::string_view path, absl::string_view message);

}  // namespace pwire::server
