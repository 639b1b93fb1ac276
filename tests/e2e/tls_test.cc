// End-to-end: TLS on the real server. Certificates are made with the openssl CLI. HTTPS answers a
// client that trusts the CA; TLS 1.1 and plain HTTP get no answer; mutual TLS refuses clients
// without a certificate of the client CA; SIGHUP replaces the certificate for new connections
// while open ones go on (and a broken file keeps the old one); gRPC serves over TLS and its file
// watcher picks up a replaced certificate.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "e2e/test_support.h"
#include "grpc_service.grpc.pb.h"

namespace inferd::testing {
namespace {

using ::testing::HasSubstr;
namespace pb = ::inference;

void Sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// A CA and certificates signed by it, in `dir`.
class Pki {
 public:
  explicit Pki(const fs::path& dir) : dir_(dir) {}
  void Ca(const std::string& name) {
    Sh("cd " + dir_.string() +
       " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 " + "-nodes -keyout " +
       name + ".key -out " + name + ".pem -days 2 -subj /CN=" + name + " 2>/dev/null");
  }
  // A certificate `name` for 127.0.0.1 / localhost, signed by `ca`.
  void Cert(const std::string& name, const std::string& ca) {
    const std::string d = "cd " + dir_.string() + " && ";
    Sh(d + "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
       ".key -out " + name + ".csr -subj /CN=" + name + " 2>/dev/null");
    Sh(d + "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext");
    Sh(d + "openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
       ".key -CAcreateserial -out " + name + ".pem -days 2 -extfile ext 2>/dev/null");
  }
  std::string Path(const std::string& file) const { return (dir_ / file).string(); }

 private:
  fs::path dir_;
};

// One TLS connection with OpenSSL: the handshake, the server certificate's CN, HTTP requests.
class TlsClient {
 public:
  struct Options {
    std::string ca;  // trust this CA
    std::string cert, key;
    int max_version = 0;  // e.g. TLS1_1_VERSION
  };
  TlsClient(uint16_t port, const Options& o) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_load_verify_locations(ctx_, o.ca.c_str(), nullptr);
    if (o.max_version) {
      SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_, o.max_version);
      SSL_CTX_set_security_level(ctx_, 0);
    }
    if (!o.cert.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, o.cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, o.key.c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "127.0.0.1");
    handshake_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool handshake() const { return handshake_; }
  std::string PeerName() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) return "";
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    X509_free(cert);
    return buf;
  }
  // GET `path` on the connection (keep-alive); "" when no answer came.
  std::string Get(const std::string& path) {
    if (!handshake_) return "";
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return "";
    std::string in;
    char buf[4096];
    while (true) {
      const size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t cl = in.find("Content-Length: ");
        const size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + len) return in.substr(0, end + 4 + len);
      }
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return "";
      in.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool handshake_ = false;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Ca("ca");
    pki_.Cert("server-one", "ca");
    pki_.Cert("server-two", "ca");
    pki_.Ca("client-ca");
    pki_.Cert("client", "client-ca");
    pki_.Ca("other-ca");
    pki_.Cert("stranger", "other-ca");
    Sh("cp " + pki_.Path("server-one.pem") + " " + pki_.Path("server.pem"));
    Sh("cp " + pki_.Path("server-one.key") + " " + pki_.Path("server.key"));
    AddModel(repo_.path(), "m", 1, "binary_logistic");
  }
  std::unique_ptr<ServerProcess> Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tls-cert", pki_.Path("server.pem"), "--tls-key",
                                     pki_.Path("server.key")};
    args.insert(args.end(), extra.begin(), extra.end());
    return ServerProcess::Start(repo_.path(), args);
  }
  TempDir repo_, dir_;
  Pki pki_{dir_.path()};
};

TEST_F(TlsTest, HttpsOnlyWithModernTls) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->Log(), ::testing::Not(HasSubstr("error")));
  TlsClient c(server->port(), {.ca = pki_.Path("ca.pem")});
  ASSERT_TRUE(c.handshake());
  EXPECT_EQ(c.PeerName(), "server-one");
  EXPECT_THAT(c.Get("/v2/health/ready"), HasSubstr("200 OK"));
  EXPECT_THAT(c.Get("/v2/models/m"), HasSubstr("\"name\":\"m\""));  // keep-alive
  TlsClient old(server->port(), {.ca = pki_.Path("ca.pem"), .max_version = TLS1_1_VERSION});
  EXPECT_FALSE(old.handshake());
  // Plain HTTP on the HTTPS port: no HTTP answer, and the server is still fine.
  EXPECT_EQ(Http(server->port(), "GET", "/v2/health/ready").status, 0);
  TlsClient again(server->port(), {.ca = pki_.Path("ca.pem")});
  EXPECT_THAT(again.Get("/v2/health/ready"), HasSubstr("200 OK"));
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateOfTheCa) {
  auto server = Start({"--tls-client-ca", pki_.Path("client-ca.pem")});
  ASSERT_NE(server, nullptr);
  TlsClient none(server->port(), {.ca = pki_.Path("ca.pem")});
  EXPECT_EQ(none.Get("/v2/health/ready"), "");  // (TLS 1.3: the refusal comes on first read)
  TlsClient stranger(server->port(), {.ca = pki_.Path("ca.pem"),
                                      .cert = pki_.Path("stranger.pem"),
                                      .key = pki_.Path("stranger.key")});
  EXPECT_EQ(stranger.Get("/v2/health/ready"), "");
  TlsClient client(
      server->port(),
      {.ca = pki_.Path("ca.pem"), .cert = pki_.Path("client.pem"), .key = pki_.Path("client.key")});
  EXPECT_THAT(client.Get("/v2/health/ready"), HasSubstr("200 OK"));
}

