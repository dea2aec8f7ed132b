#include "fuse/smbfs.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "base/log.h"
#include "fuse/change_watch.h"
#include "fuse/fs.h"
#include "fuse/status_file.h"
#include "fuse/utab.h"

namespace sd::fuse {

namespace {

constexpr unsigned kWorkers = 16;

// Connects and tree-connects `fs->smb` as `r` asks; an exit code on failure (printed).
int connectShare(Fs* fs, const MountRequest& r, const client::SmbAddress& addr) {
  client::ConnectOptions o = client::connectOptionsFor(addr, r.options);
  Status st = fs->smb.connect(o);
  if (st) st = fs->smb.treeConnect(addr.share);
  if (!st) {
    std::fprintf(stderr, "smbdirect mount: %s: %s\n", r.source.c_str(), client::describe(st.status()).c_str());
    return client::exitCodeFor(st.status());
  }
  // multichannel over TCP (as Windows clients do): when the server lists an RDMA-capable
  // interface, bind an SMB Direct channel to the session and move READ/WRITE to it.
  if (!r.options.multichannel || r.options.max_channels < 2 || r.options.rdma) return 0;
  auto ifs = fs->smb.interfaces();
  bool rdma_capable = false;
  if (ifs)
    for (const auto& i : *ifs) rdma_capable |= i.rdma;
  if (!rdma_capable) {
    std::fprintf(stderr, "smbdirect: multichannel: the server lists no RDMA-capable interface; staying on TCP\n");
    return 0;
  }
  auto ch = std::make_unique<client::SmbClient>();
  o.rdma = true;
  o.port = r.options.rdma_port;
  o.port_explicit = r.options.rdma_port != 0;
  o.bind_to = &fs->smb;
  Status b = ch->connect(o);
  if (!b) {
    std::fprintf(stderr, "smbdirect: multichannel: no SMB Direct channel (%s); staying on TCP\n",
                 client::describe(b.status()).c_str());
    return 0;
  }
  std::fprintf(stderr, "smbdirect: multichannel: SMB Direct channel bound (%s provider); reads and writes use it\n",
               ch->info().rdma_provider.c_str());
  fs->rdma_channel = std::move(ch);
  fs->rdma_ok = true;
  return 0;
}

// The FUSE session, mounted on r.mountpoint; null on failure (printed). /proc/mounts shows
// "//server/share /mnt fuse.smbdirect" (findmnt's SOURCE is the share).
fuse_session* mountSession(Fs* fs, const MountRequest& r) {
  uint32_t max_read = r.options.rsize ? std::min<uint32_t>(r.options.rsize, 1u << 20) : 1u << 20;
  std::string fsname = "-ofsname=" + r.source + ",subtype=smbdirect,default_permissions,max_read=" + std::to_string(max_read);
  if (r.options.read_only) fsname += ",ro";
  if (getuid() == 0) fsname += ",allow_other";
  std::vector<std::string> argv_s = {"smbdirect", fsname};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());
  const fuse_lowlevel_ops& ops = smbfsOps();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, fs);
  if (!se) {
    std::fprintf(stderr, "smbdirect mount: cannot create the FUSE session\n");
    return nullptr;
  }
  if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, r.mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "smbdirect mount: cannot mount on %s\n", r.mountpoint.c_str());
    fuse_session_destroy(se);
    return nullptr;
  }
  return se;
}

// Background: tells the waiting parent we are mounted, then detaches from the terminal.
void detach(int notify_fd) {
  uint8_t okb = 0;
  (void)!::write(notify_fd, &okb, 1);
  ::close(notify_fd);
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) ::close(devnull);
  }
  (void)!chdir("/");
}

// The mount's part of `smbdirect status`.
std::string statusReport(Fs* fs, const std::string& header) {
  std::shared_lock<std::shared_mutex> lk(fs->conn_mu);
  std::string t = header + fs->smb.statusText();
  if (fs->leases) {
    auto c = fs->lease_cache->counts();
    t += "Leases held: " + std::to_string(c.held) + "  deferred closes pending: " + std::to_string(c.deferred) +
         "  reused: " + std::to_string(c.reused) + "  closed: " + std::to_string(fs->deferred_closed.load()) +
         "  cache invalidations: " + std::to_string(fs->cache_invalidations.load()) + "\n";
  } else {
    t += "Leases: not used (" + std::string(fs->opt.cache != "strict" ? "cache=" + fs->opt.cache : "the server offers none") + ")\n";
  }
  t += fs->watch ? fs->watch->statusText() : "Change notifications: off (nonotify)\n";
  {
    std::lock_guard<std::mutex> dl(fs->durable_mu);
    t += fs->opt.durable ? "Durable handles: " + std::to_string(fs->durable_guids.size()) + " open  reconnected: " +
                               std::to_string(fs->durable_reconnects.load()) + "  re-opened by name: " +
                               std::to_string(fs->reopened_by_path.load()) + "\n"
                         : "Durable handles: off (nodurable)\n";
  }
  if (fs->rdma_channel) t += "Channel 2 (bound to the session):\n" + fs->rdma_channel->statusText();
  return t;
}

