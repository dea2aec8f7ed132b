// The FUSE mount (libfuse3 low-level API) over one SmbClient: inode numbers map to share paths,
// the kernel caches attributes for `actimeo` seconds, reads and writes go straight to SMB2
// READ/WRITE (cache= decides what the kernel page cache keeps). The session loop runs several
// worker threads that issue requests concurrently on the one (thread-safe) SmbClient; see
// docs/ARCHITECTURE.md "Threading of the client and the mount".
#pragma once
#include <string>

#include "client/options.h"

namespace sd::fuse {

struct MountRequest {
  std::string source;      // //server/share
  std::string mountpoint;
  client::MountOptions options;
  bool foreground = false;
};

// Connects, mounts and serves until unmounted. Returns a process exit code; errors are printed.
int runMount(const MountRequest& req);

}  // namespace sd::fuse
