// Command-line and mount-option parsing for the client (the mount.cifs / smbclient conventions):
// UNC and smb:// addresses, credentials (-U user%pass, credentials files, $PASSWD, $USER),
// and mount.cifs option strings. Pure functions; any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sd::client {

// //host[:port]/share[/path] or smb://[user[:pass]@]host[:port]/share[/path]; '\\' accepted too.
struct SmbAddress {
  std::string host;
  uint16_t port = 0;  // 0: default for the transport
  std::string share;
  std::string path;  // share-relative, '/'-separated, no leading slash
  std::string user, password;  // only from smb:// userinfo
  bool has_password = false;
};
Result<SmbAddress> parseSmbAddress(std::string_view s);
// Joins a share-relative path and a name with '/', dropping empty parts.
std::string joinPath(std::string_view a, std::string_view b);
// '/' -> '\\' for the wire.
std::string toWirePath(std::string_view p);

struct Credentials {
  std::string user;
  std::string domain;
  std::string password;
  bool has_password = false;
};
// "-U" syntax: [DOMAIN\]user[%password] (also DOMAIN/user, user@DOMAIN kept whole).
Credentials parseUserSpec(std::string_view spec);
// cifs-utils credentials file: username=, password=, domain= lines (also user=, pass=, dom=).
Result<Credentials> parseCredentialsText(std::string_view text, std::string* error);
Result<Credentials> loadCredentialsFile(const std::string& path, std::string* error);

// SMB dialect names as the tools spell them ("3.0", "3.02"/"3.0.2", "3.1.1", "3", "default").
std::optional<std::vector<uint16_t>> parseVers(std::string_view v);

// mount.cifs-style -o options.
struct MountOptions {
  std::vector<uint16_t> dialects;  // empty: 3.1.1, 3.0.2, 3.0
  std::string vers_text;
  Credentials creds;
  std::string credentials_file;
  uint16_t port = 0;
  std::optional<uint32_t> uid, gid;
  uint32_t file_mode = 0755, dir_mode = 0755;
  bool read_only = false;
  uint32_t rsize = 0, wsize = 0;  // 0: negotiated maximum
  uint32_t actimeo = 1;           // seconds
  std::string cache = "strict";   // strict | none | loose
  uint32_t closetimeo = 5;        // seconds a closed file's handle is kept under a lease (cifs.ko: 5)
  bool notify = true;             // the mount follows the server's change notifications
  bool durable = true;            // leased opens ask for durable handles (DH2Q), kept over a reconnect
  bool seal = false, sign = false;
  bool multichannel = false;
  uint32_t max_channels = 1;
  bool rdma = false;
  bool rdma_transform = true;  // sealed I/O by RDMA with the encryption transform, where negotiated
  std::string rdma_provider = "auto";
  uint16_t rdma_port = 0;  // multichannel: the server's SMB Direct port (0: 5445, then 445)
  std::vector<std::string> given;  // options as the user gave them, for /proc/mounts & findmnt
};
// Parses "opt1,opt2=val,..." into `out`; unknown options are an error naming the option.
Status parseMountOptions(std::string_view text, MountOptions* out, std::string* error);
// The option string shown to the user (password masked out).
std::string displayMountOptions(const MountOptions& o);

}  // namespace sd::client
