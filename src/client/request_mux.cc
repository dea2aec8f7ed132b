// The request multiplexer: MessageIds and credits, requests signed or sealed and written under
// the send lock, responses read by one thread at a time (leader/follower) and filed by
// MessageId, the idle receiver that reads breaks while nobody waits, CANCEL and AsyncIds.
#include <algorithm>
#include <cerrno>
#include <chrono>

#include "client/client_internal.h"
#include "client/smb_client.h"
#include "client/transport.h"
#include "smb2/cancel.h"
#include "smb2/compound.h"
#include "smb2/frame.h"
#include "smb2/security.h"

namespace sd::client {

using internal::isOkStatus;
using internal::kCreditRequest;

// The transport's bytes; before connect (no transport) every read and write fails as on a
// closed descriptor.
Status SmbClient::writeMessage(ByteView a, ByteView b) {
  if (!transport_) return err(ntStatusFromErrno(EBADF), "send");
  return transport_->send(a, b);
}

Result<Bytes> SmbClient::readMessage(int timeout_ms) {
  if (!transport_) return err(ntStatusFromErrno(EBADF), "recv");
  Bytes m = SD_TRY(transport_->receive(timeout_ms));
  if (smb2::isTransformHeader(m)) {
    if (s2c_key_.empty()) return fatal(NtStatus::kInvalidNetworkResponse, "unexpected encryption");
    return smb2::decryptMessage(info_.cipher, s2c_key_, m);
  }
  return m;
}

Status SmbClient::takeCredits(uint16_t charge) {
  // Without LARGE_MTU or before the first grant a charge is 1; the server's window counts.
  for (;;) {
    uint32_t have = credits_.load(std::memory_order_relaxed);
    if (have >= charge) {
      if (credits_.compare_exchange_weak(have, have - charge, std::memory_order_relaxed)) return ok();
      continue;
    }
    std::unique_lock<std::mutex> lk(mu_);
    if (outstanding_ == 0) {
      // Nothing will return credits: send on what we have (the server grants at least one per
      // response, so this only happens before the first grant or after an error).
      credits_.store(0, std::memory_order_relaxed);
      return ok();
    }
    SD_CHECK(waitUntil(lk, [&] { return credits_.load(std::memory_order_relaxed) >= charge || outstanding_ == 0; }));
  }
}

uint16_t SmbClient::creditCharge(uint32_t charge_bytes) const {
  uint16_t charge = uint16_t(charge_bytes ? (charge_bytes - 1) / 65536 + 1 : 1);
  if (!(capabilities_ & smb2::kCapLargeMtu)) charge = 1;
  return charge;
}

Bytes SmbClient::encodeRequest(smb2::Command cmd, uint16_t charge, uint16_t credit_charge, uint32_t flags,
                               const std::function<void(ByteWriter&)>& body) {
  smb2::Header h;
  h.command = cmd;
  h.credit_charge = credit_charge;
  h.credit = kCreditRequest;
  h.message_id = next_message_id_;
  h.session_id = session_id_;
  h.tree_id = tree_id_;
  h.process_id = 0xFEFF;
  h.flags = flags | (replay_.load(std::memory_order_relaxed) ? smb2::kFlagReplayOperation : 0);
  ByteWriter w;
  smb2::encodeHeader(h, w);
  body(w);
  next_message_id_ += charge;
  if (uint16_t(cmd) < cmd_sent_.size()) cmd_sent_[uint16_t(cmd)].fetch_add(1, std::memory_order_relaxed);
  return w.take();
}

Status SmbClient::sendRequest(smb2::Command cmd, const std::function<void(ByteWriter&)>& body,
                              uint32_t charge_bytes, uint64_t* message_id, ByteView extra) {
  uint16_t charge = creditCharge(charge_bytes);
  std::lock_guard<std::mutex> send_lock(send_mu_);
  if (info_.dialect) SD_CHECK(takeCredits(charge));
  *message_id = next_message_id_;
  Bytes m = encodeRequest(cmd, charge, info_.dialect ? charge : 0, 0, body);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (broken_) return *broken_;
    outstanding_++;
  }
  auto sent = [&](Status st) {
    if (!st) {
      // A request that did not go out entirely leaves the stream unusable.
      std::lock_guard<std::mutex> lk(mu_);
      outstanding_--;
      if (!broken_) broken_ = fatal(connectionLost(st.status()) ? st.status() : NtStatus::kConnectionDisconnected,
                                    "send failed");
      cv_.notify_all();
    }
    return st;
  };
  bool can_sign = !signing_key_.empty() && session_id_ != 0;
  if (encrypt_all_ && !c2s_key_.empty()) {
    Bytes plain = std::move(m);
    plain.insert(plain.end(), extra.begin(), extra.end());
    Bytes enc = smb2::encryptMessage(info_.cipher, c2s_key_, session_id_, plain);
    return sent(writeMessage(enc));
  }
  // 3.1.1 requires TREE_CONNECT to be signed whatever the signing policy (MS-SMB2 3.2.4.2.4).
  bool sign_this = sign_all_ || (cmd == smb2::Command::kTreeConnect && info_.dialect == smb2::kDialect311);
  if (can_sign && sign_this) {
    if (!extra.empty()) {
      Bytes plain = std::move(m);
      plain.insert(plain.end(), extra.begin(), extra.end());
      smb2::signMessage(info_.signing_algorithm, signing_key_, plain);
      return sent(writeMessage(plain));
    }
    smb2::signMessage(info_.signing_algorithm, signing_key_, m);
  }
  return sent(writeMessage(m, extra));
}

