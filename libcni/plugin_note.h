// An ELF note that marks an executable as linen's build of plugin <type>. A
// delegating plugin runs a delegate in its own process (invoke.h, InProcessPlugin)
// only when the executable CNI_PATH resolves to carries the note for that type, so a
// reference plugin of the same name found first on CNI_PATH is still exec'd. The
// linker puts .note sections in the first page of the file, where the check reads.
// The version in the marker changes if in-process and exec'd ever behave differently.
#ifndef LINEN_LIBCNI_PLUGIN_NOTE_H_
#define LINEN_LIBCNI_PLUGIN_NOTE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cni {

inline constexpr std::string_view kPluginNotePrefix = "linen.inprocess.v2:";

// The bytes searched for: prefix, type, NUL.
inline std::string PluginNoteMarker(std::string_view type) {
  std::string m(kPluginNotePrefix);
  m += type;
  m += '\0';
  return m;
}

template <size_t N>
struct PluginNote {
  uint32_t namesz = 6;  // "linen" + NUL
  uint32_t descsz = N;
  uint32_t type = 1;
  char name[8] = "linen";
  char desc[(N + 3) / 4 * 4] = {};
};

// constexpr auto note = MakePluginNote("bridge"), placed with
// [[gnu::section(".note.linen"), gnu::used, gnu::aligned(4)]] in the plugin's main.cc.
template <size_t N>
constexpr PluginNote<kPluginNotePrefix.size() + N> MakePluginNote(const char (&type)[N]) {
  PluginNote<kPluginNotePrefix.size() + N> n;
  size_t i = 0;
  for (char c : kPluginNotePrefix) n.desc[i++] = c;
  for (size_t j = 0; j < N; ++j) n.desc[i++] = type[j];  // includes the NUL
  return n;
}

}  // namespace cni

#endif  // LINEN_LIBCNI_PLUGIN_NOTE_H_
