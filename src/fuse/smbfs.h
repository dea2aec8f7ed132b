// The FUSE mount (libfuse3 low-level API) over one SmbClient: inode numbers map to share paths,
// attributes are cached for `actimeo` seconds, reads and writes go straight to SMB2 READ/WRITE.
// The session loop is single-threaded (the client is not thread-safe).
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
