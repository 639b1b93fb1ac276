// The `inferd` binary: subcommands over the server and the offline tools.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "base/logging.h"
#include "server/server.h"

namespace {

int Serve(const inferd::server::ServerOptions& options) {
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = inferd::server::Server::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "inferd: %s\n", server.status().message().c_str());
    return 1;
  }
  (*server)->Start();
  std::printf("inferd: HTTP listening on %s:%u\n", options.host.c_str(),
              static_cast<unsigned>((*server)->http_port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  LOG_INFO("signal {}: stopping", sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inferd: serve, check and watch machine-learning models"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();

  inferd::server::ServerOptions opts;
  auto* serve = app.add_subcommand("serve", "Serve the models of a repository over HTTP");
  std::string repo;
  serve->add_option("--model-repository", repo, "Directory of <model>/<version>/ folders")
      ->required();
  serve->add_option("--host", opts.host, "Address to bind")->capture_default_str();
  serve->add_option("--http-port", opts.http_port, "HTTP port; 0 picks a free one and prints it")
      ->capture_default_str();
  serve->add_option("--http-threads", opts.http_threads, "HTTP I/O threads; 0 = one per core")
      ->capture_default_str();
  std::string io_mode = "per-core";
  serve
      ->add_option("--http-io-mode", io_mode,
                   "per-core: an event loop and listener per thread; shared: one event loop")
      ->check(CLI::IsMember({"per-core", "shared"}))
      ->capture_default_str();
  serve->add_option("--max-request-bytes", opts.max_request_bytes, "Largest request body (413)")
      ->capture_default_str();
  serve
      ->add_option("--max-connections", opts.max_connections,
                   "Open HTTP connections beyond this are closed at once (0 = no cap)")
      ->capture_default_str();
  double request_timeout = 30, idle_timeout = 60, poll_secs = 15;
  serve
      ->add_option("--http-request-timeout-secs", request_timeout,
                   "Time a client has to send a whole request (408 after)")
      ->capture_default_str();
  serve
      ->add_option("--http-idle-timeout-secs", idle_timeout,
                   "Time an idle keep-alive connection stays open")
      ->capture_default_str();
  serve
      ->add_option("--model-control-mode", opts.model_control_mode,
                   "none: load at start; poll: pick up added and removed versions")
      ->check(CLI::IsMember({"none", "poll"}))
      ->capture_default_str();
  serve->add_option("--repository-poll-secs", poll_secs, "Poll interval in poll mode")
      ->capture_default_str();
  serve
      ->add_option("--strict-readiness", opts.strict_readiness,
                   "Ready only when every model has a ready version")
      ->capture_default_str();
  serve->add_option("--load-threads", opts.load_threads, "Threads that load models")
      ->capture_default_str();

  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("inferd 0.1.0\n");
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (auto st = inferd::base::InitLogging(log_level); !st.ok()) {
    std::fprintf(stderr, "inferd: %s\n", st.message().c_str());
    return 2;
  }
  if (serve->parsed()) {
    opts.model_repository = repo;
    opts.http_io_mode = io_mode == "shared"
                            ? inferd::api::http::HttpServerOptions::IoMode::kShared
                            : inferd::api::http::HttpServerOptions::IoMode::kPerCore;
    auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
    opts.http_request_timeout = ms(request_timeout);
    opts.http_idle_timeout = ms(idle_timeout);
    opts.repository_poll_interval = ms(poll_secs);
    return Serve(opts);
  }
  return 0;
}
