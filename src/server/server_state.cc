#include "server/server_state.h"

#include <algorithm>

#include "config/hosts.h"

#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "crypto/random.h"
#include "server/connection.h"
#include "server/session.h"
#include "server/transport.h"

namespace sd::server {

ServerState::ServerState()
    : durables_([this](const std::shared_ptr<Open>& o) { endOpen(*this, o); }) {
  Bytes g = crypto::randomBytes(16);
  std::copy(g.begin(), g.end(), server_guid_.begin());
  Bytes salt = crypto::randomBytes(8);
  session_salt_ = le64(salt.data());
  start_time_ = filetimeNow();
}

ServerState::~ServerState() {
  {
    std::lock_guard<std::mutex> lk(unauth_mu_);
    unauth_stop_ = true;
  }
  unauth_cv_.notify_all();
  if (unauth_thread_.joinable()) unauth_thread_.join();
}

namespace {
// "addr:port" or "[v6]:port" -> "addr" / "v6".
std::string peerAddress(std::string_view peer) {
  size_t colon = peer.rfind(':');
  std::string_view a = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  return std::string(a);
}
}  // namespace

std::shared_ptr<void> ServerState::admitConnection(std::string_view peer) {
  uint32_t max_total, max_ip;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    max_total = global_.max_connections;
    max_ip = global_.max_ip_connections;
  }
  std::string addr = peerAddress(peer);
  std::lock_guard<std::mutex> lk(conn_mu_);
  uint32_t& from_addr = connections_by_address_[addr];
  if ((max_total && connections_ >= max_total) || (max_ip && from_addr >= max_ip)) {
    LOG_WARN("refusing connection from %.*s: %s (%u) reached", int(peer.size()), peer.data(),
             max_total && connections_ >= max_total ? "max connections" : "max ip connections",
             max_total && connections_ >= max_total ? max_total : max_ip);
    if (from_addr == 0) connections_by_address_.erase(addr);
    return nullptr;
  }
  connections_++;
  from_addr++;
  // (The state itself as the pointer: a null one would read as a refusal.)
  return std::shared_ptr<void>(static_cast<void*>(this), [this, addr](void*) {
    std::lock_guard<std::mutex> lk(conn_mu_);
    connections_--;
    auto it = connections_by_address_.find(addr);
    if (it != connections_by_address_.end() && --it->second == 0) connections_by_address_.erase(it);
  });
}

void ServerState::closeUnlessAuthenticated(std::weak_ptr<Transport> transport,
                                           std::shared_ptr<std::atomic<bool>> authenticated) {
  uint32_t seconds;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    seconds = global_.unauthenticated_timeout;
  }
  if (seconds == 0) return;
  std::lock_guard<std::mutex> lk(unauth_mu_);
  // One timeout for all: deadlines arrive in order (a reload that shortens it only delays the
  // connections accepted after it by at most the old timeout).
  unauth_.push_back({std::chrono::steady_clock::now() + std::chrono::seconds(seconds), std::move(transport),
                     std::move(authenticated)});
  if (!unauth_thread_.joinable()) unauth_thread_ = std::thread([this] { closeUnauthenticatedLoop(); });
  unauth_cv_.notify_all();
}

void ServerState::closeUnauthenticatedLoop() {
  std::unique_lock<std::mutex> lk(unauth_mu_);
  while (!unauth_stop_) {
    if (unauth_.empty()) {
      unauth_cv_.wait(lk);
      continue;
    }
    if (std::chrono::steady_clock::now() < unauth_.front().deadline) {
      unauth_cv_.wait_until(lk, unauth_.front().deadline);
      continue;
    }
    Unauthenticated due = std::move(unauth_.front());
    unauth_.pop_front();
    if (due.authenticated->load()) continue;
    auto t = due.transport.lock();
    if (!t) continue;
    lk.unlock();
    LOG_WARN("%s: no session within unauthenticated timeout; closing connection", t->info().peer.c_str());
    t->close();
    t.reset();
    lk.lock();
  }
}

