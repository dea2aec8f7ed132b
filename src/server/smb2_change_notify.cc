// CHANGE_NOTIFY (MS-SMB2 3.3.5.19). The first request on a directory open makes its watch
// (server/change_watcher.h) with that request's CompletionFilter, WATCH_TREE and
// OutputBufferLength, kept until the open closes. A request finds the changes buffered since
// the last one and is answered at once, or goes async (interim STATUS_PENDING) until a change,
// CANCEL (STATUS_CANCELLED) or the open's close (STATUS_NOTIFY_CLEANUP) completes it.
#include <fcntl.h>
#include <unistd.h>

#include "fscc/notify_info.h"
#include "fscc/security_descriptor.h"
#include "server/access_check.h"
#include "server/connection.h"
#include "smb2/change_notify.h"
#include "smb2/constants.h"
#include "vfs/identity.h"

namespace sd::server {

namespace {

// Changes an open buffers between its requests at most (encoded records); past it the next
// request is answered STATUS_NOTIFY_ENUM_DIR. The first request's OutputBufferLength lowers it.
constexpr size_t kMaxBufferedBytes = 64 * 1024;

// Whether the watch's account may list the subdirectory `name` of `dir_fd` (and so learn the
// names in it): it must open it for reading as that account, and a stored NT ACL must grant
// it FILE_LIST_DIRECTORY, as CREATE would require for QUERY_DIRECTORY.
NotifyWatch::OpenChild openChildAs(std::shared_ptr<const UnixIdentity> identity, std::vector<fscc::Sid> token) {
  return [identity = std::move(identity), token = std::move(token)](int dir_fd, const std::string& name) -> int {
    vfs::IdentityScope as(identity);
    if (!as.status()) return -1;
    int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    auto stored = vfs::Share::readSecurityOf(fd);
    bool allowed = stored.has_value();
    if (allowed && *stored) {
      auto sd = fscc::decodeSecurityDescriptor(**stored);
      allowed = sd && (fscc::grantedAccess(*sd, token) & smb2::kFileListDirectory);
    }
    if (!allowed) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
}

}  // namespace

Status handleChangeNotify(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeChangeNotifyRequest(r.msg));
  // More than MaxTransactSize: STATUS_INVALID_PARAMETER (Windows, Samba; smbtorture
  // smb2.notify.valid-req). 0 is valid: any change then answers STATUS_NOTIFY_ENUM_DIR.
  if (req.output_buffer_length > c.negotiated().max_transact)
    return err(NtStatus::kInvalidParameter, "OutputBufferLength above MaxTransactSize");
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (!open->is_directory || !open->handle) return err(NtStatus::kInvalidParameter, "not a directory");
  // Watching a directory lists it (Windows, Samba: smbtorture smb2.notify.handle-permissions).
  if (!(open->granted_access & smb2::kFileListDirectory))
    return err(NtStatus::kAccessDenied, "no FILE_LIST_DIRECTORY on the handle");
  // A NOTIFY completes asynchronously; inside a compound, before its last request, Windows
  // fails what would go async with STATUS_INTERNAL_ERROR (MS-SMB2 3.3.4.2 <159>, smbtorture
  // smb2.compound.interim2).
  if (r.more_in_chain) return err(NtStatus::kInternalError, "async request inside a compound");
  const auto& g = c.state().global();
  if (!g.change_notify) return err(NtStatus::kNotSupported, "change notify = no");
  // A directory whose deletion is pending (another open set delete on close and closed before
  // this request came) gets the answer a waiting request would have got then (smbtorture
  // smb2.notify.rmdir3-4 when the other connection's close wins the race).
  if (open->file_key && c.state().isDeletePending(open->file_key))
    return err(NtStatus::kDeletePending, "directory delete pending");
  auto& changes = c.state().changes();
  // Changes made before this request (perhaps by this client) are buffered first.
  changes.sync();
  std::shared_ptr<NotifyWatch> watch;
  {
    std::lock_guard<std::mutex> lk(open->notify_mu);
    if (!open->notify) {
      auto share = r.tree->share;
      auto w = std::make_shared<NotifyWatch>(
          req.completion_filter, (req.flags & smb2::kWatchTree) != 0, req.output_buffer_length, kMaxBufferedBytes,
          openChildAs(r.tree->identity, sessionToken(*r.tree->user, r.tree->identity.get())),
          [share](std::string_view name) { return share->fs && share->fs->isVetoed(name); });
      SD_CHECK(changes.subscribe(w, open->handle->fd()));
      open->notify = std::move(w);
    }
    watch = open->notify;
  }
  auto pending = c.pending();
  const uint64_t async_id = c.nextAsyncId();
  {
    std::lock_guard<std::mutex> lk(pending->mu);
    // Windows answers a request past its async limit STATUS_INSUFFICIENT_RESOURCES.
    if (pending->notifies >= g.max_notify_requests)
      return err(NtStatus::kInsufficientResources, "max notify requests outstanding");
    pending->notifies++;
    std::weak_ptr<NotifyWatch> weak = watch;
    pending->by_async_id[async_id] = {r.hdr.message_id, r.hdr.session_id, [weak, async_id](NtStatus st) {
                                        auto w = weak.lock();
                                        return w && w->cancel(async_id, st);
                                      }};
  }
  auto reply = c.asyncReply(r, async_id);
  auto gate = std::make_shared<InterimGate>();
  auto complete = [reply, gate, pending, async_id](NtStatus st, ByteView records) {
    {
      std::lock_guard<std::mutex> lk(pending->mu);
      if (pending->by_async_id.erase(async_id)) pending->notifies--;
    }
    Bytes body;
    if (st == NtStatus::kSuccess) {
      ByteWriter w;
      smb2::encodeChangeNotifyResponse(smb2::ChangeNotifyResponse{records}, w);
      body = w.take();
    }
    gate->finalReady([reply, st, body = std::move(body)] { reply->send(st, body); });
  };
  auto now = watch->takeOrWait(async_id, req.output_buffer_length, std::move(complete));
  if (!now) {
    // MS-SMB2 3.3.4.2: the interim response goes out now; the final one when changes come.
    r.async_id = async_id;
    r.after_send = [gate] { gate->interimSent(); };
    return ok();
  }
  {
    std::lock_guard<std::mutex> lk(pending->mu);
    if (pending->by_async_id.erase(async_id)) pending->notifies--;
  }
  if (now->status != NtStatus::kSuccess) return err(now->status, "buffered changes do not fit");
  smb2::encodeChangeNotifyResponse(smb2::ChangeNotifyResponse{now->data}, r.out);
  return ok();
}

}  // namespace sd::server
