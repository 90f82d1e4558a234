#include "query/table.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace resyncwatch {
namespace {

std::string Render(const Table& t, bool color, size_t max_width = 0) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  t.Print(f, color, max_width);
  std::fclose(f);
  std::string out(buf, len);
  free(buf);
  return out;
}

}  // namespace

TEST_CASE("table columns align by display width, numbers to the right") {
  Table t;
  t.AddColumn("NAME");
  t.AddColumn("N", Table::Align::kRight);
  t.AddColumn("NOTE");
  t.AddRow({{"█▌", {}}, {"7", {}}, {"", {}}});
  t.AddRow({{"longer", {}}, {"1234", {}}, {"x", {}}});
  CHECK(Render(t, false) ==
        "NAME       N  NOTE\n"
        "█▌         7\n"
        "longer  1234  x\n");
}

TEST_CASE("table styles are printed only with colour and long cells are cut") {
  Table t;
  t.AddColumn("A");
  t.AddRow({{"failure\nwith newline", "\x1b[31m"}});
  std::string plain = Render(t, false, 8);
  CHECK(plain == "A\nfailure…\n");
  std::string colored = Render(t, true);
  CHECK(colored.find("\x1b[31mfailure with newline\x1b[0m") != std::string::npos);
}

}  // namespace resyncwatch
