#pragma once
/// \file
/// The umbrella header of the in-process API: runtime, refs, actors, actor pools, when_all,
/// the arena, options, errors and configuration (which includes joining a cluster). It does
/// not bring a serialization library: registration (WEFT_REMOTE, WEFT_ACTOR) and the codec of
/// types that are not trivially copyable come with weft/remote.hpp.

#include "weft/actor.hpp"
#include "weft/actor_pool.hpp"
#include "weft/arena.hpp"
#include "weft/bulk_allocator.hpp"
#include "weft/config.hpp"
#include "weft/errors.hpp"
#include "weft/get.hpp"
#include "weft/metrics.hpp"
#include "weft/options.hpp"
#include "weft/ref.hpp"
#include "weft/runtime.hpp"
#include "weft/spill_store.hpp"
#include "weft/when.hpp"
