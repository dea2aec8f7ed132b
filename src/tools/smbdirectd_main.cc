// smbdirectd: the SMB3 server daemon (the ksmbd + ksmbd.mountd role). Flags follow ksmbd.mountd:
// -c/--config FILE, -u/--users FILE, -p/--port N, -n/--nodetach, -v. `smbdirectd user ...`
// manages the ksmbd-compatible user database.
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "config/user_db.h"
#include "config/user_command.h"
#include "rdma/rdma.h"
#include "runtime/handle_closer.h"
#include "runtime/rdma_server.h"
#include "runtime/smbdirect_options.h"
#include "runtime/tcp_server.h"
#include "server/connection.h"
#include "server/server_state.h"
#include "vfs/identity.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/ksmbd/ksmbd.conf";
constexpr const char* kDefaultUsers = "/etc/ksmbd/ksmbdpwd.db";
constexpr const char* kDefaultPidFile = "/run/smbdirectd.pid";

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: smbdirectd [OPTIONS]\n"
               "       smbdirectd user {add|update|delete|list} [NAME] [OPTIONS]\n"
               "\n"
               "SMB3 file server over TCP (and SMB Direct), configured like ksmbd.\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE   ksmbd.conf-format configuration (default %s)\n"
               "  -u, --users FILE    user database, ksmbdpwd.db format (default %s)\n"
               "  -p, --port N        TCP port, overrides 'tcp port' (default 445)\n"
               "  -n, --nodetach      stay in the foreground, log to stderr\n"
               "  -P, --pid-file FILE pid file (default %s; 'none' to skip)\n"
               "  -v, --verbose       more logging (repeat for trace)\n"
               "  -h, --help          this help\n"
               "\n"
               "Signals: SIGHUP reloads the configuration and users; SIGTERM/SIGINT stop.\n"
               "\n"
               "Identity: started as root, each SMB user acts as the Unix account of the same\n"
               "name (uid, groups), guests as 'guest account'; users without an account are\n"
               "refused unless 'fallback unix account' is set. Started as another account,\n"
               "every user acts as that account. This process: %s.\n",
               kDefaultConfig, kDefaultUsers, kDefaultPidFile,
               sd::vfs::identitySwitching() ? "root, per-user identity"
                                            : "not root, every user acts as this account");
}

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_reload = 0;
void onSignal(int sig) {
  if (sig == SIGHUP) g_reload = 1;
  else g_stop = 1;
}

struct Loaded {
  sd::config::Config cfg;
  std::shared_ptr<sd::config::UserDb> users;
};

// Loads configuration and users, printing diagnostics; nullopt on a fatal error.
std::optional<Loaded> load(const std::string& conf_path, const std::string& users_path) {
  std::vector<sd::config::Diagnostic> diags;
  auto cfg = sd::config::loadConfigFile(conf_path, &diags);
  for (const auto& d : diags) {
    if (d.error) LOG_ERROR("%s", d.message.c_str());
    else LOG_WARN("%s", d.message.c_str());
  }
  if (!cfg) {
    LOG_ERROR("cannot load configuration %s", conf_path.c_str());
    return std::nullopt;
  }
  auto users = std::make_shared<sd::config::UserDb>();
  auto st = users->load(users_path);
  if (!st) {
    if (st.status() == sd::NtStatus::kObjectNameNotFound) {
      LOG_WARN("user database %s does not exist: only guest access is possible", users_path.c_str());
    } else {
      LOG_ERROR("cannot load user database %s: %s", users_path.c_str(), st.error().what);
      return std::nullopt;
    }
  }
  return Loaded{std::move(*cfg), users};
}

