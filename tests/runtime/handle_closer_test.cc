// runtime::HandleCloser: handles are released on its thread, after close() returned; a full
// queue releases inline; nothing queued is lost at destruction. No timing: a handle's destructor
// blocks on a gate the test opens.
#include "runtime/handle_closer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace sd::runtime {
namespace {

struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;   // destructors that started
  int released = 0;  // destructors that finished
  std::thread::id last_thread;
  void waitEntered(int n) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return entered >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lk(mu);
    open = true;
    cv.notify_all();
  }
};

// A handle whose release blocks until the gate opens (as ext4's flush on close does).
class SlowHandle : public vfs::Handle {
 public:
  explicit SlowHandle(Gate& g, bool blocks = true) : g_(g), blocks_(blocks) {}
  ~SlowHandle() override {
    std::unique_lock<std::mutex> lk(g_.mu);
    g_.entered++;
    g_.cv.notify_all();
    if (blocks_) g_.cv.wait(lk, [&] { return g_.open; });
    g_.released++;
    g_.last_thread = std::this_thread::get_id();
  }
  Result<size_t> pread(uint64_t, std::span<uint8_t>) override { return err(NtStatus::kNotSupported); }
  Result<size_t> pwrite(uint64_t, ByteView) override { return err(NtStatus::kNotSupported); }
  Status fsync() override { return ok(); }
  Result<vfs::FileStat> stat() override { return err(NtStatus::kNotSupported); }
  Status truncate(uint64_t) override { return ok(); }
  Status setAllocationSize(uint64_t) override { return ok(); }
  Status zeroRange(uint64_t, uint64_t) override { return ok(); }
  Result<std::vector<std::pair<uint64_t, uint64_t>>> allocatedRanges(uint64_t, uint64_t) override {
    return err(NtStatus::kNotSupported);
  }
  Result<size_t> copyFrom(vfs::Handle&, uint64_t, uint64_t, uint64_t) override {
    return err(NtStatus::kNotSupported);
  }
  int fd() const override { return -1; }

 private:
  Gate& g_;
  bool blocks_;
};

int released(Gate& g) {
  std::lock_guard<std::mutex> lk(g.mu);
  return g.released;
}

TEST(HandleCloser, ReleasesOnItsThreadAfterCloseReturned) {
  Gate g;
  HandleCloser closer;
  closer.close(std::make_unique<SlowHandle>(g));
  closer.close(std::make_unique<SlowHandle>(g));
  // close() returned although both releases block.
  g.waitEntered(1);
  EXPECT_EQ(released(g), 0);
  EXPECT_EQ(closer.pending(), 2u);
  g.release();
  closer.drain();
  EXPECT_EQ(released(g), 2);
  EXPECT_EQ(closer.pending(), 0u);
  EXPECT_NE(g.last_thread, std::this_thread::get_id());
}

TEST(HandleCloser, FullQueueReleasesInline) {
  Gate slow, fast;
  HandleCloser closer(1);
  closer.close(std::make_unique<SlowHandle>(slow));
  slow.waitEntered(1);  // taken off the queue; its release blocks the thread
  closer.close(std::make_unique<SlowHandle>(slow));  // queued (1 of 1)
  closer.close(std::make_unique<SlowHandle>(fast, false));  // queue full: released right here
  EXPECT_EQ(released(fast), 1);
  EXPECT_EQ(fast.last_thread, std::this_thread::get_id());
  EXPECT_EQ(released(slow), 0);
  slow.release();
  closer.drain();
  EXPECT_EQ(released(slow), 2);
}

TEST(HandleCloser, DestructionReleasesWhatIsQueued) {
  Gate g;
  {
    HandleCloser closer;
    for (int i = 0; i < 5; i++) closer.close(std::make_unique<SlowHandle>(g, false));
    closer.close(nullptr);  // ignored
  }
  EXPECT_EQ(released(g), 5);
}

}  // namespace
}  // namespace sd::runtime
