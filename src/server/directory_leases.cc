#include "server/directory_leases.h"

#include "server/session.h"

namespace sd::server {

void breakParentDirectoryLeases(ServerState& state, vfs::Share& fs, const std::string& path,
                                const std::optional<LeaseId>& parent) {
  if (!state.oplocks().hasDirectoryLeases()) return;
  // A stream's changes are its file's: the directory's listing shows none of them.
  if (path.find(':') != std::string::npos) return;
  auto id = fs.parentId(path);
  if (!id) return;  // the parent went away meanwhile: nobody holds a lease on it any more
  state.oplocks().breakForDirectoryChange(fileKeyOf(id->first, id->second), parent ? &*parent : nullptr);
}

void breakParentDirectoryLeases(ServerState& state, const Open& open) {
  if (open.is_stream || !open.tree || !open.tree->share || !open.tree->share->fs) return;
  breakParentDirectoryLeases(state, *open.tree->share->fs, open.path(), open.parent_lease);
}

}  // namespace sd::server
