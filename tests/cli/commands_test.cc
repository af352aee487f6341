// pwctl's command line without a server: usage errors, bad input refused before anything is
// sent (naming the field), an unreachable server, and the completion script.
#include "commands.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client.h"

namespace pwire::cli {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result Pwctl(std::vector<std::string> args) {
  args.insert(args.begin(), "pwctl");
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int code = RunPwctl(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

// A server address where nothing listens.
constexpr char kNowhere[] = "--server=unix:/nonexistent/pwire-test.sock";

TEST(CommandsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Pwctl({}).code, kExitUsage);
  EXPECT_EQ(Pwctl({"pw"}).code, kExitUsage);
  EXPECT_EQ(Pwctl({"pw", "list", "-o", "xml"}).code, kExitUsage);
  EXPECT_EQ(Pwctl({"apply"}).code, kExitUsage);  // -f is required
  Result r = Pwctl({"pw", "list", "--label", "nokey", kNowhere});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--label \"nokey\": expected KEY=VALUE"), std::string::npos) << r.err;
}

TEST(CommandsTest, HelpListsExitCodes) {
  Result r = Pwctl({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Exit codes:"), std::string::npos);
  EXPECT_NE(r.out.find("5  the server could not be reached"), std::string::npos);
}

TEST(CommandsTest, BadFlagValueIsRefusedWithTheFieldPath) {
  Result r = Pwctl(
      {"pw", "create", "p1", "--type", "ethernett", "--a", "x:eth0", "--b", "y:eth0", kNowhere});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_NE(r.err.find("command line: spec.type: unknown value \"ethernett\" for Type"),
            std::string::npos)
      << r.err;
  r = Pwctl({"pw", "create", "p1", "--type", "ethernet", "--a", "color=blue", kNowhere});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_NE(r.err.find("--a \"color=blue\": expected KEY=VALUE with KEY one of"), std::string::npos)
      << r.err;
  r = Pwctl({"class", "create", "c1", "--cookie-length", "four", kNowhere});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_NE(r.err.find("cookie_length: expects an integer"), std::string::npos) << r.err;
}

TEST(CommandsTest, BadApplyFileExitsThreeAndDiffAboveOne) {
  std::string path = testing::TempDir() + "/bad-apply.yaml";
  std::ofstream(path) << "pseudowires:\n- name: p\n  spec: {type: ethernet, colour: red}\n";
  Result r = Pwctl({"apply", "-f", path, kNowhere});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_NE(r.err.find(path + ":3:26: pseudowires[0].spec.colour: unknown field"),
            std::string::npos)
      << r.err;
  EXPECT_GT(Pwctl({"diff", "-f", path, kNowhere}).code, 1);
  EXPECT_GT(Pwctl({"diff", "-f", "/nonexistent.yaml", kNowhere}).code, 1);
}

TEST(CommandsTest, UnreachableServerExitsFiveWithAHint) {
  Result r = Pwctl({"pw", "list", kNowhere, "--timeout", "2"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_NE(r.err.find("hint: is pwire-server running"), std::string::npos) << r.err;
  EXPECT_GT(
      Pwctl({"diff", "-f", std::string(PWIRE_SOURCE_DIR) + "/deploy/examples/three-types.yaml",
             kNowhere, "--timeout", "2"})
          .code,
      1);
}

TEST(CommandsTest, TlsOptionsNeedATcpAddress) {
  Result r = Pwctl({"pw", "list", kNowhere, "--tls-ca", "/etc/hostname"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("not to unix sockets"), std::string::npos) << r.err;
}

TEST(CommandsTest, CompletionScriptKnowsTheCommandTree) {
  Result r = Pwctl({"completion", "bash"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("[\"pw\"]=\"create update get list delete\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("complete -F _pwctl pwctl"), std::string::npos);
  r = Pwctl({"completion", "zsh"});
  EXPECT_NE(r.out.find("bashcompinit"), std::string::npos);
}

}  // namespace
}  // namespace pwire::cli