Status SmbClient::receiveOne(int timeout_ms) {
  auto got = readMessage(timeout_ms);
  if (!got) return got.error();
  Bytes m = std::move(*got);
  auto hr = smb2::decodeHeader(m);
  if (!hr) return fatal(NtStatus::kInvalidNetworkResponse, "bad SMB2 header");
  const smb2::Header& h = *hr;
  if (h.message_id == smb2::kUnsolicitedMessageId && !h.next_command) {
    // A break notification (MS-SMB2 3.2.5.19): no request waits for it. It may come unsigned
    // (it belongs to no request); a signed one must verify.
    if ((h.flags & smb2::kFlagSigned) && !signing_key_.empty() && h.session_id == session_id_ &&
        !smb2::verifySignature(info_.signing_algorithm, signing_key_, m))
      return fatal(NtStatus::kAccessDenied, "bad signature on a break notification");
    if (h.credit) {
      std::lock_guard<std::mutex> lk(mu_);
      credits_.fetch_add(h.credit, std::memory_order_relaxed);
      cv_.notify_all();
    }
    if (h.command == smb2::Command::kOplockBreak) onUnsolicited(m);
    return ok();
  }
  // What to file under h.message_id: the message, or the reason it cannot be trusted.
  Result<Bytes> out = err(NtStatus::kInvalidNetworkResponse, "");
  size_t parts = 1;
  uint32_t granted = 0;
  bool interim = false;
  auto check = [&](const smb2::Header& ph, ByteView part) -> Status {
    granted += ph.credit;
    if (!isOkStatus(ph.status) && ph.status != toWire(NtStatus::kPending) && uint16_t(ph.command) < cmd_failed_.size())
      cmd_failed_[uint16_t(ph.command)].fetch_add(1, std::memory_order_relaxed);
    if ((ph.flags & smb2::kFlagSigned) && !signing_key_.empty() &&
        !smb2::verifySignature(info_.signing_algorithm, signing_key_, part))
      return fatal(NtStatus::kAccessDenied, "bad signature from server");
    if (sign_all_ && !encrypt_all_ && !(ph.flags & smb2::kFlagSigned) && session_id_ && !signing_key_.empty() &&
        ph.status == 0)
      return fatal(NtStatus::kAccessDenied, "server response not signed");
    return ok();
  };
  if (h.next_command) {
    // A compound response: every part must verify; credits of every part count.
    auto split = smb2::splitCompound(m);
    if (!split) return fatal(NtStatus::kInvalidNetworkResponse, "bad compound response");
    parts = split->size();
    Status st = ok();
    for (ByteView part : *split) {
      auto ph = smb2::decodeHeader(part);
      if (!ph) {
        st = fatal(NtStatus::kInvalidNetworkResponse, "bad compound part");
        break;
      }
      Status c = check(*ph, part);
      if (!c && st) st = c;
    }
    if (st) out = std::move(m);
    else out = st.error();
  } else {
    // An interim STATUS_PENDING (MS-SMB2 3.2.5.1.5) grants credits; the final response follows.
    interim = (h.flags & smb2::kFlagAsyncCommand) && h.status == toWire(NtStatus::kPending);
    Status c = check(h, m);
    if (c) out = std::move(m);
    else out = c.error();
  }
  std::lock_guard<std::mutex> lk(mu_);
  credits_.fetch_add(granted, std::memory_order_relaxed);
  if (interim) async_ids_[h.message_id] = h.async_id;
  else if (!async_ids_.empty()) async_ids_.erase(h.message_id);
  if (!interim) {
    outstanding_ -= std::min<uint32_t>(outstanding_, uint32_t(parts));
    if (abandoned_.erase(h.message_id) == 0) early_.insert_or_assign(h.message_id, std::move(out));
  }
  cv_.notify_all();
  return ok();
}

