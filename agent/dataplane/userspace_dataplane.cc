// Placeholder until the userspace data plane lands.
#include "agent/dataplane/userspace_dataplane.h"

namespace pwire::dataplane {

absl::StatusOr<std::unique_ptr<Dataplane>> NewUserspaceDataplane(const DataplaneOptions&) {
  return absl::UnimplementedError("the userspace data plane is not built yet");
}

}  // namespace pwire::dataplane
