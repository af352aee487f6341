// The userspace L2TPv3 data plane: a TAP device per Ethernet session, UDP or IP (protocol 115)
// sockets, worker threads that batch system calls and use TAP and UDP offloads. Wire-compatible
// with Linux l2tp_eth and RFC 4719. Used where the kernel lacks L2TP, and for PW types it lacks.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

absl::StatusOr<std::unique_ptr<Dataplane>> NewUserspaceDataplane(const DataplaneOptions& options);

}  // namespace pwire::dataplane
