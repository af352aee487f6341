// Loading, attaching and map access of the eBPF data plane: see ebpf_kernel.h.
#include "agent/dataplane/ebpf_kernel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pw_tc.skel.h"

namespace pwire::dataplane {
namespace {

constexpr uint32_t kTcHandle = 1;
constexpr uint32_t kTcPriority = 0x7077;  // "pw": our filter among others on the hook

absl::Status BpfError(const std::string& what, int err) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err < 0 ? -err : err));
  if (err == -EPERM || err == EPERM || err == -EACCES) {
    return absl::PermissionDeniedError(absl::StrCat(msg, " (needs CAP_BPF and CAP_NET_ADMIN)"));
  }
  return absl::InternalError(msg);
}

bool SameAddress(const sockaddr* sa, const IpAddress& a) {
  if (sa == nullptr) {
    return false;
  }
  if (sa->sa_family == AF_INET && a.is_v4()) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return std::memcmp(&in->sin_addr, a.bytes.data(), 4) == 0;
  }
  if (sa->sa_family == AF_INET6 && a.is_v6()) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return std::memcmp(&in6->sin6_addr, a.bytes.data(), 16) == 0;
  }
  return false;
}

bpf_tc_hook IngressHook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts FilterOpts(int prog_fd) {
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  opts.prog_fd = prog_fd;
  opts.flags = prog_fd > 0 ? BPF_TC_F_REPLACE : 0;
  return opts;
}

}  // namespace

absl::StatusOr<EbpfUnderlay> FindUnderlay(const IpAddress& local) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) < 0) {
    return BpfError("listing interface addresses", errno);
  }
  std::string name;
  for (ifaddrs* i = list; i != nullptr && name.empty(); i = i->ifa_next) {
    if (SameAddress(i->ifa_addr, local)) {
      name = i->ifa_name;
    }
  }
  EbpfUnderlay ul;
  for (ifaddrs* i = list; i != nullptr && !name.empty(); i = i->ifa_next) {
    if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_PACKET && name == i->ifa_name) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(i->ifa_addr);
      std::memcpy(ul.mac.data(), ll->sll_addr, 6);
    }
  }
  freeifaddrs(list);
  if (name.empty()) {
    return absl::NotFoundError(
        absl::StrCat("local: no interface holds ", local.ToString(),
                     " (the eBPF data plane decapsulates on the interface of the local address)"));
  }
  ul.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  ul.mtu = InterfaceMtu(ul.ifindex);
  return ul;
}

int InterfaceMtu(int ifindex) {
  char name[IF_NAMESIZE] = {};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  int mtu = 1500;
  if (fd >= 0 && if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr) {
    std::memcpy(ifr.ifr_name, name, sizeof ifr.ifr_name);
    if (ioctl(fd, SIOCGIFMTU, &ifr) == 0) {
      mtu = ifr.ifr_mtu;
    }
  }
  if (fd >= 0) {
    close(fd);
  }
  return mtu;
}

absl::StatusOr<std::unique_ptr<EbpfPrograms>> EbpfPrograms::Load() {
  pw_tc* skel = pw_tc__open();
  if (skel == nullptr) {
    return BpfError("opening the eBPF data plane's programs", errno);
  }
  if (int err = pw_tc__load(skel); err != 0) {
    pw_tc__destroy(skel);
    return BpfError("loading the eBPF data plane's programs (BPF, BTF and tc needed)", err);
  }
  return std::unique_ptr<EbpfPrograms>(new EbpfPrograms(skel));
}

EbpfPrograms::EbpfPrograms(pw_tc* skel) : skel_(skel), cpus_(libbpf_num_possible_cpus()) {
  if (cpus_ < 1) {
    cpus_ = 1;
  }
}

EbpfPrograms::~EbpfPrograms() { pw_tc__destroy(skel_); }

