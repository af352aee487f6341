// Entry points of the kernel data plane (generic netlink "l2tp" through libnl-3), called by the
// factory. Defined in kernel_monitor.cc.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

// True when the "l2tp" generic netlink family is registered, or becomes so after asking the
// kernel to load it (resolving the family name triggers module autoloading).
bool KernelL2tpAvailable();

absl::StatusOr<std::unique_ptr<Dataplane>> NewKernelDataplane(const DataplaneOptions& options);

}  // namespace pwire::dataplane
