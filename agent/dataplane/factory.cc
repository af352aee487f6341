// CreateDataplane: builds the data plane asked for. kAuto prefers the kernel when it has L2TP,
// then the eBPF data plane with the userspace one for the sessions it refuses, then userspace.
#include "agent/dataplane/ebpf_dataplane.h"
#include "agent/dataplane/fake_dataplane.h"
#include "agent/dataplane/fallback_dataplane.h"
#include "agent/dataplane/kernel_entry.h"
#include "agent/dataplane/userspace_dataplane.h"

namespace pwire::dataplane {

absl::StatusOr<std::unique_ptr<Dataplane>> CreateDataplane(DataplaneKind kind,
                                                           const DataplaneOptions& options) {
  switch (kind) {
    case DataplaneKind::kAuto:
      if (KernelL2tpAvailable()) {
        return NewKernelDataplane(options);
      }
      if (auto ebpf = NewEbpfDataplane(options); ebpf.ok()) {
        auto userspace = NewUserspaceDataplane(options);
        if (!userspace.ok()) {
          return userspace.status();
        }
        return std::make_unique<FallbackDataplane>(*std::move(ebpf), *std::move(userspace));
      }
      return NewUserspaceDataplane(options);
    case DataplaneKind::kKernel:
      return NewKernelDataplane(options);
    case DataplaneKind::kUserspace:
      return NewUserspaceDataplane(options);
    case DataplaneKind::kEbpf:
      return NewEbpfDataplane(options);
    case DataplaneKind::kFake:
      return std::make_unique<FakeDataplane>();
  }
  return absl::InvalidArgumentError("unknown data plane kind");
}

}  // namespace pwire::dataplane
