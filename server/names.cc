#include "server/names.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pwire::server {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 63 || id.front() < 'a' || id.front() > 'z' || id.back() == '-') {
    return false;
  }
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsValidAgentId(absl::string_view id) {
  if (id.empty() || id.size() > 63 || !IsLowerAlnum(id.front()) || !IsLowerAlnum(id.back())) {
    return false;
  }
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

absl::StatusOr<std::string> ParseId(absl::string_view name, absl::string_view collection,
                                    absl::string_view field) {
  absl::string_view id = name;
  std::string prefix = absl::StrCat(collection, "/");
  if (absl::StartsWith(name, prefix)) {
    id.remove_prefix(prefix.size());
  } else if (absl::StrContains(name, "/")) {
    return InvalidField(
        field, absl::StrCat("'", name, "' is not a name of the form ", collection, "/{id}"));
  }
  if (id.empty()) {
    return InvalidField(field, absl::StrCat("required: give ", collection, "/{id} or the id"));
  }
  bool ok = collection == kAgents ? IsValidAgentId(id) : IsValidId(id);
  if (!ok) {
    return InvalidField(
        field, absl::StrCat("id '", id, "' is invalid: use 1-63 characters of ",
                            collection == kAgents ? "[a-z0-9.-], starting and ending with a "
                                                    "letter or digit"
                                                  : "[a-z0-9-], starting with a letter"));
  }
  return std::string(id);
}

std::string MakeName(absl::string_view collection, absl::string_view id) {
  return absl::StrCat(collection, "/", id);
}

absl::Status InvalidField(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

absl::Status FailedField(absl::string_view path, absl::string_view message) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", message));
}

}  // namespace pwire::server
