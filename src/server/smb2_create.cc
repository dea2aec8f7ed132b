// CREATE (MS-SMB2 3.3.5.9): request validation, access mapping, the POSIX backend's SMB
// dispositions, share modes, delete-on-close, named pipes on IPC$, and the create contexts
// real clients send (MxAc, QFid answered, AlSi applied, oplocks, leases and durable handles
// granted; durable reconnects, 3.3.5.9.7 and 3.3.5.9.12), and per-file access from stored NT security descriptors (server/access_check.h): checked before the
// file system is touched, set from the SecD create context or inherited on creation.
#include "base/log.h"
#include "base/text.h"
#include "fscc/file_info.h"
#include "fscc/notify_info.h"
#include "fscc/security_descriptor.h"
#include "rpc/pipe.h"
#include "server/access_check.h"
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/durable.h"
#include "smb2/lease.h"
#include "vfs/identity.h"

namespace sd::server {

namespace {

constexpr uint32_t kValidCreateOptions = 0x00FFFFFF;
constexpr uint32_t kWriteLikeAccess = smb2::kFileWriteData | smb2::kFileAppendData |
                                      smb2::kFileWriteEa | smb2::kFileWriteAttributes |
                                      smb2::kDelete | smb2::kWriteDac | smb2::kWriteOwner |
                                      smb2::kFileDeleteChild;

// MS-SMB2 3.3.5.9 / MS-FSA: MAXIMUM_ALLOWED to `maximal`, generic rights to specific ones.
uint32_t mapGeneric(uint32_t a, uint32_t maximal) {
  if (a & smb2::kMaximumAllowed) a = (a & ~smb2::kMaximumAllowed) | maximal;
  return fscc::mapGenericFileRights(a);
}

Status openPipe(Connection& c, Request& r, const smb2::CreateRequest& req) {
  std::string name = req.name;
  if (!name.empty() && name[0] == '\\') name.erase(0, 1);
  auto state = c.sharedState();
  auto pipe = rpc::openPipe(name, [state] {
    rpc::ServerInfo info;
    info.name = state->global().netbios_name;
    info.comment = state->global().server_string;
    std::vector<rpc::ShareInfo> list;
    for (const auto& s : state->shares()) {
      if (!s->cfg.browseable && !s->ipc) continue;
      rpc::ShareInfo si;
      si.name = s->cfg.name;
      si.type = s->ipc ? rpc::kStypeIpcHidden : rpc::kStypeDiskTree;
      si.comment = s->ipc ? "IPC Service" : s->cfg.comment;
      si.path = s->cfg.path;
      list.push_back(si);
    }
    return std::make_pair(info, list);
  });
  if (!pipe) return err(NtStatus::kObjectNameNotFound, "unknown pipe");
  auto open = std::make_shared<Open>();
  open->volatile_id = c.state().newOpenId();
  open->persistent_id = open->volatile_id;
  open->session_id = r.session->session_id;
  open->tree_id = r.tree->tree_id;
  open->tree = r.tree;
  open->pipe = std::move(pipe);
  open->setPath(name);
  open->granted_access = mapGeneric(req.desired_access, smb2::kFileAllAccess);
  c.state().addOpen(open);
  c.trackOpen(open);
  r.created_file_id = std::array<uint64_t, 2>{open->persistent_id, open->volatile_id};
  smb2::CreateResponse resp;
  resp.create_action = smb2::kFileOpened;
  resp.file_attributes = smb2::kFileAttributeNormal;
  resp.file_id = {open->persistent_id, open->volatile_id};
  smb2::encodeCreateResponse(resp, r.out);
  return ok();
}

// Opens that only read or write attributes or the security descriptor break no oplock
// (MS-FSA 2.1.5.1.2: they are not "data" opens).
bool breaksOplocks(uint32_t access) {
  return access & ~(smb2::kFileReadAttributes | smb2::kFileWriteAttributes | smb2::kSynchronize |
                    smb2::kReadControl);
}

uint64_t fileKey(const vfs::FileStat& st) { return fileKeyOf(st.device, st.file_id); }

// The named stream an SMB name opens, lower-cased, without its ":$DATA" type: "" for a file's
// own data ("f", "f::$DATA").
std::string streamOf(std::string_view name) {
  auto slash = name.find_last_of("\\/");
  auto colon = name.find(':', slash == std::string_view::npos ? 0 : slash + 1);
  if (colon == std::string_view::npos) return "";
  std::string s = asciiLower(name.substr(colon + 1));
  if (s.size() >= 6 && s.compare(s.size() - 6, 6, ":$data") == 0) s.resize(s.size() - 6);
  return s;
}

// Each named stream is its own file for share modes, locks, delete-on-close, oplocks and
// leases: its key is its file's mixed with its name (any case; a rename of the file keeps it).
uint64_t openKey(const vfs::FileStat& st, const std::string& stream) {
  uint64_t k = fileKey(st);
  if (!stream.empty()) k ^= std::hash<std::string>{}(stream) | 1;
  return k;
}

bool overwrites(uint32_t disposition) {
  return disposition == smb2::kFileSupersede || disposition == smb2::kFileOverwrite ||
         disposition == smb2::kFileOverwriteIf;
}

// Before a CREATE touches an existing file: breaks the oplocks its open conflicts with. Returns
// true when the CREATE must wait for an acknowledgment: it went async (its interim response
// goes out now); STATUS_SHARING_VIOLATION when share modes refuse it and no batch oplock's
// holder could change that by closing.
Result<bool> waitForOplockBreaks(Connection& c, Request& r, const vfs::FileStat& st, const std::string& stream,
                                 uint32_t access, uint32_t share_access, uint32_t disposition,
                                 const std::optional<LeaseId>& own) {
  // Overwriting writes the file whatever the open asked for (MS-FSA 2.1.5.1.2.1).
  if (overwrites(disposition)) access |= smb2::kFileWriteData;
  if (!r.tree->share->cfg.oplocks || !breaksOplocks(access)) return false;
  uint64_t key = openKey(st, stream);
  bool conflict = c.state().shareModesConflict(key, access, share_access);
  // A directory holds no oplock and no W: only a sharing conflict breaks its leases (H).
  if (st.directory && !conflict) return false;
  auto kind = conflict                  ? OplockTable::OpenKind::kSharingConflict
              : overwrites(disposition) ? OplockTable::OpenKind::kOverwrite
                                        : OplockTable::OpenKind::kOpen;
  // Inside a compound, before its last request, a CREATE cannot go async: the breaks go out
  // and it goes on without waiting for them.
  if (c.parkUntil(r, handleCreate, [&](OplockTable::Resume resume) {
        return c.state().oplocks().breakForOpen(key, kind, std::move(resume), own ? &*own : nullptr);
      }))
    return true;
  // A directory's open goes on: the file system may refuse it first (a "dir::$DATA" is
  // STATUS_NOT_A_DIRECTORY, smbtorture smb2.streams.dir), admitOpen checks the share modes.
  if (conflict && !st.directory) return err(NtStatus::kSharingViolation, "share mode conflict");
  return false;
}

// The lease a CREATE asks for (RqLs, MS-SMB2 2.2.13.2.8 / 2.2.13.2.10), when leases are on.
std::optional<smb2::LeaseContext> leaseRequest(Connection& c, const smb2::CreateRequest& req) {
  if (!c.state().leasesOn() || req.requested_oplock_level != smb2::kOplockLevelLease) return std::nullopt;
  for (const auto& ctx : req.create_contexts) {
    if (ctx.name != smb2::kCreateRequestLease) continue;
    auto l = smb2::decodeLeaseContext(ctx.data);
    if (l) return *l;
  }
  return std::nullopt;
}

// The RqLs response context of a granted lease (MS-SMB2 2.2.14.2.10 / 2.2.14.2.12).
smb2::LeaseContext leaseResponse(const smb2::LeaseContext& lease, const OplockTable::LeaseGrant& g) {
  smb2::LeaseContext out;
  // A lease answers in its own version, whatever this request's (smbtorture smb2.lease.v2_epoch2).
  out.v2 = g.v2;
  out.lease_key = lease.lease_key;
  out.lease_state = g.state;
  out.lease_flags = g.breaking ? smb2::kLeaseFlagBreakInProgress : 0;
  if (lease.v2 && (lease.lease_flags & smb2::kLeaseFlagParentLeaseKeySet)) {
    out.lease_flags |= smb2::kLeaseFlagParentLeaseKeySet;
    out.parent_lease_key = lease.parent_lease_key;
  }
  out.epoch = g.epoch;
  return out;
}

// A directory's lease (MS-SMB2 3.3.5.9.11): v2 requests only, as Windows grants them; a v1
// request on a directory gets nothing.
Result<uint8_t> grantDirectoryLease(Connection& c, Request& r, Open& open, const std::optional<smb2::LeaseContext>& lease,
                                    std::vector<smb2::CreateContextOut>& contexts) {
  if (!lease || !lease->v2 || !(c.negotiated().server_capabilities & smb2::kCapDirectoryLeasing))
    return smb2::kOplockLevelNone;
  LeaseId id{c.negotiated().client_guid, lease->lease_key};
  auto g = SD_TRY(c.state().oplocks().grantDirectoryLease(open.file_key, id, lease->lease_state, lease->epoch,
                                                          leaseBreakNotifier(c, r, lease->lease_key)));
  open.lease = id;
  contexts.push_back({smb2::kCreateRequestLease, smb2::encodeLeaseContext(leaseResponse(*lease, g))});
  return smb2::kOplockLevelLease;
}

// The oplock or lease a new open gets (MS-SMB2 3.3.5.9.8 / 3.3.5.9.11): the response's
// OplockLevel, and the RqLs response context for a lease. A directory gets a lease v2 or nothing,
// no oplock for a stat open (attributes or security only, the file neither created nor
// overwritten); stat opens do not keep others from W.
Result<uint8_t> grantCaching(Connection& c, Request& r, Open& open, uint32_t access, uint32_t create_action,
                             uint8_t requested, const std::optional<smb2::LeaseContext>& lease,
                             std::vector<smb2::CreateContextOut>& contexts) {
  bool data_open = breaksOplocks(access) || create_action != smb2::kFileOpened;
  if (lease) SD_CHECK(c.state().oplocks().checkLeaseKey(open.file_key, {c.negotiated().client_guid, lease->lease_key}));
  // Stat opens get no oplock, but a lease they ask for (smbtorture smb2.lease.statopen). Most
  // CREATEs ask for neither: they cost no look at the file's other opens.
  bool wants_oplock = requested == smb2::kOplockLevelII || requested == smb2::kOplockLevelExclusive ||
                      requested == smb2::kOplockLevelBatch;
  if (lease && lease->v2 && (lease->lease_flags & smb2::kLeaseFlagParentLeaseKeySet))
    open.parent_lease = LeaseId{c.negotiated().client_guid, lease->parent_lease_key};
  if (!r.tree->share->cfg.oplocks || (!lease && (!data_open || !wants_oplock))) return smb2::kOplockLevelNone;
  if (open.is_directory) return grantDirectoryLease(c, r, open, lease, contexts);
  auto opens = c.state().opensOfFile(open.file_key);
  // What a client caches, changes made outside SMB must break (server/local_changes.h).
  auto watch = [&] { c.state().localChanges().watch(open.file_key, open.handle->fd()); };
  if (!lease) {
    uint8_t level = c.state().oplocks().grant(open.file_key, open.volatile_id, requested, opens.size() == 1,
                                              oplockBreakNotifier(c, r, open));
    if (level != smb2::kOplockLevelNone) watch();
    return level;
  }
  LeaseId id{c.negotiated().client_guid, lease->lease_key};
  bool others = false;
  for (const auto& o : opens)
    if (o.get() != &open && !(o->lease && *o->lease == id) && breaksOplocks(o->granted_access)) others = true;
  auto g = SD_TRY(c.state().oplocks().grantLease(open.file_key, id, lease->lease_state, lease->v2, lease->epoch,
                                                 others, leaseBreakNotifier(c, r, lease->lease_key)));
  open.lease = id;
  if (g.state & smb2::kLeaseRead) watch();
  contexts.push_back({smb2::kCreateRequestLease, smb2::encodeLeaseContext(leaseResponse(*lease, g))});
  return smb2::kOplockLevelLease;
}

// The request's own fields (MS-SMB2 3.3.5.9), before anything else is looked at.
Status checkCreateRequest(const smb2::CreateRequest& req) {
  if (req.impersonation_level > smb2::kImpersonationDelegate)
    return err(NtStatus::kBadImpersonationLevel, "impersonation level");
  if (req.create_disposition > smb2::kFileOverwriteIf)
    return err(NtStatus::kInvalidParameter, "create disposition");
  if (req.create_options & ~kValidCreateOptions) return err(NtStatus::kInvalidParameter, "options");
  if ((req.create_options & smb2::kFileDirectoryFile) &&
      (req.create_options & smb2::kFileNonDirectoryFile))
    return err(NtStatus::kInvalidParameter, "directory and non-directory");
  if (!req.name.empty() && req.name[0] == '\\') return err(NtStatus::kInvalidParameter, "leading \\");
  return ok();
}

// SMB2_CREATE_SD_BUFFER (MS-SMB2 2.2.13.2.3): decoded before anything is created.
Result<std::optional<fscc::SecurityDescriptor>> contextDescriptor(const smb2::CreateRequest& req) {
  std::optional<fscc::SecurityDescriptor> context_sd;
  for (const auto& ctx : req.create_contexts) {
    if (ctx.name != smb2::kCreateSdBuffer) continue;
    auto sd = fscc::decodeSecurityDescriptor(ctx.data);
    if (!sd) return err(NtStatus::kInvalidSecurityDescr, "SecD create context");
    context_sd = std::move(*sd);
  }
  return context_sd;
}

// MS-SMB2 3.3.5.9 / MS-FSA 2.1.5.1.2: the access check against stored descriptors.
Result<CreateAccess> checkAccess(const Request& r, const smb2::CreateRequest& req,
                                 const Result<vfs::Share::SecurityLookup>& look,
                                 const std::vector<fscc::Sid>& token) {
  CreateAccess checked;
  bool maximum = req.desired_access & smb2::kMaximumAllowed;
  uint32_t requested = mapGeneric(req.desired_access & ~smb2::kMaximumAllowed, 0);
  if (look) {
    checked = SD_TRY(checkCreateAccess(*look, token, requested, maximum, r.tree->maximal_access,
                                       req.create_disposition,
                                       req.create_options & smb2::kFileDirectoryFile));
  } else {
    // A name the lookup cannot resolve: the open below reports why.
    checked.granted_access = requested | (maximum ? r.tree->maximal_access : 0);
  }
  // DELETE on an existing name needs the right to remove it as the request's account (the
  // file system would refuse the unlink at close): refused, or left out of MAXIMUM_ALLOWED.
  if ((checked.granted_access & smb2::kDelete) && look && look->exists && !look->may_delete) {
    if (requested & smb2::kDelete) return err(NtStatus::kAccessDenied, "may not delete");
    checked.granted_access &= ~smb2::kDelete;
  }
  return checked;
}

// What the granted access allows on this tree, and what delete-on-close needs.
Status checkGrantedAccess(const Request& r, const smb2::CreateRequest& req, uint32_t access) {
  if (access == 0) return err(NtStatus::kAccessDenied, "no access requested");
  if (r.tree->read_only) {
    if ((access & kWriteLikeAccess) || (req.create_disposition != smb2::kFileOpen &&
                                        req.create_disposition != smb2::kFileOpenIf))
      return err(NtStatus::kAccessDenied, "read-only share");
  }
  if ((req.create_options & smb2::kFileDeleteOnClose) && !(access & smb2::kDelete))
    return err(NtStatus::kAccessDenied, "delete-on-close without DELETE access");
  return ok();
}

// An existing file, before it is opened: true when the CREATE waits for oplock breaks (it is
// parked, and runs again from the start once they are acknowledged).
Result<bool> waitForExisting(Connection& c, Request& r, const smb2::CreateRequest& req,
                             const vfs::Share::SecurityLookup& look, const std::string& stream, uint32_t access,
                             const std::optional<smb2::LeaseContext>& lease) {
  // A file whose delete is pending opens no more (MS-FSA 2.1.5.1.2.1).
  if (stream.empty() && c.state().isDeletePending(fileKey(look.stat)))
    return err(NtStatus::kDeletePending, "delete pending");
  // Oplocks held by other opens of the file (or stream) are broken before it is opened (or
  // overwritten). A stream that does not exist yet has none.
  std::optional<LeaseId> own;
  if (lease) own = LeaseId{c.negotiated().client_guid, lease->lease_key};
  return waitForOplockBreaks(c, r, look.stat, stream, access, req.share_access, req.create_disposition, own);
}

vfs::OpenRequest openRequestFor(const Request& r, const smb2::CreateRequest& req, uint32_t access) {
  vfs::OpenRequest oreq;
  oreq.path = req.name;
  oreq.disposition = req.create_disposition;
  oreq.directory = req.create_options & smb2::kFileDirectoryFile;
  oreq.non_directory = req.create_options & smb2::kFileNonDirectoryFile;
  oreq.want_write = access & (smb2::kFileWriteData | smb2::kFileAppendData);
  oreq.want_read = access & (smb2::kFileReadData | smb2::kFileExecute);
  oreq.file_attributes = req.file_attributes;
  oreq.read_only = r.tree->read_only;
  return oreq;
}

// A new name: what the server writes to it as part of creating it (DOS attributes, NT ACL,
// EAs, forced mode: IN_ATTRIB) is not a change of its own, only the creation is reported; and
// it reaches change watchers before this response (the Quiet's end reads the events).
// A named stream is an xattr of its file: its creation or overwrite is reported as the
// stream's (FILE_ACTION_ADDED_STREAM, ..._MODIFIED_STREAM), not as the file's attributes.
// Lives until the CREATE's response is built.
struct CreateNotice {
  ChangeWatcher::Quiet quiet;
  std::optional<StreamChange> stream_change;

