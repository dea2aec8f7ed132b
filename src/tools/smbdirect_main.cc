// smbdirect: the SMB3 command-line client (the smbclient / mount.cifs user's tool).
//   smbdirect ls|get|put|cat|stat|mkdir|rm|rmdir|mv|shares //host[:port]/share/path ...
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "client/options.h"
#include "client/progress.h"
#include "client/smb_client.h"
#include "tools/rdma/rdma_tool.h"
#include "smbdirect/endpoint.h"
#ifdef SMBDIRECT_HAVE_FUSE
#include "fuse/mount_main.h"
#include "fuse/status_file.h"
#endif

using namespace sd;
using namespace sd::client;

namespace {

void usage(FILE* out) {
  std::fprintf(out,
      "Usage: smbdirect COMMAND [OPTIONS] ARGS\n"
      "\n"
      "Commands (ADDR is //host[:port]/share[/path] or smb://[user@]host[:port]/share[/path]):\n"
      "  ls ADDR                 list a directory (or one file)\n"
      "  get ADDR [LOCAL]        download a file (LOCAL '-' = stdout); -r: a directory tree\n"
      "  put LOCAL ADDR          upload a file; -r: a directory tree\n"
      "  cat ADDR                print a file\n"
      "  stat ADDR               show size, times and attributes\n"
      "  mkdir ADDR | rmdir ADDR | rm ADDR\n"
      "  mv ADDR NEWPATH         rename within the share (NEWPATH share-relative or an ADDR)\n"
      "  cp ADDR NEWPATH         server-side copy within the share (SMB2 COPYCHUNK: no data\n"
      "                          crosses the network)\n"
      "  watch ADDR              print changes in a directory as they happen (CHANGE_NOTIFY),\n"
      "                          one \"ACTION<TAB>NAME\" line each, until interrupted; -r: its tree\n"
      "  shares //host[:port]    list the server's shares\n"
      "  shell ADDR              interactive session (ls, cd, get, put, mkdir, rm, mv, cp, ...)\n"
      "  mount //host/share DIR -o OPTIONS   FUSE mount (see smbdirect mount --help)\n"
      "  rdma devices|ping|bw|lat ...       RDMA devices and tests (see smbdirect rdma --help)\n"
      "  status                   each mount: server, dialect, signing/encryption, transport\n"
      "                           (SMB Direct credits, RDMA transfers, fragments), per-command counters\n"
      "\n"
      "Options:\n"
      "  -U, --user [DOMAIN\\]USER[%%PASSWORD]   user (default $USER); password also from $PASSWD\n"
      "  -A, --credentials FILE   username=/password=/domain= lines (cifs-utils format)\n"
      "  -p, --port N             port (default 445; with --rdma 5445, then 445)\n"
      "      --rdma               SMB Direct (SMB3 over RDMA); reads and writes go by RDMA\n"
      "      --rdma-provider auto|soft|verbs   RDMA provider (default auto: rdma-core when it\n"
      "                           has a device, else the built-in software iWARP provider)\n"
      "      --no-rdma-transform  with --seal over SMB Direct, send data inline instead of\n"
      "                           encrypted by RDMA (the 3.1.1 RDMA encryption transform)\n"
      "      --vers 3.0|3.0.2|3.1.1   dialect (default: negotiate the best)\n"
      "      --sign               require signing\n"
      "      --seal               encrypt everything\n"
      "  -q, --quiet              no progress bar\n"
      "  -r, --recursive          get/put whole directory trees; watch a whole tree\n"
      "  -v, --verbose            log protocol details to stderr\n"
      "  -h, --help               this help\n"
      "\n"
      "Exit codes: 0 ok, 1 other error, 2 usage, 3 logon failure, 4 access denied,\n"
      "5 no such share, 6 no such file, 7 connection failed, 8 timeout.\n");
}

std::string promptPassword(const std::string& user) {
  if (!isatty(STDIN_FILENO)) return "";
  std::fprintf(stderr, "Password for %s: ", user.c_str());
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios q = old;
  q.c_lflag &= ~tcflag_t(ECHO);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &q);
  std::string p;
  std::getline(std::cin, p);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::fprintf(stderr, "\n");
  return p;
}

