// TLS in the Redis layer (TlsContext, TlsSession and the adapter's TLS path) against the fake
// RESP server in TLS mode (Debian's libssl on the server's threads). Certificates come from
// test/helpers/gen-certs.sh, the script the Jest harness uses, run once into a temporary folder.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_connection.h"
#include "redis/tls_context.h"
#include "support/fake_redis_server.h"
#include "support/test_loop.h"

namespace respcache::testing {
namespace {

using namespace std::chrono_literals;
using State = RedisConnection::State;

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class Tls : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/respcache-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string gen = std::string("bash '") + RESPCACHE_GEN_CERTS + "' '" + dir_ + "'";
    ASSERT_EQ(std::system(gen.c_str()), 0) << gen;
    // The client key, encrypted with the passphrase "secret".
    const std::string enc = "openssl pkey -in '" + dir_ + "/client.key' -aes256 -passout pass:secret -out '" +
                            dir_ + "/client-enc.key' 2>/dev/null";
    ASSERT_EQ(std::system(enc.c_str()), 0) << enc;
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  static std::string File(const std::string& name) { return dir_ + "/" + name; }
  static std::string Pem(const std::string& name) {
    std::ifstream in(File(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static TlsConfig Config(const std::string& ca = "ca.crt") {
    TlsConfig c;
    c.ca_pem = Pem(ca);
    return c;
  }
  static std::shared_ptr<const TlsContext> Context(const TlsConfig& config) {
    TlsContext::Error error;
    std::string message;
    auto context = TlsContext::Get(config, &error, &message);
    EXPECT_TRUE(context) << message;
    return context;
  }
  static void Serve(FakeRedisServer& server, const std::string& cert = "server",
                    bool require_client_cert = false, bool tls12_only = false) {
    server.EnableTls({File(cert + ".crt"), File(cert + ".key"), File("ca.crt"), require_client_cert,
                      tls12_only});
  }
  static RedisConnection::Options Options(int port, const TlsConfig& config,
                                          const std::string& host = "127.0.0.1",
                                          uint32_t connect_timeout_ms = 2000) {
    RedisConnection::Options o = Client::Tcp(port, 5000, connect_timeout_ms);
    o.endpoint.host = host;
    o.endpoint.tls = Context(config);
    return o;
  }
  // Connects with `options`, expects the attempt to fail with `kind`, and returns its message.
  static std::string ExpectFailure(FakeRedisServer& server, RedisConnection::Options options,
                                   FailureKind kind) {
    TestLoop loop;
    loop.Watch(server);
    Client client(loop, std::move(options));
    auto queued = client.Issue({"PING"});
    EXPECT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
    EXPECT_FALSE(client.listener().Has(State::kReady));
    const auto change = client.listener().Last(State::kReconnecting);
    EXPECT_EQ(change.kind, kind) << change.error;
    EXPECT_TRUE(queued->done());
    EXPECT_EQ(queued->calls, 1);
    EXPECT_EQ(queued->error, CommandError::kUnavailable);
    // Nothing of ours is left in the thread's error queue for Node's crypto to misreport.
    EXPECT_EQ(ERR_peek_error(), 0u);
    return change.error;
  }

  static std::string dir_;
};

std::string Tls::dir_;

// --- Connecting --------------------------------------------------------------------------------

TEST_F(Tls, HandshakesThenPingsBeforeReadyAndAnswersCommands) {
  FakeRedisServer server;
  Serve(server);
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  auto echo = client.Issue({"ECHO", "over tls"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->calls, 1);
  EXPECT_EQ(echo->error, CommandError::kNone);
  EXPECT_EQ(echo->str, "over tls");
  // The handshake's PING went first, through TLS, and 'ready' waited for its answer.
  EXPECT_EQ(server.Received(0), (std::vector<Command>{{"PING"}, {"ECHO", "over tls"}}));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(Tls, SendsAuthAndSelectThroughTlsWithoutAnExtraPing) {
  FakeRedisServer server;
  Serve(server);
  TestLoop loop;
  loop.Watch(server);
  auto options = Options(server.port(), Config(), "localhost");  // SNI + DNS name check
  options.endpoint.password = "pw";
  options.endpoint.db = 3;
  Client client(loop, options);
  ASSERT_TRUE(client.WaitReady());
  EXPECT_EQ(server.Received(0), (std::vector<Command>{{"AUTH", "pw"}, {"SELECT", "3"}}));
}

TEST_F(Tls, SharesOneContextBetweenIdenticalConfigurations) {
  auto a = Context(Config());
  auto b = Context(Config());
  EXPECT_EQ(a.get(), b.get());
  TlsConfig other = Config();
  other.verify = false;
  EXPECT_NE(Context(other).get(), a.get());
}

TEST_F(Tls, RedoesTheTlsHandshakeOnEveryReconnection) {
  FakeRedisServer server;
  Serve(server);
  server.On(0, [](FakeConnection& c) {
    if (c.Expect(1)) c.Write("+PONG\r\n");
    c.Close();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  auto echo = client.Issue({"ECHO", "second"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "second");
  EXPECT_EQ(server.Accepted(), 2);
  EXPECT_EQ(client.listener().Last(State::kReconnecting).kind, FailureKind::kUnavailable);
}

// --- Reading and writing -----------------------------------------------------------------------

TEST_F(Tls, ReadsPipelinedRepliesArrivingInOneByteRecords) {
  const std::string replies = Bulk("hello") + ":42\r\n" + "*2\r\n$1\r\na\r\n$-1\r\n";
  FakeRedisServer server;
  Serve(server);
  server.On(0, [&](FakeConnection& c) {
    if (!c.Expect(1) || !c.Write("+PONG\r\n")) return;
    if (c.Expect(3)) c.WriteInPieces(replies, 1, 0ms);  // one TLS record per byte
    c.Hang();
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "a"});
  auto incr = client.Issue({"INCR", "n"});
  auto range = client.Issue({"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(loop.RunUntil([&] { return range->done(); }));
  EXPECT_EQ(get->str, "hello");
  EXPECT_EQ(incr->integer, 42);
  EXPECT_EQ(range->elements, (std::vector<std::string>{"a", "<nil>"}));
  for (auto* r : {&get, &incr, &range}) EXPECT_EQ((*r)->calls, 1);
}

TEST_F(Tls, ReceivesAMultiMegabyteBulkIntactAndKeepsWorking) {
  constexpr size_t kSize = 12u << 20;
  FakeRedisServer server;
  Serve(server);
  server.On(0, [](FakeConnection& c) {
    if (!c.Expect(1) || !c.Write("+PONG\r\n")) return;
    if (c.Expect(1)) c.WriteBulk(kSize, 1 << 20);
    FakeRedisServer::Default(c);
  });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  auto get = client.Issue({"GET", "big"});
  ASSERT_TRUE(loop.RunUntil([&] { return get->done(); }, 20000));
  ASSERT_EQ(get->error, CommandError::kNone) << get->message;
  ASSERT_EQ(get->str.size(), kSize);
  size_t bad = 0;
  for (size_t i = 0; i < kSize; ++i) bad += get->str[i] != FakeRedisServer::PatternByte(i);
  EXPECT_EQ(bad, 0u);
  auto echo = client.Issue({"ECHO", "after"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "after");
}

TEST_F(Tls, WritesAMultiMegabyteCommandThroughPartialWrites) {
  // Larger than the socket buffers: SSL_write stops part-way and resumes on writable events.
  const std::string value(8u << 20, 'v');
  FakeRedisServer server;
  Serve(server);
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  auto echo = client.Issue({"ECHO", value});
  auto after = client.Issue({"ECHO", "after"});
  ASSERT_TRUE(loop.RunUntil([&] { return after->done(); }, 20000));
  EXPECT_EQ(echo->str.size(), value.size());
  EXPECT_TRUE(echo->str == value);
  EXPECT_EQ(after->str, "after");
}

TEST_F(Tls, AnswersAHundredPipelinedCommandsInOrder) {
  FakeRedisServer server;
  Serve(server);
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  std::vector<std::shared_ptr<Result>> results;
  for (int i = 0; i < 100; ++i) results.push_back(client.Issue({"ECHO", std::to_string(i)}));
  ASSERT_TRUE(loop.RunUntil([&] { return results.back()->done(); }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(results[i]->calls, 1);
    EXPECT_EQ(results[i]->str, std::to_string(i));
    if (i > 0) {
      EXPECT_LT(results[i - 1]->order, results[i]->order);
    }
  }
}

TEST_F(Tls, FlushNowPutsTheCommandOnTheWireBeforeReturning) {
  FakeRedisServer server;
  Serve(server);
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  auto lazy = client.Issue({"ECHO", "lazy"});
  EXPECT_FALSE(server.WaitFor([&] { return server.Received(0).size() > 1; }, 100ms));
  auto now = client.Issue({"ECHO", "now"}, 0, /*flush_now=*/true);
  // Both leave through SSL_write without the loop running.
  EXPECT_TRUE(server.WaitFor([&] { return server.Received(0).size() == 3; }, 2000ms));
  ASSERT_TRUE(loop.RunUntil([&] { return now->done(); }));
  EXPECT_EQ(lazy->str, "lazy");
  EXPECT_EQ(now->str, "now");
}

TEST_F(Tls, TakesAReplyAlreadyWaitingWhenItsDeadlineFires) {
  FakeRedisServer server;
  Serve(server);
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  ASSERT_TRUE(client.WaitReady());
  auto echo = client.Issue({"ECHO", "waiting"}, 30, /*flush_now=*/true);
  // The reply arrives while the loop is not running; by the time it runs, the deadline is due,
  // and the deadline timer reads the reply through TLS instead of timing it out.
  ASSERT_TRUE(server.WaitFor([&] { return server.Received(0).size() == 2; }, 2000ms));
  std::this_thread::sleep_for(80ms);  // the blocked loop being simulated, not synchronisation
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->error, CommandError::kNone) << echo->message;
  EXPECT_EQ(echo->str, "waiting");
}

// --- Disconnects -------------------------------------------------------------------------------

void DisconnectMidReply(bool reset) {
  FakeRedisServer server;
  server.EnableTls({Tls::File("server.crt"), Tls::File("server.key"), Tls::File("ca.crt")});
  server.On(0, [reset](FakeConnection& c) {
    if (!c.Expect(1) || !c.Write("+PONG\r\n")) return;
    if (!c.Expect(3)) return;
    c.Write(Bulk("one") + "$10\r\nhal");
    if (reset) {
      c.Reset();
    } else {
      c.Close();  // close_notify, then FIN
    }
  });
  TestLoop loop;
  loop.Watch(server);
  TlsConfig config;
  config.ca_pem = Tls::Pem("ca.crt");
  RedisConnection::Options options = Client::Tcp(server.port(), 5000, 2000);
  TlsContext::Error error;
  std::string message;
  options.endpoint.tls = TlsContext::Get(config, &error, &message);
  Client client(loop, options);
  ASSERT_TRUE(client.WaitReady());
  std::vector<std::shared_ptr<Result>> gets;
  for (int i = 0; i < 3; ++i) gets.push_back(client.Issue({"GET", "k" + std::to_string(i)}));
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  ASSERT_TRUE(loop.RunUntil([&] { return gets[2]->done(); }));
  EXPECT_EQ(gets[0]->str, "one");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(gets[i]->calls, 1) << i;
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(gets[i]->error, CommandError::kUnavailable) << i;
    EXPECT_EQ(gets[i]->str, "") << i;  // never a reply cut short
  }
  const auto change = client.listener().Last(State::kReconnecting);
  EXPECT_EQ(change.kind, FailureKind::kUnavailable);  // a lost connection, not a TLS failure
  EXPECT_TRUE(Contains(change.error, reset ? "reset" : "Server closed the connection")) << change.error;
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().CountState(State::kReady) == 2; }));
  auto echo = client.Issue({"ECHO", "again"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "again");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(Tls, FailsEveryCommandOnceWhenTheServerSendsCloseNotifyMidReply) {
  DisconnectMidReply(false);
}

TEST_F(Tls, FailsEveryCommandOnceWhenTheConnectionIsResetMidReply) { DisconnectMidReply(true); }

TEST_F(Tls, TimesOutAHandshakeThatTheServerNeverAnswers) {
  FakeRedisServer server;  // plain TCP: it never answers the ClientHello
  server.On(0, [&](FakeConnection&) { server.Await("end"); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config(), "127.0.0.1", 200));
  const uint64_t start = loop.now();
  auto queued = client.Issue({"PING"}, 5000);
  ASSERT_TRUE(loop.RunUntil([&] { return client.listener().Has(State::kReconnecting); }));
  const auto change = client.listener().Last(State::kReconnecting);
  EXPECT_GE(change.at_ms - start, 190u);
  EXPECT_EQ(change.kind, FailureKind::kTlsHandshake);
  EXPECT_TRUE(Contains(change.error, "timed out after 200 ms in the TLS handshake")) << change.error;
  EXPECT_TRUE(Contains(change.error, "TLS to 127.0.0.1:")) << change.error;
  EXPECT_EQ(queued->calls, 1);
  EXPECT_EQ(queued->error, CommandError::kUnavailable);
  server.Signal("end");
}

TEST_F(Tls, ReportsAServerThatDoesNotSpeakTls) {
  FakeRedisServer server;  // plain TCP answering the ClientHello as Redis would
  server.On(0, [](FakeConnection& c) {
    c.Write("-ERR Protocol error: unbalanced quotes in request\r\n");
    c.Close();
  });
  server.OnOthers([&](FakeConnection&) { server.Await("end"); });
  std::string why = ExpectFailure(server, Options(server.port(), Config()), FailureKind::kTlsHandshake);
  EXPECT_TRUE(Contains(why, "TLS to 127.0.0.1:")) << why;
  EXPECT_TRUE(Contains(why, "does not speak TLS")) << why;
  server.Signal("end");
}

// --- Verification ------------------------------------------------------------------------------

TEST_F(Tls, RefusesACertificateFromAnUnknownCa) {
  FakeRedisServer server;
  Serve(server);
  std::string why = ExpectFailure(server, Options(server.port(), Config("other-ca.crt")),
                                  FailureKind::kTlsUnknownCa);
  EXPECT_TRUE(Contains(why, "self-signed certificate in certificate chain") ||
              Contains(why, "unable to get local issuer certificate")) << why;
}

TEST_F(Tls, RefusesACertificateForAnotherIp) {
  FakeRedisServer server;
  Serve(server, "wrongname");
  std::string why = ExpectFailure(server, Options(server.port(), Config()),
                                  FailureKind::kTlsNameMismatch);
  EXPECT_TRUE(Contains(why, "IP address mismatch (the certificate is not for 127.0.0.1)")) << why;
}

TEST_F(Tls, RefusesACertificateForAnotherHostName) {
  FakeRedisServer server;
  Serve(server, "wrongname");
  std::string why = ExpectFailure(server, Options(server.port(), Config(), "localhost"),
                                  FailureKind::kTlsNameMismatch);
  EXPECT_TRUE(Contains(why, "hostname mismatch (the certificate is not for localhost)")) << why;
}

TEST_F(Tls, ChecksTheServernameInsteadOfTheHostWhenGiven) {
  FakeRedisServer server;
  Serve(server, "wrongname");
  TlsConfig config = Config();
  config.servername = "redis.example.com";
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), config));
  ASSERT_TRUE(client.WaitReady());
}

TEST_F(Tls, RefusesAnExpiredCertificate) {
  FakeRedisServer server;
  Serve(server, "expired");
  std::string why = ExpectFailure(server, Options(server.port(), Config()),
                                  FailureKind::kTlsCertExpired);
  EXPECT_TRUE(Contains(why, "certificate has expired")) << why;
}

TEST_F(Tls, AcceptsAWrongNameWhenVerificationIsOff) {
  FakeRedisServer server;
  Serve(server, "wrongname");
  TlsConfig config = Config("other-ca.crt");  // not even the right CA
  config.verify = false;
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), config));
  ASSERT_TRUE(client.WaitReady());
  auto echo = client.Issue({"ECHO", "unverified"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "unverified");
}

TEST_F(Tls, NeverReportsAnIgnoredVerificationResultForAnotherFailure) {
  // Verification off, a CA we do not trust (the verify result still says so), and a TLS 1.2
  // server that wants a client certificate: the failure is the certificate the server refused,
  // not the chain nobody checked.
  FakeRedisServer server;
  Serve(server, "server", /*require_client_cert=*/true, /*tls12_only=*/true);
  TlsConfig config = Config("other-ca.crt");
  config.verify = false;
  ExpectFailure(server, Options(server.port(), config), FailureKind::kTlsClientCertRejected);
}

// --- Client certificates -----------------------------------------------------------------------

TEST_F(Tls, ReportsAMissingClientCertificateRejectedAfterTheTls13Handshake) {
  FakeRedisServer server;
  Serve(server, "server", /*require_client_cert=*/true);
  std::string why = ExpectFailure(server, Options(server.port(), Config()),
                                  FailureKind::kTlsClientCertRejected);
  EXPECT_TRUE(Contains(why, "certificate required")) << why;
}

TEST_F(Tls, ReportsAMissingClientCertificateRejectedInATls12Handshake) {
  FakeRedisServer server;
  Serve(server, "server", /*require_client_cert=*/true, /*tls12_only=*/true);
  std::string why = ExpectFailure(server, Options(server.port(), Config()),
                                  FailureKind::kTlsClientCertRejected);
  EXPECT_TRUE(Contains(why, "the server rejected the client certificate")) << why;
}

TEST_F(Tls, ReportsAClientCertificateFromAnotherCa) {
  FakeRedisServer server;
  Serve(server, "server", /*require_client_cert=*/true);
  TlsConfig config = Config();
  config.cert_pem = Pem("other-client.crt");
  config.key_pem = Pem("other-client.key");
  ExpectFailure(server, Options(server.port(), config), FailureKind::kTlsClientCertRejected);
}

TEST_F(Tls, ConnectsWithAClientCertificateAndAnEncryptedKey) {
  FakeRedisServer server;
  Serve(server, "server", /*require_client_cert=*/true);
  TlsConfig config = Config();
  config.cert_pem = Pem("client.crt");
  config.key_pem = Pem("client-enc.key");
  config.passphrase = "secret";
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), config));
  ASSERT_TRUE(client.WaitReady());
  auto echo = client.Issue({"ECHO", "mutual"});
  ASSERT_TRUE(loop.RunUntil([&] { return echo->done(); }));
  EXPECT_EQ(echo->str, "mutual");
  EXPECT_EQ(server.TlsAcceptFailures(), 0);
}

// --- Bad options -------------------------------------------------------------------------------

TlsContext::Error GetError(const TlsConfig& config, std::string* message) {
  TlsContext::Error error = TlsContext::Error::kNone;
  EXPECT_FALSE(TlsContext::Get(config, &error, message));
  EXPECT_EQ(ERR_peek_error(), 0u);
  return error;
}

TEST_F(Tls, RejectsOptionsThatDoNotParseOrDoNotMatch) {
  std::string message;
  TlsConfig config = Config();
  config.ca_pem = "not a certificate";
  EXPECT_EQ(GetError(config, &message), TlsContext::Error::kBadOptions);
  EXPECT_EQ(message, "tls.ca holds no PEM certificate");

  config = Config();
  config.ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(GetError(config, &message), TlsContext::Error::kBadOptions);
  EXPECT_EQ(message, "tls.ca is not valid PEM");

  config = Config();
  config.cert_pem = Pem("client.crt");
  config.key_pem = Pem("server.key");
  EXPECT_EQ(GetError(config, &message), TlsContext::Error::kBadOptions);
  EXPECT_EQ(message, "tls.key does not match tls.cert");

  config.key_pem = Pem("client-enc.key");
  config.passphrase = "wrong";
  EXPECT_EQ(GetError(config, &message), TlsContext::Error::kBadOptions);
  EXPECT_EQ(message, "tls.passphrase does not decrypt tls.key");

  config.passphrase = "";
  EXPECT_EQ(GetError(config, &message), TlsContext::Error::kBadOptions);
  EXPECT_EQ(message, "tls.key is encrypted and no tls.passphrase was given");

  config.key_pem = "";
  EXPECT_EQ(GetError(config, &message), TlsContext::Error::kBadOptions);
  EXPECT_EQ(message, "tls.cert and tls.key must be given together");
}

TEST_F(Tls, FindsEveryOpenSslFunctionItUses) {
  std::string why;
  EXPECT_TRUE(TlsContext::Available(&why)) << why;
}

// --- Close and Abort mid-handshake -------------------------------------------------------------

TEST_F(Tls, AbortInTheMiddleOfTheHandshakeFreesEverythingAtOnce) {
  FakeRedisServer server;  // never answers the ClientHello
  server.On(0, [&](FakeConnection&) { server.Await("end"); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  auto queued = client.Issue({"PING"});
  // Let the connect complete and the ClientHello leave.
  ASSERT_FALSE(loop.RunUntil([&] { return queued->done(); }, 100));
  ASSERT_EQ(server.Accepted(), 1);
  client.Abort();
  EXPECT_EQ(queued->calls, 1);
  EXPECT_EQ(queued->error, CommandError::kAborted);
  ASSERT_TRUE(loop.RunUntil([&] { return client.finished(); }));
  EXPECT_EQ(client.listener().closed, 0);  // no listener calls after Abort
  server.Signal("end");
}

TEST_F(Tls, CloseInTheMiddleOfTheHandshakeEndsTheConnection) {
  FakeRedisServer server;
  server.On(0, [&](FakeConnection&) { server.Await("end"); });
  TestLoop loop;
  loop.Watch(server);
  Client client(loop, Options(server.port(), Config()));
  auto queued = client.Issue({"PING"});
  ASSERT_FALSE(loop.RunUntil([&] { return queued->done(); }, 100));
  ASSERT_TRUE(client.CloseAndWait());
  EXPECT_EQ(queued->calls, 1);
  EXPECT_EQ(queued->error, CommandError::kClosed);
  EXPECT_FALSE(client.listener().Has(State::kReady));
  server.Signal("end");
}

}  // namespace
}  // namespace respcache::testing
