// rtnetlink operations of the kernel data plane (see kernel_link.h).
#include "agent/dataplane/kernel_link.h"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vlan.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"

namespace pwire::dataplane::kernel {
namespace {

struct LinkFree {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkFree>;

LinkInfo InfoOf(rtnl_link* link) {
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(link);
  const char* name = rtnl_link_get_name(link);
  info.name = name != nullptr ? name : "";
  info.mtu = static_cast<int>(rtnl_link_get_mtu(link));
  unsigned flags = rtnl_link_get_flags(link);
  info.up = (flags & IFF_UP) != 0;
  info.running = (flags & IFF_RUNNING) != 0;
  info.master_ifindex = rtnl_link_get_master(link);
  const char* kind = rtnl_link_get_type(link);
  info.kind = kind != nullptr ? kind : "";
  return info;
}

absl::StatusOr<NlSockPtr> ConnectRoute() {
  NlSockPtr sock(nl_socket_alloc());
  if (sock == nullptr) {
    return absl::ResourceExhaustedError("nl_socket_alloc failed");
  }
  if (int rc = nl_connect(sock.get(), NETLINK_ROUTE); rc < 0) {
    return LibnlError(rc, "rtnetlink connect");
  }
  return sock;
}

}  // namespace

absl::Status LibnlError(int nl_error, const std::string& what) {
  std::string msg = absl::StrCat(what, ": ", nl_geterror(nl_error));
  switch (-nl_error) {
    case NLE_PERM:
      return absl::PermissionDeniedError(absl::StrCat(msg, " (needs CAP_NET_ADMIN)"));
    case NLE_EXIST:
      return absl::AlreadyExistsError(msg);
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return absl::NotFoundError(msg);
    case NLE_INVAL:
    case NLE_RANGE:
      return absl::InvalidArgumentError(msg);
    case NLE_OPNOTSUPP:
    case NLE_AF_NOSUPPORT:
    case NLE_PROTO_MISMATCH:
      return absl::UnimplementedError(msg);
    case NLE_BUSY:
      return absl::FailedPreconditionError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<std::unique_ptr<LinkControl>> LinkControl::Open() {
  absl::StatusOr<NlSockPtr> sock = ConnectRoute();
  if (!sock.ok()) {
    return sock.status();
  }
  return std::unique_ptr<LinkControl>(new LinkControl(*std::move(sock)));
}

absl::StatusOr<LinkInfo> LinkControl::Get(const std::string& name) {
  const std::string& what = name;
  rtnl_link* raw = nullptr;
  if (int rc = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw); rc < 0) {
    return LibnlError(rc, absl::StrCat("interface ", name));
  }
  if (raw == nullptr) {
    return absl::NotFoundError(absl::StrCat("no interface ", what));
  }
  LinkPtr link(raw);
  return InfoOf(link.get());
}

absl::StatusOr<LinkInfo> LinkControl::Get(int ifindex) {
  std::string what = absl::StrCat("index ", ifindex);
  rtnl_link* raw = nullptr;
  if (int rc = rtnl_link_get_kernel(sock_.get(), ifindex, nullptr, &raw); rc < 0) {
    return LibnlError(rc, absl::StrCat("interface index ", ifindex));
  }
  if (raw == nullptr) {
    return absl::NotFoundError(absl::StrCat("no interface ", what));
  }
  LinkPtr link(raw);
  return InfoOf(link.get());
}

absl::Status LinkControl::SetMtuAndUp(const std::string& name, int mtu) {
  rtnl_link* raw = nullptr;
  if (int rc = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw); rc < 0) {
    return LibnlError(rc, absl::StrCat("interface ", name));
  }
  if (raw == nullptr) {
    return absl::NotFoundError(absl::StrCat("no interface ", name));
  }
  LinkPtr orig(raw);
  LinkPtr change(rtnl_link_alloc());
  if (mtu > 0) {
    rtnl_link_set_mtu(change.get(), static_cast<unsigned>(mtu));
  }
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int rc = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0); rc < 0) {
    return LibnlError(rc, absl::StrCat("set mtu ", mtu, " and up on ", name));
  }
  return absl::OkStatus();
}

