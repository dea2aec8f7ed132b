#include "fuse/mount_main.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "fuse/smbfs.h"

namespace sd::fuse {

namespace {
void usage(FILE* out) {
  std::fprintf(out,
               "Usage: smbdirect mount //server/share MOUNTPOINT [-o OPTIONS] [-f]\n"
               "       mount -t smbdirect //server/share MOUNTPOINT -o OPTIONS\n"
               "\n"
               "OPTIONS (mount.cifs syntax, comma-separated): vers=3.0|3.0.2|3.1.1, username=,\n"
               "password=, credentials=FILE, domain=, port=N, uid=, gid=, file_mode=, dir_mode=,\n"
               "ro, rw, rsize=, wsize=, actimeo=SECONDS, closetimeo=SECONDS (kept handles under a\n"
               "lease, default 5), cache=strict|none|loose, sign, seal, multichannel,\n"
               "nomultichannel, max_channels=N, rdma, rdma_port=N (with multichannel: the server's\n"
               "SMB Direct port, default 5445 then 445), rdma_provider=auto|soft|verbs,\n"
               "nonotify (do not follow the server's change notifications: another client's\n"
               "changes show after actimeo only; default: follow them where the server sends them),\n"
               "nodurable (no durable handles: after a lost connection files are opened again by\n"
               "name; default: leased opens are durable and come back with their locks and lease),\n"
               "nordmatransform (with seal over SMB Direct: data inline, not encrypted by RDMA).\n"
               "The password may also come from $PASSWD. -f stays in the foreground.\n"
               "Aliases, as mount.cifs has them: user= (username=), pass= (password=), cred=\n"
               "(credentials=), dom= and workgroup= (domain=). Generic mount flags (defaults,\n"
               "noauto, _netdev, nofail, noatime, ...) are accepted and left to mount(8).\n"
               "Unmount with: umount MOUNTPOINT (or fusermount3 -u MOUNTPOINT).\n");
}
}  // namespace

int mountMain(int argc, char** argv) {
  MountRequest r;
  std::vector<std::string> pos;
  std::string opts;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {
      if (!opts.empty()) opts += ",";
      opts += argv[++i];
    } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      if (!opts.empty()) opts += ",";
      opts += a.substr(2);
    } else if (a == "-f") {
      r.foreground = true;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "-v") {
      // mount(8)'s verbose: protocol details on stderr (seen with -f).
      logSetLevel(LogLevel::kDebug);
    } else if (a == "-n" || a == "-s") {
      // mount(8) passes these to helpers (no mtab, sloppy): accepted.
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "smbdirect mount: unknown flag '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 2) {
    usage(stderr);
    return 2;
  }
  r.source = pos[0];
  r.mountpoint = pos[1];
  std::string e;
  if (!client::parseMountOptions(opts, &r.options, &e)) {
    std::fprintf(stderr, "smbdirect mount: %s\n", e.c_str());
    return 2;
  }
  if (!r.options.credentials_file.empty()) {
    auto c = client::loadCredentialsFile(r.options.credentials_file, &e);
    if (!c) {
      std::fprintf(stderr, "smbdirect mount: %s\n", e.c_str());
      return 2;
    }
    if (r.options.creds.user.empty()) r.options.creds.user = c->user;
    if (r.options.creds.domain.empty()) r.options.creds.domain = c->domain;
    if (!r.options.creds.has_password && c->has_password) {
      r.options.creds.password = c->password;
      r.options.creds.has_password = true;
    }
  }
  if (r.options.creds.user.empty() && getenv("USER")) r.options.creds.user = getenv("USER");
  if (!r.options.creds.has_password && getenv("PASSWD")) {
    r.options.creds.password = getenv("PASSWD");
    r.options.creds.has_password = true;
  }
  return runMount(r);
}

}  // namespace sd::fuse
