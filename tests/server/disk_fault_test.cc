// Disk faults under an open file (tests/interop/disk_faults_test.sh does a full and a read-only
// file system for real; an I/O error cannot be had without a device, so here the open's file
// handle is wrapped by one that fails its writes with an errno, as the POSIX backend reports
// one): the WRITE or FLUSH gets the NTSTATUS Samba maps the errno to, nothing written before is
// lost, and the open, the connection and the other clients go on.
#include "inprocess_fixture.h"

namespace sd {
namespace {

constexpr uint32_t kRw = smb2::kFileReadData | smb2::kFileWriteData;

// Fails pwrite and fsync with `fail_errno` while it is not 0; otherwise the real handle's.
class FaultyHandle : public vfs::Handle {
 public:
  FaultyHandle(std::unique_ptr<vfs::Handle> real, std::atomic<int>* fail_errno)
      : real_(std::move(real)), fail_errno_(fail_errno) {}
  Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override { return real_->pread(offset, out); }
  Result<size_t> pwrite(uint64_t offset, ByteView data) override {
    if (int e = *fail_errno_) return err(ntStatusFromErrno(e), "injected");
    return real_->pwrite(offset, data);
  }
  Status fsync() override {
    if (int e = *fail_errno_) return err(ntStatusFromErrno(e), "injected");
    return real_->fsync();
  }
  Result<vfs::FileStat> stat() override { return real_->stat(); }
  Status truncate(uint64_t size) override { return real_->truncate(size); }
  Status setAllocationSize(uint64_t size) override { return real_->setAllocationSize(size); }
  Status zeroRange(uint64_t offset, uint64_t length) override { return real_->zeroRange(offset, length); }
  Result<std::vector<std::pair<uint64_t, uint64_t>>> allocatedRanges(uint64_t offset, uint64_t length) override {
    return real_->allocatedRanges(offset, length);
  }
  Result<size_t> copyFrom(Handle& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) override {
    return real_->copyFrom(src, src_offset, dst_offset, length);
  }
  int fd() const override { return real_->fd(); }

 private:
  std::unique_ptr<vfs::Handle> real_;
  std::atomic<int>* fail_errno_;
};

TEST_F(InProcess, DiskFaultsFailTheWriteAndLoseNothing) {
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  auto f = a.open("faulty.bin", kRw, smb2::kFileOverwriteIf, 0);
  ASSERT_TRUE(f);
  Bytes first(70000);
  for (size_t i = 0; i < first.size(); i++) first[i] = uint8_t(i * 7 + 1);
  auto n = a.write(*f, 0, first);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, first.size());
  ASSERT_TRUE(a.flush(*f));
  // The open's handle (no request of `a` runs now) fails from here on, as the test says.
  std::atomic<int> fail{0};
  auto open = state_->findOpen(f->volatile_);
  ASSERT_TRUE(open);
  open->handle = std::make_unique<FaultyHandle>(std::move(open->handle), &fail);

  const std::pair<int, NtStatus> faults[] = {{EIO, NtStatus::kIoDeviceError},
                                             {ENOSPC, NtStatus::kDiskFull},
                                             {EDQUOT, NtStatus::kDiskFull},
                                             {EROFS, NtStatus::kMediaWriteProtected}};
  for (const auto& [e, want] : faults) {
    fail = e;
    auto w = a.write(*f, 4096, Bytes(5000, 0xEE));
    ASSERT_FALSE(w) << strerror(e);
    EXPECT_EQ(w.status(), want) << strerror(e) << ": " << ntStatusName(w.status());
    auto fl = a.flush(*f);
    ASSERT_FALSE(fl) << strerror(e);
    EXPECT_EQ(fl.status(), want) << strerror(e);
    // Meanwhile another client writes and reads its own file.
    ASSERT_NO_FATAL_FAILURE(expectRoundTrip(b, "other.bin", Bytes(3000, uint8_t(e))));
  }
  fail = 0;
  // What was acknowledged is there, untouched by the failed writes, through the same open.
  Bytes back(first.size());
  auto r = a.read(*f, 0, back);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, first.size());
  EXPECT_EQ(back, first);
  // The open writes again once the fault is gone.
  ASSERT_TRUE(a.write(*f, first.size(), Bytes(10, 1)));
  ASSERT_TRUE(a.close(*f));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/share/faulty.bin").c_str(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), first.size() + 10);
}

}  // namespace
}  // namespace sd
