// TAP devices and rtnetlink link changes: see userspace_link.h.
#include "agent/dataplane/userspace_link.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pwire::dataplane {
namespace {

absl::Status Errno(const std::string& what) {
  int e = errno;
  std::string msg = absl::StrCat(what, ": ", std::strerror(e));
  if (e == EPERM || e == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat(msg, " (needs CAP_NET_ADMIN)"));
  }
  if (e == EBUSY || e == EEXIST) {
    return absl::AlreadyExistsError(msg);
  }
  return absl::InternalError(msg);
}

absl::Status NlError(const std::string& what, int err) {
  std::string msg = absl::StrCat(what, ": ", nl_geterror(err));
  if (err == -NLE_PERM) {
    return absl::PermissionDeniedError(absl::StrCat(msg, " (needs CAP_NET_ADMIN)"));
  }
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) {
    return absl::NotFoundError(msg);
  }
  if (err == -NLE_EXIST) {
    return absl::AlreadyExistsError(msg);
  }
  if (err == -NLE_OPNOTSUPP) {
    return absl::UnimplementedError(absl::StrCat(msg, " (the kernel lacks this link type)"));
  }
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::vector<int>> OpenTap(const std::string& name, int queues, bool offloads) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("bad interface name '", name, "'"));
  }
  std::vector<int> fds;
  auto fail = [&](absl::Status s) {
    for (int fd : fds) {
      close(fd);
    }
    return s;
  };
  for (int q = 0; q < queues; ++q) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      return fail(Errno("open /dev/net/tun"));
    }
    fds.push_back(fd);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      return fail(Errno(absl::StrCat("TUNSETIFF ", name)));
    }
    int hdr = 10;  // sizeof(struct virtio_net_hdr)
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
      return fail(Errno("TUNSETVNETHDRSZ"));
    }
    unsigned long flags = offloads ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) : 0;
    if (ioctl(fd, TUNSETOFFLOAD, flags) < 0) {
      return fail(Errno("TUNSETOFFLOAD"));
    }
  }
  return fds;
}

absl::StatusOr<std::unique_ptr<LinkControl>> LinkControl::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) {
    return absl::ResourceExhaustedError("nl_socket_alloc failed");
  }
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sock);
    return NlError("connecting to rtnetlink", err);
  }
  return std::unique_ptr<LinkControl>(new LinkControl(sock));
}

LinkControl::~LinkControl() { nl_socket_free(sock_); }

bool LinkControl::Exists(const std::string& name) {
  std::lock_guard lock(mu_);
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(sock_, 0, name.c_str(), &link) < 0) {
    return false;
  }
  rtnl_link_put(link);
  return true;
}

absl::Status LinkControl::SetMtuAndUp(const std::string& ifname, int mtu) {
  std::lock_guard lock(mu_);
  rtnl_link* orig = nullptr;
  if (int err = rtnl_link_get_kernel(sock_, 0, ifname.c_str(), &orig); err < 0) {
    return NlError(absl::StrCat("looking up ", ifname), err);
  }
  rtnl_link* change = rtnl_link_alloc();
  if (mtu > 0) {
    rtnl_link_set_mtu(change, static_cast<unsigned>(mtu));
  }
  rtnl_link_set_flags(change, IFF_UP);
  int err = rtnl_link_change(sock_, orig, change, 0);
  rtnl_link_put(change);
  rtnl_link_put(orig);
  if (err < 0) {
    return NlError(absl::StrCat("setting mtu ", mtu, " and up on ", ifname), err);
  }
  return absl::OkStatus();
}

absl::Status LinkControl::SetMaster(const std::string& ifname, const std::string& master) {
  std::lock_guard lock(mu_);
  int slave_index = static_cast<int>(if_nametoindex(ifname.c_str()));
  int master_index = static_cast<int>(if_nametoindex(master.c_str()));
  if (slave_index == 0 || master_index == 0) {
    return absl::NotFoundError(absl::StrCat("no interface ", slave_index == 0 ? ifname : master));
  }
  if (int err = rtnl_link_enslave_ifindex(sock_, master_index, slave_index); err < 0) {
    return NlError(absl::StrCat("joining ", ifname, " to ", master), err);
  }
  return absl::OkStatus();
}

absl::Status LinkControl::EnsureBridge(const std::string& name) {
  std::lock_guard lock(mu_);
  int err = rtnl_link_bridge_add(sock_, name.c_str());
  if (err < 0 && err != -NLE_EXIST) {
    return NlError(absl::StrCat("creating bridge ", name), err);
  }
  return absl::OkStatus();
}