int fail(const std::string& what, NtStatus s) {
  std::fprintf(stderr, "smbdirect: %s: %s\n", what.c_str(), describe(s).c_str());
  return exitCodeFor(s);
}

std::string fmtTime(uint64_t ft) {
  timespec ts = timespecFromFiletime(ft);
  char buf[64];
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string baseName(const std::string& p) {
  auto s = p.find_last_of("/\\");
  return s == std::string::npos ? p : p.substr(s + 1);
}


int getFile(SmbClient& cl, const std::string& path, const std::string& local, bool bars);
int putFile(SmbClient& cl, const std::string& local, const std::string& remote, bool bars);
int getTree(SmbClient& cl, const std::string& dir, const std::string& local, bool bars, int depth);
int putTree(SmbClient& cl, const std::string& local, const std::string& remote, bool bars, int depth);

int lsCmd(SmbClient& cl, const std::string& path) {
  auto info = path.empty() ? Result<fscc::FileInfo>(err(NtStatus::kSuccess)) : cl.stat(path);
  if (!path.empty() && !info) return fail("ls " + path, info.status());
  std::vector<fscc::FileInfo> entries;
  if (path.empty() || info->directory) {
    auto l = cl.list(path);
    if (!l) return fail("ls " + path, l.status());
    entries = *l;
  } else {
    entries.push_back(*info);
  }
  for (const auto& e : entries) {
    if (e.name == "." || e.name == "..") continue;
    bool dir = e.file_attributes & 0x10;
    std::printf("%c %12llu  %s  %s%s\n", dir ? 'd' : '-', (unsigned long long)e.end_of_file,
                fmtTime(e.last_write_time).c_str(), e.name.c_str(), dir ? "/" : "");
  }
  return 0;
}

int statCmd(SmbClient& cl, const std::string& path) {
  auto i = cl.stat(path);
  if (!i) return fail("stat " + path, i.status());
  std::printf("name: %s\ntype: %s\nsize: %llu\nallocation: %llu\nattributes: 0x%x\ncreated: %s\nmodified: %s\naccessed: %s\nchanged: %s\n",
              path.c_str(), i->directory ? "directory" : "file", (unsigned long long)i->end_of_file,
              (unsigned long long)i->allocation_size, i->file_attributes, fmtTime(i->creation_time).c_str(),
              fmtTime(i->last_write_time).c_str(), fmtTime(i->last_access_time).c_str(), fmtTime(i->change_time).c_str());
  return 0;
}

// Splits a shell line into words; "double" and 'single' quotes group, backslash escapes.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool in = false;
  char q = 0;
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (q) {
      if (c == q) q = 0;
      else cur.push_back(c);
      in = true;
    } else if (c == '"' || c == '\'') {
      q = c;
      in = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur.push_back(line[++i]);
      in = true;
    } else if (c == ' ' || c == '\t') {
      if (in) out.push_back(cur);
      cur.clear();
      in = false;
    } else {
      cur.push_back(c);
      in = true;
    }
  }
  if (in) out.push_back(cur);
  return out;
}

// A share-relative path from the shell's current directory: '/'-rooted names are absolute,
// "." and ".." are folded (never above the share root).
std::string resolve(const std::string& cwd, const std::string& p) {
  std::vector<std::string> parts;
  std::string all = (!p.empty() && (p[0] == '/' || p[0] == '\\')) ? p : cwd + "/" + p;
  std::string cur;
  for (size_t i = 0; i <= all.size(); i++) {
    if (i == all.size() || all[i] == '/' || all[i] == '\\') {
      if (cur == "..") { if (!parts.empty()) parts.pop_back(); }
      else if (!cur.empty() && cur != ".") parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(all[i]);
    }
  }
  std::string r;
  for (const auto& x : parts) r += (r.empty() ? "" : "/") + x;
  return r;
}

