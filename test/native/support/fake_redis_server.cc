#include "support/fake_redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace respcache::testing {

FakeConnection::FakeConnection(FakeRedisServer* server, int fd, int index, void* ssl)
    : server_(server), fd_(fd), index_(index), reader_(redisReaderCreate()), ssl_(ssl) {}

FakeConnection::~FakeConnection() {
  redisReaderFree(static_cast<redisReader*>(reader_));
  if (ssl_) SSL_free(static_cast<SSL*>(ssl_));
  ERR_clear_error();
}

bool FakeConnection::Read(Command* out) {
  auto* reader = static_cast<redisReader*>(reader_);
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader, &reply) != REDIS_OK) return false;
    if (reply) {
      auto* r = static_cast<redisReply*>(reply);
      out->clear();
      if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; ++i) out->emplace_back(r->element[i]->str, r->element[i]->len);
      }
      freeReplyObject(r);
      server_->Record(index_, *out);
      return true;
    }
    char buf[64 * 1024];
    if (ssl_) {
      int n = SSL_read(static_cast<SSL*>(ssl_), buf, sizeof buf);
      if (n <= 0) return false;
      redisReaderFeed(reader, buf, static_cast<size_t>(n));
      continue;
    }
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    redisReaderFeed(reader, buf, static_cast<size_t>(n));
  }
}

bool FakeConnection::Expect(size_t n, std::vector<Command>* out) {
  for (size_t i = 0; i < n; ++i) {
    Command c;
    if (!Read(&c)) return false;
    if (out) out->push_back(std::move(c));
  }
  return true;
}

