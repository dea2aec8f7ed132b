// smbdirectd configuration in ksmbd.conf (smb.conf) syntax: [global] and one section per share.
// An existing ksmbd.conf loads unchanged: unknown keys are warnings naming file and line, invalid
// values are errors that stop start-up. Pure parsing; any thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace sd::config {

enum class Signing { kAuto, kMandatory, kDisabled };
enum class Encryption { kAuto, kMandatory, kDisabled };
enum class MapToGuest { kNever, kBadUser };
enum class SmbDirect { kAuto, kYes, kNo };
enum class Leases { kAuto, kYes, kNo };

struct Global {
  std::string netbios_name = "SMBDIRECT";
  std::string server_string = "SMB Direct server";
  std::string workgroup = "WORKGROUP";
  std::vector<std::string> interfaces;
  bool bind_interfaces_only = false;
  uint16_t tcp_port = 445;
  bool server_multi_channel_support = false;
  Signing server_signing = Signing::kAuto;
  Encryption smb3_encryption = Encryption::kAuto;
  uint32_t smb2_max_read = 8 * 1024 * 1024;
  uint32_t smb2_max_write = 8 * 1024 * 1024;
  uint32_t smb2_max_trans = 8 * 1024 * 1024;
  uint32_t max_connections = 0;
  // Limits that keep one client from exhausting the server (docs/CONFIG.md). Past each, the
  // request is answered STATUS_INSUFFICIENT_RESOURCES (a connection is closed unread); 0 in
  // `max ip connections` and `unauthenticated timeout` means no limit.
  uint32_t max_ip_connections = 256;       // connections from one client address (TCP + SMB Direct)
  uint32_t unauthenticated_timeout = 30;   // seconds from accept to the first valid session
  uint32_t max_active_sessions = 1024;     // sessions in the whole server (ksmbd's key)
  uint32_t max_sessions_per_connection = 64;
  uint32_t max_trees_per_session = 1024;
  uint32_t max_open_files = 16384;         // opens of one session on one connection (Samba's key)
  uint32_t max_locks_per_open = 8192;      // byte-range lock ranges held by one open
  uint32_t max_blocking_locks = 512;       // LOCK requests waiting for a range, per connection
  std::string guest_account = "nobody";
  // The Unix account an authenticated user with no Unix account of their own acts as; empty:
  // such a user is refused (STATUS_LOGON_FAILURE). Only when smbdirectd runs as root.
  std::string fallback_unix_account;
  // Client addresses that may connect at all (config/hosts.h); checked before a session exists.
  std::vector<std::string> hosts_allow, hosts_deny;
  MapToGuest map_to_guest = MapToGuest::kNever;
  // Seconds an open waits for the acknowledgment of the oplock break it caused (MS-SMB2
  // 3.3.2.1's Oplock Break Acknowledgment Timer); then the break completes without it.
  uint32_t oplock_break_timeout = 35;
  bool durable_handles = true;  // `durable handles`
  // Offer SMB2_GLOBAL_CAP_LEASING and grant leases on files. auto: when changes made on the
  // server outside SMB can break them (server/local_changes.h: smbdirectd runs as root).
  Leases smb2_leases = Leases::kAuto;
  // Change notification (CHANGE_NOTIFY, docs/ARCHITECTURE.md): answered at all (Samba's key);
  // requests outstanding per connection at most (beyond: STATUS_INSUFFICIENT_RESOURCES, as
  // Windows answers past its async limit); directories the server's inotify instance watches
  // at most (a WATCH_TREE that would need more is told to enumerate: STATUS_NOTIFY_ENUM_DIR).
  bool change_notify = true;
  uint32_t max_notify_requests = 512;
  uint32_t max_notify_watches = 8192;
  bool restrict_anonymous = false;
  SmbDirect smb_direct = SmbDirect::kAuto;
  uint16_t smb_direct_port = 5445;
  std::string smb_direct_provider = "auto";
  // MS-SMBD connection sizes (smbdirect::Config defaults; clamped to the device at run time).
  uint32_t smb_direct_receive_credits = 255;
  uint32_t smb_direct_send_credits = 255;
  uint32_t smb_direct_max_send_size = 8192;
  uint32_t smb_direct_max_receive_size = 8192;
  // 1 MiB of data and the headers of an encrypted WRITE: cifs.ko sends sealed I/O inline, a
  // 1 MiB WRITE as one 1048740-byte message (MS-SMB2 transform, SMB2 and WRITE headers).
  uint32_t smb_direct_max_fragmented_size = (1u << 20) + (64u << 10);
  uint32_t smb_direct_max_read_write_size = 0;  // 0: max(smb2 max read, smb2 max write)
};

struct ShareConfig {
  std::string name;
  std::string path;
  std::string comment;
  bool read_only = true;
  bool browseable = true;
  bool guest_ok = false;
  bool available = true;
  std::vector<std::string> valid_users, invalid_users, read_list, write_list, admin_users;
  uint32_t create_mask = 0744;
  uint32_t directory_mask = 0755;
  uint32_t force_create_mode = 0, force_directory_mode = 0;
  bool hide_dot_files = true;
  std::vector<std::string> veto_files;
  uint32_t max_connections = 0;
  bool oplocks = true;
  std::string force_user, force_group;
  std::vector<std::string> hosts_allow, hosts_deny;
};

struct Config {
  Global global;
  std::vector<ShareConfig> shares;
};

struct Diagnostic {
  bool error = false;
  std::string message;  // "file:line: ..."
};

// What a key does: applied; accepted with a warning that it has no effect; or refused (start-up
// stops) unless its value restricts nothing.
enum class KeyEffect { kApplied, kNoEffect, kRefused };
struct KeyDoc {
  std::vector<std::string> spellings;  // the first is the documented one
  bool in_global = false, in_share = false;
  KeyEffect effect = KeyEffect::kApplied;
};
// Every key loadConfigString knows, in its lookup order.
std::vector<KeyDoc> knownKeys();

Result<Config> loadConfigFile(const std::string& path, std::vector<Diagnostic>* diags);
Result<Config> loadConfigString(std::string_view text, const std::string& name,
                                std::vector<Diagnostic>* diags);

}  // namespace sd::config