// `smbdirect shell`: an interactive session like smbclient's (commands from stdin; a prompt on a
// terminal). Returns 0 when every command succeeded, else the exit code of the last failure.
int shellMain(SmbClient& cl, const SmbAddress& a, bool bars, bool recursive_default) {
  bool tty = isatty(STDIN_FILENO);
  std::string cwd = a.path;
  int last_rc = 0;
  std::string line;
  for (int n = 0; n < 1000000; n++) {
    if (tty) {
      std::printf("smb: \\%s> ", cwd.c_str());
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    const std::string c = w[0];
    bool rec = recursive_default;
    if (w.size() > 1 && w[1] == "-r") {
      rec = true;
      w.erase(w.begin() + 1);
    }
    auto arg = [&](size_t i) { return i < w.size() ? w[i] : std::string(); };
    int rc = 0;
    Status st = ok();
    if (c == "exit" || c == "quit" || c == "q") break;
    if (c == "help" || c == "?") {
      std::printf("ls [PATH]  cd DIR  pwd  lcd DIR  get [-r] REMOTE [LOCAL]  put [-r] LOCAL [REMOTE]  cat FILE\n"
                  "mkdir DIR  rmdir DIR  rm FILE  mv FROM TO  cp FROM TO  stat PATH  help  exit\n");
    } else if (c == "ls" || c == "dir") {
      rc = lsCmd(cl, resolve(cwd, arg(1)));
    } else if (c == "pwd") {
      std::printf("\\\\%s\\%s\\%s\n", a.host.c_str(), a.share.c_str(), cwd.c_str());
    } else if (c == "cd") {
      std::string to = resolve(cwd, arg(1));
      if (!to.empty()) {
        auto i = cl.stat(to);
        if (!i) rc = fail("cd " + to, i.status());
        else if (!i->directory) rc = fail("cd " + to, NtStatus::kNotADirectory);
      }
      if (!rc) cwd = to;
    } else if (c == "lcd") {
      if (::chdir(arg(1).empty() ? "/" : arg(1).c_str()) != 0) {
        std::fprintf(stderr, "smbdirect: lcd %s: %s\n", arg(1).c_str(), std::strerror(errno));
        rc = 1;
      }
    } else if (c == "stat") {
      rc = statCmd(cl, resolve(cwd, arg(1)));
    } else if (c == "cat") {
      rc = getFile(cl, resolve(cwd, arg(1)), "-", false);
    } else if (c == "get" && w.size() >= 2) {
      std::string r = resolve(cwd, arg(1));
      std::string local = w.size() > 2 ? arg(2) : baseName(r);
      auto i = cl.stat(r);
      if (!i) rc = fail("get " + r, i.status());
      else if (i->directory) rc = rec ? getTree(cl, r, local, bars, 0) : fail("get " + r, NtStatus::kFileIsADirectory);
      else rc = getFile(cl, r, local, bars);
    } else if (c == "put" && w.size() >= 2) {
      std::string local = arg(1);
      std::string r = resolve(cwd, w.size() > 2 ? arg(2) : baseName(local));
      struct stat sb;
      if (::stat(local.c_str(), &sb) != 0) {
        std::fprintf(stderr, "smbdirect: cannot read %s: %s\n", local.c_str(), std::strerror(errno));
        rc = 1;
      } else if (S_ISDIR(sb.st_mode)) {
        rc = rec ? putTree(cl, local, r, bars, 0) : (std::fprintf(stderr, "smbdirect: %s is a directory (use put -r)\n", local.c_str()), 1);
      } else {
        rc = putFile(cl, local, r, bars);
      }
    } else if (c == "mkdir" && w.size() >= 2) {
      st = cl.mkdir(resolve(cwd, arg(1)));
    } else if (c == "rmdir" && w.size() >= 2) {
      st = cl.rmdir(resolve(cwd, arg(1)));
    } else if ((c == "rm" || c == "del") && w.size() >= 2) {
      st = cl.unlink(resolve(cwd, arg(1)));
    } else if ((c == "mv" || c == "rename") && w.size() >= 3) {
      st = cl.rename(resolve(cwd, arg(1)), resolve(cwd, arg(2)), false);
    } else if (c == "cp" && w.size() >= 3) {
      st = cl.copy(resolve(cwd, arg(1)), resolve(cwd, arg(2)));
    } else {
      std::fprintf(stderr, "smbdirect: %s: unknown command or missing argument (try help)\n", c.c_str());
      rc = 2;
    }
    if (!st) rc = fail(c + " " + arg(1), st.status());
    if (rc) last_rc = rc;
  }
  if (tty) std::printf("\n");
  (void)cl.logoff();
  return last_rc;
}

// get one file: regular files land as NAME.part and are renamed when complete; devices, fifos
// and stdout ("-") are written directly. Returns the exit code.
int getFile(SmbClient& cl, const std::string& path, const std::string& local, bool bars) {
  auto info = cl.stat(path);
  if (!info) return fail("get " + path, info.status());
  struct stat lst;
  bool direct = local == "-" || (::stat(local.c_str(), &lst) == 0 && !S_ISREG(lst.st_mode));
  std::string target = direct ? local : local + ".part";
  int fd = local == "-" ? STDOUT_FILENO
                        : ::open(target.c_str(), O_WRONLY | O_CREAT | (direct ? 0 : O_TRUNC) | O_CLOEXEC, 0644);
  if (fd < 0) { std::fprintf(stderr, "smbdirect: cannot write %s: %s\n", local.c_str(), std::strerror(errno)); return 1; }
  Progress bar("get " + baseName(path), info->end_of_file, bars && local != "-");
  Status st = cl.download(path, [&](ByteView d) -> Status {
    size_t off = 0;
    while (off < d.size()) {
      ssize_t w = ::write(fd, d.data() + off, d.size() - off);
      if (w < 0) { if (errno == EINTR) continue; return err(ntStatusFromErrno(errno), "local write"); }
      off += size_t(w);
    }
    return ok();
  }, [&](uint64_t n) { bar.advance(n); });
  bar.finish();
  if (!direct) {
    bool good = st && ::fsync(fd) == 0;
    ::close(fd);
    // Nothing half-written under the final name: the download lands only when complete.
    if (good && ::rename(target.c_str(), local.c_str()) != 0) {
      std::fprintf(stderr, "smbdirect: cannot rename %s: %s\n", target.c_str(), std::strerror(errno));
      return 1;
    }
    if (!good) ::unlink(target.c_str());
  } else if (local != "-") {
    ::close(fd);
  }
  if (!st) return fail("get " + path, st.status());
  return 0;
}

int putFile(SmbClient& cl, const std::string& local, const std::string& remote, bool bars) {
  int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    std::fprintf(stderr, "smbdirect: cannot read %s: %s\n", local.c_str(), std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return 1;
  }
  Progress bar("put " + baseName(local), uint64_t(sb.st_size), bars);
  Status st = cl.upload(remote, uint64_t(sb.st_size), [&](uint64_t off, std::span<uint8_t> b) -> Result<size_t> {
    ssize_t n = ::pread(fd, b.data(), b.size(), off_t(off));
    if (n < 0) return err(ntStatusFromErrno(errno), "local read");
    return size_t(n);
  }, [&](uint64_t n) { bar.advance(n); });
  bar.finish();
  ::close(fd);
  if (!st) return fail("put " + remote, st.status());
  return 0;
}

constexpr int kMaxDepth = 64;

// get -r: the remote directory tree into `local` (created), files and subdirectories.
int getTree(SmbClient& cl, const std::string& dir, const std::string& local, bool bars, int depth) {
  if (depth > kMaxDepth) { std::fprintf(stderr, "smbdirect: %s: too deep\n", dir.c_str()); return 1; }
  if (::mkdir(local.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "smbdirect: cannot create %s: %s\n", local.c_str(), std::strerror(errno));
    return 1;
  }
  auto l = cl.list(dir);
  if (!l) return fail("ls " + dir, l.status());
  for (const auto& e : *l) {
    if (e.name == "." || e.name == ".." || e.name.find('/') != std::string::npos) continue;
    std::string r = joinPath(dir, e.name), lp = local + "/" + e.name;
    int rc = e.directory || (e.file_attributes & 0x10) ? getTree(cl, r, lp, bars, depth + 1) : getFile(cl, r, lp, bars);
    if (rc) return rc;
  }
  return 0;
}

// put -r: the local tree `local` as the remote directory `remote` (created when missing).
int putTree(SmbClient& cl, const std::string& local, const std::string& remote, bool bars, int depth) {
  if (depth > kMaxDepth) { std::fprintf(stderr, "smbdirect: %s: too deep\n", local.c_str()); return 1; }
  Status st = cl.mkdir(remote);
  if (!st && st.status() != NtStatus::kObjectNameCollision) return fail("mkdir " + remote, st.status());
  DIR* d = ::opendir(local.c_str());
  if (!d) { std::fprintf(stderr, "smbdirect: cannot read %s: %s\n", local.c_str(), std::strerror(errno)); return 1; }
  std::vector<std::string> names;
  for (int i = 0; i < 1000000; i++) {
    dirent* e = ::readdir(d);
    if (!e) break;
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string lp = local + "/" + n, r = joinPath(remote, n);
    struct stat sb;
    if (::lstat(lp.c_str(), &sb) != 0) continue;
    int rc = 0;
    if (S_ISDIR(sb.st_mode)) rc = putTree(cl, lp, r, bars, depth + 1);
    else if (S_ISREG(sb.st_mode)) rc = putFile(cl, lp, r, bars);
    else std::fprintf(stderr, "smbdirect: skipping %s (not a regular file or directory)\n", lp.c_str());
    if (rc) return rc;
  }
  return 0;
}

// `watch`: CHANGE_NOTIFY on the directory, one request after the other, each change printed as
// "ACTION<TAB>NAME" (the name relative to the directory, '\' separated as the server sends it).
const char* actionName(uint32_t a) {
  switch (a) {
    case fscc::kFileActionAdded: return "added";
    case fscc::kFileActionRemoved: return "removed";
    case fscc::kFileActionModified: return "modified";
    case fscc::kFileActionRenamedOldName: return "renamed-from";
    case fscc::kFileActionRenamedNewName: return "renamed-to";
    case fscc::kFileActionAddedStream: return "stream-added";
    case fscc::kFileActionRemovedStream: return "stream-removed";
    case fscc::kFileActionModifiedStream: return "stream-modified";
    default: return "unknown";
  }
}

int watchCmd(SmbClient& cl, const std::string& path, bool recursive) {
  auto dir = cl.open(path, smb2::kFileListDirectory | smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen,
                     smb2::kFileDirectoryFile);
  if (!dir) return fail("watch " + path, dir.status());
  const uint32_t len = std::min<uint32_t>(cl.info().max_transact ? cl.info().max_transact : 65536, 1u << 20);
  for (;;) {
    auto mid = cl.changeNotifySend(*dir, fscc::kNotifyChangeAll, recursive, len);
    if (!mid) return fail("watch " + path, mid.status());
    Result<SmbClient::NotifyResult> r = err(NtStatus::kIoTimeout, "");
    // A quiet directory: the wait times out and goes on (the request stays with the server).
    do r = cl.changeNotifyWait(*mid, 60000);
    while (!r && r.status() == NtStatus::kIoTimeout);
    if (!r) return fail("watch " + path, r.status());
    if (r->status == NtStatus::kNotifyEnumDir) {
      std::printf("overflow\t(more changes than one answer holds: list the directory again)\n");
    } else if (r->status != NtStatus::kSuccess) {
      return fail("watch " + path, r->status);
    }
    for (const auto& e : r->changes) std::printf("%s\t%s\n", actionName(e.action), e.name.c_str());
    std::fflush(stdout);
  }
}

// The command line after the early subcommands (mount, status, rdma).
struct CommandLine {
  Credentials creds;
  bool have_user = false;
  std::string cred_file;
  int port = 0;
  std::vector<uint16_t> dialects{smb2::kDialectsNewestFirst.begin(), smb2::kDialectsNewestFirst.end()};
  bool sign = false, seal = false, quiet = false, rdma = false, recursive = false, rdma_transform = true;
  std::string rdma_provider = "auto";
  std::string cmd;
  std::vector<std::string> args;  // the command's own
};

// The options, wherever they stand; an exit code when there is nothing more to do (--help, a
// bad option).
std::optional<int> parseOptions(int argc, char** argv, CommandLine& o) {
  static const option kLong[] = {{"user", required_argument, nullptr, 'U'},
                                 {"credentials", required_argument, nullptr, 'A'},
                                 {"port", required_argument, nullptr, 'p'},
                                 {"vers", required_argument, nullptr, 'V'},
                                 {"sign", no_argument, nullptr, 'S'},
                                 {"seal", no_argument, nullptr, 'E'},
                                 {"quiet", no_argument, nullptr, 'q'},
                                 {"recursive", no_argument, nullptr, 'r'},
                                 {"rdma", no_argument, nullptr, 'R'},
                                 {"rdma-provider", required_argument, nullptr, 'P'},
                                 {"no-rdma-transform", no_argument, nullptr, 'T'},
                                 {"verbose", no_argument, nullptr, 'v'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  optind = 1;  // options may come before or after the command (GNU getopt permutes)
  int c;
  while ((c = getopt_long(argc, argv, "U:A:p:qrvh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'U': o.creds = parseUserSpec(optarg); o.have_user = true; break;
      case 'A': o.cred_file = optarg; break;
      case 'p': o.port = std::atoi(optarg); if (o.port <= 0 || o.port > 65535) { std::fprintf(stderr, "smbdirect: invalid port '%s'\n", optarg); return 2; } break;
      case 'V': {
        auto d = parseVers(optarg);
        if (!d) { std::fprintf(stderr, "smbdirect: unsupported --vers '%s' (3.0, 3.0.2 or 3.1.1)\n", optarg); return 2; }
        o.dialects = *d;
        break;
      }
      case 'S': o.sign = true; break;
      case 'E': o.seal = true; break;
      case 'q': o.quiet = true; break;
      case 'r': o.recursive = true; break;
      case 'R': o.rdma = true; break;
      case 'T': o.rdma_transform = false; break;
      case 'P':
        o.rdma_provider = optarg;
        if (o.rdma_provider != "auto" && o.rdma_provider != "soft" && o.rdma_provider != "verbs") {
          std::fprintf(stderr, "smbdirect: --rdma-provider: expected auto, soft or verbs\n");
          return 2;
        }
        o.rdma = true;
        break;
      case 'v': logSetLevel(LogLevel::kDebug); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  return std::nullopt;
}

// The command and its arguments (after the options); an exit code for a usage error.
std::optional<int> parseCommand(int argc, char** argv, CommandLine& o) {
  std::vector<std::string> args(argv + optind, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  o.cmd = args[0];
  args.erase(args.begin());
  static const std::set<std::string> kCmds = {"ls",    "get", "put", "cat",    "stat",  "mkdir", "rm",
                                              "rmdir", "mv",  "cp",  "shares", "shell", "watch"};
  if (!kCmds.count(o.cmd)) {
    std::fprintf(stderr, "smbdirect: unknown command '%s'\n", o.cmd.c_str());
    usage(stderr);
    return 2;
  }
  size_t need = (o.cmd == "put" || o.cmd == "mv" || o.cmd == "cp") ? 2 : 1;
  if (args.size() < need || args.size() > need + (o.cmd == "get" ? 1 : 0)) {
    usage(stderr);
    return 2;
  }
  o.args = std::move(args);
  return std::nullopt;
}

// The server address the command works on (complaining when it is bad).
std::optional<SmbAddress> commandAddress(const CommandLine& o) {
  std::string addr_text = o.cmd == "put" ? o.args[1] : o.args[0];
  if (o.cmd == "shares" && addr_text.find('/', 2) == std::string::npos) addr_text += "/IPC$";
  auto addr = parseSmbAddress(addr_text);
  if (!addr) {
    std::fprintf(stderr, "smbdirect: bad address '%s' (use //host[:port]/share/path)\n", addr_text.c_str());
    return std::nullopt;
  }
  if (addr->share.empty() && o.cmd != "shares") {
    std::fprintf(stderr, "smbdirect: no share in '%s'\n", addr_text.c_str());
    return std::nullopt;
  }
  return *addr;
}

// Who logs on: -U, else the credentials file, else the address's user, else $USER; the password
// from -U, the file, the address, $PASSWD or a prompt. An exit code when the file is bad.
std::optional<int> resolveCredentials(CommandLine& o, const SmbAddress& addr) {
  Credentials& creds = o.creds;
  if (!o.cred_file.empty()) {
    std::string e;
    auto f = loadCredentialsFile(o.cred_file, &e);
    if (!f) { std::fprintf(stderr, "smbdirect: %s\n", e.c_str()); return 2; }
    if (!o.have_user) creds = *f;
    else if (!creds.has_password && f->has_password) { creds.password = f->password; creds.has_password = true; }
  }
  if (!addr.user.empty() && !o.have_user) {
    creds = parseUserSpec(addr.user);
    if (addr.has_password) { creds.password = addr.password; creds.has_password = true; }
  }
  if (creds.user.empty() && getenv("USER")) creds.user = getenv("USER");
  if (!creds.has_password && getenv("PASSWD")) { creds.password = getenv("PASSWD"); creds.has_password = true; }
  if (!creds.has_password) creds.password = promptPassword(creds.user);
  return std::nullopt;
}

ConnectOptions connectOptions(const CommandLine& o, const SmbAddress& addr) {
  MountOptions m;
  m.port = uint16_t(o.port);
  m.rdma = o.rdma;
  m.rdma_provider = o.rdma_provider;
  m.rdma_transform = o.rdma_transform;
  m.dialects = o.dialects;
  m.creds = o.creds;
  m.sign = o.sign;
  m.seal = o.seal;
  return connectOptionsFor(addr, m);
}

int sharesCmd(SmbClient& cl) {
  auto s = cl.shares();
  if (!s) return fail("listing shares", s.status());
  for (const auto& [name, comment] : *s) std::printf("%-20s %s\n", name.c_str(), comment.c_str());
  (void)cl.logoff();
  return 0;
}

// mv's and cp's target: share-relative, or an address of the same share (else nullopt, with
// `complaint` printed).
std::optional<std::string> targetInShare(const std::string& to, const SmbAddress& addr, const char* complaint) {
  if (to.rfind("//", 0) != 0 && to.rfind("smb://", 0) != 0) return to;
  auto a2 = parseSmbAddress(to);
  if (!a2 || a2->host != addr.host || a2->share != addr.share) {
    std::fprintf(stderr, "smbdirect: %s\n", complaint);
    return std::nullopt;
  }
  return a2->path;
}

// The commands below return an exit code to end with at once, or nullopt when done (the
// session is then logged off and the exit code is 0).
using Outcome = std::optional<int>;

Outcome getCmd(SmbClient& cl, const CommandLine& o, const SmbAddress& addr, bool bars) {
  const std::string& path = addr.path;
  std::string local = o.cmd == "cat" ? "-" : o.args.size() > 1 ? o.args[1] : baseName(path);
  if (o.recursive && o.cmd == "get") {
    auto info = cl.stat(path);
    if (!info) return fail("get " + path, info.status());
    if (info->directory) {
      if (o.args.size() < 2) local = path.empty() ? addr.share : baseName(path);
      return getTree(cl, path, local, bars, 0);
    }
  }
  if (int r = getFile(cl, path, local, bars)) return r;
  return std::nullopt;
}

Outcome putCmd(SmbClient& cl, const CommandLine& o, const SmbAddress& addr, bool bars) {
  const std::string& path = addr.path;
  const std::string& local = o.args[0];
  struct stat sb;
  if (::stat(local.c_str(), &sb) != 0) { std::fprintf(stderr, "smbdirect: cannot read %s: %s\n", local.c_str(), std::strerror(errno)); return 1; }
  std::string remote = path.empty() || path.back() == '/' ? joinPath(path, baseName(local)) : path;
  if (S_ISDIR(sb.st_mode)) {
    if (!o.recursive) { std::fprintf(stderr, "smbdirect: %s is a directory (use -r)\n", local.c_str()); return 2; }
    return putTree(cl, local, remote, bars, 0);
  }
  if (int r = putFile(cl, local, remote, bars)) return r;
  return std::nullopt;
}

Outcome cpCmd(SmbClient& cl, const CommandLine& o, const SmbAddress& addr, bool bars) {
  const std::string& path = addr.path;
  auto to = targetInShare(o.args[1], addr, "cp copies within one share (server-side)");
  if (!to) return 2;
  auto info = cl.stat(path);
  if (!info) return fail("cp " + path, info.status());
  Progress bar("cp " + baseName(path), info->end_of_file, bars);
  auto st = cl.copy(path, *to, [&](uint64_t n) { bar.advance(n); });
  bar.finish();
  if (!st) return fail("cp " + path, st.status());
  return std::nullopt;
}

// The command on the connected share.
Outcome runCommand(SmbClient& cl, const CommandLine& o, const SmbAddress& addr) {
  bool bars = !o.quiet && isatty(STDOUT_FILENO);
  const std::string& path = addr.path;
  const std::string& cmd = o.cmd;
  if (cmd == "shell") return shellMain(cl, addr, bars, o.recursive);
  if (cmd == "watch") return watchCmd(cl, path, o.recursive);
  if (cmd == "ls") {
    if (int r = lsCmd(cl, path)) return r;
  } else if (cmd == "stat") {
    if (int r = statCmd(cl, path)) return r;
  } else if (cmd == "get" || cmd == "cat") {
    return getCmd(cl, o, addr, bars);
  } else if (cmd == "put") {
    return putCmd(cl, o, addr, bars);
  } else if (cmd == "cp") {
    return cpCmd(cl, o, addr, bars);
  } else if (cmd == "mkdir") {
    auto st = cl.mkdir(path);
    if (!st) return fail("mkdir " + path, st.status());
  } else if (cmd == "rmdir") {
    auto st = cl.rmdir(path);
    if (!st) return fail("rmdir " + path, st.status());
  } else if (cmd == "rm") {
    auto st = cl.unlink(path);
    if (!st) return fail("rm " + path, st.status());
  } else if (cmd == "mv") {
    auto to = targetInShare(o.args[1], addr, "mv stays within one share");
    if (!to) return 2;
    auto st = cl.rename(path, *to, false);
    if (!st) return fail("mv " + path, st.status());
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
#ifdef SMBDIRECT_HAVE_FUSE
  if (!std::strcmp(argv[1], "mount")) return sd::fuse::mountMain(argc - 1, argv + 1);
  if (!std::strcmp(argv[1], "status")) return sd::fuse::statusMain();
#else
  if (!std::strcmp(argv[1], "mount") || !std::strcmp(argv[1], "status")) {
    std::fprintf(stderr, "smbdirect %s: this build has no FUSE support (install libfuse3-dev and rebuild)\n",
                 argv[1]);
    return 2;
  }
#endif
  if (!std::strcmp(argv[1], "rdma")) return sd::rdma::rdmaToolMain(argc - 1, argv + 1);
  CommandLine line;
  if (auto rc = parseOptions(argc, argv, line)) return *rc;
  if (auto rc = parseCommand(argc, argv, line)) return *rc;
  auto addr = commandAddress(line);
  if (!addr) return 2;
  if (auto rc = resolveCredentials(line, *addr)) return *rc;

  ConnectOptions o = connectOptions(line, *addr);
  SmbClient cl;
  auto st = cl.connect(o);
  if (!st) {
    if (line.rdma) return fail("SMB Direct to " + o.host + (o.port_explicit ? ":" + std::to_string(o.port) : std::string(" (ports 5445, 445)")), st.status());
    return fail("connecting to " + o.host + ":" + std::to_string(o.port), st.status());
  }
  LOG_DEBUG("dialect 0x%04x, signing %s, encryption %s", cl.info().dialect, cl.info().signing ? "on" : "off",
            cl.info().encryption ? "on" : "off");
  if (line.cmd == "shares") return sharesCmd(cl);
  st = cl.treeConnect(addr->share);
  if (!st) return fail("connecting to share " + addr->share, st.status());
  if (auto rc = runCommand(cl, line, *addr)) return *rc;
  (void)cl.logoff();
  return 0;
}
