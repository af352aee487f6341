// The eBPF data plane's pure part: what goes into its maps (bpf/pw_maps.h) for a tunnel and a
// session, which sessions it carries, and counters read back as dataplane::Stats. No system
// calls, so unit tests cover it without a kernel. See ebpf_dataplane.h.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/dataplane/bpf/pw_maps.h"
#include "agent/dataplane/dataplane.h"

namespace pwire::dataplane {

// Where a tunnel's packets leave: the underlay interface that holds its local address.
struct EbpfUnderlay {
  int ifindex = 0;
  std::array<uint8_t, 6> mac{};
  int mtu = 1500;
};

// OK when the eBPF data plane carries the session: Ethernet or Ethernet VLAN, UDP, cookies of
// 0/4/8 bytes, no data sequencing. Otherwise UNIMPLEMENTED (a capability the userspace data
// plane has: `auto` sends it there) or INVALID_ARGUMENT, naming the field.
absl::Status EbpfCarries(const TunnelConfig& tunnel, const SessionConfig& session);

// The pw_sessions value of `session` in `tunnel`; `att_ifindex` is the hidden veth end.
// The sublayer is per direction: we send what the peer asked for (tx_sublayer) and expect what
// we asked for (rx_sublayer).
absl::StatusOr<pw_session> BuildSessionValue(const TunnelConfig& tunnel,
                                             const SessionConfig& session,
                                             const EbpfUnderlay& underlay, int att_ifindex);

// The pw_endpoints key of the tunnel's local UDP endpoint.
pw_endpoint BuildEndpoint(const TunnelConfig& tunnel);

// Sums per-CPU counter slots into Stats.
Stats SumCounters(const std::vector<pw_counters>& per_cpu);
Stats SumGlobal(const std::vector<pw_global>& per_cpu);

}  // namespace pwire::dataplane
