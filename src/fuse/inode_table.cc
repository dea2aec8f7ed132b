#include "fuse/inode_table.h"

namespace sd::fuse {

namespace {
bool atOrBelow(const std::string& q, const std::string& p) {
  return q == p || p.empty() || (q.size() > p.size() && q.compare(0, p.size(), p) == 0 && q[p.size()] == '/');
}
}  // namespace

std::optional<std::string> InodeTable::pathOf(Ino ino) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = paths_.find(ino);
  if (it == paths_.end()) return std::nullopt;
  return it->second;
}

Ino InodeTable::inoFor(const std::string& p) {
  std::lock_guard<std::mutex> lk(mu_);
  auto [it, fresh] = inos_.try_emplace(p, next_);
  if (fresh) paths_[next_++] = p;
  return it->second;
}

std::optional<Ino> InodeTable::knownIno(const std::string& p) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = inos_.find(p);
  if (it == inos_.end()) return std::nullopt;
  return it->second;
}

std::vector<Ino> InodeTable::knownInosFrom(const std::string& p) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Ino> out;
  for (auto& [q, i] : inos_)
    if (atOrBelow(q, p)) out.push_back(i);
  return out;
}

std::optional<std::string> InodeTable::child(Ino parent, std::string_view name) const {
  auto p = pathOf(parent);
  if (!p) return std::nullopt;
  return p->empty() ? std::string(name) : *p + "/" + std::string(name);
}

void InodeTable::rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::pair<std::string, Ino>> moved;
  for (auto& [p, i] : inos_)
    if (!from.empty() && atOrBelow(p, from)) moved.emplace_back(p, i);
  for (auto& [p, i] : moved) inos_.erase(p);
  for (auto& [p, i] : moved) {
    std::string np = to + p.substr(from.size());
    auto old = inos_.find(np);
    if (old != inos_.end()) paths_.erase(old->second);
    inos_[np] = i;
    paths_[i] = np;
  }
}

std::vector<std::pair<Ino, std::string>> InodeTable::all() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {paths_.begin(), paths_.end()};
}

std::pair<std::string, std::string> splitParent(std::string_view p) {
  auto slash = p.rfind('/');
  if (slash == std::string_view::npos) return {std::string(), std::string(p)};
  return {std::string(p.substr(0, slash)), std::string(p.substr(slash + 1))};
}

}  // namespace sd::fuse
