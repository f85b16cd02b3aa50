// The default spill store: one file per object in a private directory made on first use.

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

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

// Closes a file descriptor at scope exit.
struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

class directory_store final : public spill_store {
 public:
  explicit directory_store(fs::path parent) : parent_(std::move(parent)) {}

  ~directory_store() override {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) {
      detail::log(detail::log_level::warn, "could not remove the spill directory {}: {}",
                  dir_.string(), ec.message());
    }
  }

  void write(std::uint64_t id, std::span<const std::span<const std::byte>> pieces) override {
    const std::string path = file(id, true);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw io_error("cannot create", path);
    fd_closer closer{fd};
    std::vector<iovec> left;
    left.reserve(pieces.size());
    for (auto piece : pieces) {
      if (!piece.empty())
        left.push_back(iovec{const_cast<std::byte*>(piece.data()), piece.size()});
    }
    std::size_t first = 0;
    while (first < left.size()) {
      const int count = static_cast<int>(std::min<std::size_t>(left.size() - first, IOV_MAX));
      ssize_t n = ::writev(fd, left.data() + first, count);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw io_error("cannot write", path);
      }
      auto done = static_cast<std::size_t>(n);
      while (first < left.size() && done >= left[first].iov_len) {
        done -= left[first].iov_len;
        ++first;
      }
      if (done > 0) {
        left[first].iov_base = static_cast<char*>(left[first].iov_base) + done;
        left[first].iov_len -= done;
      }
    }
    if (::close(fd) != 0) {
      closer.fd = -1;
      throw io_error("cannot close", path);
    }
    closer.fd = -1;
  }

  void read(std::uint64_t id, std::uint64_t offset, std::span<std::byte> into) override {
    const std::string path = file(id, false);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw io_error("cannot open", path);
    fd_closer closer{fd};
    std::size_t done = 0;
    while (done < into.size()) {
      ssize_t n = ::pread(fd, into.data() + done, into.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw io_error("cannot read", path);
      }
      if (n == 0) {
        throw std::runtime_error(fmt::format(
            "{} is truncated: it ends at byte {}, {} bytes were expected", path,
            offset + done, offset + into.size()));
      }
      done += static_cast<std::size_t>(n);
    }
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
      if (::mkdtemp(pattern.data()) == nullptr) throw io_error("cannot create a directory in", parent_.string());
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

std::shared_ptr<spill_store> make_directory_store(const std::string& parent) {
  fs::path dir = parent.empty() ? temp_parent() : fs::path(parent);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw config_error(
        fmt::format("spill directory '{}' exists and is not a directory (config.spill_dir or "
                    "WEFT_SPILL_DIR)",
                    dir.string()));
  }
  return std::make_shared<directory_store>(std::move(dir));
}

}  // namespace weft
