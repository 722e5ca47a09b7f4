// The one exception type the C++ API throws: a message that says what is wrong and where.
#pragma once

#include <stdexcept>
#include <string>

namespace mobileone {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace mobileone
