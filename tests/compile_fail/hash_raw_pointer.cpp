// expect: desync: cannot hash a raw pointer: an address means nothing in another run
// A raw pointer argument is refused: its value is an address, not the data it points to.
#include <desync/hash.hpp>

int main() {
    int x = 42;
    return static_cast<int>(desync::hash_value(&x).low);
}
