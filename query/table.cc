#include "query/table.h"

#include <algorithm>

#include "query/cli_common.h"

namespace resyncwatch {
namespace {

// Cuts text to at most width columns, ending with "…" when cut.
std::string Fit(std::string_view text, size_t width) {
  if (width == 0 || DisplayWidth(text) <= width) return std::string(text);
  std::string out;
  size_t cols = 0;
  for (size_t i = 0; i < text.size() && cols + 1 < width; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) ++cols;
    out.push_back(text[i]);
    while (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      out.push_back(text[++i]);
    }
  }
  out += "\u2026";
  return out;
}

}  // namespace

size_t DisplayWidth(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void Table::AddColumn(std::string_view header, Align align) {
  headers_.emplace_back(header);
  aligns_.push_back(align);
}

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(headers_.size());
  for (Cell& c : cells) {
    // A cell is one line: control characters (a multi-line SIP body) become spaces.
    for (char& ch : c.text) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
    }
  }
  rows_.push_back(std::move(cells));
}

void Table::Print(std::FILE* out, bool color, size_t max_width) const {
  size_t ncols = headers_.size();
  std::vector<size_t> width(ncols, 0);
  for (size_t c = 0; c < ncols; ++c) width[c] = DisplayWidth(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < ncols; ++c) {
      size_t w = DisplayWidth(row[c].text);
      if (max_width != 0) w = std::min(w, max_width);
      width[c] = std::max(width[c], w);
    }
  }
  // The last column is never padded, so a blank last column takes no room.
  std::string line;
  auto emit = [&](size_t c, const std::string& text, std::string_view style) {
    std::string fitted = Fit(text, max_width);
    size_t pad = width[c] - std::min(width[c], DisplayWidth(fitted));
    bool last = c + 1 == ncols;
    if (c > 0) line += "  ";
    if (aligns_[c] == Align::kRight) line.append(pad, ' ');
    if (color && !style.empty() && !fitted.empty()) {
      line += style;
      line += fitted;
      line += ansi::kReset;
    } else {
      line += fitted;
    }
    if (aligns_[c] == Align::kLeft && !last) line.append(pad, ' ');
  };
  for (size_t c = 0; c < ncols; ++c) emit(c, headers_[c], ansi::kBold);
  auto flush = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out);
    line.clear();
  };
  flush();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < ncols; ++c) emit(c, row[c].text, row[c].style);
    flush();
  }
}

}  // namespace resyncwatch
