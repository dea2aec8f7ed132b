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
  // MS-SMB2 3.3.5.7: on 3.1.1 a non-anonymous, non-guest TREE_CONNECT must be signed or
  // encrypted, which proves the preauth-protected session key to the server.
  if (c.negotiated().dialect == smb2::kDialect311 && !s.anonymous && !s.guest && !r.encrypted &&
      !(r.hdr.flags & smb2::kFlagSigned))
    return err(NtStatus::kAccessDenied, "unsigned 3.1.1 TREE_CONNECT");
  if (!share->ipc && !config::hostAllowed(share->cfg.hosts_allow, share->cfg.hosts_deny,
                                          c.transport().info().peer)) {
    LOG_INFO("%s: refused on share '%s' by its hosts allow / hosts deny",
             c.transport().info().peer.c_str(), name.c_str());
    return err(NtStatus::kAccessDenied, "host refused by the share");
  }
  auto access = config::shareAccessFor(share->cfg, s.user, s.guest || s.anonymous,
                                       groupCheckFor(s.identity));
  if (!share->ipc && !access.allowed) {
    LOG_INFO("%s: user '%s' refused on share '%s'", c.transport().info().peer.c_str(),
             s.user.c_str(), name.c_str());
    return err(NtStatus::kAccessDenied, "share access refused");
  }
  auto identity = treeIdentity(share->cfg, s.identity, access.admin);
  if (!identity) return err(NtStatus::kAccessDenied, "share identity");
  auto tree = std::make_shared<TreeConnect>();
  tree->share = share;
  tree->identity = std::move(*identity);
  tree->read_only = share->ipc ? false : access.read_only;
  tree->maximal_access = tree->read_only ? smb2::kFileGenericRead | smb2::kFileGenericExecute
                                         : smb2::kFileAllAccess;
  const auto& g = c.state().global();
  tree->encrypt = !share->ipc && g.smb3_encryption == config::Encryption::kMandatory &&
                  c.negotiated().cipher != 0;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    tree->tree_id = s.next_tree_id++;
    s.trees[tree->tree_id] = tree;
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
