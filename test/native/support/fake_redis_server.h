// A small RESP server for the Redis-layer tests: it produces what a real server cannot on demand
// (a hang, replies split byte by byte, a close or reset mid-pipeline, a huge reply, garbage).
//
// It runs on threads of its own with blocking sockets, never on the libuv loop under test, so it
// makes progress while the client's loop is blocked or not running (as hiredis's tests use a
// separate server). Connections are numbered 0, 1, 2... in accept order; each runs the script
// registered for its number, or Default(). Commands are parsed with hiredis's redisReader, so the
// client's formatting is checked by an independent reader.
//
// TLS mode (EnableTls): each connection's thread first completes a blocking SSL_accept (Debian's
// libssl), then the script runs and every Read/Write goes through the SSL; WriteInPieces sends one
// TLS record per piece. A failed SSL_accept ends the connection without running the script.
#pragma once

#include <condition_variable>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace respcache::testing {

using Command = std::vector<std::string>;

class FakeRedisServer;

struct TlsServerOptions {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;               // trusted for client certificates
  bool require_client_cert = false;  // as redis-server --tls-auth-clients yes
  bool tls12_only = false;           // as --tls-protocols TLSv1.2
};

// One accepted connection, handed to its script on the connection's own thread.
class FakeConnection {
 public:
  // `ssl` (an SSL*, owned from now on) is set in TLS mode, after its handshake.
  FakeConnection(FakeRedisServer* server, int fd, int index, void* ssl = nullptr);
  ~FakeConnection();

  int index() const { return index_; }
  // The next command the client sent; false once the client closed or the server is stopping.
  bool Read(Command* out);
  // Reads `n` commands (false if the connection ends first).
  bool Expect(size_t n, std::vector<Command>* out = nullptr);
  // Writes all of `bytes` (false if the peer is gone).
  bool Write(const std::string& bytes);
  // Writes `bytes` in pieces of `piece` bytes with `gap` between them (TCP_NODELAY is set, so each
  // piece leaves as its own segment and the client reads it on its own).
  bool WriteInPieces(const std::string& bytes, size_t piece, std::chrono::milliseconds gap);
  // Streams a bulk string of `size` bytes, byte i being PatternByte(i), in `chunk`-sized writes.
  bool WriteBulk(size_t size, size_t chunk);
  // Reads and records commands without answering until the client closes or the server stops.
  void Hang();
  void Close();  // FIN (after a TLS close_notify in TLS mode)
  void Reset();  // RST (SO_LINGER 0), with no close_notify

  // Answers like a minimal Redis: PING, AUTH, SELECT, ECHO, GET (nil), (P)SUBSCRIBE confirmations.
  static std::string DefaultReply(const Command& c, int* subscriptions);

 private:
  FakeRedisServer* server_;
  int fd_;
  int index_;
  void* reader_;  // redisReader*
  void* ssl_;     // SSL*, TLS mode only
};

class FakeRedisServer {
 public:
  using Script = std::function<void(FakeConnection&)>;

  FakeRedisServer();
  ~FakeRedisServer();  // stops, unblocks and joins every thread

  int port() const { return port_; }
  // Connection number `index` runs `script` (register before the client connects).
  void On(int index, Script script);
  // Every connection without a script of its own runs this (default: Default()).
  void OnOthers(Script script);
  static void Default(FakeConnection& c);

  // Serves TLS from now on (call before the client connects); throws if the files do not load.
  void EnableTls(const TlsServerOptions& options);
  // TLS handshakes that failed on the server's side (the client refused, or sent no certificate).
  int TlsAcceptFailures();

  // Closes the listening socket: later connects are refused.
  void StopListening();
  // A port on 127.0.0.1 that nothing listens on.
  static int RefusedPort();

  // What the server has seen (thread-safe).
  int Accepted();
  std::vector<Command> Received(int index);
  // Waits until pred() holds, re-checking after each event here; false after `timeout`.
  bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  // For scripts: blocks until the test calls Signal(name) (or the server stops).
  void Await(const std::string& name);
  void Signal(const std::string& name);
  bool stopping();

  // Called (on a server thread) after every accept, command received and Signal: lets a client
  // loop wake up to re-check what it waits for (TestLoop::Watch). nullptr removes it.
  void SetObserver(std::function<void()> observer);

  static char PatternByte(size_t i) { return static_cast<char>('a' + (i * 7 + i / 251) % 26); }

 private:
  friend class FakeConnection;
  void AcceptLoop();
  void Record(int index, Command c);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // self-pipe: wakes the accept loop on shutdown
  int port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t generation_ = 0;
  std::function<void()> observer_;  // bumped by every event WaitFor may be waiting for
  int accepted_ = 0;
  std::map<int, Script> scripts_;
  Script others_;
  std::map<int, std::vector<Command>> received_;
  std::map<std::string, bool> signals_;
  std::vector<int> conn_fds_;
  void* tls_ctx_ = nullptr;  // SSL_CTX*
  int tls_accept_failures_ = 0;
  std::vector<std::thread> conn_threads_;
};

}  // namespace respcache::testing
