// The data plane interface: how the agent programs L2TPv3 forwarding (RFC 3931 §4.1, RFC 4719).
// Implementations: kernel (generic netlink "l2tp" through libnl), userspace (TAP + sockets,
// worker threads), and FakeDataplane for tests of the layers above. Every call is idempotent:
// creating what exists with the same parameters succeeds, deleting what is gone succeeds, and
// creating what exists with different parameters fails with FAILED_PRECONDITION.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pwire/base/time.h"

namespace pwire::dataplane {

// An IPv4 or IPv6 address, comparable, printable, parsable.
struct IpAddress {
  enum class Family : uint8_t { kNone, kV4, kV6 };
  Family family = Family::kNone;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4

  static absl::StatusOr<IpAddress> Parse(std::string_view text);
  static IpAddress V4(uint32_t host_order);
  bool is_v4() const { return family == Family::kV4; }
  bool is_v6() const { return family == Family::kV6; }
  bool empty() const { return family == Family::kNone; }
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;
};

// RFC 3931 §4.1: L2TPv3 over UDP (port 1701 by default) or directly over IP (protocol 115).
enum class Encap : uint8_t { kUdp, kIp };

// IANA L2TPv3 pseudowire types (RFC 3931 §10.6 registry). Linux carries only kEthernet and kPpp.
enum class PwType : uint16_t {
  kFrameRelayDlci = 0x0001,
  kAtmAal5SduVcc = 0x0002,
  kAtmCellPort = 0x0003,
  kEthernetVlan = 0x0004,
  kEthernet = 0x0005,
  kHdlc = 0x0006,
  kPpp = 0x0007,
  kAtmCellVcc = 0x0009,
  kAtmCellVpc = 0x000A,
};

// RFC 3931 §4.6 / RFC 4719 §4: no sublayer, or the default L2-specific sublayer (one 32-bit
// word: S bit and 24-bit sequence number).
enum class Sublayer : uint8_t { kNone, kDefault };

// Managed: the agent owns a UDP or L2TP/IP socket (`fd`) that carries the control connection;
// the data plane attaches data forwarding to it. Static: the data plane opens its own socket
// (peers that do not speak the control protocol).
enum class TunnelMode : uint8_t { kManaged, kStatic };

struct TunnelConfig {
  uint32_t local_tunnel_id = 0;  // key; the control connection id we assigned
  uint32_t peer_tunnel_id = 0;
  TunnelMode mode = TunnelMode::kStatic;
  Encap encap = Encap::kUdp;
  IpAddress local;  // both of the same family
  IpAddress peer;
  uint16_t local_port = 1701;  // UDP only
  uint16_t peer_port = 1701;   // UDP only
  // Managed only: the agent's socket, bound to local and connected to peer. The data plane
  // never closes it; the agent keeps it open for the tunnel's lifetime. Not part of equality.
  int fd = -1;

  // Equality of everything that defines the tunnel (ignores fd).
  bool SameAs(const TunnelConfig& o) const;
  std::string DebugString() const;
};

// What the session interface is joined to (Linux: made a bridge port).
struct Attachment {
  enum class Kind : uint8_t {
    kNone,       // the session interface stands alone
    kBridge,     // enslaved to the existing bridge `name`
    kInterface,  // bridged with the existing interface `name`: the data plane makes a bridge
                 // named "<session ifname>b" (truncated to 15 chars) holding both
  };
  Kind kind = Kind::kNone;
  std::string name;
  bool operator==(const Attachment&) const = default;
};

struct SessionConfig {
  uint32_t tunnel_id = 0;         // local tunnel id
  uint32_t local_session_id = 0;  // key (with tunnel_id); what the peer puts in our packets
  uint32_t peer_session_id = 0;   // what we put in packets to the peer
  PwType pw_type = PwType::kEthernet;
  std::vector<uint8_t> cookie;       // RFC 3931 §4.1: 0, 4 or 8 bytes we expect to receive
  std::vector<uint8_t> peer_cookie;  // 0, 4 or 8 bytes we send
  // Per direction, as negotiated (RFC 3931 §5.4.4 L2-Specific Sublayer and Data Sequencing
  // AVPs): what we send is what the peer asked for, what we receive is what we asked for.
  Sublayer tx_sublayer = Sublayer::kDefault;  // in the data packets we send
  Sublayer rx_sublayer = Sublayer::kDefault;  // expected in the data packets we receive
  bool send_seq = false;  // our packets carry S=1 and sequence numbers (needs tx_sublayer)
  bool recv_seq = false;  // the peer's must (needs rx_sublayer; others are discarded)
  base::Duration reorder_timeout{0};  // 0: drop out-of-order packets, never wait
  std::string ifname;                 // empty: the data plane picks one (reported by List)
  int mtu = 0;                        // 0: computed with ComputeSessionMtu from the underlay
  Attachment attach;
  uint16_t vlan_id = 0;  // kEthernetVlan: a VLAN device "<ifname>.<vlan>" on the session iface

