// Retry backoff for the control plane: after a failed SCCRQ or ICRQ, when it may be tried
// again. 1 s doubling to 16 s, each wait jittered to [d/2, d) so that many pseudowires do not
// retry together. Keyed by TunnelKey::ToString() (an SCCRQ) or a pseudowire's name (an
// ICRQ); a success or a new desired state clears it (map-like erase/clear).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "pwire/base/random.h"
#include "pwire/base/time.h"

namespace pwire::agent {

class RetryBackoff {
 public:
  explicit RetryBackoff(base::Random& random) : random_(random) {}

  // One more failure of `key` at `now`: the next attempt waits longer. Returns the wait.
  base::Duration Failed(const std::string& key, base::Instant now);
  // When `key` may be tried again; nullopt: now.
  std::optional<base::Instant> RetryAt(const std::string& key) const;
  void erase(const std::string& key) { backoff_.erase(key); }
  void clear() { backoff_.clear(); }

 private:
  struct Backoff {
    int failures = 0;
    base::Instant retry_at;
  };
  base::Random& random_;
  std::map<std::string, Backoff> backoff_;
};

}  // namespace pwire::agent
