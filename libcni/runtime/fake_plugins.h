// Tiny shell-script CNI plugins for tests of the runtime side: each logs its
// invocation (one line: type, verb, CNI_* values) and keeps its last stdin per verb,
// then behaves as told. Real executables run through the real exec path; only the
// network work is left out.
#ifndef LINEN_LIBCNI_RUNTIME_FAKE_PLUGINS_H_
#define LINEN_LIBCNI_RUNTIME_FAKE_PLUGINS_H_

#include <string>
#include <vector>

namespace cni::runtime::testing {

enum class FakeKind {
  kResult,       // ADD prints a 1.1.0 result with one interface named after the plugin
                 // and `ip`; other verbs succeed
  kPassThrough,  // ADD prints prevResult with an interface named after it appended
  kCniError,     // every verb but VERSION fails with code `code` and message `msg`
  kCrash,        // killed by SIGSEGV
  kGarbage,      // prints "this is not json", exits 0
  kGarbageFail,  // prints "panic: boom" on stderr, exits 2
};

struct FakePlugin {
  std::string type;
  FakeKind kind = FakeKind::kResult;
  std::string ip = "10.9.0.5/24";
  int code = 7;
  std::string msg = "fake failure";
};

// A directory of fake plugins plus their shared log.
class FakePluginDir {
 public:
  explicit FakePluginDir(const std::string& dir) : dir_(dir) {}
  void Add(const FakePlugin& p) const;
  const std::string& dir() const { return dir_; }
  // Log lines, in order: "<type> <VERB> cid=<id> if=<ifname> netns=<path> args=<CNI_ARGS>".
  std::vector<std::string> Log() const;
  // "<type> <VERB>" per line, the short form most assertions want.
  std::vector<std::string> Calls() const;
  // The stdin the last <VERB> of <type> received ("" when never run).
  std::string Stdin(const std::string& type, const std::string& verb) const;

 private:
  std::string dir_;
};

}  // namespace cni::runtime::testing

#endif  // LINEN_LIBCNI_RUNTIME_FAKE_PLUGINS_H_
