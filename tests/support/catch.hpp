#pragma once
// One include for Catch2 v2 (Debian 12: <catch2/catch.hpp>) and v3
// (<catch2/catch_test_macros.hpp>).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#else
#include <catch2/catch.hpp>
#endif
