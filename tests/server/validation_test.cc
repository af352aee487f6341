#include "server/validation.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/names.h"
#include "tests/server/test_util.h"

namespace pwire::server {
namespace {

using pwire::v1::PseudowireClass;
using pwire::v1::PseudowireSpec;
using ::testing::HasSubstr;

class FakeLookup : public ReferenceLookup {
 public:
  const PseudowireClass* FindClass(absl::string_view id) const override {
    auto it = classes.find(std::string(id));
    return it == classes.end() ? nullptr : &it->second;
  }
  const pwire::v1::Agent* FindAgent(absl::string_view id) const override {
    auto it = agents.find(std::string(id));
    return it == agents.end() ? nullptr : &it->second;
  }
  std::map<std::string, PseudowireClass> classes;
  std::map<std::string, pwire::v1::Agent> agents;
};

absl::Status Check(PseudowireSpec spec, const FakeLookup& lookup) {
  if (auto s = NormalizePseudowireSpec(spec); !s.ok()) return s;
  return ValidatePseudowireSpec(spec, lookup);
}

TEST(ValidationTest, AcceptsPreProvisionedEthernetPseudowire) {
  FakeLookup lookup;
  EXPECT_TRUE(Check(testing::EthernetPw("x").spec(), lookup).ok());
}

TEST(ValidationTest, UnknownAgentNamesFieldAndRemedy) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  spec.mutable_endpoints(0)->mutable_agent()->set_pre_provision(false);
  absl::Status s = Check(spec, lookup);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("spec.endpoints[0].agent"));
  EXPECT_THAT(s.message(), HasSubstr("agent 'edge-a' is unknown"));
  EXPECT_THAT(s.message(), HasSubstr("pre_provision"));
}

TEST(ValidationTest, MissingTypeIsInvalidArgument) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  spec.clear_type();
  absl::Status s = Check(spec, lookup);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("spec.type"));
}

TEST(ValidationTest, VlanIdRequiredForEthernetVlanAndRefusedOtherwise) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  spec.set_type(PseudowireSpec::ETHERNET_VLAN);
  absl::Status s = Check(spec, lookup);
  EXPECT_THAT(s.message(), HasSubstr("spec.endpoints[0].agent.circuit.vlan_id"));
  spec.set_type(PseudowireSpec::ETHERNET);
  spec.mutable_endpoints(1)->mutable_agent()->mutable_circuit()->set_vlan_id(5);
  s = Check(spec, lookup);
  EXPECT_THAT(s.message(), HasSubstr("spec.endpoints[1].agent.circuit.vlan_id"));
}

TEST(ValidationTest, FrameRelayAndAtmIdsChecked) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  spec.set_type(PseudowireSpec::FRAME_RELAY_DLCI);
  for (auto& e : *spec.mutable_endpoints()) e.mutable_agent()->mutable_circuit()->set_dlci(5);
  EXPECT_THAT(Check(spec, lookup).message(), HasSubstr("16-1007"));
  for (auto& e : *spec.mutable_endpoints()) e.mutable_agent()->mutable_circuit()->set_dlci(100);
  EXPECT_TRUE(Check(spec, lookup).ok());
  spec.set_type(PseudowireSpec::ATM_CELL_VCC);
  for (auto& e : *spec.mutable_endpoints()) {
    e.mutable_agent()->mutable_circuit()->set_dlci(0);
    e.mutable_agent()->mutable_circuit()->set_vpi(1);
    e.mutable_agent()->mutable_circuit()->set_vci(10);
  }
  EXPECT_THAT(Check(spec, lookup).message(), HasSubstr("vci"));
}

TEST(ValidationTest, BadInterfaceNameRefused) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x", "a", "b", "this-name-is-far-too-long").spec();
  absl::Status s = Check(spec, lookup);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("circuit.interface"));
}

TEST(ValidationTest, BothEndsOnOneAgentRefused) {
  FakeLookup lookup;
  absl::Status s = Check(testing::EthernetPw("x", "a", "a").spec(), lookup);
  EXPECT_THAT(s.message(), HasSubstr("two different hosts"));
}

TEST(ValidationTest, ExternalPeerNeedsAnIpAddress) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  spec.mutable_endpoints(1)->mutable_external()->set_address("router.example");
  absl::Status s = Check(spec, lookup);
  EXPECT_THAT(s.message(), HasSubstr("spec.endpoints[1].external.address"));
  spec.mutable_endpoints(1)->mutable_external()->set_address("192.0.2.1");
  EXPECT_TRUE(Check(spec, lookup).ok());
}

TEST(ValidationTest, UnknownClassIsFailedPrecondition) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  spec.set_pseudowire_class("gold");
  absl::Status s = Check(spec, lookup);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("class 'gold' does not exist"));
  lookup.classes["gold"] = PseudowireClass();
  EXPECT_TRUE(Check(spec, lookup).ok());
}