  void begin(Connection& c, const smb2::CreateRequest& req, const Result<vfs::Share::SecurityLookup>& look) {
    if (!c.state().changes().active() || !look || !look->parent_exists) return;
    std::string_view leaf = req.name;
    while (!leaf.empty() && (leaf.back() == '\\' || leaf.back() == '/')) leaf.remove_suffix(1);
    auto cut = leaf.find_last_of("\\/");
    if (cut != std::string_view::npos) leaf.remove_prefix(cut + 1);
    auto colon = leaf.find(':');
    bool named_stream = colon != std::string_view::npos && !iequals(leaf.substr(colon), "::$DATA");
    if (named_stream)
      stream_change.emplace(c.state().changes(), look->parent_stat.device, look->parent_stat.file_id, req.name);
    else if (!look->exists)
      quiet = c.state().changes().quiet(look->parent_stat.device, look->parent_stat.file_id,
                                        std::string(leaf.substr(0, colon)));
  }
  void opened(const vfs::OpenResult& opened) {
    if (!stream_change || !opened.is_stream) return;
    if (opened.create_action == smb2::kFileCreated)
      stream_change->report(fscc::kFileActionAddedStream, fscc::kNotifyChangeStreamName, opened.path);
    else if (opened.create_action != smb2::kFileOpened)
      stream_change->report(fscc::kFileActionModifiedStream,
                            fscc::kNotifyChangeStreamSize | fscc::kNotifyChangeStreamWrite, opened.path);
  }
};

// The Open of what the file system opened (its handle taken over), not yet admitted.
Result<std::shared_ptr<Open>> newOpen(Connection& c, Request& r, const smb2::CreateRequest& req,
                                      vfs::OpenResult& opened, uint32_t access) {
  auto open = std::make_shared<Open>();
  open->volatile_id = c.state().newOpenId();
  open->persistent_id = open->volatile_id;
  open->session_id = r.session->session_id;
  open->tree_id = r.tree->tree_id;
  open->tree = r.tree;
  open->setPath(opened.path);
  open->is_directory = opened.stat.directory;
  open->is_stream = opened.is_stream;
  open->file_key = openKey(opened.stat, opened.is_stream ? streamOf(opened.path) : "");
  open->granted_access = access;
  open->share_access = req.share_access;
  open->create_options = req.create_options;
  open->handle = std::move(opened.handle);
  if (req.create_options & smb2::kFileDeleteOnClose) {
    if (open->is_directory == false && (opened.stat.file_attributes & smb2::kFileAttributeReadonly))
      return err(NtStatus::kCannotDelete, "read-only file");
    open->delete_on_close = true;
  }
  return open;
}

// What a created (or overwritten) file gets from the request: its security descriptor and EAs.
Status initNewFile(vfs::Share& fs, const smb2::CreateRequest& req, const vfs::OpenResult& opened,
                   Open& open, const std::optional<fscc::SecurityDescriptor>& context_sd,
                   const CreateAccess& checked, const std::vector<fscc::Sid>& token) {
  // A new file's descriptor: from the SecD context and/or inherited from its parent.
  if (opened.create_action == smb2::kFileCreated && !opened.is_stream && open.handle) {
    auto sd = newFileDescriptor(context_sd, checked.parent, token, opened.stat);
    if (sd) SD_CHECK(fs.writeSecurity(*open.handle, fscc::encodeSecurityDescriptor(*sd)));
  }
  // ExtA (MS-SMB2 2.2.13.2.1): extended attributes to set on a newly created or overwritten file.
  for (const auto& ctx : req.create_contexts) {
    if (ctx.name != smb2::kCreateEaBuffer || !open.handle || opened.create_action == smb2::kFileOpened)
      continue;
    auto eas = fscc::decodeFileFullEaInformation(ctx.data);
    Status st = eas ? ok() : Status(eas.error());
    if (eas)
      for (const auto& ea : *eas) {
        if (!st) break;
        st = fs.setEa(*open.handle, ea.ea_name, ea.ea_value);
      }
    SD_CHECK(st);
  }
  return ok();
}

// What a CREATE response says of the file (its times, sizes and attributes) and its FileId.
void describeOpen(const Open& open, const vfs::FileStat& st, smb2::CreateResponse& resp) {
  resp.creation_time = st.creation_time;
  resp.last_access_time = st.last_access_time;
  resp.last_write_time = st.last_write_time;
  resp.change_time = st.change_time;
  resp.allocation_size = st.allocation_size;
  resp.end_of_file = st.end_of_file;
  resp.file_attributes = st.file_attributes;
  resp.file_id = {open.persistent_id, open.volatile_id};
}

// The CREATE response of an admitted open (its oplock level and lease context already set).
void encodeCreated(Request& r, const smb2::CreateRequest& req, const vfs::OpenResult& opened,
                   const Open& open, smb2::CreateResponse& resp) {
  resp.create_action = opened.create_action;
  describeOpen(open, opened.stat, resp);
  for (const auto& ctx : req.create_contexts) {
    if (ctx.name == smb2::kCreateQueryMaximalAccess) {
      resp.contexts.push_back(smb2::makeMaximalAccessResponse(NtStatus::kSuccess, r.tree->maximal_access));
    } else if (ctx.name == smb2::kCreateQueryOnDiskId) {
      resp.contexts.push_back(smb2::makeQueryOnDiskIdResponse(opened.stat.file_id, opened.stat.device));
    }
  }
  smb2::encodeCreateResponse(resp, r.out);
}

// AlSi (MS-SMB2 2.2.13.2.6): a created or overwritten file gets the space asked for, without a
// change of its size; the response shows the allocation.
Status applyAllocationSize(const smb2::CreateRequest& req, vfs::OpenResult& opened, Open& open) {
  if (!open.handle || open.is_directory || open.is_stream || opened.create_action == smb2::kFileOpened)
    return ok();
  for (const auto& ctx : req.create_contexts) {
    if (ctx.name != smb2::kCreateAllocationSize) continue;
    uint64_t size = SD_TRY(smb2::decodeAllocationSize(ctx.data));
    SD_CHECK(open.handle->setAllocationSize(size));
    opened.stat = SD_TRY(open.handle->stat());
  }
  return ok();
}

// DHnQ / DH2Q (MS-SMB2 3.3.5.9.6, 3.3.5.9.10): an open with a batch oplock or a lease with
// Handle caching becomes durable, and the response says so; never a directory, never
// persistent (no share is continuously available).
void grantDurability(Connection& c, const Request& r, Open& open, const smb2::DurableContexts& d,
                     smb2::CreateResponse& resp) {
  if (!c.state().durableHandlesOn() || (!d.request_v1 && !d.request_v2) || open.is_directory) return;
  bool handle_caching = open.lease && (c.state().oplocks().leaseState(*open.lease) & smb2::kLeaseHandle);
  if (resp.oplock_level != smb2::kOplockLevelBatch && !handle_caching) return;
  Open::Durable durable;
  durable.owner = r.session->ownerName();
  durable.client_guid = c.negotiated().client_guid;
  durable.create_action = resp.create_action;
  if (d.request_v2) {
    constexpr uint32_t kDefaultMs = 60000, kMaxMs = 300000;
    durable.v2 = true;
    durable.create_guid = d.request_v2->create_guid;
    durable.timeout_ms = d.request_v2->timeout_ms == 0 ? kDefaultMs : std::min(d.request_v2->timeout_ms, kMaxMs);
    resp.contexts.push_back(smb2::makeDurableResponseV2(durable.timeout_ms, 0));
  } else {
    durable.timeout_ms = 60000;
    resp.contexts.push_back(smb2::makeDurableResponseV1());
  }
  open.durable = durable;
}

// After the file system opened the file: its Open admitted, set up, granted its caching, tracked
// and answered; on failure the Open is gone again.
Status completeCreate(Connection& c, Request& r, const smb2::CreateRequest& req, vfs::OpenResult& opened,
                      uint32_t access, const CreateAccess& checked,
                      const std::optional<fscc::SecurityDescriptor>& context_sd,
                      const std::vector<fscc::Sid>& token, const std::optional<smb2::LeaseContext>& lease,
                      const smb2::DurableContexts& durable) {
  auto open = SD_TRY(newOpen(c, r, req, opened, access));
  SD_CHECK(c.state().admitOpen(open));
  Status st = initNewFile(*r.tree->share->fs, req, opened, *open, context_sd, checked, token);
  if (st) st = applyAllocationSize(req, opened, *open);
  if (!st) {
    c.state().removeOpen(open->volatile_id);
    return st;
  }
  smb2::CreateResponse resp;
  auto caching = grantCaching(c, r, *open, access, opened.create_action, req.requested_oplock_level, lease,
                              resp.contexts);
  if (!caching) {
    c.state().removeOpen(open->volatile_id);
    return caching.error();
  }
  resp.oplock_level = *caching;
  resp.create_action = opened.create_action;
  grantDurability(c, r, *open, durable, resp);
  c.trackOpen(open);
  if (open->durable) c.state().addReplayable(open);
  r.created_file_id = std::array<uint64_t, 2>{open->persistent_id, open->volatile_id};
  encodeCreated(r, req, opened, *open, resp);
  return ok();
}

// The durable-handle contexts of a CREATE, and the combinations MS-SMB2 refuses: DH2Q with DHnQ,
// DHnC or DH2C (3.3.5.9.10); DHnC with DH2Q or DH2C (3.3.5.9.7, a DHnQ beside it is ignored);
// DH2C with DHnQ (3.3.5.9.12). Ignored, as a server without durable handles would, when
// `durable handles = no`.
Result<smb2::DurableContexts> durableContexts(Connection& c, const smb2::CreateRequest& req) {
  if (!c.state().durableHandlesOn()) return smb2::DurableContexts{};
  auto d = SD_TRY(smb2::decodeDurableContexts(req.create_contexts));
  if (d.request_v2 && (d.request_v1 || d.reconnect()))
    return err(NtStatus::kInvalidParameter, "DH2Q with another durable context");
  if (d.reconnect_v1 && d.reconnect_v2) return err(NtStatus::kInvalidParameter, "DHnC with DH2C");
  if (d.reconnect_v2 && d.request_v1) return err(NtStatus::kInvalidParameter, "DH2C with DHnQ");
  return d;
}

// The same file name, as SMB compares them (case-insensitive, either separator).
bool sameFileName(std::string_view smb_name, const std::string& path) {
  std::string a(smb_name);
  for (auto& ch : a)
    if (ch == '\\') ch = '/';
  return iequals(a, path);
}

// The RqLs context of a reconnect or replay, whatever its RequestedOplockLevel (which a
// reconnect ignores, MS-SMB2 3.3.5.9.7); a malformed one is an error.
Result<std::optional<smb2::LeaseContext>> askedLease(const smb2::CreateRequest& req) {
  std::optional<smb2::LeaseContext> lease;
  for (const auto& ctx : req.create_contexts)
    if (ctx.name == smb2::kCreateRequestLease) lease = SD_TRY(smb2::decodeLeaseContext(ctx.data));
  return lease;
}

// Whether the kept open `o` may be reconnected by this request (MS-SMB2 3.3.5.9.7, 3.3.5.9.12):
// the same CreateGuid (v2), the same lease (its key and the client's GUID) and file name when it
// has one, no lease asked for when it has none, the same share, the same user.
Status mayReconnect(Connection& c, const Request& r, const smb2::CreateRequest& req,
                    const smb2::DurableContexts& d, const std::optional<smb2::LeaseContext>& lease,
                    const Open& o) {
  if (!o.durable) return err(NtStatus::kObjectNameNotFound, "not durable");
  if (d.reconnect_v2 && o.durable->create_guid != d.reconnect_v2->create_guid)
    return err(NtStatus::kObjectNameNotFound, "another CreateGuid");
  if (o.lease) {
    if (!lease || !(*o.lease == LeaseId{c.negotiated().client_guid, lease->lease_key}))
      return err(NtStatus::kObjectNameNotFound, "another lease or client");
    if (!o.delete_on_close && !sameFileName(req.name, o.path()))
      return err(NtStatus::kInvalidParameter, "another file name");
  } else if (lease) {
    return err(NtStatus::kObjectNameNotFound, "a lease for an open without one");
  }
  if (!o.tree || !o.tree->share || !iequals(o.tree->share->cfg.name, r.tree->share->cfg.name))
    return err(NtStatus::kObjectNameNotFound, "another share");
  if (o.durable->owner != r.session->ownerName()) return err(NtStatus::kAccessDenied, "another user's open");
  return ok();
}

// The answer to a reconnect: the open as it is, FILE_OPENED, its oplock level or lease; no
// durable-handle context (the open stays durable, smbtorture smb2.durable-open.reopen2).
// A replayed DH2Q (`replay_level`: its RequestedOplockLevel) gets its first answer's create
// action, and for an oplock the level it asks for, no more than the open holds, with the
// durable context only when that is batch (smbtorture smb2.replay.replay-dhv2-oplock2).
Status answerReconnect(Connection& c, Request& r, Open& open, std::optional<uint8_t> replay_level = std::nullopt) {
  auto st = SD_TRY(open.handle->stat());
  smb2::CreateResponse resp;
  resp.create_action = replay_level ? open.durable->create_action : smb2::kFileOpened;
  describeOpen(open, st, resp);
  resp.oplock_level = c.state().oplocks().levelOf(open.volatile_id);
  if (replay_level && !open.lease) resp.oplock_level = std::min(resp.oplock_level, *replay_level);
  if (replay_level && (open.lease || resp.oplock_level == smb2::kOplockLevelBatch))
    resp.contexts.push_back(smb2::makeDurableResponseV2(open.durable->timeout_ms, 0));
  if (open.lease) {
    auto g = c.state().oplocks().leaseOf(*open.lease);
    smb2::LeaseContext out;
    out.v2 = g && g->v2;
    out.lease_key = open.lease->key;
    out.lease_state = g ? g->state : 0;
    out.lease_flags = g && g->breaking ? smb2::kLeaseFlagBreakInProgress : 0;
    out.epoch = g ? g->epoch : 0;
    resp.oplock_level = smb2::kOplockLevelLease;
    resp.contexts.push_back({smb2::kCreateRequestLease, smb2::encodeLeaseContext(out)});
  }
  r.created_file_id = std::array<uint64_t, 2>{open.persistent_id, open.volatile_id};
  smb2::encodeCreateResponse(resp, r.out);
  return ok();
}

// DHnC / DH2C (MS-SMB2 3.3.5.9.7, 3.3.5.9.12): a durable open kept since its connection or
// session went away is attached to this session, tree and connection, with its oplock or
// lease, byte-range locks and file position; its breaks go to this connection from now on.
// Nobody else may take it: another user, client (for a lease), CreateGuid or share gets
// the status Windows gives, and the open stays kept.
Status reconnectDurable(Connection& c, Request& r, const smb2::CreateRequest& req, const smb2::DurableContexts& d) {
  const auto lease = SD_TRY(askedLease(req));
  uint64_t pid = d.reconnect_v1 ? d.reconnect_v1->persistent : d.reconnect_v2->file_id.persistent;
  // The client may reconnect before this server has seen its old connection end (that
  // connection's thread has yet to read the end of its stream): an open still attached to
  // another connection is waited for, briefly (this connection's thread waits; it happens only
  // in that race or for a CREATE that names another client's live open).
  if (auto live = c.state().findOpen(pid); live && live->persistent_id == pid && live->durable &&
                                            live->connection_id != 0 && live->connection_id != c.id())
    c.state().durables().waitKept(pid, std::chrono::milliseconds(2000));
  auto open = SD_TRY(c.state().durables().claim(pid, [&](const Open& o) { return mayReconnect(c, r, req, d, lease, o); }));
  open->session_id = r.session->session_id;
  open->tree_id = r.tree->tree_id;
  c.state().attachTree(*open, r.tree);
  c.trackOpen(open);
  if (open->lease)
    c.state().oplocks().setLeaseNotify(*open->lease, leaseBreakNotifier(c, r, open->lease->key));
  else
    c.state().oplocks().setNotify(open->volatile_id, oplockBreakNotifier(c, r, *open));
  LOG_INFO("%s: durable open %llu (%s) reconnected", c.transport().info().peer.c_str(),
           (unsigned long long)open->persistent_id, open->path().c_str());
  return answerReconnect(c, r, *open);
}

// A DH2Q sent again with SMB2_FLAGS_REPLAY_OPERATION (MS-SMB2 3.3.5.9.10: the client lost the
// answer): the open its CreateGuid made is answered again when it is attached to this session,
// attached again when it is kept (its connection was lost), refused to another user
// (ACCESS_DENIED) and, while another session holds it, STATUS_FILE_NOT_AVAILABLE (as Samba).
Status replayDurable(Connection& c, Request& r, const smb2::CreateRequest& req, const std::shared_ptr<Open>& o) {
  if (o->durable->owner != r.session->ownerName()) return err(NtStatus::kAccessDenied, "another user's CreateGuid");
  // The replay asks for the caching its first CREATE got: a lease with its key for a leased
  // open, no lease for one with an oplock (smbtorture smb2.replay.replay-dhv2-oplock-lease,
  // replay-dhv2-lease3).
  const auto lease = SD_TRY(askedLease(req));
  bool lease_asked = lease && req.requested_oplock_level == smb2::kOplockLevelLease;
  if (bool(o->lease) != lease_asked || (o->lease && o->lease->key != lease->lease_key))
    return err(NtStatus::kAccessDenied, "a replay asking for other caching");
  if (o->connection_id == 0) {
    smb2::DurableContexts d;
    d.reconnect_v2 = smb2::DurableReconnectV2{{o->persistent_id, o->volatile_id}, o->durable->create_guid, 0};
    return reconnectDurable(c, r, req, d);
  }
  if (o->session_id != r.session->session_id || o->tree_id != r.tree->tree_id)
    return err(NtStatus::kFileNotAvailable, "the CreateGuid's open is in use by another session");
  return answerReconnect(c, r, *o, req.requested_oplock_level);
}

}  // namespace

Status handleCreate(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeCreateRequest(r.msg));
  SD_CHECK(c.roomForOpen(r.session->session_id));
  const auto durable = SD_TRY(durableContexts(c, req));
  // A reconnect ignores the request's other fields (MS-SMB2 3.3.5.9.7).
  if (durable.reconnect() && !r.tree->share->ipc) return reconnectDurable(c, r, req, durable);
  if (durable.request_v2 && (r.hdr.flags & smb2::kFlagReplayOperation)) {
    if (auto o = c.state().findReplayable(c.negotiated().client_guid, durable.request_v2->create_guid))
      return replayDurable(c, r, req, o);
  }
  SD_CHECK(checkCreateRequest(req));
  if (r.tree->share->ipc) return openPipe(c, r, req);