absl::Status LinkControl::SetMaster(const std::string& port, const std::string& master) {
  int master_index = 0;
  if (!master.empty()) {
    absl::StatusOr<LinkInfo> m = Get(master);
    if (!m.ok()) {
      return m.status();
    }
    master_index = m->ifindex;
  }
  rtnl_link* raw = nullptr;
  if (int rc = rtnl_link_get_kernel(sock_.get(), 0, port.c_str(), &raw); rc < 0) {
    return LibnlError(rc, absl::StrCat("interface ", port));
  }
  if (raw == nullptr) {
    return absl::NotFoundError(absl::StrCat("no interface ", port));
  }
  LinkPtr orig(raw);
  if (rtnl_link_get_master(orig.get()) == master_index) {
    return absl::OkStatus();
  }
  LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_master(change.get(), master_index);
  if (int rc = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0); rc < 0) {
    return LibnlError(rc, absl::StrCat("make ", port, " a port of '", master, "'"));
  }
  return absl::OkStatus();
}

absl::Status LinkControl::EnsureBridge(const std::string& name) {
  absl::StatusOr<LinkInfo> existing = Get(name);
  if (existing.ok()) {
    if (existing->kind != "bridge") {
      return absl::FailedPreconditionError(
          absl::StrCat("interface ", name, " exists and is not a bridge"));
    }
  } else if (absl::IsNotFound(existing.status())) {
    if (int rc = rtnl_link_bridge_add(sock_.get(), name.c_str()); rc < 0 && rc != -NLE_EXIST) {
      return LibnlError(rc, absl::StrCat("create bridge ", name));
    }
  } else {
    return existing.status();
  }
  return SetMtuAndUp(name, 0);
}

absl::Status LinkControl::EnsureVlan(const std::string& parent, const std::string& name,
                                     uint16_t vlan_id) {
  absl::StatusOr<LinkInfo> p = Get(parent);
  if (!p.ok()) {
    return p.status();
  }
  if (absl::StatusOr<LinkInfo> existing = Get(name); existing.ok()) {
    rtnl_link* raw = nullptr;
    if (rtnl_link_get_kernel(sock_.get(), existing->ifindex, nullptr, &raw) >= 0 &&
        raw != nullptr) {
      LinkPtr link(raw);
      if (existing->kind == "vlan" && rtnl_link_vlan_get_id(link.get()) == vlan_id &&
          rtnl_link_get_link(link.get()) == p->ifindex) {
        return absl::OkStatus();
      }
    }
    return absl::AlreadyExistsError(
        absl::StrCat("interface ", name, " exists and is not VLAN ", vlan_id, " on ", parent));
  }
  LinkPtr link(rtnl_link_vlan_alloc());
  if (link == nullptr) {
    return absl::ResourceExhaustedError("rtnl_link_vlan_alloc failed");
  }
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_link(link.get(), p->ifindex);
  rtnl_link_vlan_set_id(link.get(), vlan_id);
  if (int rc = rtnl_link_add(sock_.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); rc < 0) {
    return LibnlError(rc, absl::StrCat("create VLAN ", vlan_id, " device ", name));
  }
  return absl::OkStatus();
}

