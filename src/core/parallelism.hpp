#pragma once
// Raises oneTBB's process-wide worker limit so that every live runtime gets the threads it asks
// for. TBB caps its global pool at hardware_concurrency - 1 workers unless a
// tbb::global_control raises it, and when several controls are alive the smallest wins; so
// weft keeps one control per process, sized for the sum of the live runtimes' threads (the
// workers are one pool that all arenas share). A smaller global_control created by the
// program itself still wins, and caps weft's threads.

#include <cstddef>

namespace weft::detail {

/// Holds a claim on `workers` TBB worker threads for as long as it lives.
class parallelism_reservation {
 public:
  explicit parallelism_reservation(std::size_t workers);
  ~parallelism_reservation();
  parallelism_reservation(const parallelism_reservation&) = delete;
  parallelism_reservation& operator=(const parallelism_reservation&) = delete;

 private:
  std::size_t workers_;
};

}  // namespace weft::detail
