// Apply files: the sample file maps onto ApplyRequest, bare names expand, and bad files are
// refused with the file, line and field path.
#include "apply_file.h"

#include <gtest/gtest.h>

#include <string>

namespace pwire::cli {
namespace {

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<v1::ApplyRequest> r = ParseApplyText(text, "f.yaml");
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(ApplyFileTest, SampleFileHasAClassAndThreePseudowiresOfDifferentTypes) {
  absl::StatusOr<v1::ApplyRequest> r =
      LoadApplyFile(std::string(PWIRE_SOURCE_DIR) + "/deploy/examples/three-types.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->classes_size(), 1);
  EXPECT_EQ(r->classes(0).name(), "classes/gold");
  EXPECT_EQ(r->classes(0).cookie_length(), 4u);
  EXPECT_EQ(r->classes(0).hello_interval().seconds(), 30);
  EXPECT_EQ(r->classes(0).control_auth(), v1::PseudowireClass::HMAC_MD5);
  ASSERT_EQ(r->pseudowires_size(), 3);
  EXPECT_EQ(r->pseudowires(0).spec().type(), v1::PseudowireSpec::ETHERNET);
  EXPECT_EQ(r->pseudowires(1).spec().type(), v1::PseudowireSpec::ETHERNET_VLAN);
  EXPECT_EQ(r->pseudowires(1).spec().endpoints(0).agent().circuit().vlan_id(), 100u);
  EXPECT_EQ(r->pseudowires(1).spec().endpoints(1).external().vc_id(), 100u);
  EXPECT_EQ(r->pseudowires(2).spec().type(), v1::PseudowireSpec::PPP);
  EXPECT_EQ(r->pseudowires(2).spec().mode(), v1::PseudowireSpec::STATIC);
  EXPECT_FALSE(r->validate_only());
}

TEST(ApplyFileTest, BareNamesAndReferencesExpand) {
  absl::StatusOr<v1::ApplyRequest> r = ParseApplyText(R"(
classes: [{name: gold}]
pseudowires:
- name: p1
  spec:
    type: ethernet
    pseudowireClass: gold
    endpoints: [{agent: {agent: a1}}, {external: {address: 192.0.2.1}}]
)",
                                                      "f.yaml");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->classes(0).name(), "classes/gold");
  EXPECT_EQ(r->pseudowires(0).name(), "pseudowires/p1");
  EXPECT_EQ(r->pseudowires(0).spec().pseudowire_class(), "classes/gold");
  EXPECT_EQ(r->pseudowires(0).spec().endpoints(0).agent().agent(), "agents/a1");
}

TEST(ApplyFileTest, DocumentsAreMerged) {
  absl::StatusOr<v1::ApplyRequest> r = ParseApplyText(
      "classes: [{name: a}]\n---\npseudowires: [{name: p, spec: {type: ppp}}]\n---\n", "f");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->classes_size(), 1);
  EXPECT_EQ(r->pseudowires_size(), 1);
}

TEST(ApplyFileTest, ErrorsNameFileLineAndField) {
  EXPECT_EQ(ErrorOf("pseudowires:\n- name: p\n  spec:\n    type: ethernet\n    mode: sometimes\n"),
            "f.yaml:5:11: pseudowires[0].spec.mode: unknown value \"sometimes\" for Mode; "
            "expected one of: dynamic, static");
  EXPECT_NE(ErrorOf("pseudowires:\n- name: p\n  spec: {tpye: ppp}\n")
                .find("f.yaml:3:10: pseudowires[0].spec.tpye: unknown field \"tpye\" in "
                      "PseudowireSpec; did you mean \"type\"?"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("classes:\n- name: c\n  udp_port: -1\n"),
            "f.yaml:3:13: classes[0].udp_port: expects an integer from 0 to 4294967295, got "
            "\"-1\"");
}

TEST(ApplyFileTest, RefusesMissingAndDuplicateNames) {
  EXPECT_EQ(ErrorOf("pseudowires:\n- spec: {type: ppp}\n"),
            "f.yaml:2:3: pseudowires[0].name: required: give every resource a name");
  EXPECT_EQ(ErrorOf("classes: [{name: a}]\n---\nclasses: [{name: classes/a}]\n"),
            "f.yaml:3:18: classes[0].name: \"classes/a\" is already defined at f.yaml:1:18");
}

TEST(ApplyFileTest, RefusesSyntaxErrorsEmptyFilesAndValidateOnly) {
  EXPECT_NE(ErrorOf("classes: [{name: a}\n").find("f.yaml:2:1: YAML syntax:"), std::string::npos)
      << ErrorOf("classes: [{name: a}\n");
  EXPECT_EQ(ErrorOf("# nothing\n"),
            "f.yaml: nothing to apply: expected `classes:` and/or `pseudowires:`");
  EXPECT_NE(
      ErrorOf("validate_only: true\nclasses: [{name: a}]\n").find("use `pwctl apply --dry-run`"),
      std::string::npos);
  EXPECT_NE(ErrorOf("- a\n- b\n").find("expects a mapping (ApplyRequest), got a list"),
            std::string::npos);
}

TEST(ApplyFileTest, MissingFileIsAClearError) {
  absl::StatusOr<v1::ApplyRequest> r = LoadApplyFile("/nonexistent/x.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/nonexistent/x.yaml: cannot read the file");
}

}  // namespace
}  // namespace pwire::cli
