// YAML -> protobuf JSON mapping: values of every kind convert, and every bad input is
// refused with the file, line, column and field path. Uses a descriptor built at run time,
// so it does not depend on the API protos.
#include "yaml_mapping.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <memory>

namespace pwire::cli {
namespace {

namespace pb = google::protobuf;

constexpr char kTestProto[] = R"pb(
  name: "t.proto"
  package: "t"
  syntax: "proto3"
  dependency: "google/protobuf/duration.proto"
  enum_type {
    name: "PwType"
    value { name: "PW_TYPE_UNSPECIFIED" number: 0 }
    value { name: "PW_TYPE_ETHERNET" number: 5 }
    value { name: "PW_TYPE_ETHERNET_VLAN" number: 4 }
  }
  message_type {
    name: "Endpoint"
    field {
      name: "agent"
      number: 1
      type: TYPE_STRING
      label: LABEL_OPTIONAL
      json_name: "agent"
      oneof_index: 0
    }
    field {
      name: "peer_address"
      number: 2
      type: TYPE_STRING
      label: LABEL_OPTIONAL
      json_name: "peerAddress"
      oneof_index: 0
    }
    field { name: "vlan_id" number: 3 type: TYPE_UINT32 label: LABEL_OPTIONAL json_name: "vlanId" }
    oneof_decl { name: "end" }
  }
  message_type {
    name: "Spec"
    field {
      name: "type"
      number: 1
      type: TYPE_ENUM
      type_name: ".t.PwType"
      label: LABEL_OPTIONAL
      json_name: "type"
    }
    field {
      name: "a"
      number: 2
      type: TYPE_MESSAGE
      type_name: ".t.Endpoint"
      label: LABEL_OPTIONAL
      json_name: "a"
    }
    field { name: "cookie" number: 3 type: TYPE_UINT64 label: LABEL_OPTIONAL json_name: "cookie" }
    field { name: "mtu" number: 4 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "mtu" }
    field {
      name: "sequencing"
      number: 5
      type: TYPE_BOOL
      label: LABEL_OPTIONAL
      json_name: "sequencing"
    }
    field {
      name: "hello"
      number: 6
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.Duration"
      label: LABEL_OPTIONAL
      json_name: "hello"
    }
    field {
      name: "labels"
      number: 7
      type: TYPE_MESSAGE
      type_name: ".t.Spec.LabelsEntry"
      label: LABEL_REPEATED
      json_name: "labels"
    }
    field { name: "ports" number: 8 type: TYPE_UINT32 label: LABEL_REPEATED json_name: "ports" }
    field { name: "ratio" number: 9 type: TYPE_DOUBLE label: LABEL_OPTIONAL json_name: "ratio" }
    field {
      name: "description"
      number: 10
      type: TYPE_STRING
      label: LABEL_OPTIONAL
      json_name: "description"
    }
    nested_type {
      name: "LabelsEntry"
      field { name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "key" }
      field { name: "value" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "value" }
      options { map_entry: true }
    }
  }
  message_type {
    name: "File"
    field {
      name: "specs"
      number: 1
      type: TYPE_MESSAGE
      type_name: ".t.Spec"
      label: LABEL_REPEATED
      json_name: "specs"
    }
  }
)pb";

class YamlMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pb::FileDescriptorProto duration;
    pb::Duration::descriptor()->file()->CopyTo(&duration);
    ASSERT_NE(pool_.BuildFile(duration), nullptr);
    pb::FileDescriptorProto file;
    ASSERT_TRUE(pb::TextFormat::ParseFromString(kTestProto, &file));
    ASSERT_NE(pool_.BuildFile(file), nullptr);
    spec_ = pool_.FindMessageTypeByName("t.Spec");
    file_ = pool_.FindMessageTypeByName("t.File");
    ASSERT_NE(spec_, nullptr);
  }

  // Converts `yaml` against t.Spec and returns the error message ("" if it converted).
  std::string SpecError(const std::string& yaml) {
    absl::StatusOr<Json> json = YamlToJson(YAML::Load(yaml), spec_, "f.yaml");
    return json.ok() ? "" : std::string(json.status().message());
  }

  pb::DescriptorPool pool_;
  pb::DynamicMessageFactory factory_{&pool_};
  const pb::Descriptor* spec_ = nullptr;
  const pb::Descriptor* file_ = nullptr;
};

TEST_F(YamlMappingTest, ConvertsEveryKindOfValue) {
  absl::StatusOr<Json> json = YamlToJson(YAML::Load(R"(
type: ethernet-vlan
a: {agent: site-a, vlanId: 100}
cookie: 0x1122334455667788
mtu: -1
sequencing: yes
hello: 30
labels: {site: paris, tier: "1"}
ports: [1701, 1702]
ratio: 0.5
description: "007"
)"),
                                         spec_, "f.yaml");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->dump(),
            R"({"type":"PW_TYPE_ETHERNET_VLAN","a":{"agent":"site-a","vlan_id":100},)"
            R"("cookie":"1234605616436508552","mtu":-1,"sequencing":true,"hello":"30s",)"
            R"("labels":{"site":"paris","tier":"1"},"ports":[1701,1702],"ratio":0.5,)"
            R"("description":"007"})");
}

