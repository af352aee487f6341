// Stand-in for the kernel data plane until kernel_*.cc land (then this file is deleted).
#include "agent/dataplane/kernel_entry.h"

namespace pwire::dataplane {

bool KernelL2tpAvailable() { return false; }

absl::StatusOr<std::unique_ptr<Dataplane>> NewKernelDataplane(const DataplaneOptions&) {
  return absl::UnimplementedError("this build has no kernel data plane");
}

}  // namespace pwire::dataplane