Status ServerState::configure(const config::Config& cfg, UserLookup users) {
  oplocks_.setBreakTimeout(std::chrono::seconds(cfg.global.oplock_break_timeout));
  switch (cfg.global.smb2_leases) {
    case config::Leases::kYes:
      leases_on_ = true;
      if (!local_changes_.available()) LOG_WARN("smb2 leases = yes: clients may read stale data after changes made outside SMB");
      break;
    case config::Leases::kNo: leases_on_ = false; break;
    case config::Leases::kAuto:
      leases_on_ = local_changes_.available();
      if (!leases_on_) LOG_INFO("smb2 leases = auto: no leases are offered (changes made outside SMB cannot be watched)");
      break;
  }
  changes_->setMaxWatches(cfg.global.max_notify_watches);
  locks_.setMaxPerOpen(cfg.global.max_locks_per_open);
  durable_handles_on_ = cfg.global.durable_handles;
  std::map<std::string, std::shared_ptr<ShareRuntime>> shares;
  for (const auto& sc : cfg.shares) {
    auto rt = std::make_shared<ShareRuntime>();
    rt->cfg = sc;
    std::string key = asciiLower(sc.name);
    if (key == "ipc$") {
      rt->ipc = true;
    } else {
      // Keep the already-open root when a reload leaves the share's path unchanged.
      std::shared_ptr<ShareRuntime> old;
      {
        std::shared_lock<std::shared_mutex> lk(mu_);
        auto it = shares_.find(key);
        if (it != shares_.end()) old = it->second;
      }
      vfs::ShareOptions opts;
      opts.case_insensitive = true;
      opts.hide_dot_files = sc.hide_dot_files;
      opts.veto_files = sc.veto_files;
      opts.create_mask = sc.create_mask;
      opts.directory_mask = sc.directory_mask;
      opts.force_create_mode = sc.force_create_mode;
      opts.force_directory_mode = sc.force_directory_mode;
      // Read-only is decided per tree connect (`write list` users may create on a read-only
      // share): CREATE passes it with each open.
      opts.read_only = false;
      auto fs = vfs::Share::open(sc.path, opts);
      if (!fs) {
        LOG_ERROR("share [%s]: cannot open path %s: %s", sc.name.c_str(), sc.path.c_str(),
                  ntStatusName(fs.status()));
        continue;  // the share is unavailable; others still serve
      }
      rt->fs = std::move(*fs);
    }
    shares[key] = rt;
  }
  if (!shares.count("ipc$")) {
    auto ipc = std::make_shared<ShareRuntime>();
    ipc->ipc = true;
    ipc->cfg.name = "IPC$";
    ipc->cfg.comment = "IPC Service";
    ipc->cfg.guest_ok = true;
    ipc->cfg.browseable = false;
    shares["ipc$"] = ipc;
  }
  std::unique_lock<std::shared_mutex> lk(mu_);
  global_ = cfg.global;
  cfg_ = std::make_shared<const config::Config>(cfg);
  shares_ = std::move(shares);
  users_ = std::move(users);
  return ok();
}

std::shared_ptr<const config::Config> ServerState::config() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return cfg_;
}

std::shared_ptr<ShareRuntime> ServerState::findShare(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = shares_.find(asciiLower(name));
  return it == shares_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ShareRuntime>> ServerState::shares() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  std::vector<std::shared_ptr<ShareRuntime>> v;
  for (auto& [k, s] : shares_) v.push_back(s);
  return v;
}

bool ServerState::admitsPeer(std::string_view peer) const {
  auto cfg = config();
  if (!cfg) return true;
  return config::hostAllowed(cfg->global.hosts_allow, cfg->global.hosts_deny, peer);
}

std::optional<std::array<uint8_t, 16>> ServerState::lookupUser(std::string_view user) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (!users_) return std::nullopt;
  return users_(user);
}

std::shared_ptr<Session> ServerState::newSession() {
  uint32_t max_sessions;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    max_sessions = global_.max_active_sessions;
  }
  auto s = std::make_shared<Session>();
  std::lock_guard<std::mutex> lk(sess_mu_);
  if (sessions_.size() >= max_sessions) return nullptr;
  // Session ids: a per-boot salt mixed with a sequence, never 0 or all-ones.
  do {
    uint64_t seq = next_session_seq_.fetch_add(1);
    s->session_id = (seq * 0x9E3779B97F4A7C15ull) ^ session_salt_;
  } while (s->session_id == 0 || s->session_id == ~0ull || sessions_.count(s->session_id));
  sessions_[s->session_id] = s;
  return s;
}

