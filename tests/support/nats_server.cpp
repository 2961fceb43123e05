#include "tests/support/nats_server.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace sy::test {

nats_server::nats_server() {
  auto base = (std::filesystem::temp_directory_path() / "sy-nats-XXXXXX").string();
  std::vector<char> templ(base.begin(), base.end());
  templ.push_back('\0');
  if (!::mkdtemp(templ.data())) {
    std::perror("sy::test::nats_server: mkdtemp");
    std::exit(1);
  }
  dir_ = templ.data();
  broker::embedded_server_options opts;
  opts.data_dir = dir_;
  auto started = broker::embedded_server::start(opts);
  if (!started) {
    std::fprintf(stderr, "sy::test::nats_server: %s\n", started.error().message.c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::exit(1);
  }
  server_.emplace(std::move(*started));
}

nats_server::~nats_server() {
  server_.reset(); // stops the server
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string nats_server::url() const {
  return server_->url();
}

std::uint16_t nats_server::port() const {
  return server_->port();
}

pid_t nats_server::pid() const {
  return server_->pid();
}

void nats_server::stop() {
  server_->stop();
}

expected<void> nats_server::restart() {
  return server_->restart();
}

bool nats_server::is_running() {
  return server_->is_running();
}

} // namespace sy::test
