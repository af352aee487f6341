// The AVP table: see avp_table.h.
#include "agent/l2tp/avp_table.h"

#include <array>
#include <cstdlib>

namespace pwire::l2tp {
namespace {

constexpr AvpInfo kRows[] = {
#define PWIRE_L2TP_ATTR_ROW(name, num, type, m3, m2, hide, min, max) \
  {Attr::k##name, #name, KindOf<type>(), m3, m2, hide, min, max},
    PWIRE_L2TP_AVPS(PWIRE_L2TP_ATTR_ROW)
#undef PWIRE_L2TP_ATTR_ROW
};

constexpr size_t kMaxAttr = 128;

constexpr std::array<const AvpInfo*, kMaxAttr> BuildIndex() {
  std::array<const AvpInfo*, kMaxAttr> index{};
  for (const AvpInfo& row : kRows) {
    index[static_cast<uint16_t>(row.attr)] = &row;
  }
  return index;
}

constexpr std::array<const AvpInfo*, kMaxAttr> kIndex = BuildIndex();

}  // namespace

const AvpInfo* FindAvpInfo(uint16_t attribute) {
  return attribute < kMaxAttr ? kIndex[attribute] : nullptr;
}

const AvpInfo& GetAvpInfo(Attr attr) {
  const AvpInfo* info = FindAvpInfo(static_cast<uint16_t>(attr));
  if (info == nullptr) {
    std::abort();  // an Attr value outside the table: a bug
  }
  return *info;
}

absl::string_view AvpName(Attr attr) { return GetAvpInfo(attr).name; }

}  // namespace pwire::l2tp