std::shared_ptr<Session> ServerState::findSession(uint64_t id) const {
  std::lock_guard<std::mutex> lk(sess_mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void ServerState::removeSession(uint64_t id) {
  std::lock_guard<std::mutex> lk(sess_mu_);
  sessions_.erase(id);
}

uint32_t ServerState::openCount() const {
  std::lock_guard<std::mutex> lk(open_mu_);
  return uint32_t(opens_.size());
}

void ServerState::addOpen(const std::shared_ptr<Open>& open) {
  std::lock_guard<std::mutex> lk(open_mu_);
  opens_[open->volatile_id] = open;
  if (open->file_key) opens_by_file_.emplace(open->file_key, open->volatile_id);
}

std::shared_ptr<Open> ServerState::findOpen(uint64_t volatile_id) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  auto it = opens_.find(volatile_id);
  return it == opens_.end() ? nullptr : it->second;
}

void ServerState::removeOpen(uint64_t volatile_id) {
  std::lock_guard<std::mutex> lk(open_mu_);
  auto it = opens_.find(volatile_id);
  if (it == opens_.end()) return;
  uint64_t key = it->second->file_key;
  opens_.erase(it);
  auto range = opens_by_file_.equal_range(key);
  for (auto i = range.first; i != range.second; ++i) {
    if (i->second == volatile_id) {
      opens_by_file_.erase(i);
      break;
    }
  }
}

std::vector<std::shared_ptr<Open>> ServerState::opensOfFile(uint64_t file_key) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  std::vector<std::shared_ptr<Open>> v;
  auto range = opens_by_file_.equal_range(file_key);
  for (auto i = range.first; i != range.second; ++i) {
    auto it = opens_.find(i->second);
    if (it != opens_.end()) v.push_back(it->second);
  }
  return v;
}

std::vector<std::shared_ptr<Open>> ServerState::opensOfSession(uint64_t session_id) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  std::vector<std::shared_ptr<Open>> v;
  for (const auto& [id, o] : opens_)
    if (o->session_id == session_id) v.push_back(o);
  return v;
}

namespace {
// MS-FSA 2.1.5.1.2.1 share access check between an existing open and a new one.
constexpr uint32_t kFileReadData = 0x1, kFileWriteData = 0x2, kFileAppendData = 0x4,
                   kFileExecute = 0x20, kDelete = 0x10000;
constexpr uint32_t kShareRead = 1, kShareWrite = 2, kShareDelete = 4;
bool conflicts(uint32_t access_a, uint32_t share_b) {
  if ((access_a & (kFileReadData | kFileExecute)) && !(share_b & kShareRead)) return true;
  if ((access_a & (kFileWriteData | kFileAppendData)) && !(share_b & kShareWrite)) return true;
  if ((access_a & kDelete) && !(share_b & kShareDelete)) return true;
  return false;
}
}  // namespace

bool ServerState::shareModesConflictLocked(uint64_t file_key, bool is_stream, uint32_t access,
                                           uint32_t share_access) const {
  constexpr uint32_t kDataAccess = kFileReadData | kFileWriteData | kFileAppendData |
                                   kFileExecute | kDelete;
  if (!file_key || !(access & kDataAccess)) return false;
  auto range = opens_by_file_.equal_range(file_key);
  for (auto i = range.first; i != range.second; ++i) {
    auto it = opens_.find(i->second);
    if (it == opens_.end()) continue;
    const Open& other = *it->second;
    if (other.is_stream != is_stream) continue;
    if (!(other.granted_access & kDataAccess)) continue;
    if (conflicts(other.granted_access, share_access) || conflicts(access, other.share_access)) return true;
  }
  return false;
}

bool ServerState::shareModesConflict(uint64_t file_key, uint32_t access, uint32_t share_access) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  return shareModesConflictLocked(file_key, false, access, share_access);
}

