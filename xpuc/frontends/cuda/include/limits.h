/* xpuc stand-in for <limits.h>. */
#pragma once
#include "_xpuc_limits.h"