// SMB Direct listeners per `smb direct`, `smb direct port`, `smb direct provider`: auto uses
// rdma-core when it has a device and the software iWARP provider otherwise; iWARP listens on
// 'smb direct port' (5445), InfiniBand/RoCE devices on 445 unless another port is configured.
bool startSmbDirect(const sd::config::Global& g, const sd::runtime::RdmaServer::Factory& factory,
                    std::vector<std::unique_ptr<sd::runtime::RdmaServer>>* out) {
  using sd::config::SmbDirect;
  if (g.smb_direct == SmbDirect::kNo) return true;
  bool must = g.smb_direct == SmbDirect::kYes;
  sd::rdma::Provider* p = nullptr;
  if (g.smb_direct_provider == "soft" || g.smb_direct_provider == "verbs") {
    p = sd::rdma::findProvider(g.smb_direct_provider);
    if (!p || p->devices().empty()) {
      LOG_ERROR("smb direct provider = %s: %s", g.smb_direct_provider.c_str(),
                p ? "no RDMA device" : "not built (rdma-core headers were missing)");
      return !must;
    }
  } else {
    sd::rdma::Provider* verbs = sd::rdma::findProvider("verbs");
    p = verbs && !verbs->devices().empty() ? verbs : sd::rdma::findProvider("soft");
  }
  uint16_t port = g.smb_direct_port;
  bool iwarp = false;
  for (const auto& d : p->devices()) iwarp |= d->attr().transport == "iWARP";
  if (!iwarp && port == 5445) port = 445;
  const sd::smbdirect::EndpointOptions o = sd::runtime::smbDirectOptions(g);
  std::vector<std::string> addrs = {""};
  if (g.bind_interfaces_only && !g.interfaces.empty()) addrs = g.interfaces;
  for (const auto& a : addrs) {
    auto srv = std::make_unique<sd::runtime::RdmaServer>(factory);
    if (!srv->listen(p, a, port, o, g.max_connections)) {
      if (must) return false;
      LOG_WARN("SMB Direct is not available on %s; serving TCP only", a.empty() ? "*" : a.c_str());
      continue;
    }
    out->push_back(std::move(srv));
  }
  return true;
}

struct DaemonOptions {
  std::string conf_path = kDefaultConfig, users_path = kDefaultUsers, pid_path = kDefaultPidFile;
  int port = -1;
  bool nodetach = false;
  int verbose = 0;
};