Status SmbClient::waitUntil(std::unique_lock<std::mutex>& lk, const std::function<bool()>& done, int timeout_ms) {
  // Counted so that the idle receiver leaves the transport to us.
  waiters_++;
  struct Leave {
    SmbClient* c;
    ~Leave() {
      c->waiters_--;
      if (c->idle_thread_running_) c->last_busy_ = std::chrono::steady_clock::now();
    }
  } leave{this};
  const int conn_timeout = opts_.timeout_ms > 0 ? opts_.timeout_ms : 15000;
  const bool own_timeout = timeout_ms >= 0 && timeout_ms < conn_timeout;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(own_timeout ? timeout_ms : conn_timeout);
  for (;;) {
    if (done()) return ok();
    if (broken_) return *broken_;
    if (receiving_) {
      if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && !done() && !broken_)
        return err(NtStatus::kIoTimeout, "no response from the server");
      continue;
    }
    // Nobody reads: this thread does, for everyone, until what it waits for has arrived.
    int wait_ms = -1;
    if (own_timeout) {
      // A shorter wait than the connection's: only until the deadline, and never inside a
      // message (on TCP the line is polled first; a read inside a frame may not time out).
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      wait_ms = int(std::max<int64_t>(0, left.count()));
    }
    receiving_ = true;
    lk.unlock();
    Status st = ok();
    if (wait_ms >= 0 && linePollable() && !waitReadable(wait_ms)) st = err(NtStatus::kIoTimeout, "no response yet");
    else st = receiveOne(wait_ms);
    lk.lock();
    receiving_ = false;
    cv_.notify_all();
    if (!st) {
      // A quiet line between messages only times this caller out; anything else (closed, reset,
      // a message we cannot frame or decrypt) ends the connection for every caller.
      if (st.status() == NtStatus::kIoTimeout) return st;
      if (!broken_) broken_ = st.error();
      return *broken_;
    }
  }
}

Result<Bytes> SmbClient::receiveResponse(uint64_t message_id) {
  std::unique_lock<std::mutex> lk(mu_);
  Status st = waitUntil(lk, [&] { return early_.count(message_id) != 0; });
  if (!st) {
    // Its response may still come: drop it then, rather than keep it forever.
    if (!early_.erase(message_id)) abandoned_.insert(message_id);
    return st.error();
  }
  auto it = early_.find(message_id);
  Result<Bytes> m = std::move(it->second);
  early_.erase(it);
  return m;
}

