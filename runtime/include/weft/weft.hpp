// Everything a Weft user needs.
#pragma once

#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/task/join_handle.hpp"
#include "weft/task/task.hpp"
#include "weft/task/waker.hpp"
#include "weft/time/sleep.hpp"
#include "weft/net/tcp.hpp"
