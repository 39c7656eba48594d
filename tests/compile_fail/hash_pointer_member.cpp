// expect: desync: cannot hash a raw pointer: an address means nothing in another run
// An aggregate hashed through Boost.PFR is checked member by member: a pointer member is refused.
#include <desync/hash.hpp>

#include <string>

struct request {
    std::string url;
    const char* body;
};

int main() { return static_cast<int>(desync::hash_value(request{"u", "b"}).low); }
