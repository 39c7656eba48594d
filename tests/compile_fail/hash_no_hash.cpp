// expect: desync: no hash for this type: make it an aggregate, or give it desync_fields\(\)
// A class with private state and no customization point has no hash.
#include <desync/hash.hpp>

class account {
    int balance_ = 0;

public:
    int balance() const { return balance_; }
};

int main() { return static_cast<int>(desync::hash_value(account{}).low); }
