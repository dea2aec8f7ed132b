// ksmbd.conf parsing (every key family, warnings with file:line, errors), share access checks,
// and the ksmbdpwd.db user database (format, atomic save, malformed lines).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/access.h"
#include "config/config.h"
#include "config/user_db.h"

namespace sd::config {
namespace {

const char* kConf = R"(; a ksmbd.conf like ksmbd-tools' example
[global]
	netbios name = KSMBD
	server string = test server
	workgroup = MYGROUP
	interfaces = 127.0.0.1, eth0
	bind interfaces only = yes
	tcp port = 10445
	server multi channel support = yes
	server signing = mandatory
	smb3 encryption = mandatory
	smb2 max read = 4M
	smb2 max write = 1048576
	max connections = 64
	guest account = nobody
	map to guest = bad user
	frobnicate = 1
[share]
	path = /srv/share
	comment = the \
	  share
	writeable = yes
	browseable = no
	valid users = alice, @staff
	invalid users = mallory
	read list = bob
	create mask = 0640
	directory mask = 0750
	hide dot files = no
	veto files = /*.tmp/.snap/
[pub]
	path = /srv/pub
	guest ok = yes
)";

TEST(Config, ParsesEveryKeyAndWarnsOnUnknown) {
  std::vector<Diagnostic> d;
  auto c = loadConfigString(kConf, "ksmbd.conf", &d);
  ASSERT_TRUE(c);
  const Global& g = c->global;
  EXPECT_EQ(g.netbios_name, "KSMBD");
  EXPECT_EQ(g.interfaces, (std::vector<std::string>{"127.0.0.1", "eth0"}));
  EXPECT_TRUE(g.bind_interfaces_only);
  EXPECT_EQ(g.tcp_port, 10445);
  EXPECT_TRUE(g.server_multi_channel_support);
  EXPECT_EQ(g.server_signing, Signing::kMandatory);
  EXPECT_EQ(g.smb3_encryption, Encryption::kMandatory);
  EXPECT_EQ(g.smb2_max_read, 4u << 20);
  EXPECT_EQ(g.smb2_max_write, 1048576u);
  EXPECT_EQ(g.max_connections, 64u);
  EXPECT_EQ(g.map_to_guest, MapToGuest::kBadUser);
  ASSERT_EQ(c->shares.size(), 2u);
  const ShareConfig& s = c->shares[0];
  EXPECT_EQ(s.comment, "the share");
  EXPECT_FALSE(s.read_only);
  EXPECT_FALSE(s.browseable);
  EXPECT_EQ(s.valid_users, (std::vector<std::string>{"alice", "@staff"}));
  EXPECT_EQ(s.create_mask, 0640u);
  EXPECT_FALSE(s.hide_dot_files);
  EXPECT_EQ(s.veto_files, (std::vector<std::string>{"*.tmp", ".snap"}));
  EXPECT_TRUE(c->shares[1].guest_ok);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].error);
  EXPECT_EQ(d[0].message, "ksmbd.conf:17: unknown parameter 'frobnicate' ignored");
}

TEST(Config, InvalidValuesAreErrorsNamingTheLine) {
  std::vector<Diagnostic> d;
  auto c = loadConfigString("[global]\ntcp port = 70000\n[s]\npath = /x\nread only = maybe\n"
                            "create mask = 0999\n[s]\npath = /y\n[nopath]\ncomment = x\n[rel]\npath = rel\n",
                            "t.conf", &d);
  EXPECT_FALSE(c);
  std::string all;
  for (const auto& x : d) all += x.message + "\n";
  EXPECT_NE(all.find("t.conf:2: invalid value '70000' for 'tcp port'"), std::string::npos) << all;
  EXPECT_NE(all.find("t.conf:5: invalid value 'maybe' for 'read only'"), std::string::npos) << all;
  EXPECT_NE(all.find("t.conf:6: invalid value '0999' for 'create mask'"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate share"), std::string::npos) << all;
  EXPECT_NE(all.find("[nopath] has no path"), std::string::npos) << all;
  EXPECT_NE(all.find("'rel' is not absolute"), std::string::npos) << all;
}

TEST(Config, SmbDirectKeys) {
  std::vector<Diagnostic> d;
  auto c = loadConfigString("[global]\nsmb direct = yes\nsmb direct port = 0\nsmb direct provider = soft\n"
                            "smb direct receive credits = 64\nsmb direct send credits = 32\n"
                            "smb direct max send size = 1364\nsmb direct max receive size = 4K\n"
                            "smb direct max fragmented size = 2M\nsmb direct max read write size = 1M\n"
                            "[s]\npath = /x\n",
                            "t.conf", &d);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.smb_direct, SmbDirect::kYes);
  EXPECT_EQ(c->global.smb_direct_port, 0);
  EXPECT_EQ(c->global.smb_direct_provider, "soft");
  EXPECT_EQ(c->global.smb_direct_receive_credits, 64u);
  EXPECT_EQ(c->global.smb_direct_send_credits, 32u);
  EXPECT_EQ(c->global.smb_direct_max_send_size, 1364u);
  EXPECT_EQ(c->global.smb_direct_max_receive_size, 4096u);
  EXPECT_EQ(c->global.smb_direct_max_fragmented_size, 2u << 20);
  EXPECT_EQ(c->global.smb_direct_max_read_write_size, 1u << 20);
  d.clear();
  auto bad = loadConfigString("[global]\nsmb direct max receive size = 100\nsmb direct provider = fast\n"
                              "smb direct max fragmented size = 64K\nsmb direct send credits = 0\n[s]\npath = /x\n",
                              "b.conf", &d);
  EXPECT_FALSE(bad);
  std::string all;
  for (const auto& x : d) all += x.message + "\n";
  EXPECT_NE(all.find("b.conf:2:"), std::string::npos) << all;
  EXPECT_NE(all.find("b.conf:3:"), std::string::npos) << all;
  EXPECT_NE(all.find("b.conf:4:"), std::string::npos) << all;
  EXPECT_NE(all.find("b.conf:5:"), std::string::npos) << all;
}

TEST(Access, ValidInvalidReadWriteListsAndGuests) {
  ShareConfig s;
  s.read_only = true;
  s.valid_users = {"alice", "@staff", "bob"};
  s.invalid_users = {"bob"};
  s.write_list = {"alice"};
  auto staff = [](std::string_view u, std::string_view g) { return g == "staff" && u == "carol"; };
  auto a = shareAccessFor(s, "Alice", false, staff);
  EXPECT_TRUE(a.allowed);
  EXPECT_FALSE(a.read_only);
  auto c = shareAccessFor(s, "carol", false, staff);
  EXPECT_TRUE(c.allowed);
  EXPECT_TRUE(c.read_only);
  EXPECT_FALSE(shareAccessFor(s, "bob", false, staff).allowed);   // invalid wins
  EXPECT_FALSE(shareAccessFor(s, "dave", false, staff).allowed);  // not valid
  EXPECT_FALSE(shareAccessFor(s, "", true, staff).allowed);       // no guest ok
  s.guest_ok = true;
  EXPECT_TRUE(shareAccessFor(s, "", true, staff).allowed);
  ShareConfig w;
  w.read_only = false;
  w.read_list = {"eve"};
  EXPECT_TRUE(shareAccessFor(w, "eve", false, staff).read_only);
  EXPECT_FALSE(shareAccessFor(w, "frank", false, staff).read_only);
}

TEST(UserDb, KsmbdFormatRoundTripAndErrors) {
  auto dir = std::filesystem::temp_directory_path() / ("sdusers." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "ksmbdpwd.db").string();
  UserDb db;
  std::array<uint8_t, 16> h{};
  for (int i = 0; i < 16; i++) h[i] = uint8_t(i);
  db.set("Alice", h);
  ASSERT_TRUE(db.save(path));
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "Alice:AAECAwQFBgcICQoLDA0ODw==");
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  UserDb back;
  ASSERT_TRUE(back.load(path));
  ASSERT_TRUE(back.find("alice"));
  EXPECT_EQ(*back.find("ALICE"), h);
  EXPECT_FALSE(back.find("bob"));
  std::ofstream(path) << "good:AAECAwQFBgcICQoLDA0ODw==\nbroken line\n";
  std::string e;
  EXPECT_FALSE(back.load(path, &e));
  EXPECT_NE(e.find(":2:"), std::string::npos) << e;
  EXPECT_EQ(UserDb().load((dir / "missing").string()).status(), NtStatus::kObjectNameNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sd::config

namespace sd::config {
// docs/CONFIG.md and the parser's key table say the same: every key the parser knows is
// documented (each spelling of a refused or no-effect key, the first of an applied one), and
// every key in the [global] table of the page is one the parser knows there.
namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

TEST(ConfigDocs, EveryKeyIsDocumentedAndEveryDocumentedKeyIsKnown) {
  std::ifstream f(SMBDIRECT_SOURCE_DIR "/docs/CONFIG.md");
  ASSERT_TRUE(f) << "docs/CONFIG.md";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = lower(ss.str());
  auto keys = knownKeys();
  ASSERT_GT(keys.size(), 50u);
  for (const auto& k : keys) {
    size_t n = k.effect == KeyEffect::kApplied ? 1 : k.spellings.size();
    for (size_t i = 0; i < n; i++)
      EXPECT_NE(doc.find(lower(k.spellings[i])), std::string::npos) << "undocumented key: " << k.spellings[i];
  }
  auto knownInGlobal = [&](const std::string& name) {
    for (const auto& k : keys)
      for (const auto& s : k.spellings)
        if (k.in_global && lower(s) == name) return true;
    return false;
  };
  // The [global] table: "| key, key | values |" rows up to the next heading.
  size_t at = doc.find("## [global]");
  ASSERT_NE(at, std::string::npos);
  std::istringstream rows(doc.substr(at, doc.find("\n## ", at + 1) - at));
  std::string row;
  int checked = 0;
  while (std::getline(rows, row)) {
    if (row.rfind("| ", 0) != 0 || row.rfind("| key", 0) == 0) continue;
    std::string cell = row.substr(2, row.find(" |", 2) - 2), name;
    std::istringstream names(cell);
    while (std::getline(names, name, ',')) {
      while (!name.empty() && name.front() == ' ') name.erase(0, 1);
      EXPECT_TRUE(knownInGlobal(name)) << "docs/CONFIG.md documents an unknown [global] key: " << name;
      checked++;
    }
  }
  EXPECT_GT(checked, 25);
}

}  // namespace sd::config
