// Directory leases broken by changes made through SMB inside a directory (MS-SMB2 3.3.4.7 with
// MS-FSA 2.1.5.x's parent-directory oplock breaks, as Windows Server does them; smbtorture
// smb2.lease.v2_request, smb2.dirlease.*): a name created, deleted or renamed in or out, a
// child's attributes, size or times set, a child's data written (at its close). The lease
// named by the changing open's ParentLeaseKey (the same client's) is not broken. Changes made
// outside SMB break no directory lease. Called on the request's thread, as its identity (the
// parent is found by path beneath the share).
#pragma once
#include <optional>
#include <string>

#include "server/oplock_table.h"
#include "server/server_state.h"

namespace sd::server {

struct Open;

// The leases of the directory holding `path` (share-relative) break, except `parent`. Nothing
// is looked up while no directory lease is held anywhere.
void breakParentDirectoryLeases(ServerState& state, vfs::Share& fs, const std::string& path,
                                const std::optional<LeaseId>& parent);
// The same for the directory holding the file `open` names now, with its ParentLeaseKey.
void breakParentDirectoryLeases(ServerState& state, const Open& open);

}  // namespace sd::server
