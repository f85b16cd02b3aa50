#pragma once
// What tells two configurations apart, for weft::init: a later init(cfg) that asks for other
// settings than the default runtime was created with is an error naming the first difference.

#include <optional>
#include <string>

#include "weft/config.hpp"

namespace weft::detail {

/// The first setting in which `wanted` differs from `existing`, as "namespace_: 'a' (now) vs
/// 'b' (asked for)", or nothing when they agree on every field.
std::optional<std::string> first_difference(const config& existing, const config& wanted);

}  // namespace weft::detail
