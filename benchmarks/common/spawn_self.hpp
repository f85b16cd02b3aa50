#pragma once
// Benchmarks that measure several processes start themselves again (as a cluster head, a
// worker, a server) with posix_spawn, telling the copy what to be through its environment.

#include <spawn.h>
#include <sys/types.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace weft_bench {

/// This program started again with the current environment plus `extra_env` ("NAME=value");
/// exits the benchmark when the process cannot be started.
inline pid_t spawn_self(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& s : env)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe";
  char* argv[] = {self.data(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()) != 0) {
    std::fprintf(stderr, "benchmark: cannot start a child process\n");
    std::exit(1);
  }
  return pid;
}

}  // namespace weft_bench
