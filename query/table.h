// Table: aligned text tables for the human output of resyncwatch commands. Columns are
// sized to their widest cell (counted in terminal columns, UTF-8 aware); a cell may carry
// an ANSI style that is printed only when colour is on. Not thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace resyncwatch {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Cell {
    std::string text;
    std::string_view style;  // one of ansi::k*, or empty
  };

  // Declares a column; the header is printed in bold when colour is on.
  void AddColumn(std::string_view header, Align align = Align::kLeft);
  // One cell per column (missing cells are blank).
  void AddRow(std::vector<Cell> cells);
  size_t rows() const { return rows_.size(); }

  // Prints header and rows, columns separated by two spaces, no trailing blanks.
  // max_width caps each column (longer text is cut with "…"); 0 = no cap.
  void Print(std::FILE* out, bool color, size_t max_width = 0) const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> aligns_;
  std::vector<std::vector<Cell>> rows_;
};

// Terminal columns taken by UTF-8 text (one per code point; good for the text we print).
size_t DisplayWidth(std::string_view text);

}  // namespace resyncwatch
