// Undo steps for a multi-step operation: run in reverse order by the destructor
// unless Commit() was called (Go's `success` flag + defer). Undo steps are best
// effort: they must not fail loudly, the original error is what gets reported.
//
//   Rollback undo;
//   ... create veth ...; undo.Add([&] { host.DeleteLink(name); });
//   ... if (!step) return step.error();   // veth removed here
//   undo.Commit();
#ifndef LINEN_LIBCNI_ROLLBACK_H_
#define LINEN_LIBCNI_ROLLBACK_H_

#include <functional>
#include <utility>
#include <vector>

namespace cni {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() {
    if (committed_) return;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }
  void Add(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void Commit() { committed_ = true; }

 private:
  std::vector<std::function<void()>> steps_;
  bool committed_ = false;
};

}  // namespace cni

#endif  // LINEN_LIBCNI_ROLLBACK_H_
