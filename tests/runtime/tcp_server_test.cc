// runtime::TcpServer's connection loop: large messages are handled on a second thread while the
// socket is read, yet the handler sees every message one at a time and in arrival order, and the
// responses leave in request order. A raw socket plays the client; the handler is a recorder.
#include "runtime/tcp_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sd::runtime {
namespace {

struct Record {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint32_t> order;  // message ids in the order the handler saw them
  std::atomic<int> inside{0};
  bool overlapped = false;      // two onMessage calls at once
  bool gate_open = true;        // message 0 waits for it
  bool disconnected = false;
  std::vector<uint32_t> disconnect_saw;  // `order` when onDisconnect ran
};

class Recorder : public server::MessageHandler {
 public:
  Recorder(std::shared_ptr<server::Transport> t, Record& r) : t_(std::move(t)), r_(r) {}
  void onMessage(ByteView m) override {
    if (r_.inside.fetch_add(1) != 0) r_.overlapped = true;
    uint32_t id = le32(m.data());
    {
      std::unique_lock<std::mutex> lk(r_.mu);
      r_.order.push_back(id);
      if (id == 0) r_.cv.wait(lk, [&] { return r_.gate_open; });
    }
    // Every byte arrived intact: byte i of message `id` is uint8_t(id + i) after the id.
    bool intact = true;
    for (size_t i = 4; i < m.size(); i++) intact &= m[i] == uint8_t(id + i);
    uint8_t reply[5];
    store32(reply, id);
    reply[4] = intact;
    r_.inside.fetch_sub(1);
    (void)t_->send(ByteView(reply, 5));
  }
  void onDisconnect() override {
    std::lock_guard<std::mutex> lk(r_.mu);
    r_.disconnected = true;
    r_.disconnect_saw = r_.order;
    r_.cv.notify_all();
  }

 private:
  std::shared_ptr<server::Transport> t_;
  Record& r_;
};

class TcpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TcpServer>([this](std::shared_ptr<server::Transport> t) {
      return std::make_unique<Recorder>(std::move(t), rec_);
    });
    ListenSpec spec;
    spec.addresses = {"127.0.0.1"};
    spec.port = 0;
    ASSERT_TRUE(server_->listen(spec));
    server_->start();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->boundPort());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    server_->stop();
  }
  // One Direct-TCP frame: the id, then bytes uint8_t(id + i).
  void sendMessage(uint32_t id, size_t size) {
    Bytes m(size + 4);
    m[0] = 0;
    m[1] = uint8_t(size >> 16);
    m[2] = uint8_t(size >> 8);
    m[3] = uint8_t(size);
    store32(m.data() + 4, id);
    for (size_t i = 4; i < size; i++) m[4 + i] = uint8_t(id + i);
    ByteView v(m);
    ASSERT_TRUE(writeFully(fd_, std::span<const ByteView>(&v, 1)));
  }
  std::pair<uint32_t, bool> readReply() {
    uint8_t b[9];
    if (!readFully(fd_, b, 9)) return {~0u, false};
    return {le32(b + 4), b[8] != 0};
  }
  Record rec_;
  std::unique_ptr<TcpServer> server_;
  int fd_ = -1;
};

TEST_F(TcpServerTest, LargeAndSmallMessagesAreHandledInOrderOneAtATime) {
  // Sizes around the pipeline's threshold; message 0 (large) blocks in the handler until
  // message 1 (small) has been sent, so the small one waits for the large one before it.
  const size_t big = kPipelinedMessageMin;
  const std::vector<size_t> sizes = {big + 300, 10, big + 20, big, big - 1, 64, 2 * big, big + 5,
                                     8, big + 7, big + 1, big + 2, 20, 16};
  {
    std::lock_guard<std::mutex> lk(rec_.mu);
    rec_.gate_open = false;
  }
  std::atomic<int> sent{0};
  std::thread sender([&] {
    for (uint32_t i = 0; i < sizes.size(); i++) {
      sendMessage(i, sizes[i]);
      sent = int(i) + 1;
      if (i == 1) {
        std::lock_guard<std::mutex> lk(rec_.mu);
        rec_.gate_open = true;
        rec_.cv.notify_all();
      }
    }
  });
  for (uint32_t i = 0; i < sizes.size(); i++) {
    auto [id, intact] = readReply();
    EXPECT_EQ(id, i);
    EXPECT_TRUE(intact) << "message " << i;
  }
  sender.join();
  std::lock_guard<std::mutex> lk(rec_.mu);
  ASSERT_EQ(rec_.order.size(), sizes.size());
  for (uint32_t i = 0; i < sizes.size(); i++) EXPECT_EQ(rec_.order[i], i);
  EXPECT_FALSE(rec_.overlapped);
}

TEST_F(TcpServerTest, MessagesReadBeforeADisconnectAreHandledFirst) {
  {
    std::lock_guard<std::mutex> lk(rec_.mu);
    rec_.gate_open = false;
  }
  sendMessage(0, kPipelinedMessageMin + 4);
  sendMessage(1, kPipelinedMessageMin);
  sendMessage(2, 12);
  ::shutdown(fd_, SHUT_WR);
  {
    std::lock_guard<std::mutex> lk(rec_.mu);
    rec_.gate_open = true;
    rec_.cv.notify_all();
  }
  std::unique_lock<std::mutex> lk(rec_.mu);
  ASSERT_TRUE(rec_.cv.wait_for(lk, std::chrono::seconds(60), [&] { return rec_.disconnected; }));
  EXPECT_EQ(rec_.disconnect_saw, (std::vector<uint32_t>{0, 1, 2}));
}

}  // namespace
}  // namespace sd::runtime
