// The default spill store: one file per object in a private directory made on first use.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/core.h>

#include "log.hpp"
#include "weft/errors.hpp"
#include "weft/spill_store.hpp"

namespace weft {
namespace {

namespace fs = std::filesystem;

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// Writes one spill file; an uncommitted file is removed.
class file_writer final : public spill_store::writer {
 public:
  file_writer(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~file_writer() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(path_.c_str());
    }
  }
  void append(std::span<const std::byte> bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw io_error("cannot write", path_);
      }
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }
  void commit() override {
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) {
      ::unlink(path_.c_str());
      throw io_error("cannot close", path_);
    }
  }

 private:
  int fd_;
  std::string path_;
};

// Reads one spill file from its start.
class file_reader final : public spill_store::reader {
 public:
  file_reader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~file_reader() override { ::close(fd_); }
  void read(std::span<std::byte> into) override {
    while (!into.empty()) {
      ssize_t n = ::read(fd_, into.data(), into.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw io_error("cannot read", path_);
      }
      if (n == 0) {
        throw std::runtime_error(
            fmt::format("{} is truncated: it ends at byte {}, {} more bytes were expected", path_,
                        offset_, into.size()));
      }
      offset_ += static_cast<std::uint64_t>(n);
      into = into.subspan(static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string path_;
  std::uint64_t offset_ = 0;
};

class file_spill_store final : public spill_store {
 public:
  explicit file_spill_store(fs::path parent) : parent_(std::move(parent)) {}

  ~file_spill_store() override {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) {
      detail::log(detail::log_level::warn, "could not remove the spill directory {}: {}",
                  dir_.string(), ec.message());
    }
  }

  std::unique_ptr<writer> create(std::uint64_t id) override {
    std::string path = file(id, true);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw io_error("cannot create", path);
    return std::make_unique<file_writer>(fd, std::move(path));
  }

  std::unique_ptr<reader> open(std::uint64_t id) override {
    std::string path = file(id, false);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw io_error("cannot open", path);
    return std::make_unique<file_reader>(fd, std::move(path));
  }

  void erase(std::uint64_t id) noexcept override {
    std::string path;
    try {
      path = file(id, false);
    } catch (...) {
      return;
    }
    ::unlink(path.c_str());
  }

  std::string location(std::uint64_t id) const override {
    std::lock_guard lock(mutex_);
    fs::path dir = dir_.empty() ? parent_ / "weft-spill-<not created>" : dir_;
    return (dir / fmt::format("{}.obj", id)).string();
  }

 private:
  // The path of blob `id`; creates the directory first when `create` and it does not exist.
  std::string file(std::uint64_t id, bool create) {
    std::lock_guard lock(mutex_);
    if (dir_.empty()) {
      if (!create) throw std::runtime_error("the spill directory was never created");
      std::error_code ec;
      fs::create_directories(parent_, ec);
      std::string pattern = (parent_ / "weft-spill-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr)
        throw io_error("cannot create a directory in", parent_.string());
      dir_ = pattern;
      detail::log(detail::log_level::info, "spilling objects to {}", dir_.string());
    }
    return (dir_ / fmt::format("{}.obj", id)).string();
  }

  const fs::path parent_;
  mutable std::mutex mutex_;
  fs::path dir_;  // empty until the first write (mutex_)
};

fs::path temp_parent() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0') ? fs::path(tmp) : fs::path("/tmp");
}

}  // namespace

std::shared_ptr<spill_store> make_file_spill_store(const std::string& parent) {
  fs::path dir = parent.empty() ? temp_parent() : fs::path(parent);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw config_error(
        fmt::format("spill directory '{}' exists and is not a directory (config.spill_dir or "
                    "WEFT_SPILL_DIR)",
                    dir.string()));
  }
  // Found now rather than at the first spill, when objects past the budget would have nowhere
  // to go.
  if (!fs::exists(dir, ec) && !fs::create_directories(dir, ec) && ec) {
    throw config_error(fmt::format(
        "spill directory '{}' cannot be created ({}); set config.spill_dir or WEFT_SPILL_DIR to "
        "a directory this process can write",
        dir.string(), ec.message()));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw config_error(fmt::format(
        "spill directory '{}' cannot be written ({}); set config.spill_dir or WEFT_SPILL_DIR to "
        "a directory this process can write",
        dir.string(), std::strerror(errno)));
  }
  return std::make_shared<file_spill_store>(std::move(dir));
}

}  // namespace weft
