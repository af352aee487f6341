// Plain-text tables for pwctl, in the style of `kubectl get` and `gobgp neighbor`:
// upper-case headers, columns padded to the widest cell and separated by three spaces,
// no borders. Also small formatting helpers (ages, byte counts) used by the tables.
#ifndef PWIRE_CLI_TABLE_H_
#define PWIRE_CLI_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace pwire::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Adds a row; missing cells are printed empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // The table as text, one line per row, each ending in '\n'. Trailing spaces trimmed.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Age of something created `seconds` ago, as kubectl prints it: 45s, 12m, 3h20m, 5d, 2y.
std::string FormatAge(int64_t seconds);

// A count with a binary unit suffix for bytes: 512B, 1.5KiB, 20.0MiB.
std::string FormatBytes(uint64_t bytes);

// "-" for an empty string, the string otherwise (tables never show blank cells).
std::string OrDash(const std::string& s);

}  // namespace pwire::cli

#endif  // PWIRE_CLI_TABLE_H_
