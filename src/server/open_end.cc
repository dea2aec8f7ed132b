// The end of an open (MS-SMB2 3.3.5.10 CLOSE, 3.3.4.17 and 3.3.7.1 for an open whose
// connection or session went away), and the detaching of a durable open that is kept for a
// reconnect instead (server/durable_table.h). Any thread; no connection needed.
#include "base/log.h"
#include "fscc/notify_info.h"
#include "server/connection.h"
#include "server/directory_leases.h"
#include "smb2/constants.h"
#include "smb2/lease.h"
#include "vfs/identity.h"

namespace sd::server {

namespace {

// closeOpen's work under the open's lock; false when it was closed already. `deleted`: the
// close deleted the file (delete-on-close).
bool releaseOpen(ServerState& state, Open& o, bool* deleted) {
  std::lock_guard<std::mutex> lk(o.mu);
  if (o.closed) return false;
  o.closed = true;
  if (o.delete_on_close) state.setDeletePending(o.file_key, true);
  state.locks().releaseOpen(o.file_key, o.volatile_id);
  state.removeOpen(o.volatile_id);
  // The last close of a delete-pending file deletes it (MS-FSA 2.1.5.4).
  if (o.file_key && state.isDeletePending(o.file_key) &&
      state.opensOfFile(o.file_key).empty() && o.tree && o.tree->share && o.tree->share->fs) {
    state.setDeletePending(o.file_key, false);
    o.handle.reset();
    const std::string path = o.path();
    auto st = o.is_directory ? o.tree->share->fs->rmdir(path) : o.tree->share->fs->unlink(path);
    if (!st) LOG_DEBUG("delete on close of %s failed: %s", path.c_str(), ntStatusName(st.status()));
    else if (deleted) *deleted = true;
  }
  // The SMB open is gone (share modes, locks, table entries); only the descriptor remains.
  if (o.handle && !o.is_directory && o.written.load(std::memory_order_relaxed))
    state.releaseHandle(std::move(o.handle));
  o.handle.reset();
  o.pipe.reset();
  o.dir.reset();
  return true;
}

// Its CHANGE_NOTIFY ends (MS-SMB2 3.3.5.10: STATUS_NOTIFY_CLEANUP).
void endWatch(ServerState& state, Open& o) {
  std::shared_ptr<NotifyWatch> watch;
  {
    std::lock_guard<std::mutex> lk(o.notify_mu);
    watch = std::move(o.notify);
  }
  if (watch) {
    state.changes().unsubscribe(watch);
    watch->end(NtStatus::kNotifyCleanup);
  }
}

}  // namespace

void endOpen(ServerState& state, const std::shared_ptr<Open>& o) {
  auto& changes = state.changes();
  std::optional<std::pair<uint64_t, uint64_t>> renamed_in;  // the directory of a renamed file
  std::optional<StreamChange> stream_change;  // a stream deleted on close is reported as such
  bool deleted = false;
  {
    // Delete-on-close removes the file as the account that opened it (also when the connection
    // goes away).
    vfs::IdentityScope as(o->tree ? o->tree->identity : nullptr);
    if (o->is_stream && changes.active() && o->tree && o->tree->share && o->tree->share->fs)
      stream_change.emplace(changes, *o->tree->share->fs, o->path());
    if (!releaseOpen(state, *o, &deleted)) return;  // already closed through another channel of its session
    // Its data written, or its name deleted: the directory's leases break (a write changes
    // the size and times a directory listing shows; Windows breaks at the close).
    if (deleted || o->written.load(std::memory_order_relaxed)) breakParentDirectoryLeases(state, *o);
    if (o->renamed && !o->is_directory && changes.active() && o->tree && o->tree->share && o->tree->share->fs) {
      auto id = o->tree->share->fs->parentId(o->path());
      if (id) renamed_in = *id;
    }
  }
  // Its CHANGE_NOTIFY ends (MS-SMB2 3.3.5.10: STATUS_NOTIFY_CLEANUP); a directory whose delete is
  // now pending fails the waiting notifications of its other opens (STATUS_DELETE_PENDING, as
  // Windows and Samba: smbtorture smb2.notify.rmdir*).
  endWatch(state, *o);
  if (o->is_directory && o->delete_on_close && o->file_key) {
    for (const auto& other : state.opensOfFile(o->file_key)) {
      std::shared_ptr<NotifyWatch> w;
      {
        std::lock_guard<std::mutex> lk(other->notify_mu);
        w = other->notify;
      }
      if (w) w->failWaiting(NtStatus::kDeletePending);
    }
  }
  if (stream_change && deleted) stream_change->report(fscc::kFileActionRemovedStream, fscc::kNotifyChangeStreamName);
  // Windows reports a file renamed through a handle as modified (attributes, creation) when
  // that handle closes.
  if (renamed_in) {
    std::string path = o->path();
    auto slash = path.rfind('/');
    changes.post(renamed_in->first, renamed_in->second, slash == std::string::npos ? path : path.substr(slash + 1),
                 fscc::kFileActionModified, fscc::kNotifyChangeAttributes | fscc::kNotifyChangeCreation);
  }
  state.removeReplayable(*o);
  // Last, once the open is gone from every table: opens that waited for its oplock's break
  // resume (on this thread) and find it closed.
  state.oplocks().release(o->volatile_id);
  if (o->lease) state.oplocks().releaseLeaseOpen(*o->lease);
}

void keepDurable(ServerState& state, const std::shared_ptr<Open>& o) {
  o->session_id = 0;  // no request reaches it until a reconnect attaches it again
  endWatch(state, *o);
  // A break of its oplock or lease closes it: nobody is there to acknowledge.
  DurableTable* kept = &state.durables();
  uint64_t pid = o->persistent_id;
  if (o->lease)
    state.oplocks().setLeaseNotify(*o->lease, [kept, pid](uint32_t, uint32_t, uint16_t, bool) { kept->purge(pid); });
  else
    state.oplocks().setNotify(o->volatile_id, [kept, pid](uint8_t) { kept->purge(pid); });
  kept->park(o);
  // A break sent before the connection went will never be acknowledged: close it now rather
  // than let the open that waits for it wait for the break timeout.
  auto lease = o->lease ? state.oplocks().leaseOf(*o->lease) : std::nullopt;
  if ((lease && lease->breaking) || state.oplocks().breakPending(o->volatile_id)) kept->purge(pid);
}

void dropOpen(ServerState& state, const std::shared_ptr<Open>& o, uint64_t from_connection) {
  // Once: a lost connection and a PreviousSessionId may both let go of the open, and a
  // reconnect may have attached it elsewhere in between.
  if (!o->connection_id.compare_exchange_strong(from_connection, 0)) return;
  bool closed;
  {
    std::lock_guard<std::mutex> lk(o->mu);
    closed = o->closed;
  }
  if (closed) return;
  // Kept only while it still has what made it durable: a batch oplock or a lease with Handle
  // caching (as Samba decides at the disconnect); one that lost it to a break ends.
  bool still_durable = o->durable && state.durableHandlesOn() &&
                       (o->lease ? (state.oplocks().leaseState(*o->lease) & smb2::kLeaseHandle) != 0
                                 : state.oplocks().levelOf(o->volatile_id) == smb2::kOplockLevelBatch);
  if (still_durable) keepDurable(state, o);
  else endOpen(state, o);
}

}  // namespace sd::server
