// Changes made to a file on the server outside SMB (a local process, NFS, another server on the
// same directory) must break the leases and oplocks that let clients cache it: MS-SMB2 3.3.1.4
// has the object store revoke read caching before "data is written to the file", by whatever
// means. smbdirectd learns of them through fanotify: an inode mark (FAN_MODIFY) on each file
// some client caches; a modification by any other process than this one reaches `on_change`
// with the file's key. Its own writes (every SMB write) are ignored here: they break the other
// clients' caching themselves (OplockTable::breakLevelII).
//
// The kernel reports the change after it happened and does not wait for the clients: a client
// learns of it within the time a break notification takes (milliseconds), not before the writer
// goes on. fanotify needs CAP_SYS_ADMIN: started as another account, smbdirectd says once that
// local changes break nothing, and clients keep what they cache until they lose their lease.
// Any thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace sd::server {

class LocalChanges {
 public:
  using OnChange = std::function<void(uint64_t file_key)>;
  // `still_cached(file_key)`: whether clients still cache the file; a watch of one that no
  // client caches any more is removed (checked every few seconds).
  LocalChanges(OnChange on_change, std::function<bool(uint64_t)> still_cached);
  ~LocalChanges();
  LocalChanges(const LocalChanges&) = delete;
  LocalChanges& operator=(const LocalChanges&) = delete;

  // Watches the file open as `fd` (any open descriptor of it) under `file_key`, once; false when
  // changes cannot be watched (no fanotify, or the watch limit is reached; logged once).
  bool watch(uint64_t file_key, int fd);
  size_t watched() const;
  // Whether changes can be watched at all (starts the watcher; logs once why not).
  bool available();
  static constexpr size_t kMaxWatched = 8192;

 private:
  bool startLocked();
  void loop();
  void pruneLocked();

  OnChange on_change_;
  std::function<bool(uint64_t)> still_cached_;
  mutable std::mutex mu_;
  bool tried_ = false, available_ = false, full_logged_ = false;
  int fan_fd_ = -1, stop_fd_ = -1;
  std::map<uint64_t, int> watched_;  // file key -> an O_PATH descriptor of the file
  std::thread thread_;
};

}  // namespace sd::server
