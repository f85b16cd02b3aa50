#pragma once
/// \file
/// The umbrella header: everything a weft program uses.

#include "weft/actor.hpp"
#include "weft/actor_pool.hpp"
#include "weft/arena.hpp"
#include "weft/bulk_allocator.hpp"
#include "weft/config.hpp"
#include "weft/errors.hpp"
#include "weft/get.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"
#include "weft/remote.hpp"
#include "weft/runtime.hpp"
#include "weft/spill_store.hpp"
#include "weft/when.hpp"
