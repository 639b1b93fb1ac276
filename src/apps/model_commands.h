// The CLI's commands that ship better models (issue #9): validate, optimize, tune and search.
// They add themselves to the `inferd` app; Run() runs the one that was parsed.
// Thread-safety: used from main only.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

namespace inferd::apps {

class ModelCommands {
 public:
  // `token`: the CLI's credential (--token / $INFERD_TOKEN); the commands' --token sets it.
  ModelCommands(CLI::App& app, std::string* token);
  ~ModelCommands();
  // The exit code of the command that was parsed; nullopt when none of these was.
  std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace inferd::apps
