// weft/bulk_allocator.hpp: the process-wide pool of large blocks (kept after free, handed out
// again, bounded), bulk_vector's values through the codec, and the limit from a runtime's
// config.
#include "weft/bulk_allocator.hpp"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "core/usable_memory.hpp"
#include "weft/detail/codec.hpp"
#include "weft/detail/huge_pages.hpp"
#include "weft/detail/wire_value.hpp"
#include "weft/runtime.hpp"

namespace {

constexpr std::size_t mib = std::size_t{1} << 20;

// Sets the pool's limit for one test and puts the previous one back.
struct limit_scope {
  explicit limit_scope(std::uint64_t bytes) : before(weft::bulk_retained_limit()) {
    weft::set_bulk_retained_limit(bytes);
  }
  ~limit_scope() { weft::set_bulk_retained_limit(before); }
  std::uint64_t before;
};

// A payload source that only copies (no in-memory view): the spill store's path.
class copying_source final : public weft::detail::payload_source {
 public:
  explicit copying_source(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::uint64_t size() const noexcept override { return bytes_.size(); }
  void read_all(std::span<std::byte> into) override {
    std::memcpy(into.data(), bytes_.data(), into.size());
  }

 private:
  std::span<const std::byte> bytes_;
};

// The number of pages of [data, data + bytes) (page aligned) in memory now.
std::size_t resident_pages(void* data, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((bytes + page - 1) / page);
  REQUIRE(::mincore(data, bytes, in_core.data()) == 0);
  std::size_t resident = 0;
  for (unsigned char c : in_core)
    resident += c & 1;
  return resident;
}

}  // namespace

TEST_CASE("usable memory is the machine's RAM, or the cgroup's memory.max when lower") {
  auto expected = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                  static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
  std::ifstream limit_file("/sys/fs/cgroup/memory.max");
  std::string limit;
  if (limit_file && std::getline(limit_file, limit) && limit != "max")
    expected = std::min<std::uint64_t>(expected, std::stoull(limit));
  CHECK(weft::detail::usable_memory_bytes() == expected);
  CHECK(weft::detail::usable_memory_bytes() > 0);
}

TEST_CASE("prefault_bulk brings a large fresh mapping into memory before any write") {
  const std::size_t bytes = 64 * mib;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* fresh = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(fresh != MAP_FAILED);
  void* small = ::mmap(nullptr, mib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(small != MAP_FAILED);
  CHECK(resident_pages(fresh, bytes) == 0);
  weft::detail::prefault_bulk(small, mib);
  CHECK(resident_pages(small, mib) == 0);  // below huge_pages_min_bytes: left alone
  // Kernels before 5.14 refuse MADV_POPULATE_WRITE: the writes then fault the pages instead.
  const bool kernel_can = ::madvise(small, page, MADV_POPULATE_WRITE) == 0;
  weft::detail::prefault_bulk(fresh, bytes);
  if (kernel_can) {
    // Every whole 2 MiB page inside the mapping is in memory (the unaligned ends may not be).
    CHECK(resident_pages(fresh, bytes) >= (bytes - 4 * mib) / page);
  } else {
    MESSAGE("this kernel has no MADV_POPULATE_WRITE; prefault_bulk only advised huge pages");
  }
  ::munmap(fresh, bytes);
  ::munmap(small, mib);
}

TEST_CASE("a large std::vector is decoded intact into prefaulted memory from either source") {
  std::vector<std::uint32_t> values(std::size_t{48} << 20 >> 2);  // 48 MiB: prefaulted
  std::iota(values.begin(), values.end(), std::uint32_t{7});
  const auto bytes = std::as_bytes(std::span(values.data(), values.size()));
  weft::detail::memory_source in_memory(bytes);
  CHECK(weft::detail::decode<std::vector<std::uint32_t>>(in_memory) == values);
  copying_source from_store(bytes);
  CHECK(weft::detail::decode<std::vector<std::uint32_t>>(from_store) == values);
}

TEST_CASE("a freed large block is kept and handed out again; small ones use operator new") {
  limit_scope limit{64 * mib};
  weft::set_bulk_retained_limit(0);  // start from an empty pool
  weft::set_bulk_retained_limit(64 * mib);
  const weft::bulk_memory_stats start = weft::bulk_memory();
  CHECK(start.retained_bytes == 0);
  CHECK(start.retained_limit == 64 * mib);

  const std::byte* first_block = nullptr;
  {
    weft::bulk_vector<std::byte> block(10 * mib);
    first_block = block.data();
    CHECK(reinterpret_cast<std::uintptr_t>(first_block) % (2 * mib) == 0);  // huge-page aligned
    weft::bulk_memory_stats now = weft::bulk_memory();
    CHECK(now.blocks_mapped == start.blocks_mapped + 1);
    CHECK(now.in_use_bytes == start.in_use_bytes + 10 * mib);
  }
  weft::bulk_memory_stats after_free = weft::bulk_memory();
  CHECK(after_free.retained_bytes == 10 * mib);
  CHECK(after_free.in_use_bytes == start.in_use_bytes);

  {
    // 9 MiB rounds up to 10 MiB of huge pages: the kept block serves it, already mapped.
    weft::bulk_vector<std::uint32_t> again(9 * mib / 4, 7u);
    CHECK(reinterpret_cast<const std::byte*>(again.data()) == first_block);
    CHECK(again.front() == 7u);
    CHECK(again.back() == 7u);
    weft::bulk_memory_stats now = weft::bulk_memory();
    CHECK(now.blocks_reused == start.blocks_reused + 1);
    CHECK(now.blocks_mapped == start.blocks_mapped + 1);
    CHECK(now.retained_bytes == 0);
  }
  {
    // A request under half the kept block's size does not pin it: a new block is mapped.
    weft::bulk_vector<char> small_large(4 * mib);
    CHECK(weft::bulk_memory().blocks_mapped == start.blocks_mapped + 2);
    CHECK(weft::bulk_memory().retained_bytes == 10 * mib);
  }
  {
    // Under bulk_min_bytes: operator new, the pool's counters do not move.
    const weft::bulk_memory_stats before = weft::bulk_memory();
    weft::bulk_vector<char> tiny(1000, 'x');
    weft::bulk_memory_stats now = weft::bulk_memory();
    CHECK(now.blocks_mapped == before.blocks_mapped);
    CHECK(now.blocks_reused == before.blocks_reused);
    CHECK(now.in_use_bytes == before.in_use_bytes);
  }
}

TEST_CASE("the pool keeps no more than its limit, and lowering the limit gives blocks back") {
  limit_scope limit{0};
  { weft::bulk_vector<char> a(8 * mib), b(8 * mib); }
  CHECK(weft::bulk_memory().retained_bytes == 0);  // a limit of 0 keeps nothing

  weft::set_bulk_retained_limit(20 * mib);
  { weft::bulk_vector<char> a(8 * mib), b(8 * mib), c(8 * mib); }
  CHECK(weft::bulk_memory().retained_bytes == 16 * mib);  // the third did not fit
  weft::set_bulk_retained_limit(10 * mib);
  CHECK(weft::bulk_memory().retained_bytes == 8 * mib);
  weft::set_bulk_retained_limit(0);
  CHECK(weft::bulk_memory().retained_bytes == 0);
  CHECK(weft::bulk_retained_limit() == 0);
}

TEST_CASE("a bulk_vector is encoded as its bytes and decoded intact from either source") {
  weft::bulk_vector<std::uint64_t> values(1 << 20);  // 8 MiB: a pooled block
  std::iota(values.begin(), values.end(), std::uint64_t{1});
  weft::detail::encoded_value encoded;
  weft::detail::encode(values, encoded);
  REQUIRE(encoded.pieces.size() == 1);
  CHECK(encoded.pieces[0].data() == reinterpret_cast<const std::byte*>(values.data()));
  CHECK(encoded.pieces[0].size() == values.size() * sizeof(std::uint64_t));

  weft::detail::memory_source in_memory(encoded.pieces[0]);
  auto copied = weft::detail::decode<weft::bulk_vector<std::uint64_t>>(in_memory);
  CHECK(copied == values);
  copying_source from_store(encoded.pieces[0]);
  auto read = weft::detail::decode<weft::bulk_vector<std::uint64_t>>(from_store);
  CHECK(read == values);
  // The same bytes also decode as a std::vector of the same elements.
  weft::detail::memory_source again(encoded.pieces[0]);
  auto plain = weft::detail::decode<std::vector<std::uint64_t>>(again);
  CHECK(plain.size() == values.size());
  CHECK(plain.back() == values.back());
  // A payload that is not a whole number of elements is refused.
  weft::detail::memory_source ragged(encoded.pieces[0].first(12));
  CHECK_THROWS_WITH_AS(weft::detail::decode<weft::bulk_vector<std::uint64_t>>(ragged),
                       doctest::Contains("12"), std::runtime_error);
}

TEST_CASE("a runtime's config.retained_bytes sets the process's limit; unset leaves it") {
  limit_scope limit{weft::bulk_retained_limit()};
  weft::config cfg;
  cfg.threads = 1;
  cfg.retained_bytes = 48 * mib;
  {
    weft::runtime rt{cfg};
    CHECK(weft::bulk_retained_limit() == 48 * mib);
    // A large value made by a task and read back whole.
    auto block = rt.submit([] {
      weft::bulk_vector<int> v(4 << 20);
      std::iota(v.begin(), v.end(), 0);
      return v;
    });
    const weft::bulk_vector<int>& got = block.get();
    REQUIRE(got.size() == std::size_t{4} << 20);
    CHECK(got[12345] == 12345);
    CHECK(got.back() == (4 << 20) - 1);
  }
  weft::config plain;
  plain.threads = 1;
  weft::runtime rt{plain};
  CHECK(weft::bulk_retained_limit() == 48 * mib);
}
