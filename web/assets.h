// The console's files (web/assets/), built into the binary by web/embed_assets.cmake.
// Immutable data; thread-safe.
#pragma once

#include <string_view>

namespace resyncwatch {

struct Asset {
  std::string_view path;          // "/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// The asset served at path ("/" is "/index.html"), or nullptr.
const Asset* FindAsset(std::string_view path);

}  // namespace resyncwatch
