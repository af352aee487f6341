// Plain-text tables and small formatters (see table.h).
#include "table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pwire::cli {

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  auto render_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      line += cells[c];
      if (c + 1 < cells.size()) line.append(widths[c] - cells[c].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  };
  render_line(headers_);
  for (const auto& row : rows_) render_line(row);
  return out;
}

std::string FormatAge(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  constexpr int64_t kMinute = 60, kHour = 3600, kDay = 86400, kYear = 365 * kDay;
  if (seconds < 2 * kMinute) return absl::StrCat(seconds, "s");
  if (seconds < 10 * kMinute) {
    int64_t s = seconds % kMinute;
    return s == 0 ? absl::StrCat(seconds / kMinute, "m")
                  : absl::StrCat(seconds / kMinute, "m", s, "s");
  }
  if (seconds < 3 * kHour) {
    return absl::StrCat(seconds / kMinute, "m");
  }
  if (seconds < 8 * kHour) {
    int64_t m = (seconds % kHour) / kMinute;
    return m == 0 ? absl::StrCat(seconds / kHour, "h") : absl::StrCat(seconds / kHour, "h", m, "m");
  }
  if (seconds < 2 * kDay) return absl::StrCat(seconds / kHour, "h");
  if (seconds < 8 * kDay) {
    int64_t h = (seconds % kDay) / kHour;
    return h == 0 ? absl::StrCat(seconds / kDay, "d") : absl::StrCat(seconds / kDay, "d", h, "h");
  }
  if (seconds < 2 * kYear) return absl::StrCat(seconds / kDay, "d");
  return absl::StrCat(seconds / kYear, "y");
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return absl::StrCat(bytes, "B");
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return absl::StrFormat("%.1f%s", value, kUnits[unit]);
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace pwire::cli