absl::Status LinkControl::Delete(const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int rc = rtnl_link_delete(sock_.get(), link.get());
  if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV) {
    return LibnlError(rc, absl::StrCat("delete interface ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> LinkControl::PathMtu(const IpAddress& peer) {
  NlMsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST));
  rtmsg rtm{};
  rtm.rtm_family = peer.is_v4() ? AF_INET : AF_INET6;
  rtm.rtm_dst_len = peer.is_v4() ? 32 : 128;
  if (msg == nullptr || nlmsg_append(msg.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), RTA_DST, peer.is_v4() ? 4 : 16, peer.bytes.data()) < 0) {
    return absl::ResourceExhaustedError("route request");
  }
  struct Result {
    int oif = 0;
    int mtu = 0;
  } result;
  auto on_valid = [](nl_msg* reply, void* arg) -> int {
    auto* r = static_cast<Result*>(arg);
    nlattr* tb[RTA_MAX + 1] = {};
    if (nlmsg_parse(nlmsg_hdr(reply), sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) {
      return NL_SKIP;
    }
    if (tb[RTA_OIF] != nullptr) {
      r->oif = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
    }
    if (tb[RTA_METRICS] != nullptr) {
      nlattr* mx[RTAX_MAX + 1] = {};
      if (nla_parse_nested(mx, RTAX_MAX, tb[RTA_METRICS], nullptr) >= 0 &&
          mx[RTAX_MTU] != nullptr) {
        r->mtu = static_cast<int>(nla_get_u32(mx[RTAX_MTU]));
      }
    }
    return NL_OK;
  };
  std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_alloc(NL_CB_DEFAULT), &nl_cb_put);
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &result);
  if (int rc = nl_send_auto(sock_.get(), msg.get()); rc < 0) {
    return LibnlError(rc, "route get");
  }
  if (int rc = nl_recvmsgs(sock_.get(), cb.get()); rc < 0) {
    return LibnlError(rc, absl::StrCat("route to ", peer.ToString()));
  }
  // libnl asked for an ACK too (auto-ack); read it so the next request does not see it.
  if (int rc = nl_wait_for_ack(sock_.get()); rc < 0) {
    return LibnlError(rc, "route get ack");
  }
  if (result.mtu > 0) {
    return result.mtu;
  }
  if (result.oif == 0) {
    return absl::NotFoundError(absl::StrCat("no route to ", peer.ToString()));
  }
  absl::StatusOr<LinkInfo> link = Get(result.oif);
  if (!link.ok()) {
    return link.status();
  }
  return link->mtu;
}

absl::StatusOr<std::unique_ptr<LinkMonitor>> LinkMonitor::Open() {
  absl::StatusOr<NlSockPtr> sock = ConnectRoute();
  if (!sock.ok()) {
    return sock.status();
  }
  nl_socket_disable_seq_check(sock->get());
  if (int rc = nl_socket_add_membership(sock->get(), RTNLGRP_LINK); rc < 0) {
    return LibnlError(rc, "join RTNLGRP_LINK");
  }
  nl_socket_set_nonblocking(sock->get());
  return std::unique_ptr<LinkMonitor>(new LinkMonitor(*std::move(sock)));
}

int LinkMonitor::fd() const { return nl_socket_get_fd(sock_.get()); }

absl::Status LinkMonitor::Drain(const std::function<void(const LinkInfo&, bool deleted)>& on_link) {
  auto on_valid = [](nl_msg* msg, void* arg) -> int {
    auto* fn = static_cast<const std::function<void(const LinkInfo&, bool)>*>(arg);
    nlmsghdr* hdr = nlmsg_hdr(msg);
    if (hdr->nlmsg_type != RTM_NEWLINK && hdr->nlmsg_type != RTM_DELLINK) {
      return NL_SKIP;
    }
    struct Parsed {
      const std::function<void(const LinkInfo&, bool)>* fn;
      bool deleted;
    } parsed{fn, hdr->nlmsg_type == RTM_DELLINK};
    nl_msg_parse(
        msg,
        [](nl_object* obj, void* a) {
          auto* p = static_cast<Parsed*>(a);
          (*p->fn)(InfoOf(reinterpret_cast<rtnl_link*>(obj)), p->deleted);
        },
        &parsed);
    return NL_OK;
  };
  std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_alloc(NL_CB_DEFAULT), &nl_cb_put);
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid,
            const_cast<std::function<void(const LinkInfo&, bool)>*>(&on_link));
  return DrainNotifications(sock_.get(), cb.get(), "link notifications");
}

}  // namespace pwire::dataplane::kernel
