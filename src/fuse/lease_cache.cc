#include "fuse/lease_cache.h"

#include "crypto/random.h"
#include "smb2/constants.h"

namespace sd::fuse {

LeaseCache::Ticket LeaseCache::prepareOpen(Ino ino) {
  std::lock_guard<std::mutex> lk(mu_);
  auto [it, fresh] = of_.try_emplace(ino);
  if (fresh) {
    crypto::randomFill(it->second.key);
    ino_of_key_[it->second.key] = ino;
  }
  return {it->second.key, it->second.handles > 0 && (it->second.state & smb2::kLeaseRead)};
}

uint32_t LeaseCache::opened(Ino ino, uint32_t state, uint16_t epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  Lease& l = of_[ino];
  // A break handled while this CREATE was answered has a later epoch than the grant.
  if (!l.have_epoch || int16_t(uint16_t(epoch - l.epoch)) >= 0) {
    l.state = state;
    l.epoch = epoch;
    l.have_epoch = state != 0;
  }
  l.handles++;
  return l.state;
}

void LeaseCache::closedLocked(Lease& l) {
  if (l.handles) l.handles--;
  if (!l.handles) {
    l.state = 0;
    l.have_epoch = false;
  }
}

void LeaseCache::handleClosed(Ino ino) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = of_.find(ino);
  if (it != of_.end()) closedLocked(it->second);
}

bool LeaseCache::defer(Ino ino, const smb2::FileId& id, uint32_t access, Clock::time_point now) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = of_.find(ino);
  if (closetimeo_.count() <= 0 || it == of_.end() || !(it->second.state & smb2::kLeaseHandle)) return false;
  it->second.deferred.push_back({id, access, now});
  return true;
}

std::optional<smb2::FileId> LeaseCache::takeDeferred(Ino ino, uint32_t access, bool* covered) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = of_.find(ino);
  if (it == of_.end() || !(it->second.state & smb2::kLeaseHandle)) return std::nullopt;
  auto& d = it->second.deferred;
  for (size_t i = 0; i < d.size(); i++) {
    if ((d[i].access & access) != access) continue;
    smb2::FileId id = d[i].id;
    d.erase(d.begin() + ptrdiff_t(i));
    *covered = (it->second.state & smb2::kLeaseRead) != 0;
    reused_++;
    return id;
  }
  return std::nullopt;
}

std::vector<smb2::FileId> LeaseCache::takeAllDeferred(Ino ino) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<smb2::FileId> ids;
  auto it = of_.find(ino);
  if (it == of_.end()) return ids;
  for (auto& d : it->second.deferred) ids.push_back(d.id);
  it->second.deferred.clear();
  return ids;
}

std::vector<std::pair<Ino, smb2::FileId>> LeaseCache::takeExpired(Clock::time_point now, Clock::time_point* next) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::pair<Ino, smb2::FileId>> out;
  for (auto& [ino, l] : of_) {
    for (size_t i = 0; i < l.deferred.size();) {
      auto due = l.deferred[i].since + closetimeo_;
      if (due <= now) {
        out.emplace_back(ino, l.deferred[i].id);
        l.deferred.erase(l.deferred.begin() + ptrdiff_t(i));
      } else {
        *next = std::min(*next, due);
        i++;
      }
    }
  }
  return out;
}

LeaseCache::BreakEffect LeaseCache::applyBreak(const smb2::LeaseKey& key, uint32_t new_state, uint16_t new_epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  BreakEffect e;
  auto k = ino_of_key_.find(key);
  if (k == ino_of_key_.end()) return e;
  e.ino = k->second;
  Lease& l = of_[k->second];
  e.drop_cache = (l.state & smb2::kLeaseRead) && !(new_state & smb2::kLeaseRead);
  l.state &= new_state;
  l.epoch = new_epoch;
  l.have_epoch = true;
  // Every break closes the kept handles, not only one that takes H: a kept handle would, e.g.,
  // keep a file another client deleted (delete on close) on the server until closetimeo (Samba
  // breaks only W for that open).
  for (auto& d : l.deferred) e.to_close.push_back(d.id);
  l.deferred.clear();
  return e;
}

bool LeaseCache::hasHandles(Ino ino) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = of_.find(ino);
  return it != of_.end() && it->second.handles > 0;
}

std::vector<Ino> LeaseCache::forgetAll() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Ino> out;
  for (auto& [ino, l] : of_) {
    out.push_back(ino);
    l.deferred.clear();
    l.handles = 0;
    l.state = 0;
    l.have_epoch = false;
  }
  return out;
}

std::vector<Ino> LeaseCache::inos() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Ino> out;
  for (auto& [ino, l] : of_) out.push_back(ino);
  return out;
}

LeaseCache::Counts LeaseCache::counts() const {
  std::lock_guard<std::mutex> lk(mu_);
  Counts c;
  for (auto& [ino, l] : of_) {
    c.held += l.state != 0;
    c.deferred += l.deferred.size();
  }
  c.reused = reused_;
  return c;
}

}  // namespace sd::fuse