TEST_F(YamlMappingTest, ResultParsesIntoTheMessage) {
  std::unique_ptr<pb::Message> msg(factory_.GetPrototype(spec_)->New());
  ASSERT_TRUE(YamlToMessage(YAML::Load("type: PW_TYPE_ETHERNET\nhello: 1.5s\nmtu: 1500\n"),
                            "f.yaml", "", msg.get())
                  .ok());
  EXPECT_EQ(msg->ShortDebugString(),
            "type: PW_TYPE_ETHERNET mtu: 1500 hello { seconds: 1 nanos: 500000000 }");
}

TEST_F(YamlMappingTest, EnumAcceptsNumberAndFullName) {
  EXPECT_EQ(SpecError("type: 5"), "");
  EXPECT_EQ(SpecError("type: PW_TYPE_ETHERNET_VLAN"), "");
  EXPECT_EQ(SpecError("type: Ethernet"), "");
}

TEST_F(YamlMappingTest, UnknownEnumValueListsTheChoices) {
  EXPECT_EQ(SpecError("mtu: 1\ntype: ethernt\n"),
            "f.yaml:2:7: type: unknown value \"ethernt\" for PwType; expected one of: "
            "ethernet, ethernet_vlan");
}

TEST_F(YamlMappingTest, UnknownFieldSuggestsTheClosestName) {
  std::string error = SpecError("a:\n  agent: x\n  vlan_idd: 3\n");
  EXPECT_NE(error.find("f.yaml:3:3: a.vlan_idd: unknown field \"vlan_idd\" in Endpoint; did "
                       "you mean \"vlan_id\"?"),
            std::string::npos)
      << error;
}

TEST_F(YamlMappingTest, NamesTheIndexOfABadListItem) {
  absl::StatusOr<Json> json =
      YamlToJson(YAML::Load("specs:\n- mtu: 1\n- mtu: big\n"), file_, "f.yaml");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().message(),
            "f.yaml:3:8: specs[1].mtu: expects a 32-bit signed integer, got \"big\"");
}

TEST_F(YamlMappingTest, RefusesOutOfRangeAndWrongKinds) {
  EXPECT_NE(SpecError("a: {vlan_id: 4294967296}").find("a.vlan_id: expects an integer from 0"),
            std::string::npos);
  EXPECT_NE(SpecError("a: {vlan_id: -1}").find("a.vlan_id"), std::string::npos);
  EXPECT_NE(SpecError("mtu: [1]").find("mtu: expects a single value, got a list"),
            std::string::npos);
  EXPECT_NE(SpecError("ports: 1701").find("ports: expects a list"), std::string::npos);
  EXPECT_NE(SpecError("a: agent").find("a: expects a mapping (Endpoint)"), std::string::npos);
  EXPECT_NE(SpecError("sequencing: maybe").find("sequencing: expects true or false"),
            std::string::npos);
  EXPECT_NE(SpecError("ratio: fast").find("ratio: expects a number"), std::string::npos);
  EXPECT_NE(SpecError("ports: [1, x]").find("ports[1]: expects an integer"), std::string::npos);
}

TEST_F(YamlMappingTest, RefusesDuplicateFieldsAndTwoOneofMembers) {
  EXPECT_NE(SpecError("mtu: 1\nmtu: 2\n").find("f.yaml:2:1: mtu: field given twice"),
            std::string::npos);
  EXPECT_NE(SpecError("a: {agent: x, peer_address: 192.0.2.1}")
                .find("\"peer_address\" and \"agent\" are alternatives (end)"),
            std::string::npos);
}

TEST_F(YamlMappingTest, NullLeavesAFieldUnset) {
  absl::StatusOr<Json> json = YamlToJson(YAML::Load("mtu: ~\ndescription:\n"), spec_, "f");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->dump(), "{}");
}

TEST_F(YamlMappingTest, MessageRoundTripsThroughYaml) {
  std::unique_ptr<pb::Message> msg(factory_.GetPrototype(spec_)->New());
  ASSERT_TRUE(YamlToMessage(YAML::Load("type: ethernet\na: {peer_address: 192.0.2.1}\n"
                                       "description: \"true\"\nlabels: {n: \"1\"}\n"
                                       "cookie: 18446744073709551615\n"),
                            "f", "", msg.get())
                  .ok());
  std::string yaml = JsonToYaml(MessageToJson(*msg));
  std::unique_ptr<pb::Message> back(factory_.GetPrototype(spec_)->New());
  absl::Status status = YamlToMessage(YAML::Load(yaml), "out", "", back.get());
  ASSERT_TRUE(status.ok()) << status << "\n" << yaml;
  EXPECT_EQ(back->SerializeAsString(), msg->SerializeAsString()) << yaml;
  EXPECT_NE(yaml.find("description: \"true\""), std::string::npos) << yaml;
}

TEST_F(YamlMappingTest, JsonPrintsProtoNamesAndZeroValues) {
  std::unique_ptr<pb::Message> msg(factory_.GetPrototype(spec_)->New());
  Json json = MessageToJson(*msg);
  EXPECT_TRUE(json.contains("mtu"));
  EXPECT_EQ(json["type"], "PW_TYPE_UNSPECIFIED");
}

TEST(JsonToYamlTest, EmptyContainersAreFlow) {
  EXPECT_EQ(JsonToYaml(Json::parse(R"({"a":[],"b":{},"c":"","d":1})")),
            "a: []\nb: {}\nc: \"\"\nd: 1\n");
}

}  // namespace
}  // namespace pwire::cli
