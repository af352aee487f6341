// Unit tests of FallbackDataplane (what `auto` builds without kernel L2TP): each session goes to
// the first data plane unless it refuses it as UNIMPLEMENTED; tunnels go to both.
#include "agent/dataplane/fallback_dataplane.h"

#include <gtest/gtest.h>

#include "agent/dataplane/fake_dataplane.h"

namespace pwire::dataplane {
namespace {

class FallbackDataplaneTest : public testing::Test {
 protected:
  FallbackDataplaneTest() {
    Capabilities ebpf;
    ebpf.name = "ebpf";
    ebpf.pw_types = {PwType::kEthernet};
    ebpf.encap_udp = true;
    auto f = std::make_unique<FakeDataplane>(ebpf);
    auto g = std::make_unique<FakeDataplane>();
    first_ = f.get();
    general_ = g.get();
    dp_ = std::make_unique<FallbackDataplane>(std::move(f), std::move(g));
    TunnelConfig t;
    t.local_tunnel_id = 1;
    t.local = *IpAddress::Parse("10.0.0.1");
    t.peer = *IpAddress::Parse("10.0.0.2");
    EXPECT_TRUE(dp_->CreateTunnel(t).ok());
  }
  static SessionConfig Session(uint32_t id, PwType type) {
    SessionConfig s;
    s.tunnel_id = 1;
    s.local_session_id = id;
    s.peer_session_id = id;
    s.pw_type = type;
    return s;
  }
  FakeDataplane* first_;
  FakeDataplane* general_;
  std::unique_ptr<FallbackDataplane> dp_;
};

TEST_F(FallbackDataplaneTest, GivesASessionToTheFirstAndWhatItRefusesToTheGeneral) {
  ASSERT_TRUE(dp_->CreateSession(Session(5, PwType::kEthernet)).ok());
  ASSERT_TRUE(dp_->CreateSession(Session(6, PwType::kPpp)).ok());  // the fake refuses: UNIMPL.
  EXPECT_EQ(dp_->CarrierOf(1, 5), "ebpf");
  EXPECT_EQ(dp_->CarrierOf(1, 6), "fake");
  EXPECT_EQ(first_->List()->sessions.size(), 1u);
  EXPECT_EQ(general_->List()->sessions.size(), 1u);
  EXPECT_EQ(general_->List()->tunnels.size(), 1u);  // every tunnel on the general one
  EXPECT_EQ(dp_->List()->sessions.size(), 2u);
  EXPECT_EQ(dp_->GetCapabilities().name, "ebpf+fake");
}

TEST_F(FallbackDataplaneTest, OtherErrorsOfTheFirstAreReturnedNotHiddenByAFallback) {
  first_->FailNextMutation(absl::AlreadyExistsError("ifname taken"));
  EXPECT_EQ(dp_->CreateSession(Session(5, PwType::kEthernet)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(general_->List()->sessions.empty());
}

TEST_F(FallbackDataplaneTest, StatsAndDeletionGoToTheCarrier) {
  ASSERT_TRUE(dp_->CreateSession(Session(5, PwType::kEthernet)).ok());
  Stats st;
  st.rx_packets = 9;
  first_->SetSessionStats(1, 5, st);
  EXPECT_EQ(dp_->SessionStats(1, 5)->rx_packets, 9u);
  EXPECT_EQ(dp_->SessionStats(1, 7).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(dp_->DeleteSession(1, 5).ok());
  EXPECT_TRUE(first_->List()->sessions.empty());
  EXPECT_EQ(dp_->CarrierOf(1, 5), "");
  ASSERT_TRUE(dp_->DeleteTunnel(1).ok());
  EXPECT_TRUE(first_->List()->tunnels.empty());
  EXPECT_TRUE(general_->List()->tunnels.empty());
}

}  // namespace
}  // namespace pwire::dataplane
