// The same program with the opt-in registration header (benchmarks/README.md, "compile cost"):
// in_process.cpp itself, plus <weft/remote.hpp> and a WEFT_ACTOR for its actor.
#include <weft/remote.hpp>

#include "in_process.cpp"

WEFT_ACTOR(counter, &counter::add);
