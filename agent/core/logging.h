// Structured logging for pwire-agent on spdlog: one process-wide logger writing to stderr (the
// journal under systemd), as text or as one JSON object per line. Messages carry key=value
// fields so that both forms stay greppable.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace pwire::agent {

// Sets the default spdlog logger's level ("trace".."error") and format ("text" or "json").
absl::Status SetupLogging(std::string_view level, std::string_view format);

}  // namespace pwire::agent
