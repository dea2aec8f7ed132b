// TREE_CONNECT and TREE_DISCONNECT (MS-SMB2 3.3.5.7, 3.3.5.8): share lookup, access checks
// (valid/invalid users, read/write lists, guest ok), IPC$.
#include "base/log.h"
#include "base/text.h"
#include "config/access.h"
#include "config/hosts.h"
#include "server/connection.h"
#include "server/unix_identity.h"
#include "smb2/constants.h"
#include "smb2/header.h"
#include "smb2/tree_connect.h"
#include "smb2/tree_disconnect.h"

namespace sd::server {

namespace {
// "\\server\share" -> "share"
std::string_view shareNameOf(std::string_view path) {
  auto p = path.find_last_of('\\');
  return p == std::string_view::npos ? path : path.substr(p + 1);
}
}  // namespace

Result<std::shared_ptr<TreeConnect>> treeFor(Connection& c, const std::shared_ptr<ShareRuntime>& share,
                                              const std::shared_ptr<const SessionUser>& who, bool reauth) {
  const bool guest = who->guest || who->anonymous;
  auto access = config::shareAccessFor(share->cfg, who->user, guest, groupCheckFor(who->identity));
  // `guest ok` is asked when a tree is connected, not when its session re-authenticates (as
  // Samba does): a guest or anonymous user keeps a tree of a share that names no valid users.
  if (reauth && guest && !access.allowed && share->cfg.available && share->cfg.valid_users.empty()) {
    access.allowed = true;
    access.read_only = share->cfg.read_only;
  }
  if (!share->ipc && !access.allowed) {
    LOG_INFO("%s: user '%s' refused on share '%s'", c.transport().info().peer.c_str(), who->user.c_str(),
             share->cfg.name.c_str());
    return err(NtStatus::kAccessDenied, "share access refused");
  }
  auto identity = treeIdentity(share->cfg, who->identity, access.admin);
  if (!identity) return err(NtStatus::kAccessDenied, "share identity");
  auto tree = std::make_shared<TreeConnect>();
  tree->share = share;
  tree->identity = std::move(*identity);
  tree->user = who;
  tree->read_only = share->ipc ? false : access.read_only;
  tree->maximal_access = tree->read_only ? smb2::kFileGenericRead | smb2::kFileGenericExecute
                                         : smb2::kFileAllAccess;
  const auto& g = c.state().global();
  tree->encrypt = !share->ipc && g.smb3_encryption == config::Encryption::kMandatory &&
                  c.negotiated().cipher != 0;
  return tree;
}

Status handleTreeConnect(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeTreeConnectRequest(r.msg));
  std::string name(shareNameOf(req.path));
  auto share = c.state().findShare(name);
  if (!share || (!share->ipc && !share->fs)) {
    LOG_INFO("%s: tree connect to unknown share '%s'", c.transport().info().peer.c_str(),
             name.c_str());
    return err(NtStatus::kBadNetworkName, "no such share");
  }
  auto& s = *r.session;
  auto who = s.who();
  // MS-SMB2 3.3.5.7: on 3.1.1 a non-anonymous, non-guest TREE_CONNECT must be signed or
  // encrypted, which proves the preauth-protected session key to the server.
  if (c.negotiated().dialect == smb2::kDialect311 && !who->anonymous && !who->guest && !r.encrypted &&
      !(r.hdr.flags & smb2::kFlagSigned))
    return err(NtStatus::kAccessDenied, "unsigned 3.1.1 TREE_CONNECT");
  if (!share->ipc && !config::hostAllowed(share->cfg.hosts_allow, share->cfg.hosts_deny,
                                          c.transport().info().peer)) {
    LOG_INFO("%s: refused on share '%s' by its hosts allow / hosts deny",
             c.transport().info().peer.c_str(), name.c_str());
    return err(NtStatus::kAccessDenied, "host refused by the share");
  }
  std::shared_ptr<TreeConnect> tree;
  for (;;) {
    tree = SD_TRY(treeFor(c, share, who, false));
    std::lock_guard<std::mutex> lk(s.mu);
    // The session re-authenticated meanwhile (on another channel): made again for its new user,
    // so that no tree of the old user joins the new user's session.
    if (s.current_user && s.current_user != who) {
      who = s.current_user;
      continue;
    }
    if (s.trees.size() >= c.state().global().max_trees_per_session)
      return err(NtStatus::kInsufficientResources, "max trees per session");
    tree->tree_id = s.next_tree_id++;
    s.trees[tree->tree_id] = tree;
    break;
  }
  r.hdr.tree_id = tree->tree_id;
  r.tree = tree;

  smb2::TreeConnectResponse resp;
  resp.share_type = share->ipc ? smb2::kShareTypePipe : smb2::kShareTypeDisk;
  resp.share_flags = smb2::kShareFlagNoCaching;  // manual caching off, as ksmbd defaults
  if (tree->encrypt) resp.share_flags |= smb2::kShareFlagEncryptData;
  resp.capabilities = 0;
  resp.maximal_access = tree->maximal_access;
  smb2::encodeTreeConnectResponse(resp, r.out);
  LOG_DEBUG("%s: tree %u -> [%s]%s, acting as %s", c.transport().info().peer.c_str(),
            tree->tree_id, share->cfg.name.c_str(), tree->read_only ? " (read only)" : "",
            tree->identity ? tree->identity->name.c_str() : "the server's account");
  return ok();
}

Status handleTreeDisconnect(Connection& c, Request& r) {
  SD_TRY(smb2::decodeTreeDisconnectRequest(r.msg));
  c.closeTreeOpens(r.session->session_id, r.tree->tree_id);
  {
    std::lock_guard<std::mutex> lk(r.session->mu);
    r.session->trees.erase(r.tree->tree_id);
  }
  smb2::encodeTreeDisconnectResponse(smb2::TreeDisconnectResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
