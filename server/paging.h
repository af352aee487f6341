// List paging and label filters shared by the List methods of pseudowires, classes and
// agents. Items are visited in id order; a page token is "a:{last id}" in web-safe base64,
// so a token stays valid while resources come and go.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/map.h"

namespace pwire::server {

// True if `have` holds every key of `want` with the same value.
bool MatchesLabels(const google::protobuf::Map<std::string, std::string>& want,
                   const google::protobuf::Map<std::string, std::string>& have);

class Pager {
 public:
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMaxPageSize = 1000;

  // INVALID_ARGUMENT naming page_size or page_token when they are not acceptable.
  static absl::StatusOr<Pager> Begin(int page_size, const std::string& page_token);

  // Counts one matching item (in id order); true if it belongs on this page.
  bool Take(const std::string& id);
  int total_size() const { return total_; }
  // Empty when this page is the last.
  const std::string& next_page_token() const { return next_; }

 private:
  Pager(int limit, std::string after) : limit_(limit), after_(std::move(after)) {}

  int limit_;
  std::string after_;  // ids up to and including this one were on earlier pages
  int taken_ = 0, total_ = 0;
  std::string last_taken_, next_;
};

}  // namespace pwire::server
