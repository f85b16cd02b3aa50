// Lineage recipes and the budget they are counted against.

#include "lineage.hpp"

#include <fmt/core.h>

#include <cstring>

#include "weft/detail/wire_value.hpp"

namespace weft::cluster {

lineage_recipe::lineage_recipe(std::shared_ptr<wire::byte_buffer> request,
                               std::shared_ptr<std::atomic<std::uint64_t>> used) noexcept
    : request_(std::move(request)), used_(std::move(used)) {}

lineage_recipe::~lineage_recipe() {
  used_->fetch_sub(request_->size(), std::memory_order_relaxed);
}

std::shared_ptr<const lineage_recipe> lineage_budget::keep(const sent_call& call,
                                                           std::string& why_not) {
  if (limit_ == 0) {
    why_not = "no lineage is kept (WEFT_LINEAGE_BYTES = 0)";
    return nullptr;
  }
  if (!call.sent || !call.left.holds.empty() || !call.left.exports.empty()) {
    why_not =
        "its arguments did not all travel with the call (large values or refs not ready "
        "yet were sent apart), so the call was not kept";
    return nullptr;
  }
  const std::uint64_t size = call.request_prefix.size() + call.sent->size();
  std::uint64_t used = used_->load(std::memory_order_relaxed);
  do {
    if (used + size > limit_) {
      why_not = fmt::format(
          "the lineage budget was full when it was made (WEFT_LINEAGE_BYTES = {}; {} bytes kept)",
          limit_, used);
      return nullptr;
    }
  } while (!used_->compare_exchange_weak(used, used + size, std::memory_order_relaxed));
  auto request = std::make_shared<wire::byte_buffer>(size);
  std::byte* at = request->data();
  std::memcpy(at, call.request_prefix.data(), call.request_prefix.size());
  at += call.request_prefix.size();
  for (std::span<const std::byte> piece : call.sent->pieces()) {
    if (!piece.empty()) std::memcpy(at, piece.data(), piece.size());
    at += piece.size();
  }
  return std::make_shared<const lineage_recipe>(std::move(request), used_);
}

}  // namespace weft::cluster
