// The eBPF data plane's kernel side: the loaded programs and maps (libbpf skeleton of
// bpf/pw_tc.bpf.c), tc clsact attachment, and the underlay lookups. Used by ebpf_dataplane.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/dataplane/ebpf_maps.h"

struct pw_tc;

namespace pwire::dataplane {

// The underlay interface holding `local` (its index, MAC and MTU); NOT_FOUND names the field.
absl::StatusOr<EbpfUnderlay> FindUnderlay(const IpAddress& local);
// The MTU of interface `ifindex` (1500 when it cannot be read).
int InterfaceMtu(int ifindex);

class EbpfPrograms {
 public:
  // Opens and loads the skeleton: verifies both programs and creates the maps.
  static absl::StatusOr<std::unique_ptr<EbpfPrograms>> Load();
  ~EbpfPrograms();
  EbpfPrograms(const EbpfPrograms&) = delete;
  EbpfPrograms& operator=(const EbpfPrograms&) = delete;

  // Attaches pw_decap / pw_encap at the tc ingress of `ifindex` (creating its clsact qdisc when
  // absent; `created_qdisc` says so, for Detach).
  absl::Status AttachDecap(int ifindex, bool* created_qdisc);
  absl::Status AttachEncap(int ifindex, bool* created_qdisc);
  // Removes our filter from `ifindex`'s tc ingress, and the qdisc when we created it.
  void Detach(int ifindex, bool created_qdisc);

  absl::Status PutSession(uint32_t session_id, const pw_session& value, int att_ifindex);
  void RemoveSession(uint32_t session_id, int att_ifindex);
  absl::Status PutEndpoint(const pw_endpoint& key);
  void RemoveEndpoint(const pw_endpoint& key);

  absl::StatusOr<std::vector<pw_counters>> ReadCounters(uint32_t session_id) const;
  std::vector<pw_global> ReadGlobal() const;

 private:
  explicit EbpfPrograms(pw_tc* skel);
  absl::Status Attach(int ifindex, int prog_fd, bool* created_qdisc);
  pw_tc* skel_;
  int cpus_;
};

}  // namespace pwire::dataplane