bool FakeConnection::Write(const std::string& bytes) {
  if (ssl_) {
    // Blocking and without partial writes: all of it, as one or more records.
    return bytes.empty() ||
           SSL_write(static_cast<SSL*>(ssl_), bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool FakeConnection::WriteInPieces(const std::string& bytes, size_t piece,
                                   std::chrono::milliseconds gap) {
  for (size_t at = 0; at < bytes.size(); at += piece) {
    if (at > 0) std::this_thread::sleep_for(gap);
    if (!Write(bytes.substr(at, piece))) return false;
  }
  return true;
}

bool FakeConnection::WriteBulk(size_t size, size_t chunk) {
  if (!Write("$" + std::to_string(size) + "\r\n")) return false;
  std::string buf;
  for (size_t at = 0; at < size; at += chunk) {
    const size_t n = std::min(chunk, size - at);
    buf.resize(n);
    for (size_t i = 0; i < n; ++i) buf[i] = FakeRedisServer::PatternByte(at + i);
    if (!Write(buf)) return false;
  }
  return Write("\r\n");
}

void FakeConnection::Hang() {
  Command c;
  while (Read(&c)) {
  }
}

void FakeConnection::Close() {
  if (ssl_) SSL_shutdown(static_cast<SSL*>(ssl_));  // close_notify
  shutdown(fd_, SHUT_RDWR);
}

void FakeConnection::Reset() {
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  shutdown(fd_, SHUT_RD);
  // close() with linger 0 sends the RST; the server's shutdown path must not close it again.
  std::lock_guard<std::mutex> lock(server_->mu_);
  auto& fds = server_->conn_fds_;
  fds.erase(std::remove(fds.begin(), fds.end(), fd_), fds.end());
  ::close(fd_);
  fd_ = -1;
}

std::string FakeConnection::DefaultReply(const Command& c, int* subscriptions) {
  auto is = [&](const char* name) { return !c.empty() && strcasecmp(c[0].c_str(), name) == 0; };
  auto bulk = [](const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; };
  if (is("PING")) return *subscriptions > 0 ? "*2\r\n$4\r\npong\r\n$0\r\n\r\n" : "+PONG\r\n";
  if (is("AUTH") || is("SELECT")) return "+OK\r\n";
  if (is("ECHO") && c.size() == 2) return bulk(c[1]);
  if (is("GET")) return "$-1\r\n";
  if ((is("SUBSCRIBE") || is("PSUBSCRIBE") || is("UNSUBSCRIBE") || is("PUNSUBSCRIBE")) && c.size() == 2) {
    std::string kind = c[0];
    for (char& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    *subscriptions += kind[0] == 'u' || kind[1] == 'u' ? -1 : 1;
    if (*subscriptions < 0) *subscriptions = 0;
    return "*3\r\n" + bulk(kind) + bulk(c[1]) + ":" + std::to_string(*subscriptions) + "\r\n";
  }
  return "-ERR unknown command '" + (c.empty() ? std::string() : c[0]) + "'\r\n";
}

FakeRedisServer::FakeRedisServer() {
  // A write to a peer that has gone (OpenSSL writes with write(), not send(MSG_NOSIGNAL)) must
  // fail, not kill the test binary; node ignores SIGPIPE too.
  signal(SIGPIPE, SIG_IGN);
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || pipe(wake_) != 0) {
    throw std::runtime_error(std::string("fake Redis server: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  others_ = Default;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeRedisServer::~FakeRedisServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);  // unblocks every recv and send
  }
  cv_.notify_all();
  (void)!write(wake_[1], "x", 1);
  accept_thread_.join();
  for (std::thread& t : conn_threads_) t.join();
  for (int fd : conn_fds_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  if (tls_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_ctx_));
}

void FakeRedisServer::EnableTls(const TlsServerOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  bool ok = ctx && SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) == 1;
  if (ok && o.require_client_cert) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (ok && o.tls12_only) ok = SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1;
  ERR_clear_error();
  if (!ok) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("fake Redis server: could not load " + o.cert_file);
  }
  std::lock_guard<std::mutex> lock(mu_);
  tls_ctx_ = ctx;
}

int FakeRedisServer::TlsAcceptFailures() {
  std::lock_guard<std::mutex> lock(mu_);
  return tls_accept_failures_;
}

void FakeRedisServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    int nfds = listen_fd_ >= 0 ? 2 : 1;
    if (poll(fds, nfds, -1) < 0 && errno == EINTR) continue;
    if (fds[0].revents) return;
    if (nfds < 2 || !(fds[1].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    const int index = accepted_++;
    ++generation_;
    if (observer_) observer_();
    Script script = scripts_.count(index) ? scripts_[index] : others_;
    conn_fds_.push_back(fd);
    SSL_CTX* tls = static_cast<SSL_CTX*>(tls_ctx_);
    conn_threads_.emplace_back([this, fd, index, script, tls] {
      SSL* ssl = nullptr;
      if (tls) {
        ssl = SSL_new(tls);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
          SSL_free(ssl);
          ERR_clear_error();
          std::lock_guard<std::mutex> lock(mu_);
          ++tls_accept_failures_;
          ++generation_;
          if (observer_) observer_();
          cv_.notify_all();
          return;
        }
      }
      FakeConnection c(this, fd, index, ssl);
      script(c);
      // Whatever the script left open is closed when the server stops (or now, if it asked).
    });
    cv_.notify_all();
  }
}

void FakeRedisServer::On(int index, Script script) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[index] = std::move(script);
}

void FakeRedisServer::OnOthers(Script script) {
  std::lock_guard<std::mutex> lock(mu_);
  others_ = std::move(script);
}

void FakeRedisServer::Default(FakeConnection& c) {
  int subscriptions = 0;
  Command cmd;
  while (c.Read(&cmd)) {
    if (!c.Write(FakeConnection::DefaultReply(cmd, &subscriptions))) return;
  }
}

void FakeRedisServer::StopListening() {
  (void)!write(wake_[1], "x", 1);
  accept_thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  ::close(listen_fd_);
  listen_fd_ = -1;
  // Keep the destructor's join valid: a thread that returns at once.
  char drain;
  (void)!read(wake_[0], &drain, 1);
  accept_thread_ = std::thread([] {});
}

int FakeRedisServer::RefusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // bound, never listened on, now closed: a connect gets ECONNREFUSED
  return ntohs(addr.sin_port);
}

void FakeRedisServer::Record(int index, Command c) {
  std::lock_guard<std::mutex> lock(mu_);
  received_[index].push_back(std::move(c));
  ++generation_;
    if (observer_) observer_();
  cv_.notify_all();
}

int FakeRedisServer::Accepted() {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}

std::vector<Command> FakeRedisServer::Received(int index) {
  std::lock_guard<std::mutex> lock(mu_);
  return received_[index];
}

bool FakeRedisServer::WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // pred() takes the lock itself (through the accessors): call it unlocked, and wait only if
    // nothing was recorded since, so no notification is lost in between.
    const uint64_t seen = generation_;
    lock.unlock();
    const bool ok = pred();
    lock.lock();
    if (ok) return true;
    if (generation_ == seen && cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        generation_ == seen) {
      lock.unlock();
      return pred();
    }
  }
}

void FakeRedisServer::Await(const std::string& name) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return stopping_ || signals_[name]; });
}

void FakeRedisServer::Signal(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  signals_[name] = true;
  ++generation_;
    if (observer_) observer_();
  cv_.notify_all();
}

void FakeRedisServer::SetObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

bool FakeRedisServer::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

}  // namespace respcache::testing