Result<std::vector<Bytes>> SmbClient::compound(const std::vector<Part>& parts) {
  Bytes chain;
  std::vector<size_t> starts;
  uint64_t first_id;
  {
    std::lock_guard<std::mutex> send_lock(send_mu_);
    first_id = next_message_id_;
    for (size_t i = 0; i < parts.size(); i++) {
      const Part& p = parts[i];
      uint16_t charge = creditCharge(p.charge_bytes);
      SD_CHECK(takeCredits(charge));
      Bytes m = encodeRequest(p.cmd, charge, charge, i > 0 ? smb2::kFlagRelatedOperations : 0, p.body);
      if (i + 1 < parts.size()) {
        m.resize((m.size() + 7) & ~size_t(7));  // each but the last is padded to 8 bytes
        store32(m.data() + smb2::kOffNextCommand, uint32_t(m.size()));
      }
      // Each request of a chain is signed on its own, padding included (MS-SMB2 3.2.4.1.4).
      if (sign_all_ && !encrypt_all_ && !signing_key_.empty() && session_id_)
        smb2::signMessage(info_.signing_algorithm, signing_key_, m);
      starts.push_back(chain.size());
      chain.insert(chain.end(), m.begin(), m.end());
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (broken_) return *broken_;
      outstanding_ += uint32_t(parts.size());
    }
    Status st = encrypt_all_ && !c2s_key_.empty()
                    ? writeMessage(smb2::encryptMessage(info_.cipher, c2s_key_, session_id_, chain))
                    : writeMessage(chain);
    if (!st) {
      std::lock_guard<std::mutex> lk(mu_);
      outstanding_ -= std::min<uint32_t>(outstanding_, uint32_t(parts.size()));
      if (!broken_) broken_ = fatal(connectionLost(st.status()) ? st.status() : NtStatus::kConnectionDisconnected,
                                    "send failed");
      cv_.notify_all();
      return st.error();
    }
  }
  // The server answers the chain in one message (or, if it splits it, message by message).
  std::vector<Bytes> out;
  for (int guard = 0; guard < 100 && out.size() < parts.size(); guard++) {
    Bytes m = SD_TRY(receiveResponse(first_id + out.size()));
    auto split = SD_TRY(smb2::splitCompound(m, parts.size()));
    for (ByteView v : split) out.emplace_back(v.begin(), v.end());
  }
  if (out.size() != parts.size()) return fatal(NtStatus::kInvalidNetworkResponse, "compound answered in part");
  return out;
}

Result<Bytes> SmbClient::transact(smb2::Command cmd, const std::function<void(ByteWriter&)>& body,
                                  uint32_t charge_bytes) {
  uint64_t id;
  SD_CHECK(sendRequest(cmd, body, charge_bytes, &id));
  Bytes m = SD_TRY(receiveResponse(id));
  uint32_t status = le32(m.data() + smb2::kOffStatus);
  if (!isOkStatus(status)) return err(NtStatus(status), smb2::commandName(uint16_t(cmd)));
  return m;
}

void SmbClient::startIdleReceiver() {
  std::lock_guard<std::mutex> lk(idle_mu_);
  if (idle_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> l2(mu_);
    idle_stop_ = false;
    idle_thread_running_ = true;
    last_busy_ = std::chrono::steady_clock::now();
  }
  idle_thread_ = std::thread([this] { idleLoop(); });
}

void SmbClient::stopIdleReceiver() {
  std::lock_guard<std::mutex> lk(idle_mu_);
  if (!idle_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> l2(mu_);
    idle_stop_ = true;
    idle_cv_.notify_all();
  }
  idle_thread_.join();
  std::lock_guard<std::mutex> l2(mu_);
  idle_thread_running_ = false;
}

// Without a transport, a poll of no descriptor: "readable", and the read fails.
bool SmbClient::waitReadable(int timeout_ms) { return !transport_ || transport_->waitReadable(timeout_ms); }

