#include "server/paging.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "server/names.h"

namespace pwire::server {

bool MatchesLabels(const google::protobuf::Map<std::string, std::string>& want,
                   const google::protobuf::Map<std::string, std::string>& have) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

absl::StatusOr<Pager> Pager::Begin(int page_size, const std::string& page_token) {
  if (page_size < 0) return InvalidField("page_size", "must not be negative");
  std::string after;
  if (!page_token.empty()) {
    if (!absl::WebSafeBase64Unescape(page_token, &after) || after.rfind("a:", 0) != 0) {
      return InvalidField("page_token",
                          "not a token this server issued; pass next_page_token unchanged");
    }
    after = after.substr(2);
  }
  int limit = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  return Pager(limit, std::move(after));
}

bool Pager::Take(const std::string& id) {
  ++total_;
  if (!after_.empty() && id <= after_) return false;
  if (taken_ < limit_) {
    ++taken_;
    last_taken_ = id;
    return true;
  }
  if (next_.empty()) next_ = absl::WebSafeBase64Escape("a:" + last_taken_);
  return false;
}

}  // namespace pwire::server