  // Equality of everything that defines the session (mtu 0 and empty ifname match any).
  bool SameAs(const SessionConfig& o) const;
  std::string DebugString() const;
};

// Counters of one session (or, for SessionStats of the whole data plane, of traffic that
// belongs to no session). All monotonic since creation.
struct Stats {
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_errors = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_errors = 0;
  uint64_t rx_cookie_discards = 0;  // RFC 3931 §4.1: cookie did not match
  uint64_t rx_seq_discards = 0;     // RFC 4719 §4.2 / 3931 §4.6: out of sequence, dropped
  uint64_t rx_oos_packets = 0;      // out of sequence, held for reorder
  uint64_t rx_unknown_session = 0;  // data packets for a session id we do not have
  uint64_t rx_malformed = 0;        // too short, bad version, bad sublayer
  Stats& operator+=(const Stats& o);
};

// Something changed underneath the agent.
struct Event {
  enum class Kind : uint8_t {
    kLinkUp,        // session interface went up
    kLinkDown,      // session interface (or its carrier) went down
    kDrift,         // an object we own was changed or removed by someone else
    kTunnelClosed,  // a managed tunnel's socket went away
  };
  Kind kind = Kind::kDrift;
  uint32_t tunnel_id = 0;
  uint32_t session_id = 0;  // 0: the event is about the tunnel
  std::string detail;
};

// What the data plane can carry; the agent advertises only these (RFC 3931 §5.4.3 AVP 62).
struct Capabilities {
  std::string name;  // "kernel", "userspace", "ebpf", "ebpf+userspace", "fake"
  std::vector<PwType> pw_types;
  bool encap_udp = false;
  bool encap_ip = false;
  bool ipv6 = false;
  bool managed_tunnels = false;
  bool static_tunnels = false;
  // True when, for managed tunnels, the data plane reads the agent's socket itself and hands
  // control messages back through the ControlPacketHandler; then the agent must not read it.
  // False (kernel): control messages stay on the socket for the agent to read.
  bool control_via_handler = false;
  // Whether a session may send one L2-Specific Sublayer and receive another (RFC 3931 §5.4.4
  // lets each end ask for its own). Linux's L2TP keeps one L2TP_ATTR_L2SPEC_TYPE per session.
  bool asymmetric_sublayer = false;
  bool Supports(PwType t) const;
};

// What every data plane checks of a session's sublayers before creating it. RFC 3931 §4.6:
// sequence numbers ride in the default L2-Specific Sublayer, so sequencing a direction needs
// that sublayer in that direction. A data plane without `asymmetric_sublayer` refuses a
// session whose two directions differ (FAILED_PRECONDITION, naming both).
absl::Status CheckSublayers(const SessionConfig& config, const Capabilities& caps);

// Everything the data plane holds, for adoption at start-up.
struct Snapshot {
  std::vector<TunnelConfig> tunnels;
  std::vector<SessionConfig> sessions;
};

class Dataplane {
 public:
  using EventHandler = std::function<void(const Event&)>;
  // A control message (RFC 3931 §3.2.1; over IP, session id 0 then the message) received on a
  // managed tunnel's socket. Called from a data plane thread; must not block.
  using ControlPacketHandler = std::function<void(uint32_t tunnel_id, std::vector<uint8_t> packet)>;

