// Allocation: what the server decides for each pseudowire, deterministically and durably.
// Which end initiates, the Remote End ID, and for STATIC mode the session IDs, cookies and
// control connection IDs each end receives with. StaticIndex tracks what static pseudowires
// already use, per receiving host ("agents/x" or "external/ADDRESS").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pwire/v1/resources.pb.h"

namespace pwire::server {

// The receiving host of endpoint i: "agents/{id}" or "external/{address}".
std::string ReceiverKey(const pwire::v1::Endpoint& e);

class StaticIndex {
 public:
  // Records (or forgets) what a STATIC pseudowire with this allocation uses.
  void Add(const pwire::v1::Pseudowire& pw);
  void Remove(const pwire::v1::Pseudowire& pw);

  // The pseudowire id using session_id on receiver, other than `except`; empty if none.
  std::string SessionUser(const std::string& receiver, uint32_t session_id,
                          absl::string_view except) const;
  bool TunnelUsed(const std::string& receiver, uint32_t id, absl::string_view except) const;
  // Control connection IDs (on a, on b) another static pseudowire between the two receivers
  // already uses, so pseudowires between the same hosts share one static tunnel.
  std::optional<std::pair<uint32_t, uint32_t>> PairTunnel(const std::string& a,
                                                          const std::string& b,
                                                          absl::string_view except) const;
  size_t size() const { return sessions_.size(); }

 private:
  using Key = std::pair<std::string, uint32_t>;
  std::map<Key, std::string> sessions_;
  std::map<Key, std::set<std::string>> tunnels_;
};

// Decides the allocation of `pw` (normalized, validated spec; name set). `previous` (may be
// null) is kept where still valid, so an update does not renumber a running pseudowire.
// `secret` keys cookie derivation. FAILED_PRECONDITION when a given static ID collides.
absl::StatusOr<pwire::v1::Allocation> Allocate(const pwire::v1::Pseudowire& pw,
                                               uint32_t cookie_length,
                                               const pwire::v1::Allocation* previous,
                                               const StaticIndex& index, absl::string_view secret);

}  // namespace pwire::server