// The command line; an exit code when there is nothing more to do (--help, a usage error).
std::optional<int> parseOptions(int argc, char** argv, DaemonOptions& d) {
  static const option kLong[] = {{"config", required_argument, nullptr, 'c'},
                                 {"users", required_argument, nullptr, 'u'},
                                 {"port", required_argument, nullptr, 'p'},
                                 {"nodetach", no_argument, nullptr, 'n'},
                                 {"pid-file", required_argument, nullptr, 'P'},
                                 {"verbose", no_argument, nullptr, 'v'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "c:u:p:nP:vh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'c': d.conf_path = optarg; break;
      case 'u': d.users_path = optarg; break;
      case 'p': {
        char* end = nullptr;
        long v = std::strtol(optarg, &end, 10);
        if (!end || *end || v < 0 || v > 65535) {
          std::fprintf(stderr, "smbdirectd: invalid port '%s'\n", optarg);
          return 2;
        }
        d.port = int(v);
        break;
      }
      case 'n': d.nodetach = true; break;
      case 'P': d.pid_path = optarg; break;
      case 'v': d.verbose++; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "smbdirectd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  return std::nullopt;
}

// Every new connection, TCP or SMB Direct: refused before anything is read by [global] hosts
// allow / hosts deny, max connections and max ip connections (server::acceptConnection).
sd::runtime::TcpServer::Factory connectionFactory(std::shared_ptr<sd::server::ServerState> state) {
  return [state](std::shared_ptr<sd::server::Transport> t) { return sd::server::acceptConnection(state, std::move(t)); };
}

// Into the background (unless -n), then the pid file; false on failure (said).
bool detachAndWritePid(const DaemonOptions& d) {
  if (!d.nodetach) {
    if (daemon(0, 0) != 0) {
      std::fprintf(stderr, "smbdirectd: daemon(): %s\n", std::strerror(errno));
      return false;
    }
    sd::logToSyslog("smbdirectd");
  }
  if (d.pid_path != "none") {
    FILE* f = std::fopen(d.pid_path.c_str(), "w");
    if (!f) {
      LOG_ERROR("cannot write pid file %s: %s", d.pid_path.c_str(), std::strerror(errno));
      return false;
    }
    std::fprintf(f, "%d\n", int(getpid()));
    std::fclose(f);
  }
  return true;
}

void installSignals() {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// Serves until SIGTERM/SIGINT; SIGHUP reloads the configuration and users.
void serveUntilStopped(sd::server::ServerState& state, const DaemonOptions& d) {
  while (!g_stop) {
    pause();
    if (g_reload) {
      g_reload = 0;
      LOG_INFO("SIGHUP: reloading %s and %s", d.conf_path.c_str(), d.users_path.c_str());
      auto again = load(d.conf_path, d.users_path);
      if (!again) {
        LOG_ERROR("reload failed; keeping the previous configuration");
        continue;
      }
      auto u2 = again->users;
      auto rs = state.configure(again->cfg, [u2](std::string_view u) { return u2->find(u); });
      if (!rs) LOG_ERROR("reload failed: %s; keeping the previous configuration", rs.error().what);
      else LOG_INFO("reloaded: %zu shares", state.shares().size());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "user") == 0) return sd::config::userCommandMain(argc - 1, argv + 1);

  DaemonOptions d;
  if (auto rc = parseOptions(argc, argv, d)) return *rc;
  sd::logSetPrefix("smbdirectd");
  sd::logSetLevel(d.verbose >= 2 ? sd::LogLevel::kTrace
                                 : d.verbose == 1 ? sd::LogLevel::kDebug : sd::LogLevel::kInfo);

  auto loaded = load(d.conf_path, d.users_path);
  if (!loaded) return 1;
  if (d.port >= 0) loaded->cfg.global.tcp_port = uint16_t(d.port);

  // Declared before the state so that it outlives every connection: written files are released
  // on its thread, after their CLOSE was answered.
  sd::runtime::HandleCloser closer;
  auto state = std::make_shared<sd::server::ServerState>();
  state->setHandleRelease([&closer](std::unique_ptr<sd::vfs::Handle> h) { closer.close(std::move(h)); });
  auto users = loaded->users;
  auto st = state->configure(loaded->cfg, [users](std::string_view u) { return users->find(u); });
  if (!st) {
    LOG_ERROR("invalid configuration: %s", st.error().what);
    return 1;
  }

  sd::runtime::ListenSpec spec;
  spec.port = loaded->cfg.global.tcp_port;
  if (loaded->cfg.global.bind_interfaces_only) spec.addresses = loaded->cfg.global.interfaces;
  spec.max_connections = loaded->cfg.global.max_connections;
  auto factory = connectionFactory(state);
  sd::runtime::TcpServer tcp(factory);
  if (!tcp.listen(spec)) return 1;
  std::vector<std::unique_ptr<sd::runtime::RdmaServer>> rdma;
  if (!startSmbDirect(loaded->cfg.global, factory, &rdma))
    return 1;
  state->setRdmaListening(!rdma.empty());

  if (!detachAndWritePid(d)) return 1;
  installSignals();

  tcp.start();
  for (auto& r : rdma) r->start();
  LOG_INFO("smbdirectd started: %zu shares, config %s, users %s", state->shares().size(),
           d.conf_path.c_str(), d.users_path.c_str());
  if (sd::vfs::identitySwitching())
    LOG_INFO("running as root: each user acts as their own Unix account");
  else
    LOG_WARN("running as uid %u, not root: every SMB user acts as this account (no per-user "
             "ownership or permissions)", unsigned(geteuid()));
  serveUntilStopped(*state, d);
  LOG_INFO("stopping");
  tcp.stop();
  for (auto& r : rdma) r->stop();
  if (d.pid_path != "none") unlink(d.pid_path.c_str());
  return 0;
}