TEST_F(TlsTest, SighupReplacesTheCertificateForNewConnections) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  TlsClient before(server->port(), {.ca = pki_.Path("ca.pem")});
  ASSERT_EQ(before.PeerName(), "server-one");
  Sh("cp " + pki_.Path("server-two.pem") + " " + pki_.Path("server.pem"));
  Sh("cp " + pki_.Path("server-two.key") + " " + pki_.Path("server.key"));
  server->Signal(SIGHUP);
  std::string name;
  for (int i = 0; i < 500 && name != "server-two"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    TlsClient c(server->port(), {.ca = pki_.Path("ca.pem")});
    name = c.PeerName();
  }
  EXPECT_EQ(name, "server-two");
  EXPECT_THAT(before.Get("/v2/health/ready"), HasSubstr("200 OK"));  // the open one goes on
  // A broken certificate file: the error is logged and the current certificate stays.
  WriteFile(pki_.Path("server.pem"), "not a certificate\n");
  server->Signal(SIGHUP);
  EXPECT_TRUE(server->WaitForLog("SIGHUP: TLS files not reloaded, the old ones stay in use"))
      << server->Log();
  TlsClient after(server->port(), {.ca = pki_.Path("ca.pem")});
  EXPECT_EQ(after.PeerName(), "server-two");
  EXPECT_TRUE(server->Running());
}

TEST_F(TlsTest, BadFilesStopTheStartWithTheReason) {
  const std::string state = (dir_.path() / "state").string();
  auto r = RunInferd({"serve", "--model-repository", repo_.path().string(), "--http-port", "0",
                      "--state", state, "--tls-cert", pki_.Path("server.pem"), "--tls-key",
                      pki_.Path("client.key")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("does not match the certificate"));
  r = RunInferd({"serve", "--model-repository", repo_.path().string(), "--http-port", "0",
                 "--state", state, "--tls-cert", pki_.Path("missing.pem"), "--tls-key",
                 pki_.Path("server.key")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("TLS certificate " + pki_.Path("missing.pem")));
  r = RunInferd({"serve", "--model-repository", repo_.path().string(), "--http-port", "0",
                 "--state", state, "--tls-cert", pki_.Path("server.pem")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("TLS needs both --tls-cert and --tls-key"));
}

TEST_F(TlsTest, GrpcOverTlsAndItsFileWatcher) {
  auto server = Start({"--grpc-port", "0", "--tls-refresh-secs", "1"});
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port("gRPC");
  ::grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(pki_.Path("ca.pem"));
  // (By address: a build root may have no resolver for "localhost"; the certificate names
  // 127.0.0.1 too.)
  auto channel =
      ::grpc::CreateChannel("127.0.0.1:" + std::to_string(port), ::grpc::SslCredentials(ssl));
  auto stub = pb::GRPCInferenceService::NewStub(channel);
  ::grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::ServerLiveResponse live;
  auto st = stub->ServerLive(&ctx, pb::ServerLiveRequest(), &live);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(live.live());
  // A plaintext client gets nothing.
  auto plain = pb::GRPCInferenceService::NewStub(::grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), ::grpc::InsecureChannelCredentials()));
  ::grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  EXPECT_FALSE(plain->ServerLive(&ctx2, pb::ServerLiveRequest(), &live).ok());
  // Replaced files are picked up by the watcher (TLS on the gRPC port, seen with OpenSSL).
  {
    TlsClient c(port, {.ca = pki_.Path("ca.pem")});
    EXPECT_EQ(c.PeerName(), "server-one");
    TlsClient old(port, {.ca = pki_.Path("ca.pem"), .max_version = TLS1_1_VERSION});
    EXPECT_FALSE(old.handshake());  // gRPC too: TLS 1.2 at least
  }
  Sh("cp " + pki_.Path("server-two.key") + " " + pki_.Path("server.key"));
  Sh("cp " + pki_.Path("server-two.pem") + " " + pki_.Path("server.pem"));
  std::string name;
  for (int i = 0; i < 100 && name != "server-two"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    TlsClient c(port, {.ca = pki_.Path("ca.pem")});
    name = c.PeerName();
  }
  EXPECT_EQ(name, "server-two");
}

}  // namespace
}  // namespace inferd::testing
