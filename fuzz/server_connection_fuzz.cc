// Stateful fuzzing of the server core (issue: hostile sequences from an authenticated client).
// Every input runs on a new server Connection (sans-I/O, with a transport that keeps what the
// server sends) after the harness itself has negotiated SMB 3.0.2, authenticated with a real
// NTLMv2 exchange (the server's challenge is fresh each time) and connected the tree [share]
// of a scratch directory; the server state (shares, open table, oplocks, leases, durable opens,
// locks) lives across inputs, as in a running server.
//
// Input: records of [u16 length, little-endian][u8 fixups][length bytes: one SMB2 message or
// compound chain]. Fixups make a mutated message reach deep code: 1 = the first header's
// SessionId, 2 = its TreeId, 4 = its MessageId (the next the credit window expects), 8 = each
// 16-byte "FID!FID!FID!FID!" in the message becomes the FileId of the last successful CREATE.
// fuzz/make_connection_corpus.py builds the seed corpus from captured requests.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "auth/ntlmssp.h"
#include "base/log.h"
#include "auth/spnego.h"
#include "config/config.h"
#include "server/connection.h"
#include "server/server_state.h"
#include "smb2/create.h"
#include "smb2/constants.h"
#include "smb2/header.h"
#include "smb2/negotiate.h"
#include "smb2/session_setup.h"
#include "smb2/tree_connect.h"

using namespace sd;

namespace {

constexpr uint8_t kFixSession = 1, kFixTree = 2, kFixMessageId = 4, kFixFileId = 8;
constexpr char kFileIdMarker[] = "FID!FID!FID!FID!";

// Keeps the last message the server sent (responses, interim responses, break notifications).
class KeepTransport : public server::Transport {
 public:
  Status send(std::span<const ByteView> parts) override {
    std::lock_guard<std::mutex> lk(mu_);
    last_.clear();
    for (auto p : parts) last_.insert(last_.end(), p.begin(), p.end());
    return ok();
  }
  void close() override {}
  const server::TransportInfo& info() const override { return info_; }
  Bytes last() {
    std::lock_guard<std::mutex> lk(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  Bytes last_;
  server::TransportInfo info_{"tcp", "127.0.0.1:1", "127.0.0.1:445"};
};

// The share's scratch directory, removed at exit (after the server state, made after it).
struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/sdfuzz.XXXXXX";
    dir = mkdtemp(tmpl);
    std::filesystem::create_directories(dir + "/share");
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::shared_ptr<server::ServerState> serverState() {
  static Scratch scratch;
  static std::shared_ptr<server::ServerState> state = [] {
    // Quiet while fuzzing; SD_FUZZ_DEBUG=1 shows what the server does with each input.
    logSetLevel(std::getenv("SD_FUZZ_DEBUG") ? LogLevel::kDebug : LogLevel::kError);
    const std::string& dir = scratch.dir;
    std::vector<config::Diagnostic> d;
    auto cfg = config::loadConfigString("[global]\nfallback unix account = root\noplock break timeout = 1\n"
                                        "[share]\npath = " + dir + "/share\nread only = no\nforce user = root\n",
                                        "fuzz.conf", &d);
    auto s = std::make_shared<server::ServerState>();
    auto hash = auth::ntHash("Pass-1234");
    (void)s->configure(*cfg, [hash](std::string_view u) -> std::optional<std::array<uint8_t, 16>> {
      if (u == "smbtest") return hash;
      return std::nullopt;
    });
    return s;
  }();
  return state;
}

struct Client {
  server::Connection& conn;
  KeepTransport& t;
  uint64_t next_mid = 0, session_id = 0;
  uint32_t tree_id = 0;
  std::optional<smb2::FileId> last_file;

  // Sends one request the harness builds; returns the server's answer (decoded header).
  Result<smb2::Header> call(smb2::Command cmd, const std::function<void(ByteWriter&)>& body) {
    smb2::Header h;
    h.command = cmd;
    h.message_id = next_mid++;
    h.credit = 64;
    h.session_id = session_id;
    h.tree_id = tree_id;
    ByteWriter w;
    smb2::encodeHeader(h, w);
    body(w);
    conn.onMessage(w.buf());
    return smb2::decodeHeader(t.last());
  }
  bool setUp() {
    smb2::NegotiateRequest nq;
    nq.security_mode = smb2::kNegotiateSigningEnabled;
    nq.dialects = {smb2::kDialect302};
    if (!call(smb2::Command::kNegotiate, [&](ByteWriter& w) { smb2::encodeNegotiateRequest(nq, {}, w); })) return false;
    auth::SpnegoClient spnego("smbtest", "WORKGROUP", "Pass-1234");
    Bytes token = spnego.initial();
    for (int round = 0; round < 3; round++) {
      smb2::SessionSetupRequest sq;
      sq.security_mode = smb2::kNegotiateSigningEnabled;
      sq.security_buffer = token;
      auto h = call(smb2::Command::kSessionSetup, [&](ByteWriter& w) { smb2::encodeSessionSetupRequest(sq, w); });
      if (!h) return false;
      session_id = h->session_id;
      if (h->status == toWire(NtStatus::kSuccess)) break;
      Bytes answer = t.last();  // the decoded response points into it
      auto r = smb2::decodeSessionSetupResponse(answer);
      if (!r) return false;
      auto step = spnego.step(r->security_buffer);
      if (!step) return false;
      token = step->out;
    }
    auto h = call(smb2::Command::kTreeConnect,
                  [&](ByteWriter& w) { smb2::encodeTreeConnectRequest({0, "\\\\127.0.0.1\\share"}, w); });
    if (!h || h->status != toWire(NtStatus::kSuccess)) return false;
    tree_id = h->tree_id;
    return true;
  }
  void deliver(Bytes msg, uint8_t fix) {
    if (msg.size() >= smb2::kHeaderSize) {
      if (fix & kFixSession) store64(msg.data() + 40, session_id);
      if (fix & kFixTree) store32(msg.data() + 36, tree_id);
      if (fix & kFixMessageId) store64(msg.data() + 24, next_mid);
    }
    if ((fix & kFixFileId) && last_file) {
      for (size_t i = 0; i + 16 <= msg.size(); i++) {
        if (std::memcmp(msg.data() + i, kFileIdMarker, 16) != 0) continue;
        store64(msg.data() + i, last_file->persistent);
        store64(msg.data() + i + 8, last_file->volatile_);
      }
    }
    next_mid++;
    conn.onMessage(msg);
    Bytes out = t.last();
    auto h = smb2::decodeHeader(out);
    if (h && h->command == smb2::Command::kCreate && h->status == toWire(NtStatus::kSuccess))
      if (auto c = smb2::decodeCreateResponse(out)) last_file = c->file_id;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto state = serverState();
  auto transport = std::make_shared<KeepTransport>();
  {
    server::Connection conn(state, transport);
    Client client{conn, *transport};
    if (!client.setUp()) {
      std::fprintf(stderr, "server_connection_fuzz: the harness's own session setup failed\n");
      std::abort();
    }
    ByteReader r(ByteView(data, size));
    for (int n = 0; n < 64 && r.remaining() >= 3; n++) {
      uint16_t len = *r.u16();
      uint8_t fix = *r.u8();
      auto msg = r.bytes(std::min<size_t>(len, r.remaining()));
      if (!msg) break;
      client.deliver(Bytes(msg->begin(), msg->end()), fix);
    }
  }  // the connection goes: its opens end, durable ones are kept
  return 0;
}
