// expect: desync/store/redis.hpp needs the CMake target desync::redis
// Including the Redis store without linking its CMake target is an error that names the target.
#include <desync/store/redis.hpp>

int main() {}