absl::Status LinkControl::EnsureVlan(const std::string& parent, const std::string& name,
                                     uint16_t vlan_id) {
  std::lock_guard lock(mu_);
  int parent_index = static_cast<int>(if_nametoindex(parent.c_str()));
  if (parent_index == 0) {
    return absl::NotFoundError(absl::StrCat("no interface ", parent));
  }
  rtnl_link* link = rtnl_link_vlan_alloc();
  rtnl_link_set_link(link, parent_index);
  rtnl_link_set_name(link, name.c_str());
  rtnl_link_vlan_set_id(link, vlan_id);
  int err = rtnl_link_add(sock_, link, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(link);
  if (err < 0 && err != -NLE_EXIST) {
    return NlError(absl::StrCat("creating vlan ", name), err);
  }
  return absl::OkStatus();
}

absl::Status LinkControl::CreateVethPair(const std::string& name, const std::string& peer) {
  std::lock_guard lock(mu_);
  int err = rtnl_link_veth_add(sock_, name.c_str(), peer.c_str(), getpid());
  if (err < 0) {
    return NlError(absl::StrCat("creating veth pair ", name, "/", peer), err);
  }
  return absl::OkStatus();
}

absl::Status LinkControl::DeleteLink(const std::string& name) {
  std::lock_guard lock(mu_);
  rtnl_link* link = rtnl_link_alloc();
  rtnl_link_set_name(link, name.c_str());
  int err = rtnl_link_delete(sock_, link);
  rtnl_link_put(link);
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) {
    return NlError(absl::StrCat("deleting ", name), err);
  }
  return absl::OkStatus();
}

}  // namespace pwire::dataplane

namespace pwire::dataplane {

absl::StatusOr<std::unique_ptr<LinkMonitor>> LinkMonitor::Start(Callback on_change) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) {
    return Errno("opening an rtnetlink socket");
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    close(fd);
    return Errno("subscribing to link notifications");
  }
  int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop < 0) {
    close(fd);
    return Errno("eventfd");
  }
  return std::unique_ptr<LinkMonitor>(new LinkMonitor(fd, stop, std::move(on_change)));
}

LinkMonitor::LinkMonitor(int nlfd, int stopfd, Callback cb)
    : nlfd_(nlfd), stopfd_(stopfd), cb_(std::move(cb)) {
  thread_ = std::thread([this] { Loop(); });
}

LinkMonitor::~LinkMonitor() {
  uint64_t one = 1;
  (void)!write(stopfd_, &one, sizeof one);
  thread_.join();
  close(nlfd_);
  close(stopfd_);
}

void LinkMonitor::Loop() {
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    pollfd p[2] = {{nlfd_, POLLIN, 0}, {stopfd_, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      continue;  // EINTR
    }
    if ((p[1].revents & POLLIN) != 0) {
      return;
    }
    ssize_t n = recv(nlfd_, buf, sizeof buf, 0);
    if (n <= 0) {
      continue;  // EAGAIN, or ENOBUFS after an overrun: later notifications still come
    }
    auto len = static_cast<unsigned>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
          h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
        continue;
      }
      const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
      constexpr unsigned kIffLowerUp = 0x10000;  // linux/if.h, which clashes with net/if.h
      bool up = (ifi->ifi_flags & IFF_UP) != 0 && (ifi->ifi_flags & kIffLowerUp) != 0;
      cb_(ifi->ifi_index, up, h->nlmsg_type == RTM_DELLINK);
    }
  }
}

absl::Status SetUpSessionLinks(LinkControl& link, const SessionConfig& c, std::string& vlan_made,
                               std::string& bridge_made) {
  if (absl::Status st = link.SetMtuAndUp(c.ifname, c.mtu); !st.ok()) {
    return st;
  }
  std::string member = c.ifname;
  if (c.pw_type == PwType::kEthernetVlan && c.vlan_id != 0) {
    std::string vlan = absl::StrCat(c.ifname, ".", c.vlan_id);
    if (vlan.size() >= IFNAMSIZ) {
      return absl::InvalidArgumentError(absl::StrCat("vlan_id: device name too long: ", vlan));
    }
    if (absl::Status st = link.EnsureVlan(c.ifname, vlan, c.vlan_id); !st.ok()) {
      return st;
    }
    vlan_made = vlan;
    if (absl::Status st = link.SetMtuAndUp(vlan, 0); !st.ok()) {
      return st;
    }
    member = vlan;
  }
  switch (c.attach.kind) {
    case Attachment::Kind::kNone:
      return absl::OkStatus();
    case Attachment::Kind::kBridge:
      return link.SetMaster(member, c.attach.name);
    case Attachment::Kind::kInterface: {
      std::string bridge = absl::StrCat(c.ifname, "b").substr(0, IFNAMSIZ - 1);
      if (absl::Status st = link.EnsureBridge(bridge); !st.ok()) {
        return st;
      }
      bridge_made = bridge;
      for (const std::string& port : {member, c.attach.name}) {
        if (absl::Status st = link.SetMaster(port, bridge); !st.ok()) {
          return st;
        }
      }
      if (absl::Status st = link.SetMtuAndUp(c.attach.name, 0); !st.ok()) {
        return st;
      }
      return link.SetMtuAndUp(bridge, 0);
    }
  }
  return absl::OkStatus();
}

}  // namespace pwire::dataplane