absl::Status EbpfPrograms::Attach(int ifindex, int prog_fd, bool* created_qdisc) {
  bpf_tc_hook hook = IngressHook(ifindex);
  int err = bpf_tc_hook_create(&hook);
  if (err != 0 && err != -EEXIST) {
    return BpfError(absl::StrCat("creating the clsact qdisc on ifindex ", ifindex), err);
  }
  *created_qdisc = err == 0;
  bpf_tc_opts opts = FilterOpts(prog_fd);
  if (err = bpf_tc_attach(&hook, &opts); err != 0) {
    Detach(ifindex, *created_qdisc);
    return BpfError(absl::StrCat("attaching to the tc ingress of ifindex ", ifindex), err);
  }
  return absl::OkStatus();
}

absl::Status EbpfPrograms::AttachDecap(int ifindex, bool* created_qdisc) {
  return Attach(ifindex, bpf_program__fd(skel_->progs.pw_decap), created_qdisc);
}

absl::Status EbpfPrograms::AttachEncap(int ifindex, bool* created_qdisc) {
  return Attach(ifindex, bpf_program__fd(skel_->progs.pw_encap), created_qdisc);
}

void EbpfPrograms::Detach(int ifindex, bool created_qdisc) {
  bpf_tc_hook hook = IngressHook(ifindex);
  bpf_tc_opts opts = FilterOpts(0);
  (void)bpf_tc_detach(&hook, &opts);
  if (created_qdisc) {
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    (void)bpf_tc_hook_destroy(&hook);
  }
}

absl::Status EbpfPrograms::PutSession(uint32_t session_id, const pw_session& value,
                                      int att_ifindex) {
  std::vector<pw_counters> zero(static_cast<size_t>(cpus_));
  auto att = static_cast<uint32_t>(att_ifindex);
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.pw_counters), &session_id, zero.data(),
                          BPF_ANY) != 0 ||
      bpf_map_update_elem(bpf_map__fd(skel_->maps.pw_sessions), &session_id, &value, BPF_ANY) !=
          0 ||
      bpf_map_update_elem(bpf_map__fd(skel_->maps.pw_attachments), &att, &session_id, BPF_ANY) !=
          0) {
    int e = errno;
    RemoveSession(session_id, att_ifindex);
    return BpfError(absl::StrCat("adding session ", session_id, " to the maps"), e);
  }
  return absl::OkStatus();
}

void EbpfPrograms::RemoveSession(uint32_t session_id, int att_ifindex) {
  auto att = static_cast<uint32_t>(att_ifindex);
  (void)bpf_map_delete_elem(bpf_map__fd(skel_->maps.pw_attachments), &att);
  (void)bpf_map_delete_elem(bpf_map__fd(skel_->maps.pw_sessions), &session_id);
  (void)bpf_map_delete_elem(bpf_map__fd(skel_->maps.pw_counters), &session_id);
}

absl::Status EbpfPrograms::PutEndpoint(const pw_endpoint& key) {
  uint32_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.pw_endpoints), &key, &one, BPF_ANY) != 0) {
    return BpfError("adding a local endpoint to the maps", errno);
  }
  return absl::OkStatus();
}

void EbpfPrograms::RemoveEndpoint(const pw_endpoint& key) {
  (void)bpf_map_delete_elem(bpf_map__fd(skel_->maps.pw_endpoints), &key);
}

absl::StatusOr<std::vector<pw_counters>> EbpfPrograms::ReadCounters(uint32_t session_id) const {
  std::vector<pw_counters> v(static_cast<size_t>(cpus_));
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.pw_counters), &session_id, v.data()) != 0) {
    return BpfError(absl::StrCat("reading the counters of session ", session_id), errno);
  }
  return v;
}

std::vector<pw_global> EbpfPrograms::ReadGlobal() const {
  std::vector<pw_global> v(static_cast<size_t>(cpus_));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.pw_global), &zero, v.data()) != 0) {
    return {};
  }
  return v;
}

}  // namespace pwire::dataplane
