// Value types of the data plane interface: addresses, MTU arithmetic, kind names, choosing.
#include <gtest/gtest.h>

#include "agent/dataplane/dataplane.h"
#include "agent/dataplane/fake_dataplane.h"

namespace pwire::dataplane {
namespace {

using Family = IpAddress::Family;

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  auto v4 = IpAddress::Parse("192.0.2.7");
  ASSERT_TRUE(v4.ok());
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->ToString(), "192.0.2.7");
  EXPECT_EQ(*v4, IpAddress::V4(0xC0000207));
  auto v6 = IpAddress::Parse("2001:db8::1");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::Parse("300.1.1.1").ok());
  EXPECT_FALSE(IpAddress::Parse("").ok());
}

TEST(MtuTest, OverheadPerEncapFamilyCookieSublayer) {
  // IPv4 + UDP 8 + L2TPv3-over-UDP header 8.
  EXPECT_EQ(EncapOverhead(Encap::kUdp, Family::kV4, 0, Sublayer::kNone), 36);
  // + cookie 8 + default sublayer 4.
  EXPECT_EQ(EncapOverhead(Encap::kUdp, Family::kV4, 8, Sublayer::kDefault), 48);
  // IP encap: session id only.
  EXPECT_EQ(EncapOverhead(Encap::kIp, Family::kV4, 0, Sublayer::kNone), 24);
  EXPECT_EQ(EncapOverhead(Encap::kIp, Family::kV6, 4, Sublayer::kDefault), 52);
  EXPECT_EQ(EncapOverhead(Encap::kUdp, Family::kV6, 4, Sublayer::kNone), 60);
}

TEST(MtuTest, SessionMtuSubtractsOverheadAndInnerEthernetHeader) {
  // Linux l2tp_eth over UDP/IPv4, no cookie, default sublayer: 1500 - 20 - 8 - 8 - 4 - 14.
  EXPECT_EQ(ComputeSessionMtu(1500, Encap::kUdp, Family::kV4, 0, Sublayer::kDefault), 1446);
  EXPECT_EQ(ComputeSessionMtu(1500, Encap::kIp, Family::kV4, 4, Sublayer::kNone), 1458);
  EXPECT_EQ(
      ComputeSessionMtu(1500, Encap::kIp, Family::kV4, 4, Sublayer::kNone, PwType::kEthernetVlan),
      1454);
}

TEST(MtuTest, RequiredUnderlayIsTheInverse) {
  for (Encap e : {Encap::kUdp, Encap::kIp}) {
    for (Family f : {Family::kV4, Family::kV6}) {
      for (size_t c : {0u, 4u, 8u}) {
        for (Sublayer s : {Sublayer::kNone, Sublayer::kDefault}) {
          int under = RequiredUnderlayMtu(1500, e, f, c, s);
          EXPECT_EQ(ComputeSessionMtu(under, e, f, c, s), 1500);
        }
      }
    }
  }
  EXPECT_EQ(RequiredUnderlayMtu(1500, Encap::kUdp, Family::kV4, 0, Sublayer::kDefault), 1554);
}

TEST(KindTest, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*ParseDataplaneKind("auto"), DataplaneKind::kAuto);
  EXPECT_EQ(*ParseDataplaneKind("Kernel"), DataplaneKind::kKernel);
  EXPECT_EQ(*ParseDataplaneKind("userspace"), DataplaneKind::kUserspace);
  EXPECT_EQ(DataplaneKindName(DataplaneKind::kFake), "fake");
  EXPECT_EQ(ParseDataplaneKind("dpdk").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChooseForTest, SendsATypeTheFirstLacksToOneThatHasIt) {
  Capabilities kernel_like;
  kernel_like.name = "kernel";
  kernel_like.pw_types = {PwType::kEthernet, PwType::kPpp};
  kernel_like.encap_udp = kernel_like.encap_ip = true;
  FakeDataplane kernel(kernel_like);
  FakeDataplane any;  // every type
  std::vector<Dataplane*> prefs = {&kernel, &any};
  EXPECT_EQ(ChooseFor(prefs, PwType::kEthernet, Encap::kUdp), &kernel);
  EXPECT_EQ(ChooseFor(prefs, PwType::kHdlc, Encap::kIp), &any);
  EXPECT_EQ(ChooseFor({&kernel}, PwType::kFrameRelayDlci, Encap::kUdp), nullptr);
}

TEST(FactoryTest, FakeKindBuildsAFake) {
  auto dp = CreateDataplane(DataplaneKind::kFake, {});
  ASSERT_TRUE(dp.ok());
  EXPECT_EQ((*dp)->GetCapabilities().name, "fake");
}

}  // namespace
}  // namespace pwire::dataplane

namespace pwire::dataplane {
namespace {

// RFC 3931 §5.4.4 lets each end ask for its own sublayer; §4.6 puts sequence numbers in it.
TEST(CheckSublayersTest, RefusesSequencingWithoutTheSublayerAndAsymmetryWhereUnsupported) {
  Capabilities kernel_like;
  kernel_like.name = "kernel";
  Capabilities userspace_like = kernel_like;
  userspace_like.name = "userspace";
  userspace_like.asymmetric_sublayer = true;
  SessionConfig c;
  c.local_session_id = 7;
  c.tx_sublayer = Sublayer::kDefault;
  c.rx_sublayer = Sublayer::kNone;
  EXPECT_TRUE(CheckSublayers(c, userspace_like).ok());
  absl::Status s = CheckSublayers(c, kernel_like);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("sends L2-Specific Sublayer default"), std::string::npos) << s;
  EXPECT_NE(s.message().find("receives none"), std::string::npos) << s;
  c.rx_sublayer = Sublayer::kDefault;
  EXPECT_TRUE(CheckSublayers(c, kernel_like).ok());
  c.tx_sublayer = c.rx_sublayer = Sublayer::kNone;
  c.send_seq = true;
  EXPECT_EQ(CheckSublayers(c, userspace_like).code(), absl::StatusCode::kInvalidArgument);
  c.send_seq = false;
  c.recv_seq = true;
  EXPECT_EQ(CheckSublayers(c, userspace_like).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pwire::dataplane