  virtual ~Dataplane() = default;

  virtual Capabilities GetCapabilities() const = 0;

  virtual absl::Status CreateTunnel(const TunnelConfig& config) = 0;
  // Deletes the tunnel and every session in it.
  virtual absl::Status DeleteTunnel(uint32_t tunnel_id) = 0;
  virtual absl::Status CreateSession(const SessionConfig& config) = 0;
  virtual absl::Status DeleteSession(uint32_t tunnel_id, uint32_t session_id) = 0;

  virtual absl::StatusOr<Snapshot> List() const = 0;
  virtual absl::StatusOr<Stats> SessionStats(uint32_t tunnel_id, uint32_t session_id) const = 0;
  // Counters not attributable to any session (unknown session, malformed).
  virtual Stats GlobalStats() const = 0;

  // Handlers may be called from data plane threads; set them before creating objects.
  virtual void SetEventHandler(EventHandler handler) = 0;
  virtual void SetControlPacketHandler(ControlPacketHandler handler) = 0;
};

enum class DataplaneKind : uint8_t { kAuto, kKernel, kUserspace, kFake, kEbpf };
absl::StatusOr<DataplaneKind> ParseDataplaneKind(std::string_view name);
std::string_view DataplaneKindName(DataplaneKind kind);

struct DataplaneOptions {
  int workers = 0;  // userspace: worker threads (0: number of CPUs)
  int queues = 0;   // userspace: TAP queues per session (0: = workers)
  // Default session interface names: prefix + session id. Not "l2tpeth": the kernel and
  // `ip l2tp` name their own sessions l2tpeth0, l2tpeth1, ...
  std::string ifname_prefix = "pw";
};

// Builds a data plane. kAuto picks the kernel when the "l2tp" generic netlink family exists
// or can be loaded; otherwise, when the eBPF programs load, a FallbackDataplane giving each
// session to the eBPF data plane or, for what it refuses, the userspace one; else userspace.
absl::StatusOr<std::unique_ptr<Dataplane>> CreateDataplane(DataplaneKind kind,
                                                           const DataplaneOptions& options);

// Of `candidates` (in order of preference), the first whose capabilities carry `pw_type` with
// `encap`. Used to send a pseudowire type the chosen data plane lacks to one that has it.
Dataplane* ChooseFor(const std::vector<Dataplane*>& candidates, PwType pw_type, Encap encap);

// --- MTU (RFC 3931 §4.1.4) ---

// Bytes added in front of the customer's Ethernet frame on the wire: outer IP header (20 or 40),
// UDP header (8, UDP encap), L2TPv3 data header (UDP: 8 = flags/version + reserved + session id;
// IP: 4 = session id), cookie (0/4/8) and sublayer (0/4).
int EncapOverhead(Encap encap, IpAddress::Family family, size_t cookie_len, Sublayer sublayer);
// The session interface MTU (payload of the customer's Ethernet frames, excluding its 14-byte
// header, plus 4 for kEthernetVlan's tag) that fits in one underlay packet of `underlay_mtu`.
int ComputeSessionMtu(int underlay_mtu, Encap encap, IpAddress::Family family, size_t cookie_len,
                      Sublayer sublayer, PwType pw_type = PwType::kEthernet);
// The underlay MTU needed for the session interface to carry `session_mtu` unfragmented.
int RequiredUnderlayMtu(int session_mtu, Encap encap, IpAddress::Family family, size_t cookie_len,
                        Sublayer sublayer, PwType pw_type = PwType::kEthernet);

}  // namespace pwire::dataplane
