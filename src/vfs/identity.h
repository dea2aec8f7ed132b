// Unix identities of SMB users and the per-thread file-system credentials they act with.
//
// A file server that runs as root acts, for each request, as the Unix account of the user who
// sent it (ksmbd overrides the fs credentials around each path operation; Samba switches its
// per-client process). smbdirectd serves many users from one process with many threads, so it
// changes the credentials of the calling thread only: setfsuid/setfsgid and setgroups through
// the raw system calls (glibc's setgroups, setresuid and setresgid change every thread of the
// process). The real and effective ids stay root; fsuid != 0 drops the file-system
// capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, ...) for the thread until it acts as
// root again, so the kernel checks permissions exactly as for the user. The thread keeps the
// identity until the next switch (a connection that stays with one user switches once).
//
// Started as a non-root account, the server cannot switch: every user is that account
// (identitySwitching() is false and actAs does nothing).
#pragma once
#include <memory>

#include "base/result.h"
#include "base/unix_account.h"

namespace sd::vfs {

// Whether the process can switch identities (it runs with euid 0); decided once.
bool identitySwitching();

// Makes the calling thread act as `id` for every file-system operation (nullptr: as the
// server's own account). Cheap when the thread already acts as it. Fails only if the kernel
// refuses the switch; the thread then acts as nobody (65534) and the caller must not
// touch the file system (the request fails with the returned status).
Status actAs(const std::shared_ptr<const UnixIdentity>& id);

// The thread's current identity (nullptr: the server's own).
std::shared_ptr<const UnixIdentity> currentIdentity();

// Acts as `id` for its scope, then as the thread's previous identity again.
class IdentityScope {
 public:
  explicit IdentityScope(const std::shared_ptr<const UnixIdentity>& id);
  ~IdentityScope();
  IdentityScope(const IdentityScope&) = delete;
  IdentityScope& operator=(const IdentityScope&) = delete;
  const Status& status() const { return st_; }

 private:
  std::shared_ptr<const UnixIdentity> prev_;
  Status st_;
};

}  // namespace sd::vfs