  const auto& share = *r.tree->share;
  const auto lease = leaseRequest(c, req);
  const auto context_sd = SD_TRY(contextDescriptor(req));
  auto token = sessionToken(*r.tree->user, r.tree->identity.get());
  auto look = share.fs->lookupSecurity(req.name);
  const CreateAccess checked = SD_TRY(checkAccess(r, req, look, token));
  const uint32_t access = checked.granted_access;
  SD_CHECK(checkGrantedAccess(r, req, access));

  const std::string stream = streamOf(req.name);
  if (look && look->exists) {
    // FILE_CREATE of an existing name collides before any share mode or oplock is looked at
    // (MS-FSA 2.1.5.1.2; smbtorture smb2.replay.replay-regular).
    if (req.create_disposition == smb2::kFileCreate && stream.empty())
      return err(NtStatus::kObjectNameCollision, "exists");
    // Parked: this handler runs again when the breaks are acknowledged.
    if (SD_TRY(waitForExisting(c, r, req, *look, stream, access, lease))) return ok();
  }

  CreateNotice notice;
  notice.begin(c, req, look);
  auto opened = SD_TRY(share.fs->open(openRequestFor(r, req, access)));
  notice.opened(opened);
  SD_CHECK(completeCreate(c, r, req, opened, access, checked, context_sd, token, lease, durable));
  // A new name, or a file overwritten, changes its directory: its leases break.
  if (opened.create_action != smb2::kFileOpened && !opened.is_stream && look && look->parent_exists &&
      c.state().oplocks().hasDirectoryLeases()) {
    std::optional<LeaseId> parent;
    if (lease && lease->v2 && (lease->lease_flags & smb2::kLeaseFlagParentLeaseKeySet))
      parent = LeaseId{c.negotiated().client_guid, lease->parent_lease_key};
    c.state().oplocks().breakForDirectoryChange(fileKeyOf(look->parent_stat.device, look->parent_stat.file_id),
                                                parent ? &*parent : nullptr);
  }
  return ok();
}

}  // namespace sd::server