Status ServerState::admitOpen(const std::shared_ptr<Open>& open) {
  std::lock_guard<std::mutex> lk(open_mu_);
  if (shareModesConflictLocked(open->file_key, open->is_stream, open->granted_access, open->share_access))
    return err(NtStatus::kSharingViolation, "share mode conflict");
  opens_[open->volatile_id] = open;
  if (open->file_key) opens_by_file_.emplace(open->file_key, open->volatile_id);
  return ok();
}

void ServerState::setDeletePending(uint64_t file_key, bool pending) {
  std::lock_guard<std::mutex> lk(open_mu_);
  if (pending) delete_pending_[file_key] = true;
  else delete_pending_.erase(file_key);
}

bool ServerState::isDeletePending(uint64_t file_key) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  return delete_pending_.count(file_key) != 0;
}

void ServerState::addReplayable(const std::shared_ptr<Open>& open) {
  if (!open->durable || !open->durable->v2) return;
  std::lock_guard<std::mutex> lk(replay_mu_);
  replayable_[{open->durable->client_guid, open->durable->create_guid}] = open;
}

std::shared_ptr<Open> ServerState::findReplayable(const std::array<uint8_t, 16>& client_guid,
                                                  const smb2::CreateGuid& create_guid) const {
  std::lock_guard<std::mutex> lk(replay_mu_);
  auto it = replayable_.find({client_guid, create_guid});
  return it == replayable_.end() ? nullptr : it->second.lock();
}

void ServerState::removeReplayable(const Open& open) {
  if (!open.durable || !open.durable->v2) return;
  std::lock_guard<std::mutex> lk(replay_mu_);
  auto it = replayable_.find({open.durable->client_guid, open.durable->create_guid});
  if (it != replayable_.end() && it->second.lock().get() == &open) replayable_.erase(it);
}

void ServerState::attachTree(Open& open, std::shared_ptr<TreeConnect> tree) {
  std::lock_guard<std::mutex> lk(open_mu_);
  open.tree = std::move(tree);
}

void ServerState::renameOpens(uint64_t file_key, const std::string& new_path) {
  std::vector<std::shared_ptr<Open>> v = opensOfFile(file_key);
  for (auto& o : v) o->setPath(new_path);
}

std::vector<std::shared_ptr<Open>> ServerState::opensAtPath(const ShareRuntime* share,
                                                            const std::string& path) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  std::vector<std::shared_ptr<Open>> v;
  for (const auto& [id, o] : opens_)
    if (o->tree && o->tree->share.get() == share && o->path() == path) v.push_back(o);
  return v;
}

namespace {
bool below(const std::string& path, const std::string& dir) {
  std::string prefix = dir.empty() ? "" : dir + "/";
  return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

bool ServerState::hasOpenBelow(const ShareRuntime* share, const std::string& dir) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  for (const auto& [id, o] : opens_)
    if (o->tree && o->tree->share.get() == share && below(o->path(), dir)) return true;
  return false;
}

std::vector<uint64_t> ServerState::fileKeysBelow(const ShareRuntime* share, const std::string& dir) const {
  std::lock_guard<std::mutex> lk(open_mu_);
  std::vector<uint64_t> keys;
  for (const auto& [id, o] : opens_)
    if (o->tree && o->tree->share.get() == share && below(o->path(), dir)) keys.push_back(o->file_key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::array<uint8_t, 24> ServerState::resumeKeyFor(const Open& open) const {
  std::array<uint8_t, 24> k{};
  store64(k.data(), open.persistent_id);
  store64(k.data() + 8, open.volatile_id);
  store64(k.data() + 16, session_salt_);
  return k;
}

std::shared_ptr<Open> ServerState::findOpenByResumeKey(const std::array<uint8_t, 24>& key) const {
  if (le64(key.data() + 16) != session_salt_) return nullptr;
  std::lock_guard<std::mutex> lk(open_mu_);
  auto it = opens_.find(le64(key.data() + 8));
  if (it == opens_.end() || it->second->persistent_id != le64(key.data())) return nullptr;
  return it->second;
}

}  // namespace sd::server