TEST(ValidationTest, StaticExternalNeedsSessionIdAndMatchingCookie) {
  FakeLookup lookup;
  PseudowireClass c;
  c.set_cookie_length(4);
  lookup.classes["c4"] = c;
  auto spec = testing::EthernetPw("x").spec();
  spec.set_pseudowire_class("c4");
  spec.set_mode(PseudowireSpec::STATIC);
  spec.mutable_endpoints(1)->mutable_external()->set_address("192.0.2.1");
  EXPECT_THAT(Check(spec, lookup).message(), HasSubstr("static_params.endpoints[1].session_id"));
  auto* sp = spec.mutable_static_params();
  sp->add_endpoints();
  sp->add_endpoints()->set_session_id(77);
  EXPECT_THAT(Check(spec, lookup).message(), HasSubstr("endpoints[1].cookie"));
  sp->mutable_endpoints(1)->set_cookie("abc");
  EXPECT_THAT(Check(spec, lookup).message(), HasSubstr("is 3 octets"));
  sp->mutable_endpoints(1)->set_cookie("abcd");
  EXPECT_TRUE(Check(spec, lookup).ok());
}

TEST(ValidationTest, LabelsChecked) {
  FakeLookup lookup;
  auto spec = testing::EthernetPw("x").spec();
  (*spec.mutable_labels())["Bad Key"] = "v";
  EXPECT_THAT(Check(spec, lookup).message(), HasSubstr("spec.labels[Bad Key]"));
}

TEST(ValidationTest, ClassFieldsChecked) {
  PseudowireClass c;
  EXPECT_TRUE(ValidateClass(c).ok());
  c.set_cookie_length(3);
  EXPECT_THAT(ValidateClass(c).message(), HasSubstr("cookie_length"));
  c.set_cookie_length(8);
  c.set_control_auth(PseudowireClass::HMAC_MD5);
  EXPECT_THAT(ValidateClass(c).message(), HasSubstr("control_secret"));
  c.set_control_secret("s3cret");
  EXPECT_TRUE(ValidateClass(c).ok());
  c.set_encapsulation(PseudowireClass::IP);
  c.set_udp_port(1701);
  EXPECT_THAT(ValidateClass(c).message(), HasSubstr("udp_port"));
  c.set_udp_port(0);
  c.set_tos(300);
  EXPECT_THAT(ValidateClass(c).message(), HasSubstr("tos"));
}

// RFC 3931 §5.4.4 Data Sequencing AVP: a class may ask the peer to sequence its data; §4.6:
// the numbers ride in the default L2-Specific Sublayer, so with no sublayer it cannot.
TEST(ValidationTest, DataSequencingNeedsTheDefaultSublayer) {
  PseudowireClass c;
  c.set_data_sequencing(true);
  EXPECT_TRUE(ValidateClass(c).ok());  // unspecified sublayer: the default one
  c.set_l2_sublayer(PseudowireClass::DEFAULT_SUBLAYER);
  EXPECT_TRUE(ValidateClass(c).ok());
  c.set_l2_sublayer(PseudowireClass::NO_SUBLAYER);
  EXPECT_THAT(ValidateClass(c).message(), HasSubstr("data_sequencing"));
  c.set_data_sequencing(false);
  EXPECT_TRUE(ValidateClass(c).ok());
}

TEST(ValidationTest, ResolveDefaultsFillsEveryDefault) {
  PseudowireClass c = ResolveClassDefaults(PseudowireClass());
  EXPECT_EQ(c.encapsulation(), PseudowireClass::UDP);
  EXPECT_EQ(c.udp_port(), 1701u);
  EXPECT_EQ(c.l2_sublayer(), PseudowireClass::DEFAULT_SUBLAYER);
  EXPECT_EQ(c.hello_interval().seconds(), 60);
  EXPECT_EQ(c.retransmit_retries(), 10u);
  EXPECT_EQ(c.receive_window(), 4u);
  EXPECT_EQ(c.control_auth(), PseudowireClass::NO_AUTH);
}

TEST(NamesTest, ParsesNamesAndBareIds) {
  EXPECT_EQ(*ParseId("pseudowires/abc", kPseudowires, "f"), "abc");
  EXPECT_EQ(*ParseId("abc", kPseudowires, "f"), "abc");
  EXPECT_FALSE(ParseId("classes/abc", kPseudowires, "f").ok());
  EXPECT_FALSE(ParseId("Abc", kPseudowires, "f").ok());
  EXPECT_FALSE(ParseId("", kPseudowires, "f").ok());
  EXPECT_TRUE(ParseId("host-1.example", kAgents, "f").ok());
}

}  // namespace
}  // namespace pwire::server
