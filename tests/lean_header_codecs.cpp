// The other translation unit of lean_header_test: it includes the opt-in header and gives the
// test's map type a codec (lean_header_test.cpp itself never sees cereal).
#include <map>
#include <string>

#include "weft/remote.hpp"

WEFT_SERIALIZABLE(std::map<int, std::string>);