bool SmbClient::linePollable() const { return !transport_ || transport_->pollable(); }

// The receiver role is taken only when nobody waits (waiters_ == 0), nobody reads, and no
// caller has waited for kQuiet: while requests come and go their callers read every message
// (breaks included) and this thread stays asleep, woken by nothing but its own timer (it has
// its own condition variable: the callers' wake-ups would cost a context switch per response).
// On TCP the line is then polled without the role, so a caller that comes finds it free; SMB
// Direct has no descriptor to poll, so there the role is held for short receives (the first
// caller after a quiet spell gets its response from this thread). Each pass waits at most
// kIdlePollMs, so stopping takes at most that long.
void SmbClient::idleLoop() {
  constexpr int kIdlePollMs = 100;
  constexpr auto kQuiet = std::chrono::milliseconds(20);
  std::unique_lock<std::mutex> lk(mu_);
  while (!idle_stop_) {
    auto now = std::chrono::steady_clock::now();
    if (broken_ || receiving_ || waiters_ > 0) {
      idle_cv_.wait_until(lk, now + kQuiet);
      continue;
    }
    if (now - last_busy_ < kQuiet) {
      idle_cv_.wait_until(lk, last_busy_ + kQuiet);
      continue;
    }
    if (linePollable()) {
      lk.unlock();
      bool readable = waitReadable(kIdlePollMs);
      lk.lock();
      if (!readable || idle_stop_ || broken_ || receiving_ || waiters_ > 0) continue;
      // A caller may have read what woke us while we took the lock: read only if still there.
      lk.unlock();
      readable = waitReadable(0);
      lk.lock();
      if (!readable || idle_stop_ || broken_ || receiving_ || waiters_ > 0) continue;
    }
    receiving_ = true;
    lk.unlock();
    Status st = receiveOne(linePollable() ? -1 : kIdlePollMs);
    lk.lock();
    receiving_ = false;
    cv_.notify_all();
    if (!st && st.status() != NtStatus::kIoTimeout && !broken_) broken_ = st.error();
  }
}

std::optional<uint64_t> SmbClient::asyncIdOf(uint64_t message_id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = async_ids_.find(message_id);
  if (it == async_ids_.end()) return std::nullopt;
  return it->second;
}

Status SmbClient::cancel(uint64_t message_id) { return sendCancel(message_id, asyncIdOf(message_id)); }

Status SmbClient::cancelAsync(uint64_t async_id) { return sendCancel(0, async_id); }

Result<size_t> SmbClient::cancelAllAsync() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (broken_) return *broken_;
    for (const auto& [message_id, async_id] : async_ids_) ids.push_back(message_id);
  }
  for (uint64_t m : ids) SD_CHECK(cancel(m));
  return ids.size();
}

Status SmbClient::sendCancel(uint64_t message_id, std::optional<uint64_t> async_id) {
  // MS-SMB2 3.2.4.24: no credits, the MessageId of the request it cancels, no response.
  smb2::Header h;
  h.command = smb2::Command::kCancel;
  h.message_id = message_id;
  h.session_id = session_id_;
  if (async_id) {
    h.flags |= smb2::kFlagAsyncCommand;
    h.async_id = *async_id;
  } else {
    h.tree_id = tree_id_;
    h.process_id = 0xFEFF;
  }
  ByteWriter w;
  smb2::encodeHeader(h, w);
  smb2::encodeCancelRequest(smb2::CancelRequest{}, w);
  std::lock_guard<std::mutex> send_lock(send_mu_);
  if (encrypt_all_ && !c2s_key_.empty())
    return writeMessage(smb2::encryptMessage(info_.cipher, c2s_key_, session_id_, w.buf()));
  if (sign_all_ && !signing_key_.empty() && session_id_) smb2::signMessage(info_.signing_algorithm, signing_key_, w.buf());
  return writeMessage(w.buf());
}

}  // namespace sd::client
