#pragma once
/// \file
/// The umbrella header: everything desync offers.

#include <desync/cache_file.hpp>
#include <desync/compose.hpp>
#include <desync/config.hpp>
#include <desync/error.hpp>
#include <desync/function.hpp>
#include <desync/lazy.hpp>
#include <desync/memo.hpp>
#include <desync/options.hpp>
#include <desync/resources.hpp>
#include <desync/scheduler.hpp>
#include <desync/trace.hpp>
#include <desync/version.hpp>
#include <desync/xxhash.hpp>
