// RetryBackoff. See retry_backoff.h.
#include "agent/core/retry_backoff.h"

#include <algorithm>

#include "spdlog/spdlog.h"

namespace pwire::agent {
namespace {

constexpr std::chrono::milliseconds kBackoffInitial{1000};
constexpr std::chrono::milliseconds kBackoffMax{16000};

}  // namespace

base::Duration RetryBackoff::Failed(const std::string& key, base::Instant now) {
  Backoff& b = backoff_[key];
  b.failures = std::min(b.failures + 1, 16);
  auto d = kBackoffInitial;
  for (int i = 1; i < b.failures && d < kBackoffMax; ++i) d *= 2;
  d = std::min(d, kBackoffMax);
  auto half = d / 2;
  auto wait =
      half + std::chrono::milliseconds(random_.Uniform(static_cast<uint64_t>(half.count())));
  b.retry_at = now + wait;
  spdlog::info("l2tp: {} failed ({} in a row): next attempt in {} ms", key, b.failures,
               wait.count());
  return wait;
}

std::optional<base::Instant> RetryBackoff::RetryAt(const std::string& key) const {
  auto it = backoff_.find(key);
  if (it == backoff_.end()) return std::nullopt;
  return it->second.retry_at;
}

}  // namespace pwire::agent
