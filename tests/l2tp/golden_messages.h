// Golden control messages for both L2TP versions: every message type, each as a header +
// Message built with the codec's Builder and the bytes written by hand from RFC 3931 §5-6
// and RFC 2661 §4, §6 (one AVP per line: flags+Length, Vendor ID, Attribute, value).
// Shared by the golden test, the tshark judge and the fuzz seed generator.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "agent/l2tp/message.h"

namespace pwire::l2tp::testing {

struct Golden {
  std::string name;
  ControlHeader header;
  Message message;
  std::string hex;  // the whole UDP payload, spaces allowed
};

// gtest prints a parameter with this: the name, not the bytes of the struct.
inline void PrintTo(const Golden& golden, std::ostream* os) { *os << golden.name; }

std::vector<Golden> GoldenV3Messages();
std::vector<Golden> GoldenV2Messages();
Bytes FromHex(const std::string& hex_with_spaces);

}  // namespace pwire::l2tp::testing