// Connects, mounts and serves; `notify_fd` (background mode) gets one byte, 0, once mounted.
int mountAndServe(const MountRequest& r, int notify_fd) {
  auto addr = client::parseSmbAddress(r.source);
  if (!addr || addr->share.empty()) {
    std::fprintf(stderr, "smbdirect mount: bad source '%s' (use //server/share)\n", r.source.c_str());
    return 2;
  }
  auto fs = std::make_unique<Fs>();
  fs->opt = r.options;
  fs->uid = r.options.uid ? *r.options.uid : getuid();
  fs->gid = r.options.gid ? *r.options.gid : getgid();
  fs->ttl = double(r.options.actimeo);
  if (int rc = connectShare(fs.get(), r, *addr)) return rc;
  // Leases: cache=strict on a server that offers them (cache=none/loose keep their behaviour).
  fs->leases = r.options.cache == "strict" && fs->smb.leasesSupported();
  if (fs->leases) {
    fs->lease_cache = std::make_unique<LeaseCache>(std::chrono::seconds(r.options.closetimeo));
    Fs* fsp = fs.get();
    // Called on the client's receiving thread: only queue the work.
    fs->smb.setLeaseBreakHandler([fsp](const client::SmbClient::LeaseBreak& b) { fsp->queueBreak(b); });
  }
  fuse_session* se = mountSession(fs.get(), r);
  if (!se) return 1;
  std::string target = r.mountpoint;
  if (char* rp = realpath(r.mountpoint.c_str(), nullptr)) {
    target = rp;
    free(rp);
  }
  utabAdd(r.source, target, client::displayMountOptions(r.options));
  fs->mount_target = target;
  std::string transport = fs->smb.info().transport == "rdma"
                              ? "SMB Direct, " + fs->smb.info().rdma_provider + " provider"
                              : std::string("tcp");
  std::fprintf(stderr, "smbdirect: mounted %s on %s (SMB dialect 0x%04x%s%s, %s)\n", r.source.c_str(),
               r.mountpoint.c_str(), fs->smb.info().dialect, fs->smb.info().signing ? ", signed" : "",
               fs->smb.info().encryption ? ", sealed" : "", transport.c_str());
  if (notify_fd >= 0) detach(notify_fd);
  std::string header = "Mount: " + r.source + " on " + target + " (pid " + std::to_string(getpid()) +
                       ")\nOptions: " + client::displayMountOptions(r.options) + "\n";
  fs->se = se;
  if (fs->leases) fs->startLeaseWorker();
  if (r.options.notify) {
    fs->watch = std::make_unique<ChangeWatch>(*fs);
    fs->watch->start();
  }
  int rc;
  {
    Fs* fsp = fs.get();
    StatusPublisher status([header, fsp] { return statusReport(fsp, header); });
    // Worker threads: requests run concurrently on the one connection (the kernel's readahead
    // and parallel jobs keep several READ/WRITE in flight).
    fuse_loop_config* lc = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(lc, 0);
    fuse_loop_cfg_set_max_threads(lc, kWorkers);
    fuse_loop_cfg_set_idle_threads(lc, kWorkers);
    rc = fuse_session_loop_mt(se, lc);
    fuse_loop_cfg_destroy(lc);
  }
  // The workers stop before the session goes (they notify the kernel through it); then the
  // kept handles are closed, and no break reaches the lease cache (destroyed before the client).
  if (fs->watch) fs->watch->stop();
  if (fs->leases) {
    fs->stopLeaseWorker();
    fs->smb.setLeaseBreakHandler(nullptr);
  }
  fs->se = nullptr;
  fuse_session_unmount(se);
  utabRemove(target);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  (void)fs->smb.logoff();
  return rc == 0 ? 0 : 1;
}

}  // namespace

// The mount runs in the background unless -f: fork first, before any connection exists (the
// SMB Direct provider and endpoint run threads, which a fork after connecting would lose); the
// parent waits until the child mounted or failed and exits with its status.
int runMount(const MountRequest& r) {
  if (r.foreground) return mountAndServe(r, -1);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return mountAndServe(r, -1);
  pid_t pid = fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return mountAndServe(r, -1);
  }
  if (pid == 0) {
    ::close(p[0]);
    setsid();
    _exit(mountAndServe(r, p[1]));
  }
  ::close(p[1]);
  uint8_t code = 1;
  ssize_t n;
  do n = ::read(p[0], &code, 1); while (n < 0 && errno == EINTR);
  ::close(p[0]);
  if (n == 1) return code;
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

}  // namespace sd::fuse
