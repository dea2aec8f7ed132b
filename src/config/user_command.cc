#include "config/user_command.h"

#include <getopt.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "base/unix_account.h"
#include "base/text.h"
#include "config/user_db.h"
#include "crypto/hash.h"

namespace sd::config {

namespace {

constexpr const char* kDefaultDb = "/etc/ksmbd/ksmbdpwd.db";

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: smbdirectd user add NAME [-p PASSWORD] [-i DATABASE]\n"
               "       smbdirectd user update NAME [-p PASSWORD] [-i DATABASE]\n"
               "       smbdirectd user delete NAME [-i DATABASE]\n"
               "       smbdirectd user list [-i DATABASE]\n"
               "\n"
               "  -p, --password PASSWORD   the user's password\n"
               "  -i, --database FILE       the user database\n"
               "  -h, --help                this text\n"
               "\n"
               "Manages the user database (ksmbd's ksmbdpwd.db format, default %s).\n"
               "Without -p the password is read from the terminal (twice, not echoed) or, when\n"
               "standard input is not a terminal, from its first line.\n",
               kDefaultDb);
}

bool readPassword(std::string* out) {
  if (!isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, *out)) return false;
    if (!out->empty() && out->back() == '\r') out->pop_back();
    return true;
  }
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~tcflag_t(ECHO);
  auto prompt = [&](const char* p, std::string* s) {
    std::fprintf(stderr, "%s", p);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    bool good = bool(std::getline(std::cin, *s));
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fprintf(stderr, "\n");
    return good;
  };
  std::string again;
  if (!prompt("New password: ", out) || !prompt("Retype password: ", &again)) return false;
  if (*out != again) {
    std::fprintf(stderr, "smbdirectd user: passwords do not match\n");
    return false;
  }
  return true;
}

}  // namespace

int userCommandMain(int argc, char** argv) {
  std::string db = kDefaultDb, password;
  bool have_password = false;
  static const option kLong[] = {{"password", required_argument, nullptr, 'p'},
                                 {"database", required_argument, nullptr, 'i'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  optind = 1;
  int c;
  std::vector<std::string> pos;
  // Allow options after positional arguments.
  while (optind < argc) {
    if ((c = getopt_long(argc, argv, "+p:i:h", kLong, nullptr)) != -1) {
      switch (c) {
        case 'p': password = optarg; have_password = true; break;
        case 'i': db = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
      }
    } else {
      pos.push_back(argv[optind++]);
    }
  }
  if (pos.empty()) {
    usage(stderr);
    return 2;
  }
  const std::string& cmd = pos[0];
  UserDb users;
  std::string error;
  auto st = users.load(db, &error);
  if (!st && st.status() != NtStatus::kObjectNameNotFound) {
    std::fprintf(stderr, "smbdirectd user: %s\n", error.c_str());
    return 1;
  }
  if (cmd == "list") {
    for (const auto& u : users.users()) std::printf("%s\n", u.c_str());
    return 0;
  }
  if (pos.size() != 2) {
    usage(stderr);
    return 2;
  }
  const std::string& name = pos[1];
  if (name.empty() || name.find(':') != std::string::npos || name.size() > 256) {
    std::fprintf(stderr, "smbdirectd user: invalid user name '%s'\n", name.c_str());
    return 2;
  }
  if (cmd == "add" || cmd == "update") {
    bool exists = users.find(name).has_value();
    if (cmd == "add" && exists) {
      std::fprintf(stderr, "smbdirectd user: '%s' already exists (use update)\n", name.c_str());
      return 1;
    }
    if (cmd == "update" && !exists) {
      std::fprintf(stderr, "smbdirectd user: no user '%s'\n", name.c_str());
      return 1;
    }
    if (!have_password && !readPassword(&password)) {
      std::fprintf(stderr, "smbdirectd user: no password given\n");
      return 1;
    }
    Bytes h = crypto::md4(utf16le(password));
    if (h.size() != 16) {
      std::fprintf(stderr, "smbdirectd user: MD4 unavailable (OpenSSL legacy provider missing)\n");
      return 1;
    }
    std::array<uint8_t, 16> a{};
    std::memcpy(a.data(), h.data(), 16);
    users.set(name, a);
  } else if (cmd == "delete") {
    if (!users.remove(name)) {
      std::fprintf(stderr, "smbdirectd user: no user '%s'\n", name.c_str());
      return 1;
    }
  } else {
    std::fprintf(stderr, "smbdirectd user: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return 2;
  }
  if (!users.save(db)) {
    std::fprintf(stderr, "smbdirectd user: cannot write %s: %s\n", db.c_str(), std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "smbdirectd user: %s '%s' in %s\n",
               cmd == "delete" ? "deleted" : cmd == "add" ? "added" : "updated", name.c_str(), db.c_str());
  // Run as root, smbdirectd acts as each user's Unix account and refuses users without one.
  if (cmd == "add" && !lookupUnixAccount(name))
    std::fprintf(stderr,
                 "smbdirectd user: warning: '%s' has no Unix account; smbdirectd (as root) will "
                 "refuse it unless 'fallback unix account' is set (create one with: useradd -M "
                 "-s /usr/sbin/nologin %s)\n",
                 name.c_str(), name.c_str());
  return 0;
}

}  // namespace sd::config
