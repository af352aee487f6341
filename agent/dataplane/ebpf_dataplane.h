// The eBPF data plane: L2TPv3 over UDP Ethernet pseudowires forwarded by two tc programs
// (bpf/pw_tc.bpf.c, built with clang and embedded as a libbpf skeleton), with no l2tp module
// and no copy: decapsulation on each underlay interface's tc ingress, encapsulation on each
// session's tc ingress, sessions in maps. A session is a veth pair: the session interface the
// agent bridges (as the TAP of the userspace data plane) and a hidden end the programs use.
// Carries what ebpf_maps.h's EbpfCarries accepts; other sessions are refused (UNIMPLEMENTED)
// so that `auto` gives them to the userspace data plane.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

// Loads the programs into the kernel (needs CAP_BPF/CAP_NET_ADMIN, BTF and clsact).
absl::StatusOr<std::unique_ptr<Dataplane>> NewEbpfDataplane(const DataplaneOptions& options);

}  // namespace pwire::dataplane
