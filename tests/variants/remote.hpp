#pragma once
// A function declared here and defined in remote.cpp: its version is found across translation
// units.
#include <desync/desync.hpp>

DESYNC_DECLARE(remote, int(int));
